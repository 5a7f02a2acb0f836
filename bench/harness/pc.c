/*
 * The harness platform on a bare PC (multiboot from QEMU or v86): its own GDT with a TSS for the
 * CPL 3 -> 0 stack switch, an IDT, CR3/CR0 for paging, COM1 for the console, and QEMU's
 * isa-debug-exit port (0xf4) to power off when the command line says "debug-exit" (elsewhere, v86
 * for one, the harness halts and the host ends the machine after "bench: done").
 */
#include "platform.h"

#define KERNEL_CS 0x60
#define KERNEL_DS 0x68
#define TSS_SEL 0x80
#define COM1 0x3f8
#define DEBUG_EXIT 0xf4

const u32 kernel_base = 0;
const u32 user_eflags = 0x002; /* interrupts stay off: the harness has no interrupt handlers */
extern char kernel_stack_top[];

/* Physical address of the multiboot information (pc-entry.asm saves EBX). */
u32 multiboot_info;
static u32 gdt[32][2];
static u32 idt[20][2];
static u32 tss[26]; /* 104 bytes: esp0 at 4, ss0 at 8, I/O map base at 102 */

static void outb(u16 port, u8 v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static u8 inb(u16 port) {
  u8 v;
  __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
  return v;
}

void platform_init(void) {
  gdt[12][0] = gdt[13][0] = gdt[14][0] = gdt[15][0] = 0x0000ffff;
  gdt[12][1] = 0x00cf9a00;
  gdt[13][1] = 0x00cf9200;
  gdt[14][1] = 0x00cffa00;
  gdt[15][1] = 0x00cff200;
  u32 t = (u32)tss;
  gdt[16][0] = (t << 16) | (sizeof tss - 1);
  gdt[16][1] = (t & 0xff000000) | 0x8900 | ((t >> 16) & 0xff);
  tss[1] = (u32)kernel_stack_top;
  tss[2] = KERNEL_DS;
  tss[25] = (u32)sizeof tss << 16; /* no I/O permission bitmap */
  struct __attribute__((packed)) {
    u16 limit;
    u32 base;
  } gdtr = {sizeof gdt - 1, (u32)gdt}, idtr = {sizeof idt - 1, (u32)idt};
  __asm__ volatile("lgdt %0\n\t"
                   "ljmp %1, $1f\n"
                   "1:\n\t"
                   "mov %2, %%ds\n\t"
                   "mov %2, %%es\n\t"
                   "mov %2, %%ss\n\t"
                   "mov %2, %%fs\n\t"
                   "mov %2, %%gs\n\t"
                   "ltr %w3\n\t"
                   "lidt %4"
                   :
                   : "m"(gdtr), "i"(KERNEL_CS), "r"(KERNEL_DS), "r"(TSS_SEL), "m"(idtr)
                   : "memory");
  for (u32 v = 0; v < 20; v++) {
    u32 off = trap_stubs[v];
    u32 dpl = v == 3 ? 3 : 0;
    idt[v][0] = (KERNEL_CS << 16) | (off & 0xffff);
    idt[v][1] = (off & 0xffff0000) | 0x8f00 | (dpl << 13);
  }
  /* x87 on (MP, NE; EM and TS off), both PICs masked, COM1 at 115200 8N1. */
  u32 cr0;
  __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
  cr0 = (cr0 | 0x22) & ~0xcu;
  __asm__ volatile("mov %0, %%cr0\n\tfninit" : : "r"(cr0));
  outb(0x21, 0xff);
  outb(0xa1, 0xff);
  outb(COM1 + 1, 0);
  outb(COM1 + 3, 0x80);
  outb(COM1 + 0, 1);
  outb(COM1 + 1, 0);
  outb(COM1 + 3, 0x03);
  outb(COM1 + 2, 0xc7);
}

void platform_write(const char *s, u32 n) {
  for (u32 i = 0; i < n; i++) {
    while (!(inb(COM1 + 5) & 0x20)) {
    }
    outb(COM1, (u8)s[i]);
  }
}

void platform_load_pgdir(u32 pgdir) {
  __asm__ volatile("mov %0, %%cr3\n\t"
                   "mov %%cr0, %%eax\n\t"
                   "or $0x80000000, %%eax\n\t"
                   "mov %%eax, %%cr0"
                   :
                   : "r"(pgdir)
                   : "eax", "memory");
}

static int has_debug_exit(void) {
  const u32 *info = (const u32 *)multiboot_info;
  if (!info || !(info[0] & 4)) return 0; /* flags bit 2: cmdline at +16 */
  const char *want = "debug-exit";
  for (const char *c = (const char *)info[4]; *c; c++) {
    u32 i = 0;
    while (want[i] && c[i] == want[i]) i++;
    if (!want[i]) return 1;
  }
  return 0;
}

void platform_power_off(void) {
  if (has_debug_exit()) outb(DEBUG_EXIT, 0);
  for (;;) __asm__ volatile("cli; hlt");
}
