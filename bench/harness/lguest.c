/*
 * The harness platform as a guest of the Linux 2.6.23 lguest host, entered by the Launcher like
 * any lguest kernel: hypercalls (int $0x1f) for the GDT, IDT, kernel stack and page tables, and
 * the console through SEND_DMA on key 0.
 */
#include "platform.h"

#define LHCALL_LGUEST_INIT 1
#define LHCALL_CRASH 2
#define LHCALL_LOAD_GDT 3
#define LHCALL_NEW_PGTABLE 4
#define LHCALL_LOAD_IDT_ENTRY 6
#define LHCALL_SET_STACK 7
#define LHCALL_TS 8
#define LHCALL_SEND_DMA 13

#define KERNEL_CS 0x61 /* entry 12 at RPL 1: the guest kernel runs at CPL 1 */
#define KERNEL_DS 0x69

const u32 kernel_base = 0xC0000000u;
const u32 user_eflags = 0x202;
extern char kernel_stack_top[];

/* struct lguest_data: the guest starts with interrupts off and every IRQ blocked, and never
 * enables them (the harness has no timer and no devices but the console). */
static struct {
  u32 irq_enabled;
  u32 blocked_interrupts;
  u32 cr2;
  u32 time[2];
  u8 hcall_status[64];
  u32 hcalls[64][4];
  u32 reserve_mem;
  u16 guestid;
  u16 pad;
  u32 tsc_khz;
  u32 noirq_start;
  u32 noirq_end;
} lguest_data = {.blocked_interrupts = ~0u,
                 .hcall_status = {[0 ... 63] = 0xff}};

struct lguest_dma {
  u32 used_len;
  u32 addr[16];
  u16 len[16];
};
static struct lguest_dma console_dma;
static char console_buf[256];
static u32 gdt[32][2];
static const char power_down[] = "Power down";

static u32 phys(const void *p) { return (u32)p - kernel_base; }

static void hcall(u32 nr, u32 a, u32 b, u32 c) {
  __asm__ volatile("int $0x1f" : "+a"(nr) : "d"(a), "b"(b), "c"(c) : "memory");
}

void platform_init(void) {
  hcall(LHCALL_LGUEST_INIT, phys(&lguest_data), 0, 0);
  /* Flat segments as in Linux's GDT; the host raises DPL 0 to 1, so give DPL 1 directly. */
  gdt[12][0] = gdt[13][0] = gdt[14][0] = gdt[15][0] = 0x0000ffff;
  gdt[12][1] = 0x00cfba00;
  gdt[13][1] = 0x00cfb200;
  gdt[14][1] = 0x00cffa00;
  gdt[15][1] = 0x00cff200;
  hcall(LHCALL_LOAD_GDT, phys(gdt), 32, 0);
  /* Trap gates (direct traps); int3 is DPL 3 so a CPL-3 program's final int3 reaches us. The
   * host ignores 2, 8 and 15. */
  for (u32 v = 0; v < 20; v++) {
    if (v == 2 || v == 8 || v == 15) continue;
    u32 off = trap_stubs[v];
    u32 dpl = v == 3 ? 3 : 0;
    hcall(LHCALL_LOAD_IDT_ENTRY, v, (KERNEL_CS << 16) | (off & 0xffff),
          (off & 0xffff0000) | 0x8f00 | (dpl << 13));
  }
  hcall(LHCALL_SET_STACK, KERNEL_DS, (u32)kernel_stack_top, 1);
  hcall(LHCALL_TS, 0, 0, 0);
}

void platform_write(const char *s, u32 n) {
  while (n) {
    u32 chunk = n < sizeof console_buf ? n : sizeof console_buf;
    for (u32 i = 0; i < chunk; i++) console_buf[i] = s[i];
    console_dma.used_len = 0;
    console_dma.addr[0] = phys(console_buf);
    console_dma.len[0] = (u16)chunk;
    console_dma.len[1] = 0;
    hcall(LHCALL_SEND_DMA, 0, phys(&console_dma), 0);
    s += chunk;
    n -= chunk;
  }
}

void platform_load_pgdir(u32 pgdir) { hcall(LHCALL_NEW_PGTABLE, pgdir, 0, 0); }

void platform_power_off(void) {
  for (;;) hcall(LHCALL_CRASH, phys(power_down), 0, 0);
}
