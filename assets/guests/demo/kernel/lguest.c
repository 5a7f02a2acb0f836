/* Hypercalls, the asynchronous hypercall ring, lguest_data and the clock. */
#include "lguest.h"
#include "hcring.h"
#include "lib.h"

/* Labels of our iret window (entry.asm): the Host never injects inside it. */
extern char lguest_noirq_start[], lguest_noirq_end[];

/*
 * The structure we share with the Host.  It lives in .data; we hand its
 * guest-physical address to LGUEST_INIT.  Static initial values matter:
 * interrupts "disabled", the timer (IRQ 0) masked, and all 64 async ring
 * slots free (0xFF).
 */
struct lguest_data lguest_data __attribute__((aligned(16))) = {
	.irq_enabled = 0,
	.blocked_interrupts = 1,
	.hcall_status = { [0 ... LHCALL_RING_SIZE - 1] = 0xFF },
	.noirq_start = (u32)lguest_noirq_start,
	.noirq_end = (u32)lguest_noirq_end,
};

typedef char check_lguest_data_size[sizeof(struct lguest_data) == 1128 ? 1 : -1];

struct hc_stats hc_total, hc_trace;
struct hc_trace_entry hc_trace_log[TRACE_LOG];
u32 hc_trace_logged;
int hc_tracing;

static unsigned ring_next; /* our cursor into the async ring */
static int lazy_mode;

static const char *const names[LHCALL_MAX] = {
	"FLUSH_ASYNC", "LGUEST_INIT", "CRASH", "LOAD_GDT", "NEW_PGTABLE", "FLUSH_TLB",
	"LOAD_IDT_ENTRY", "SET_STACK", "TS", "SET_CLOCKEVENT", "HALT", "(11)",
	"BIND_DMA", "SEND_DMA", "SET_PTE", "SET_PMD", "LOAD_TLS",
};

const char *hcall_name(u32 nr)
{
	return nr < LHCALL_MAX ? names[nr] : "?";
}

static void record(u32 nr, u32 a1, u32 a2, u32 a3, int async)
{
	u32 flags = irq_save();
	if (nr < LHCALL_MAX) {
		(async ? hc_total.async : hc_total.sync)[nr]++;
		if (hc_tracing) {
			(async ? hc_trace.async : hc_trace.sync)[nr]++;
			if (hc_trace_logged < TRACE_LOG) {
				struct hc_trace_entry *e = &hc_trace_log[hc_trace_logged];
				e->nr = (u8)nr;
				e->async = (u8)async;
				e->a1 = a1;
				e->a2 = a2;
				e->a3 = a3;
			}
			hc_trace_logged++;
		}
	}
	irq_restore(flags);
}

u32 hcall(u32 nr, u32 a1, u32 a2, u32 a3)
{
	record(nr, a1, a2, a3, 0);
	/* The trap to the Host.  It runs any ready async calls first, then this one. */
	__asm__ __volatile__("int $0x1f" : "+a"(nr) : "d"(a1), "b"(a2), "c"(a3) : "memory");
	return nr; /* only BIND_DMA returns a value */
}

void lazy_hcall(u32 nr, u32 a1, u32 a2, u32 a3)
{
	u32 flags;
	if (!lazy_mode) {
		hcall(nr, a1, a2, a3);
		return;
	}
	flags = irq_save(); /* an interrupt handler must not interleave ring writes */
	if (hcring_push(&lguest_data, &ring_next, nr, a1, a2, a3)) {
		record(nr, a1, a2, a3, 1);
	} else {
		/* Ring full: a synchronous call makes the Host drain the ring first. */
		hc_total.ring_full++;
		if (hc_tracing)
			hc_trace.ring_full++;
		hcall(nr, a1, a2, a3);
	}
	irq_restore(flags);
}

void lazy_mode_enter(void)
{
	lazy_mode++;
}

void lazy_mode_leave(void)
{
	if (--lazy_mode == 0)
		hcall(LHCALL_FLUSH_ASYNC, 0, 0, 0); /* make the Host run what we queued */
}

void lguest_init_data(void)
{
	/* Must be our very first hypercall: tells the Host where lguest_data is. */
	hcall(LHCALL_LGUEST_INIT, __pa(&lguest_data), 0, 0);
}

void lguest_crash(const char *msg)
{
	/* The Host reads 128 bytes at this address and kills us with "CRASH: <msg>". */
	static char buf[128];
	irq_disable();
	strlcpy(buf, msg, sizeof(buf));
	for (;;)
		hcall(LHCALL_CRASH, __pa(buf), 0, 0);
}

/* ---- clock ---- */

static u64 tsc_base;
static u64 time_base_ns;

static u64 lguest_time_ns(void)
{
	/* Host-written wall clock; re-read until tv_sec is stable. */
	u32 sec, nsec;
	do {
		sec = *(volatile u32 *)&lguest_data.time_sec;
		nsec = *(volatile u32 *)&lguest_data.time_nsec;
	} while (sec != *(volatile u32 *)&lguest_data.time_sec);
	return (u64)sec * 1000000000ull + nsec;
}

void clock_init(void)
{
	tsc_base = rdtsc();
	time_base_ns = lguest_time_ns();
}

u64 clock_ns(void)
{
	u32 khz = lguest_data.tsc_khz;
	if (khz) {
		/* ns = cycles * 1e6 / khz, split to avoid 64-bit overflow */
		u64 cyc = rdtsc() - tsc_base;
		return (cyc / khz) * 1000000ull + ((cyc % khz) * 1000000ull) / khz;
	}
	return lguest_time_ns() - time_base_ns;
}

u32 clock_ms(void)
{
	return (u32)(clock_ns() / 1000000ull);
}
