/* Freestanding string and formatting helpers (pure: also unit-tested natively). */
#ifndef DEMO_LIB_H
#define DEMO_LIB_H
#include <stdarg.h>
#include "types.h"

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
/* Copies at most n-1 chars and always terminates (n > 0). */
void strlcpy(char *d, const char *s, size_t n);

/* printf subset: %d %i %u %x %X %p %s %c %% with flags '-' '0', width, 'l' and 'll'. */
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Parses a decimal or 0x-prefixed hex number; returns 0 on success. */
int parse_u32(const char *s, u32 *out);
/* Skips spaces; returns the next word (NUL-terminated in place) or NULL.
 * *cursor may be NULL (no arguments). */
char *next_word(char **cursor);

#endif
