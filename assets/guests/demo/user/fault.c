/* fault: does something a user process must not do; the kernel kills it. */
#include "ulib.h"

/* Addresses come from volatile variables so the compiler cannot see (and
 * optimise around) the bad access: the fault must really happen. */
static volatile u32 kernel_addr = 0xC0100000, null_addr = 0;
static volatile int zero = 0;

int main(const char *args)
{
	const char *kind = args && *args ? args : "kernel";
	printf("fault: %s ...\n", kind);
	if (!strcmp(kind, "kernel")) {
		/* present kernel page without the user bit: #PF error 5 */
		printf("%d\n", *(volatile int *)kernel_addr);
	} else if (!strcmp(kind, "null")) {
		printf("%d\n", *(volatile int *)null_addr); /* not mapped: #PF error 4 */
	} else if (!strcmp(kind, "write")) {
		*(volatile int *)kernel_addr = 1; /* #PF error 7 */
	} else if (!strcmp(kind, "div")) {
		/* A real divl (the compiler may turn a C "1 / zero" into something
		 * else, division by zero being undefined): #DE, a direct trap gate. */
		u32 q, r, d = (u32)zero;
		__asm__ __volatile__("divl %2" : "=a"(q), "=d"(r) : "rm"(d), "0"(1u), "1"(0u));
		printf("%u %u\n", q, r);
	} else if (!strcmp(kind, "ud")) {
		__asm__ __volatile__("ud2"); /* #UD: a direct trap gate */
	} else if (!strcmp(kind, "gp")) {
		__asm__ __volatile__("cli"); /* privileged: #GP reflected by the Host */
	} else if (!strcmp(kind, "int3")) {
		__asm__ __volatile__("int3"); /* interrupt gate, DPL 0 effective: #GP(0x1a) */
	} else {
		printf("unknown kind; use kernel null write div ud gp int3\n");
		return 1;
	}
	printf("fault: still alive?!\n");
	return 2;
}
