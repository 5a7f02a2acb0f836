/* Sieve of Eratosthenes over a byte array: byte stores, strided loops, branches. */
#include "bench.h"

#define LIMIT 400000
static u8 composite[LIMIT + 1];

u32 bench_main(void) {
  u32 checksum = 0;
  for (int round = 0; round < 20; round++) {
    for (u32 i = 0; i <= LIMIT; i++) composite[i] = 0;
    u32 count = 0, sum = 0;
    for (u32 i = 2; i <= LIMIT; i++) {
      if (composite[i]) continue;
      count++;
      sum += i;
      for (u32 j = i * 2; j <= LIMIT; j += i) composite[j] = 1;
    }
    checksum = checksum * 31 + count * 7 + sum;
  }
  return checksum;
}
