/*
 * Start-up code for the freestanding benchmark programs: the image is loaded at its link
 * address with ESP at the top of its region; _start calls bench_main and ends with INT3 so the
 * runner (native) or the harness kernel (bench/harness, emulated) sees a trap with the checksum
 * in EAX.
 */
#include "bench.h"

__asm__(".section .text.start,\"ax\"\n"
        ".globl _start\n"
        "_start:\n"
        "  call bench_main\n"
        "  int3\n"
        "  hlt\n");

/* GCC may emit calls to these for block copies even in freestanding code. */
__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memcpy(void *d, const void *s, unsigned n) {
  unsigned char *dp = d;
  const unsigned char *sp = s;
  while (n--) *dp++ = *sp++;
  return d;
}

__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memset(void *d, int c, unsigned n) {
  unsigned char *dp = d;
  while (n--) *dp++ = (unsigned char)c;
  return d;
}

__attribute__((optimize("no-tree-loop-distribute-patterns"))) void *memmove(void *d, const void *s, unsigned n) {
  unsigned char *dp = d;
  const unsigned char *sp = s;
  if (dp < sp) {
    while (n--) *dp++ = *sp++;
  } else {
    while (n--) dp[n] = sp[n];
  }
  return d;
}
