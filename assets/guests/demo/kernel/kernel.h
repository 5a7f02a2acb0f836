/* Kernel-wide declarations of the demo guest. */
#ifndef DEMO_KERNEL_H
#define DEMO_KERNEL_H
#include "types.h"
#include "lib.h"
#include "lguest.h"

#define DEMO_VERSION "0.1"

/* console.c */
void console_write(const char *s, size_t n);
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
int console_getc(void);      /* blocks */
int console_try_getc(void);  /* -1 if nothing buffered */
void console_probe(int index, struct lguest_device_desc *d);
void console_irq(void);

/* mm.c */
#define PTE_P 0x001
#define PTE_RW 0x002
#define PTE_US 0x004
#define PTE_A 0x020
#define PTE_D 0x040
#define PTE_G 0x100
#define PDE_TABLE 0x067           /* _PAGE_TABLE: P|RW|US|A|D */
#define PTE_KERNEL 0x163          /* P|RW|A|D|G, like PAGE_KERNEL */
#define PTE_DEVICE 0x063          /* P|RW|A|D: our "ioremap" flags */
#define PTE_USER 0x007            /* P|RW|US; the Host sets A/D on use */
extern u32 kernel_pd[1024];
extern u32 mem_bytes;             /* RAM we use: e820 size, at most LOWMEM_MAX */
extern u32 total_frames, free_frames;
void mm_init(u32 mem, u32 reserved_low_end, u32 launcher_tables_start, u32 launcher_tables_end);
void *ioremap(u32 gpa, u32 pages); /* map device pages (above RAM) */
#define LOWMEM_MAX 0x38000000u     /* 896 MiB: direct map ends at 0xF8000000 */
u32 frame_alloc(void);            /* zeroed frame; returns GPA, 0 if none */
u32 frame_alloc_stack(void);      /* two contiguous frames, 8 KiB aligned */
void frame_free(u32 pa);
void set_pte_at(u32 *pd, u32 va, u32 pte);
void set_pmd(u32 *pd, u32 idx, u32 pde);
u32 *pte_lookup(u32 *pd, u32 va); /* NULL if no page table */
void load_pgtable(u32 *pd);       /* NEW_PGTABLE if it differs */
u32 current_cr3(void);
u32 count_pt_pages(u32 *pd, u32 first, u32 last, u32 *mapped);

/* sched.c */
#define MAX_TASKS 16
enum { T_FREE, T_RUNNABLE, T_BLOCKED, T_SLEEPING, T_ZOMBIE };
struct task {
	int state;
	int pid;
	int parent;
	int is_user;
	char name[16];
	u32 ksp;          /* saved kernel esp while switched out */
	u32 kstack;       /* virtual base of the 8 KiB kernel stack */
	u32 *pd;          /* page directory (kernel_pd for kernel threads) */
	void *chan;       /* what a blocked task waits for */
	u32 wake_at;      /* jiffies, for sleepers */
	u32 ticks;        /* CPU ticks consumed */
	int exit_code;
	u32 user_pages;
	u32 tls_base;
	u32 tls_desc[6];  /* GDT entries 6..8 for LOAD_TLS */
	int fpu_in_use;   /* FPU holds this task's state and TS is clear */
	int fpu_valid;    /* fpu_state holds saved state */
	u8 fpu_state[108] __attribute__((aligned(4)));
};
extern struct task tasks[MAX_TASKS];
extern struct task *current;
extern volatile u32 jiffies;
extern int need_resched;
#define HZ 100
void sched_init(u32 boot_stack_base);
void schedule(void);              /* call with interrupts disabled */
void sleep_on(void *chan);        /* call with interrupts disabled */
void wake_up(void *chan);
void sleep_ticks(u32 ticks);
void sched_tick(void);
int kthread_create(const char *name, void (*fn)(void));
int spawn_user(const char *prog, const char *args);
int wait_pid(int pid);            /* returns exit code */
void detach_pid(int pid);         /* background: reaped by idle */
void reap_orphans(void);
void do_exit(int code) __attribute__((noreturn));
void idle_loop(void) __attribute__((noreturn));
void fpu_trap(void);
void syscall_dispatch(struct trapframe *tf);
struct user_prog {
	const char *name;
	const u8 *start, *end;
	const char *desc;
};
extern const struct user_prog user_progs[];
extern const int user_prog_count;

/* trap.c */
void gdt_init(void);
void idt_init(void);
void clockevent_init(void);
void irq_unmask(int irq);
void trap_dispatch(struct trapframe *tf);
void make_tls_desc(u32 *d, u32 base);
u32 irq_count(int irq);
extern void (*irq_handlers[32])(void);
extern u32 timer_irqs;

/* blk.c, net.c */
void blk_probe(int index, struct lguest_device_desc *d);
int blk_present(void);
u32 blk_sectors(void);
int blk_rw(int write, u32 sector, void *buf512);
void net_probe(int index, struct lguest_device_desc *d);
int net_present(void);
void net_info(void);
void net_ping(u32 count);

/* shell.c */
void shell_main(void);

/* entry.asm */
void switch_stacks(u32 *save_esp, u32 new_esp);
void ret_from_trap(void);
void kthread_start(void);
extern char boot_stack[], boot_stack_top[];
extern char __kernel_start[], __kernel_end[], __bss_start[], __bss_end[];

#endif
