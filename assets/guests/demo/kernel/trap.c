/*
 * Descriptor tables, traps, interrupts and the clock event.
 * The Host owns the real GDT/IDT: we hand it our tables with LOAD_GDT,
 * LOAD_TLS and one LOAD_IDT_ENTRY per gate.
 */
#include "kernel.h"

/* Our GDT: 32 entries, Linux 2.6.23 layout (entries 10, 11, 16, 31 are the Host's). */
static u32 gdt[32][2] __attribute__((aligned(8))) = {
	[12] = { 0x0000FFFF, 0x00CF9A00 }, /* __KERNEL_CS: the Host raises DPL 0 -> 1 */
	[13] = { 0x0000FFFF, 0x00CF9200 }, /* __KERNEL_DS */
	[14] = { 0x0000FFFF, 0x00CFFA00 }, /* __USER_CS, DPL 3 */
	[15] = { 0x0000FFFF, 0x00CFF200 }, /* __USER_DS, DPL 3 */
	[26] = { 0x00000000, 0x00C09200 }, /* ESPFIX small SS (unused) */
};

void (*irq_handlers[32])(void);
u32 timer_irqs;
static u32 irq_counts[32];

#define CLOCK_TICK_NS (1000000000u / HZ) /* 10 ms */

void gdt_init(void)
{
	hcall(LHCALL_LOAD_GDT, __pa(gdt), 32, 0);
	/* Reload our data segments against the new table. */
	__asm__ __volatile__("mov %0, %%ds\n\tmov %0, %%es\n\tmov %0, %%ss" ::"r"(KERNEL_DS));
}

/* A flat 4 GiB user data descriptor (DPL 3) based at `base`. */
void make_tls_desc(u32 *d, u32 base)
{
	d[0] = (base << 16) | 0xFFFF;
	d[1] = (base & 0xFF000000) | 0x00CFF200 | ((base >> 16) & 0xFF);
}

/* Exception and interrupt entry points (entry.asm). */
extern char trap0[], trap1[], trap3[], trap4[], trap5[], trap6[], trap7[], trap9[], trap10[],
	trap11[], trap12[], trap13[], trap14[], trap16[], trap17[], trap19[], trap0x80[];
extern void *const irq_stubs[32]; /* trap32 .. trap63 */

static void set_gate(u32 vector, void *handler, int trap, int dpl)
{
	u32 off = (u32)handler;
	u32 lo = (0x60u << 16) | (off & 0xFFFF); /* selector __KERNEL_CS; Host forces 0x61 */
	u32 hi = (off & 0xFFFF0000) | 0x8000 | ((u32)dpl << 13) | ((trap ? 0xFu : 0xEu) << 8);
	hcall(LHCALL_LOAD_IDT_ENTRY, vector, lo, hi);
}

void idt_init(void)
{
	static const struct {
		u8 vec, trap, dpl;
		void *fn;
	} gates[] = {
		{ 0, 1, 0, trap0 },   { 1, 0, 0, trap1 },   { 3, 0, 3, trap3 },   { 4, 1, 3, trap4 },
		{ 5, 1, 0, trap5 },   { 6, 1, 0, trap6 },   { 7, 1, 0, trap7 },   { 9, 1, 0, trap9 },
		{ 10, 1, 0, trap10 }, { 11, 1, 0, trap11 }, { 12, 1, 0, trap12 }, { 13, 1, 0, trap13 },
		{ 14, 0, 0, trap14 }, { 16, 1, 0, trap16 }, { 17, 1, 0, trap17 }, { 19, 1, 0, trap19 },
	};
	u32 i;
	/* Exceptions: trap gates go straight to us (no Host exit) when possible;
	 * 1, 3 and 14 are interrupt gates like in Linux.  2, 8 and 15 are not
	 * ours (NMI, double fault, reserved), so we install nothing there. */
	for (i = 0; i < ARRAY_SIZE(gates); i++)
		set_gate(gates[i].vec, gates[i].fn, gates[i].trap, gates[i].dpl);
	/* System calls: a DPL 3 trap gate, so int $0x80 reaches us directly. */
	set_gate(0x80, trap0x80, 1, 3);
	/* IRQ n arrives on vector 0x20 + n through interrupt gates; the Host
	 * sets irq_enabled = 0 when it delivers one. */
	for (i = 0; i < 32; i++)
		set_gate(0x20 + i, irq_stubs[i], 0, 0);
}

void irq_unmask(int irq)
{
	__atomic_and_fetch(&lguest_data.blocked_interrupts, ~(1u << irq), __ATOMIC_SEQ_CST);
}

static void irq_mask(int irq)
{
	__atomic_or_fetch(&lguest_data.blocked_interrupts, 1u << irq, __ATOMIC_SEQ_CST);
}

static void timer_interrupt(void)
{
	timer_irqs++;
	jiffies++;
	/* One-shot clock event: re-arm for the next tick. */
	hcall(LHCALL_SET_CLOCKEVENT, CLOCK_TICK_NS, 0, 0);
	sched_tick();
}

void clockevent_init(void)
{
	irq_handlers[0] = timer_interrupt;
	hcall(LHCALL_SET_CLOCKEVENT, CLOCK_TICK_NS, 0, 0);
	irq_unmask(0); /* blocked_interrupts starts as 1: timer masked */
}

static const char *const exc_names[20] = {
	"divide error", "debug", "NMI", "int3", "overflow", "bounds", "invalid opcode",
	"device not available", "double fault", "coprocessor segment overrun", "invalid TSS",
	"segment not present", "stack segment", "general protection fault", "page fault",
	"reserved", "floating point error", "alignment check", "machine check", "SIMD error",
};

static void user_fault(struct trapframe *tf, const char *what, u32 addr, int has_addr)
{
	if (has_addr)
		printk("%s[%d]: segfault at 0x%08x ip 0x%08x sp 0x%08x error %x\n", current->name,
		       current->pid, addr, tf->eip, tf->user_esp, tf->err);
	else
		printk("%s[%d]: %s (trap %u) ip 0x%08x sp 0x%08x error %x\n", current->name,
		       current->pid, what, tf->vector, tf->eip, tf->user_esp, tf->err);
	irq_disable();
	do_exit(128 + (int)tf->vector);
}

void trap_dispatch(struct trapframe *tf)
{
	u32 v = tf->vector;
	int from_user = (tf->cs & 3) == 3;

	if (v >= 0x20 && v < 0x40) {
		u32 irq = v - 0x20;
		irq_counts[irq]++;
		if (irq_handlers[irq]) {
			/* Level-style: mask a device IRQ while its handler runs. */
			if (irq)
				irq_mask((int)irq);
			irq_handlers[irq]();
			if (irq)
				irq_unmask((int)irq);
		}
	} else if (v == 0x80) {
		syscall_dispatch(tf);
	} else if (v == 7) {
		if (!from_user)
			panic("FPU used in the kernel at 0x%08x", tf->eip);
		fpu_trap();
	} else if (v == 14) {
		/* read_cr2: the Host stored the fault address in lguest_data.cr2 */
		u32 cr2 = lguest_data.cr2;
		if (!from_user)
			panic("kernel page fault at 0x%08x ip 0x%08x error %x", cr2, tf->eip, tf->err);
		user_fault(tf, "page fault", cr2, 1);
	} else {
		const char *what = v < 20 ? exc_names[v] : "unknown trap";
		if (!from_user)
			panic("%s (trap %u) in kernel at 0x%08x error %x", what, v, tf->eip, tf->err);
		user_fault(tf, what, 0, 0);
	}

	/* Preemption point: only when returning to user mode. */
	if (from_user && need_resched) {
		irq_disable();
		schedule();
	}
}

u32 irq_count(int irq)
{
	return irq_counts[irq];
}
