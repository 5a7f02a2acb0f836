/* FNV-1a hashing of generated strings into an open-addressing table, then lookups. */
#include "bench.h"

#define WORDS 20000
#define SLOTS 65536
static char text[WORDS * 12];
static u32 offsets[WORDS];
static u32 slot_hash[SLOTS];
static u32 slot_word[SLOTS];

static u32 fnv1a(const char *s) {
  u32 h = 2166136261u;
  while (*s) h = (h ^ (u8)*s++) * 16777619u;
  return h;
}

static int same(const char *a, const char *b) {
  while (*a && *a == *b) a++, b++;
  return *a == *b;
}

u32 bench_main(void) {
  u32 seed = 2024, pos = 0;
  for (u32 w = 0; w < WORDS; w++) {
    offsets[w] = pos;
    u32 len = 3 + (lcg(&seed) >> 28) % 8;
    for (u32 k = 0; k < len; k++) text[pos++] = (char)('a' + (lcg(&seed) >> 24) % 26);
    text[pos++] = 0;
  }
  u32 inserted = 0, found = 0;
  for (int round = 0; round < 50; round++) {
    for (u32 w = 0; w < WORDS; w++) {
      const char *s = text + offsets[w];
      u32 h = fnv1a(s), i = h & (SLOTS - 1);
      while (slot_hash[i] && !(slot_hash[i] == h && same(text + offsets[slot_word[i]], s))) i = (i + 1) & (SLOTS - 1);
      if (slot_hash[i]) found++;
      else {
        slot_hash[i] = h;
        slot_word[i] = w;
        inserted++;
      }
    }
  }
  u32 sum = inserted * 65599u + found;
  for (u32 i = 0; i < SLOTS; i++) sum = sum * 7 + slot_hash[i];
  return sum;
}
