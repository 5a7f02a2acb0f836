/* Basic types and the lguest ABI structures (Linux 2.6.23, i386). */
#ifndef DEMO_TYPES_H
#define DEMO_TYPES_H

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef int s32;
typedef long long s64;
typedef unsigned int size_t;

#ifndef NULL
#define NULL ((void *)0)
#endif

#define PAGE_OFFSET 0xC0000000u
#define PAGE_SIZE 4096u
/* Kernel virtual <-> guest-physical: the kernel sees RAM at PAGE_OFFSET + GPA. */
#define __pa(v) ((u32)(v) - PAGE_OFFSET)
#define __va(p) ((void *)((u32)(p) + PAGE_OFFSET))

/* Hypercall numbers (int $0x1F, EAX = number, EDX/EBX/ECX = args). */
enum {
	LHCALL_FLUSH_ASYNC = 0,
	LHCALL_LGUEST_INIT = 1,
	LHCALL_CRASH = 2,
	LHCALL_LOAD_GDT = 3,
	LHCALL_NEW_PGTABLE = 4,
	LHCALL_FLUSH_TLB = 5,
	LHCALL_LOAD_IDT_ENTRY = 6,
	LHCALL_SET_STACK = 7,
	LHCALL_TS = 8,
	LHCALL_SET_CLOCKEVENT = 9,
	LHCALL_HALT = 10,
	LHCALL_BIND_DMA = 12,
	LHCALL_SEND_DMA = 13,
	LHCALL_SET_PTE = 14,
	LHCALL_SET_PMD = 15,
	LHCALL_LOAD_TLS = 16,
	LHCALL_MAX = 17
};

#define LHCALL_RING_SIZE 64

/* struct lguest_data: shared with the Host; 1128 bytes. */
struct lguest_data {
	u32 irq_enabled;           /* 0 = "cli", 0x200 = "sti" */
	u32 blocked_interrupts;    /* bit n set = IRQ n masked */
	u32 cr2;                   /* Host writes the fault address before a #PF */
	u32 time_sec, time_nsec;   /* Host wall clock */
	u8 hcall_status[LHCALL_RING_SIZE]; /* 0xFF = free/done, 0 = ready */
	struct { u32 eax, edx, ebx, ecx; } hcalls[LHCALL_RING_SIZE];
	u32 reserve_mem;           /* Host: top of address space we must not use */
	u16 guestid;               /* Host: our slot (used for the MAC) */
	u16 pad;
	u32 tsc_khz;               /* Host: TSC rate, 0 if unknown */
	u32 noirq_start, noirq_end; /* our iret window: no injection there */
};

/* struct lguest_dma: one scatter-gather descriptor; 100 bytes. */
#define LGUEST_MAX_DMA_SECTIONS 16
struct lguest_dma {
	u32 used_len;
	u32 addr[LGUEST_MAX_DMA_SECTIONS];
	u16 len[LGUEST_MAX_DMA_SECTIONS];
};

/* One entry of the device descriptor page (at max_pfn << 12). */
struct lguest_device_desc {
	u16 type, features, status, num_pages;
	u32 pfn;
};
#define LGUEST_MAX_DEVICES 16
enum { LGUEST_DEVICE_T_CONSOLE = 1, LGUEST_DEVICE_T_NET = 2, LGUEST_DEVICE_T_BLOCK = 3 };
enum { LGUEST_DEVICE_S_ACKNOWLEDGE = 1, LGUEST_DEVICE_S_DRIVER = 2, LGUEST_DEVICE_S_DRIVER_OK = 4,
       LGUEST_DEVICE_S_FAILED = 128 };

/* The block device page protocol. */
struct lguest_block_page {
	s32 type;        /* 0 read, 1 write */
	u32 sector;
	u32 bytes;
	s32 result;      /* 0 pending, 1 ok, 2 error */
	u32 num_sectors;
};

#define LGUEST_CONSOLE_DMA_KEY 0

/* Registers saved by our trap entry stubs (see entry.asm). */
struct trapframe {
	u32 gs, fs, es, ds;
	u32 edi, esi, ebp, esp_dummy, ebx, edx, ecx, eax; /* pushad order */
	u32 vector, err;
	u32 eip, cs, eflags;
	u32 user_esp, user_ss; /* only present when coming from ring 3 */
};

/* Selectors (the Guest runs its kernel at RPL 1). */
#define KERNEL_CS 0x61
#define KERNEL_DS 0x69
#define USER_CS 0x73
#define USER_DS 0x7B
#define TLS_SEL 0x33

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define barrier() __asm__ __volatile__("" ::: "memory")

#endif
