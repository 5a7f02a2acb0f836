/* A byte-at-a-time copy loop between two buffers (what naive memcpy-style code does). */
#include "bench.h"

#define BYTES (128 * 1024)
static u8 a[BYTES], b[BYTES];

__attribute__((noinline)) static void copy_bytes(u8 *dst, const u8 *src, u32 n) {
  volatile u8 *d = dst; /* keep GCC from turning the loop into a library call or wide moves */
  for (u32 i = 0; i < n; i++) d[i] = src[i];
}

u32 bench_main(void) {
  u32 seed = 99;
  for (u32 i = 0; i < BYTES; i++) a[i] = (u8)lcg(&seed);
  for (u32 round = 0; round < 480; round++) {
    copy_bytes(b, a, BYTES);
    a[round * 1000 % BYTES] ^= b[BYTES - 1 - round % 256];
    copy_bytes(a, b, BYTES - round % 256);
  }
  u32 sum = 0;
  for (u32 i = 0; i < BYTES; i++) sum = sum * 33 + a[i];
  return sum;
}
