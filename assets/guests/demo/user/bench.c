/*
 * bench: CPU-bound loops in ring 3.  The guest cannot count instructions,
 * so it reports loop iterations and elapsed time from the clock (TSC).
 * The FPU loop exercises lazy FPU switching (#NM trap, TS hypercall).
 */
#include "ulib.h"

static u32 table[16384]; /* 64 KiB of .bss: first touches are shadow page faults in the Host */

static double fsqrt(double x)
{
	__asm__("fsqrt" : "+t"(x));
	return x;
}

static void report(const char *what, u32 iters, u32 ms)
{
	u32 rate = ms ? iters / ms : iters;
	printf("  %-8s %9u iterations in %5u ms  (%u per ms)\n", what, iters, ms, rate);
}

int main(const char *args)
{
	u32 n = 2000000, i, t, x = 2463534242u, sum = 0, h0 = hcall_count();
	double s = 0;
	if (args && *args && (parse_u32(args, &n) || n == 0)) {
		printf("usage: bench [ITERATIONS]\n");
		return 1;
	}
	printf("bench: pid %d, %u iterations per test\n", getpid(), n);

	t = uptime_ms();
	for (i = 0; i < n; i++) { /* xorshift32 */
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		sum += x;
	}
	report("integer", n, uptime_ms() - t);

	t = uptime_ms();
	for (i = 0; i < n; i++)
		table[(i * 2654435761u) & 16383] += i;
	report("memory", n, uptime_ms() - t);

	t = uptime_ms();
	for (i = 1; i <= n / 4; i++)
		s += 1.0 / ((double)i * (double)i);
	report("fpu", n / 4, uptime_ms() - t);
	printf("  pi ~ %u.%06u (from sum 1/k^2), checksum %x\n", (u32)fsqrt(6 * s),
	       (u32)((fsqrt(6 * s) - (u32)fsqrt(6 * s)) * 1000000), sum ^ table[7]);
	printf("  kernel made %u hypercalls meanwhile\n", hcall_count() - h0);
	return 0;
}
