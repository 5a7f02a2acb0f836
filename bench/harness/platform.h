/*
 * What the benchmark harness kernel (kernel.c) needs from the machine it runs on. Two
 * implementations: lguest.c (a guest of the lguest host, through the real Launcher) and pc.c (a
 * multiboot kernel on a bare PC, for QEMU and v86).
 */
#ifndef PLATFORM_H
#define PLATFORM_H

typedef unsigned int u32;
typedef unsigned short u16;
typedef unsigned char u8;

/* Kernel virtual address of physical address 0 (the kernel is linked at KERNEL_BASE + 1 MiB). */
extern const u32 kernel_base;

/* Sets up descriptor tables, the kernel stack for traps from CPL 3, and the console. */
void platform_init(void);
/* Writes bytes to the console (lguest: hvc0 through the Launcher; PC: COM1). */
void platform_write(const char *s, u32 n);
/* Switches to the page directory at physical address pgdir. */
void platform_load_pgdir(u32 pgdir);
/* Ends the machine after the last line of output; does not return. */
void platform_power_off(void) __attribute__((noreturn));
/* EFLAGS for CPL 3 (the PC keeps interrupts off; lguest's real IF is the host's). */
extern const u32 user_eflags;

/* entry.asm (per platform): irets to CPL 3 at eip with esp, on a fresh kernel stack. */
void enter_user(u32 eip, u32 esp) __attribute__((noreturn));

/* kernel.c: called by the trap stubs with the saved frame. */
struct trap_frame {
  u32 edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax; /* pushad */
  u32 vector, error;
  u32 eip, cs, eflags, esp, ss; /* esp and ss only when the trap came from CPL 3 */
};
void trap(struct trap_frame *f) __attribute__((noreturn));
void kernel_main(void) __attribute__((noreturn));

/* Trap stubs for vectors 0..19 (entry.asm), in vector order. */
extern const u32 trap_stubs[20];

/* Selectors both platforms use, as in Linux 2.6.23's GDT (entries 12..15). */
#define USER_CS 0x73
#define USER_DS 0x7b

#endif
