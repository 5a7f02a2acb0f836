/* The paravirtual interface: hypercalls, the async ring, virtual interrupt flag, clock. */
#ifndef DEMO_LGUEST_H
#define DEMO_LGUEST_H
#include "types.h"

extern struct lguest_data lguest_data;

/*
 * Virtual interrupt flag.  At CPL 1 the real cli/sti would fault, so (like
 * the patched paravirt sites in Linux) we simply store 0 or 0x200 into
 * lguest_data.irq_enabled.  The Host reads it before injecting an interrupt.
 */
static inline void irq_disable(void)
{
	*(volatile u32 *)&lguest_data.irq_enabled = 0;
	barrier();
}
static inline void irq_enable(void)
{
	barrier();
	*(volatile u32 *)&lguest_data.irq_enabled = 0x200;
}
static inline u32 irq_save(void)
{
	u32 flags = *(volatile u32 *)&lguest_data.irq_enabled;
	irq_disable();
	return flags;
}
static inline void irq_restore(u32 flags)
{
	barrier();
	*(volatile u32 *)&lguest_data.irq_enabled = flags;
}

/* A synchronous hypercall: int $0x1F, EAX = number, EDX/EBX/ECX = args. */
u32 hcall(u32 nr, u32 a1, u32 a2, u32 a3);
/* Batched when in lazy mode (goes through the async ring), else synchronous. */
void lazy_hcall(u32 nr, u32 a1, u32 a2, u32 a3);
void lazy_mode_enter(void);
void lazy_mode_leave(void); /* issues FLUSH_ASYNC, like Linux's leave_lazy_mode */

/* Hypercall statistics and the `trace` command's recorder. */
#define TRACE_LOG 24
struct hc_trace_entry {
	u8 nr, async;
	u32 a1, a2, a3;
};
struct hc_stats {
	u32 sync[LHCALL_MAX];
	u32 async[LHCALL_MAX];
	u32 ring_full; /* async calls that fell back to synchronous */
};
extern struct hc_stats hc_total;
extern struct hc_stats hc_trace;
extern struct hc_trace_entry hc_trace_log[TRACE_LOG];
extern u32 hc_trace_logged;
extern int hc_tracing;
const char *hcall_name(u32 nr);

void lguest_init_data(void);
void lguest_crash(const char *msg) __attribute__((noreturn));

/* Clock: rdtsc scaled by lguest_data.tsc_khz, or lguest_data.time as fallback. */
void clock_init(void);
u64 clock_ns(void); /* nanoseconds since clock_init */
u32 clock_ms(void);
static inline u64 rdtsc(void)
{
	u32 lo, hi;
	__asm__ __volatile__("rdtsc" : "=a"(lo), "=d"(hi));
	return ((u64)hi << 32) | lo;
}

#endif
