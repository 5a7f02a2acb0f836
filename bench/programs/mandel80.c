/*
 * mandel.c at the control word a Linux process starts with (0x037f: all exceptions masked,
 * precision control = extended, 64-bit significands): what x87 code compiled for i386 Linux runs.
 */
#define CONTROL_WORD 0x037f
#include "mandel.c"
