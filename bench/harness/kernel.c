/*
 * The benchmark harness kernel: runs each program of the embedded table (programs.bin, written
 * by bench/harness.ts) as a CPL-3 process with paging on, the way an OS runs a process, and
 * reports on the console:
 *
 *   bench: start NAME                 just before it enters user mode
 *   bench: end NAME CHECKSUM          at its final int3 (CHECKSUM = EAX, 8 hex digits)
 *   bench: fault VECTOR ERROR EIP     when it faults instead (the run stops)
 *   bench: done                       after the last program, then the machine powers off
 *
 * Each program is a flat image linked at PROGRAM_BASE (bench/programs/link.ld); it gets a
 * zeroed 16 MiB user region (image, data, heap, stack at the top), as the native runner gives it.
 */
#include "platform.h"

#define PROGRAM_BASE 0x40000000u
#define PROGRAM_BYTES 0x01000000u
/* Physical frames behind the user region, and how much RAM the kernel maps for itself. */
#define USER_PHYS 0x02000000u
#define KERNEL_MAPPED 0x02000000u

#define PTE_KERNEL 0x063u /* present, writable, accessed, dirty */
#define PTE_USER 0x067u   /* ... and user */

struct program {
  char name[16];
  u32 offset; /* from the start of the table */
  u32 size;
};
struct program_table {
  char magic[4]; /* "BPRG" */
  u32 count;
  struct program programs[];
};
extern const struct program_table programs_blob;

static u32 page_dir[1024] __attribute__((aligned(4096)));
static u32 kernel_tables[KERNEL_MAPPED / 4096] __attribute__((aligned(4096)));
static u32 user_tables[PROGRAM_BYTES / 4096] __attribute__((aligned(4096)));
static u32 current;

static u32 phys(const void *p) { return (u32)p - kernel_base; }

static void puts(const char *s) {
  u32 n = 0;
  while (s[n]) n++;
  platform_write(s, n);
}

static void put_hex(u32 v) {
  char buf[8];
  for (int i = 7; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
  platform_write(buf, 8);
}

static void build_page_tables(void) {
  for (u32 i = 0; i < 1024; i++) page_dir[i] = 0;
  for (u32 i = 0; i < KERNEL_MAPPED / 4096; i++) kernel_tables[i] = (i << 12) | PTE_KERNEL;
  for (u32 i = 0; i < PROGRAM_BYTES / 4096; i++) user_tables[i] = (USER_PHYS + (i << 12)) | PTE_USER;
  for (u32 t = 0; t < KERNEL_MAPPED >> 22; t++)
    page_dir[(kernel_base >> 22) + t] = phys(&kernel_tables[t * 1024]) | PTE_USER;
  for (u32 t = 0; t < PROGRAM_BYTES >> 22; t++)
    page_dir[(PROGRAM_BASE >> 22) + t] = phys(&user_tables[t * 1024]) | PTE_USER;
  platform_load_pgdir(phys(page_dir));
}

static void start_program(void) __attribute__((noreturn));
static void start_program(void) {
  if (current == programs_blob.count) {
    puts("bench: done\n");
    platform_power_off();
  }
  const struct program *p = &programs_blob.programs[current];
  u32 words = PROGRAM_BYTES / 4;
  u32 *dst = (u32 *)PROGRAM_BASE;
  __asm__ volatile("cld; rep stosl" : "+D"(dst), "+c"(words) : "a"(0) : "memory");
  const u8 *src = (const u8 *)&programs_blob + p->offset;
  u8 *d = (u8 *)PROGRAM_BASE;
  for (u32 i = 0; i < p->size; i++) d[i] = src[i];
  puts("bench: start ");
  puts(p->name);
  puts("\n");
  enter_user(PROGRAM_BASE, PROGRAM_BASE + PROGRAM_BYTES - 16);
}

void trap(struct trap_frame *f) {
  const struct program *p = &programs_blob.programs[current];
  if (f->vector == 3 && (f->cs & 3) == 3) {
    puts("bench: end ");
    puts(p->name);
    puts(" ");
    put_hex(f->eax);
    puts("\n");
    current++;
    start_program();
  }
  puts("bench: fault ");
  put_hex(f->vector);
  puts(" ");
  put_hex(f->error);
  puts(" ");
  put_hex(f->eip);
  puts("\n");
  platform_power_off();
}

void kernel_main(void) {
  platform_init();
  if (programs_blob.magic[0] != 'B' || programs_blob.magic[3] != 'G') {
    puts("bench: fault: no program table\n");
    platform_power_off();
  }
  build_page_tables();
  current = 0;
  puts("bench: ready\n");
  start_program();
}
