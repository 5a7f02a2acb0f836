/*
 * Mandelbrot iteration counts with x87 doubles; the checksum must agree with the native run.
 * This program switches the FPU to double precision control, as numerical code that wants IEEE
 * double results does (and the emulator's float64 fast path needs); mandel80.c runs the same loop
 * at the extended precision a Linux process starts with.
 */
#include "bench.h"

#ifndef CONTROL_WORD
#define CONTROL_WORD 0x027f /* all exceptions masked, precision control = double */
#endif

#define W 360
#define H 240
#define MAX_ITER 256

u32 bench_main(void) {
  unsigned short cw = CONTROL_WORD;
  __asm__ volatile("fldcw %0" : : "m"(cw));
  u32 sum = 0;
  for (int py = 0; py < H; py++) {
    double ci = -1.2 + 2.4 * py / H;
    for (int px = 0; px < W; px++) {
      double cr = -2.1 + 3.0 * px / W;
      double zr = 0, zi = 0;
      int n = 0;
      while (n < MAX_ITER && zr * zr + zi * zi <= 4.0) {
        double t = zr * zr - zi * zi + cr;
        zi = 2.0 * zr * zi + ci;
        zr = t;
        n++;
      }
      sum = sum * 17 + (u32)n;
    }
  }
  return sum;
}
