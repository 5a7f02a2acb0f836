/* Recursive quicksort (median of three, insertion sort for short runs) on pseudo-random ints. */
#include "bench.h"

#define COUNT 300000
static int v[COUNT];

static void insertion(int *a, int n) {
  for (int i = 1; i < n; i++) {
    int x = a[i], j = i - 1;
    while (j >= 0 && a[j] > x) {
      a[j + 1] = a[j];
      j--;
    }
    a[j + 1] = x;
  }
}

static void quicksort(int *a, int n) {
  while (n > 16) {
    int m = n / 2;
    if (a[0] > a[m]) { int t = a[0]; a[0] = a[m]; a[m] = t; }
    if (a[m] > a[n - 1]) { int t = a[m]; a[m] = a[n - 1]; a[n - 1] = t; }
    if (a[0] > a[m]) { int t = a[0]; a[0] = a[m]; a[m] = t; }
    int pivot = a[m], i = 0, j = n - 1;
    for (;;) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i >= j) break;
      int t = a[i]; a[i] = a[j]; a[j] = t;
      i++;
      j--;
    }
    /* Recurse into the smaller half, loop on the larger. */
    if (j + 1 < n - j - 1) {
      quicksort(a, j + 1);
      a += j + 1;
      n -= j + 1;
    } else {
      quicksort(a + j + 1, n - j - 1);
      n = j + 1;
    }
  }
  insertion(a, n);
}

u32 bench_main(void) {
  u32 seed = 7;
  for (int i = 0; i < COUNT; i++) v[i] = (int)lcg(&seed) >> 4;
  quicksort(v, COUNT);
  u32 sum = 0;
  for (int i = 0; i < COUNT; i++) {
    if (i > 0 && v[i - 1] > v[i]) return 0xdeadbeef; /* not sorted */
    sum = sum * 31 + (u32)v[i];
  }
  return sum;
}
