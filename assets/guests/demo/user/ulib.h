/* Minimal user-space library: system calls via int $0x80 (Linux i386 convention). */
#ifndef DEMO_ULIB_H
#define DEMO_ULIB_H
#include "../kernel/lib.h"

enum { SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_getpid = 20, SYS_getppid = 64,
       SYS_sched_yield = 158, SYS_sleep_ms = 162, SYS_uptime_ms = 300, SYS_hcall_count = 301 };

static inline int syscall3(int nr, u32 a, u32 b, u32 c)
{
	int ret;
	/* The gate is a DPL 3 trap gate: this goes straight to the guest kernel. */
	__asm__ __volatile__("int $0x80" : "=a"(ret) : "0"(nr), "b"(a), "c"(b), "d"(c) : "memory");
	return ret;
}

void exit(int code) __attribute__((noreturn));
int write(int fd, const void *buf, u32 len);
int read(int fd, void *buf, u32 len);
int getpid(void);
int getppid(void);
void yield(void);
void sleep_ms(u32 ms);
u32 uptime_ms(void);
u32 hcall_count(void);
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Thread pointer and pid from the TLS block via %gs (GDT entry 6, LOAD_TLS). */
u32 tls_self(void);
u32 tls_pid(void);
int main(const char *args);

#endif
