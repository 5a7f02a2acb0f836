/* Table-driven CRC-32 (reflected, polynomial 0xEDB88320) over pseudo-random data. */
#include "bench.h"

#define BYTES (256 * 1024)
static u32 table[256];
static u8 data[BYTES];

u32 bench_main(void) {
  for (u32 n = 0; n < 256; n++) {
    u32 c = n;
    for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
    table[n] = c;
  }
  u32 seed = 12345;
  for (u32 i = 0; i < BYTES; i++) data[i] = (u8)(lcg(&seed) >> 24);
  u32 crc = 0;
  for (int round = 0; round < 48; round++) {
    u32 c = 0xffffffffu;
    for (u32 i = 0; i < BYTES; i++) c = table[(c ^ data[i]) & 0xff] ^ (c >> 8);
    crc = crc * 3 + (c ^ 0xffffffffu);
  }
  return crc;
}
