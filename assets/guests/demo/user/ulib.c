#include "ulib.h"

void exit(int code)
{
	for (;;)
		syscall3(SYS_exit, (u32)code, 0, 0);
}

int write(int fd, const void *buf, u32 len)
{
	return syscall3(SYS_write, (u32)fd, (u32)buf, len);
}

int read(int fd, void *buf, u32 len)
{
	return syscall3(SYS_read, (u32)fd, (u32)buf, len);
}

int getpid(void)
{
	return syscall3(SYS_getpid, 0, 0, 0);
}

int getppid(void)
{
	return syscall3(SYS_getppid, 0, 0, 0);
}

void yield(void)
{
	syscall3(SYS_sched_yield, 0, 0, 0);
}

void sleep_ms(u32 ms)
{
	syscall3(SYS_sleep_ms, ms, 0, 0);
}

u32 uptime_ms(void)
{
	return (u32)syscall3(SYS_uptime_ms, 0, 0, 0);
}

u32 hcall_count(void)
{
	return (u32)syscall3(SYS_hcall_count, 0, 0, 0);
}

int printf(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;
	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	write(1, buf, strlen(buf));
	return n;
}

u32 tls_self(void)
{
	u32 v;
	__asm__ __volatile__("movl %%gs:0, %0" : "=r"(v));
	return v;
}

u32 tls_pid(void)
{
	u32 v;
	__asm__ __volatile__("movl %%gs:4, %0" : "=r"(v));
	return v;
}
