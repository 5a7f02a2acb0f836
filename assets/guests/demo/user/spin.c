/* spin: prints a few lines while burning CPU; run two to see preemption. */
#include "ulib.h"

int main(const char *args)
{
	u32 n = 5, i;
	if (args && *args)
		parse_u32(args, &n);
	for (i = 0; i < n; i++) {
		u32 until = uptime_ms() + 200;
		volatile u32 spins = 0;
		while (uptime_ms() < until)
			spins++;
		printf("spin[%d]: round %u, %u loops in 200 ms\n", getpid(), i + 1, spins);
	}
	return 0;
}
