/* hello: a ring-3 process in its own address space. */
#include "ulib.h"

int main(const char *args)
{
	u32 t0 = uptime_ms();
	printf("Hello from user space! pid %d (parent %d), args \"%s\"\n", getpid(), getppid(), args);
	printf("TLS via %%gs: thread pointer 0x%08x, pid %u\n", tls_self(), tls_pid());
	printf("stack at 0x%08x, code at 0x%08x\n", (u32)&t0, (u32)main);
	sleep_ms(100);
	yield();
	printf("slept 100 ms: uptime %u -> %u ms; bye\n", t0, uptime_ms());
	return 0;
}
