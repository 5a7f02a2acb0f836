/* Shared declarations for the freestanding benchmark programs (see crt0.c). */
#ifndef BENCH_H
#define BENCH_H

typedef unsigned int u32;
typedef unsigned char u8;

/* Each program defines this; its return value is the checksum compared across runs. */
u32 bench_main(void);

/* A small linear congruential generator for reproducible input data. */
static inline u32 lcg(u32 *state) {
  *state = *state * 1664525u + 1013904223u;
  return *state;
}

#endif
