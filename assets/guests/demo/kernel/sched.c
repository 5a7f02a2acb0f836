/*
 * Tasks, the scheduler, user processes and system calls.
 *
 * Every task has an 8 KiB kernel stack.  On each switch we tell the Host
 * (batched through the async ring, like Linux's lazy CPU mode):
 *   NEW_PGTABLE  the next task's page directory (if it differs),
 *   SET_STACK    where to put trap frames when it traps from ring 3,
 *   LOAD_TLS     its three TLS descriptors (user %gs thread pointer),
 *   TS           set, if the previous task used the FPU (lazy FPU),
 * then FLUSH_ASYNC so the Host runs them before we continue.
 */
#include "kernel.h"

#define USER_BASE 0x08048000u
#define USER_STACK_TOP 0xC0000000u
#define USER_STACK_PAGES 4
#define USER_TLS 0xB0000000u
#define KSTACK_SIZE 8192

enum { SYS_exit = 1, SYS_read = 3, SYS_write = 4, SYS_getpid = 20, SYS_getppid = 64,
       SYS_sched_yield = 158, SYS_sleep_ms = 162, SYS_uptime_ms = 300, SYS_hcall_count = 301 };

struct task tasks[MAX_TASKS];
struct task *current;
volatile u32 jiffies;
int need_resched;
static int next_pid = 1;
static int child_exit; /* wait channel */

/* User programs embedded in the image (blobs.asm). */
extern const u8 prog_hello_start[], prog_hello_end[], prog_bench_start[], prog_bench_end[],
	prog_fault_start[], prog_fault_end[], prog_spin_start[], prog_spin_end[], prog_rev_start[],
	prog_rev_end[], prog_fpfmt_start[], prog_fpfmt_end[];
const struct user_prog user_progs[] = {
	{ "hello", prog_hello_start, prog_hello_end, "greets, shows pid/TLS, sleeps" },
	{ "bench", prog_bench_start, prog_bench_end, "integer + FPU loops, timed" },
	{ "fault", prog_fault_start, prog_fault_end, "bad memory access / trap" },
	{ "spin", prog_spin_start, prog_spin_end, "prints while burning CPU" },
	{ "rev", prog_rev_start, prog_rev_end, "reads a line (read syscall), prints it reversed" },
	{ "fpfmt", prog_fpfmt_start, prog_fpfmt_end, "formats doubles and long doubles (x87)" },
};
const int user_prog_count = ARRAY_SIZE(user_progs);

void sched_init(u32 boot_stack_base)
{
	struct task *t = &tasks[0];
	t->state = T_RUNNABLE;
	t->pid = 0;
	strlcpy(t->name, "idle", sizeof(t->name));
	t->kstack = boot_stack_base;
	t->pd = kernel_pd;
	current = t;
	/* Where the Host (and the CPU, for direct traps) pushes frames from ring 3. */
	hcall(LHCALL_SET_STACK, KERNEL_DS, t->kstack + KSTACK_SIZE, KSTACK_SIZE / PAGE_SIZE);
}

static void switch_to(struct task *prev, struct task *next)
{
	lazy_mode_enter();
	load_pgtable(next->pd);
	lazy_hcall(LHCALL_SET_STACK, KERNEL_DS, next->kstack + KSTACK_SIZE, KSTACK_SIZE / PAGE_SIZE);
	if (next->is_user)
		lazy_hcall(LHCALL_LOAD_TLS, __pa(next->tls_desc), 0, 0);
	if (prev->fpu_in_use) {
		/* Save the FPU and set TS: the next FPU use traps (#NM, trap 7). */
		__asm__ __volatile__("fnsave %0" : "=m"(prev->fpu_state));
		prev->fpu_valid = 1;
		prev->fpu_in_use = 0;
		lazy_hcall(LHCALL_TS, 8, 0, 0);
	}
	lazy_mode_leave();
	current = next;
	switch_stacks(&prev->ksp, next->ksp);
}

/* Called with interrupts disabled; round-robin over runnable tasks. */
void schedule(void)
{
	struct task *prev = current, *next = &tasks[0];
	int i, start = (int)(prev - tasks);
	need_resched = 0;
	for (i = 1; i <= MAX_TASKS; i++) {
		struct task *t = &tasks[(start + i) % MAX_TASKS];
		if (t != &tasks[0] && t->state == T_RUNNABLE) {
			next = t;
			break;
		}
	}
	if (next != prev)
		switch_to(prev, next);
}

void sleep_on(void *chan)
{
	if (current == &tasks[0]) {
		/* The idle task cannot block: wait for any interrupt instead.
		 * HALT means "enable interrupts and wait", like sti; hlt. */
		hcall(LHCALL_HALT, 0, 0, 0);
		irq_disable();
		return;
	}
	current->chan = chan;
	current->state = T_BLOCKED;
	schedule();
}

void wake_up(void *chan)
{
	int i;
	for (i = 0; i < MAX_TASKS; i++) {
		if (tasks[i].state == T_BLOCKED && tasks[i].chan == chan) {
			tasks[i].state = T_RUNNABLE;
			tasks[i].chan = NULL;
			need_resched = 1;
		}
	}
}

void sleep_ticks(u32 ticks)
{
	u32 flags = irq_save();
	current->wake_at = jiffies + (ticks ? ticks : 1);
	current->state = T_SLEEPING;
	schedule();
	irq_restore(flags);
}

/* Timer interrupt: account, wake sleepers, ask for preemption of user tasks. */
void sched_tick(void)
{
	int i, others = 0;
	current->ticks++;
	for (i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == T_SLEEPING && (s32)(jiffies - t->wake_at) >= 0)
			t->state = T_RUNNABLE;
		if (t != current && t->state == T_RUNNABLE)
			others++;
	}
	if (others && (current->is_user || current == &tasks[0]))
		need_resched = 1;
}

static struct task *alloc_task(const char *name)
{
	int i;
	u32 stack;
	for (i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state != T_FREE)
			continue;
		stack = frame_alloc_stack();
		if (!stack)
			return NULL;
		memset(t, 0, sizeof(*t));
		t->pid = next_pid++;
		t->parent = current->pid;
		t->kstack = (u32)__va(stack);
		t->pd = kernel_pd;
		strlcpy(t->name, name, sizeof(t->name));
		return t;
	}
	return NULL;
}

static void free_task(struct task *t)
{
	if (t->pd != kernel_pd)
		frame_free(__pa(t->pd));
	frame_free(__pa(t->kstack));
	frame_free(__pa(t->kstack) + PAGE_SIZE);
	t->state = T_FREE;
}

int kthread_create(const char *name, void (*fn)(void))
{
	u32 flags = irq_save();
	struct task *t = alloc_task(name);
	u32 *sp;
	if (!t) {
		irq_restore(flags);
		return -1;
	}
	/* Initial stack for switch_stacks: edi esi ebx ebp, "return" to kthread_start. */
	sp = (u32 *)(t->kstack + KSTACK_SIZE);
	*--sp = (u32)fn;
	*--sp = (u32)kthread_start;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	t->ksp = (u32)sp;
	t->state = T_RUNNABLE;
	irq_restore(flags);
	return t->pid;
}

/* Map a fresh zeroed page at va in t's address space; returns its GPA. */
static u32 map_user_page(struct task *t, u32 va)
{
	u32 f = frame_alloc();
	if (!f)
		return 0;
	set_pte_at(t->pd, va, f | PTE_USER); /* SET_PTE(pgdir, va, pte) */
	t->user_pages++;
	return f;
}

/* Unmap and free all user pages and page tables of the current task. */
static void free_user_space(struct task *t)
{
	u32 i, j;
	lazy_mode_enter();
	for (i = 0; i < PAGE_OFFSET >> 22; i++) {
		u32 *pt;
		if (!(t->pd[i] & PTE_P))
			continue;
		pt = __va(t->pd[i] & ~0xFFFu);
		for (j = 0; j < 1024; j++) {
			if (pt[j] & PTE_P) {
				frame_free(pt[j] & ~0xFFFu);
				set_pte_at(t->pd, (i << 22) | (j << 12), 0);
			}
		}
		frame_free(t->pd[i] & ~0xFFFu);
		set_pmd(t->pd, i, 0);
	}
	lazy_hcall(LHCALL_FLUSH_TLB, 0, 0, 0); /* drop our user shadow entries */
	lazy_mode_leave();
	t->user_pages = 0;
}

int spawn_user(const char *prog, const char *args)
{
	const struct user_prog *p = NULL;
	struct task *t;
	struct trapframe *tf;
	u32 flags, pd_pa, off, size, filesz, f, *sp, user_sp, i, top_frame = 0, tls_frame;
	const u32 *hdr;
	char *argp;

	for (i = 0; i < (u32)user_prog_count; i++)
		if (!strcmp(user_progs[i].name, prog))
			p = &user_progs[i];
	if (!p)
		return -2;
	/* Header written by crt0.asm: magic "DEMO", memory size, entry point. */
	hdr = (const u32 *)p->start;
	filesz = (u32)(p->end - p->start);
	size = hdr[1];
	if (hdr[0] != 0x4F4D4544 || size < filesz || size > 0x400000 || hdr[2] < USER_BASE ||
	    hdr[2] >= USER_BASE + filesz)
		return -2;
	flags = irq_save();
	t = alloc_task(prog);
	pd_pa = t ? frame_alloc() : 0;
	if (!pd_pa) {
		if (t)
			free_task(t);
		irq_restore(flags);
		return -1;
	}
	t->is_user = 1;
	t->pd = __va(pd_pa);
	/* Share the kernel half: copy the kernel PDEs (no hypercall needed for a
	 * page directory the Host has never seen). */
	memcpy(&t->pd[PAGE_OFFSET >> 22], &kernel_pd[PAGE_OFFSET >> 22], 256 * 4);

	lazy_mode_enter(); /* batch all the SET_PTE/SET_PMD calls in the ring */
	for (off = 0; off < size; off += PAGE_SIZE) {
		f = map_user_page(t, USER_BASE + off); /* zeroed: .bss needs nothing */
		if (f && off < filesz)
			memcpy(__va(f), p->start + off, filesz - off < PAGE_SIZE ? filesz - off : PAGE_SIZE);
	}
	for (i = 1; i <= USER_STACK_PAGES; i++) {
		f = map_user_page(t, USER_STACK_TOP - i * PAGE_SIZE);
		if (i == 1)
			top_frame = f;
	}
	tls_frame = map_user_page(t, USER_TLS);
	lazy_mode_leave(); /* FLUSH_ASYNC: the Host applies the queued updates */
	if (t->user_pages != (size + PAGE_SIZE - 1) / PAGE_SIZE + USER_STACK_PAGES + 1) {
		free_user_space(t);
		free_task(t);
		irq_restore(flags);
		return -1;
	}
	/* Thread area: word 0 = its own address (like a libc TCB), word 1 = pid. */
	((u32 *)__va(tls_frame))[0] = USER_TLS;
	((u32 *)__va(tls_frame))[1] = (u32)t->pid;
	/* Arguments: a string at the top of the stack, its address just below. */
	argp = (char *)__va(top_frame) + PAGE_SIZE - 256;
	strlcpy(argp, args ? args : "", 256);
	user_sp = USER_STACK_TOP - 256 - 4;
	*(u32 *)(argp - 4) = USER_STACK_TOP - 256;
	t->tls_base = USER_TLS;
	make_tls_desc(&t->tls_desc[0], USER_TLS);

	/* A trap frame that ret_from_trap will "return" through into ring 3. */
	tf = (struct trapframe *)(t->kstack + KSTACK_SIZE) - 1;
	memset(tf, 0, sizeof(*tf));
	tf->gs = TLS_SEL;
	tf->ds = tf->es = USER_DS;
	tf->eip = hdr[2];
	tf->cs = USER_CS;
	tf->eflags = 0x202; /* IF set: lguest_iret copies it into irq_enabled */
	tf->user_esp = user_sp;
	tf->user_ss = USER_DS;
	sp = (u32 *)tf;
	*--sp = (u32)ret_from_trap;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	*--sp = 0;
	t->ksp = (u32)sp;
	t->state = T_RUNNABLE;
	irq_restore(flags);
	return t->pid;
}

void do_exit(int code)
{
	struct task *t = current;
	irq_disable();
	if (t->is_user)
		free_user_space(t);
	if (t->fpu_in_use) {
		t->fpu_in_use = 0;
		hcall(LHCALL_TS, 8, 0, 0); /* nobody owns the FPU now */
	}
	t->exit_code = code;
	t->state = T_ZOMBIE;
	wake_up(&child_exit);
	schedule();
	panic("zombie %d ran again", t->pid);
}

int wait_pid(int pid)
{
	u32 flags = irq_save();
	int i, code = -1;
	for (i = 1; i < MAX_TASKS; i++) {
		struct task *t = &tasks[i];
		if (t->state == T_FREE || t->pid != pid)
			continue;
		while (t->state != T_ZOMBIE)
			sleep_on(&child_exit);
		code = t->exit_code;
		free_task(t);
		break;
	}
	irq_restore(flags);
	return code;
}

/* Reap zombies nobody waits for (background processes); never current. */
void reap_orphans(void)
{
	int i;
	u32 flags = irq_save();
	for (i = 1; i < MAX_TASKS; i++)
		if (tasks[i].state == T_ZOMBIE && tasks[i].parent < 0 && &tasks[i] != current)
			free_task(&tasks[i]);
	irq_restore(flags);
}

void detach_pid(int pid)
{
	int i;
	for (i = 1; i < MAX_TASKS; i++)
		if (tasks[i].state != T_FREE && tasks[i].pid == pid)
			tasks[i].parent = -1;
}

void idle_loop(void)
{
	for (;;) {
		int i, runnable = 0;
		irq_disable();
		reap_orphans();
		for (i = 1; i < MAX_TASKS; i++)
			if (tasks[i].state == T_RUNNABLE)
				runnable = 1;
		if (runnable)
			schedule();
		else
			hcall(LHCALL_HALT, 0, 0, 0); /* enable interrupts and wait */
	}
}

/* #NM (trap 7): the task touched the FPU while TS was set. */
void fpu_trap(void)
{
	hcall(LHCALL_TS, 0, 0, 0); /* clts */
	if (current->fpu_valid)
		__asm__ __volatile__("frstor %0" ::"m"(current->fpu_state));
	else
		__asm__ __volatile__("fninit");
	current->fpu_in_use = 1;
}

/* ---- system calls ---- */

/* Copy between kernel and the current user space by walking its page
 * tables (no faults in the kernel); returns 0 or -14 (EFAULT). */
static int copy_user(void *kbuf, u32 uva, u32 len, int to_user)
{
	while (len) {
		u32 *pte, n = PAGE_SIZE - (uva & 0xFFF);
		char *page;
		if (uva >= PAGE_OFFSET || uva + len > PAGE_OFFSET || uva + len < uva)
			return -14;
		pte = pte_lookup(current->pd, uva);
		if (!pte || (*pte & (PTE_P | PTE_US)) != (PTE_P | PTE_US) ||
		    (to_user && !(*pte & PTE_RW)))
			return -14;
		if (n > len)
			n = len;
		page = (char *)__va(*pte & ~0xFFFu) + (uva & 0xFFF);
		if (to_user)
			memcpy(page, kbuf, n);
		else
			memcpy(kbuf, page, n);
		kbuf = (char *)kbuf + n;
		uva += n;
		len -= n;
	}
	return 0;
}

static int sys_write(u32 fd, u32 buf, u32 len)
{
	char tmp[256];
	u32 done = 0;
	if (fd != 1 && fd != 2)
		return -9; /* EBADF */
	while (done < len) {
		u32 n = len - done > sizeof(tmp) ? sizeof(tmp) : len - done;
		if (copy_user(tmp, buf + done, n, 0))
			return done ? (int)done : -14;
		console_write(tmp, n);
		done += n;
	}
	return (int)done;
}

static int sys_read(u32 fd, u32 buf, u32 len)
{
	char tmp[64];
	u32 n = 0;
	int c;
	if (fd != 0)
		return -9;
	if (!len)
		return 0;
	if (len > sizeof(tmp))
		len = sizeof(tmp);
	tmp[n++] = (char)console_getc(); /* block for the first byte */
	while (n < len && (c = console_try_getc()) >= 0)
		tmp[n++] = (char)c;
	return copy_user(tmp, buf, n, 1) ? -14 : (int)n;
}

void syscall_dispatch(struct trapframe *tf)
{
	/* int $0x80 came through a DPL 3 trap gate straight from ring 3. */
	s32 ret;
	irq_disable();
	switch (tf->eax) {
	case SYS_exit:
		do_exit((int)tf->ebx);
	case SYS_write:
		ret = sys_write(tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_read:
		ret = sys_read(tf->ebx, tf->ecx, tf->edx);
		break;
	case SYS_getpid:
		ret = current->pid;
		break;
	case SYS_getppid:
		ret = current->parent;
		break;
	case SYS_sched_yield:
		schedule();
		ret = 0;
		break;
	case SYS_sleep_ms:
		sleep_ticks((tf->ebx + 1000 / HZ - 1) / (1000 / HZ));
		irq_disable();
		ret = 0;
		break;
	case SYS_uptime_ms:
		ret = (s32)clock_ms();
		break;
	case SYS_hcall_count: {
		u32 i, total = 0;
		for (i = 0; i < LHCALL_MAX; i++)
			total += hc_total.sync[i] + hc_total.async[i];
		ret = (s32)total;
		break;
	}
	default:
		ret = -38; /* ENOSYS */
	}
	tf->eax = (u32)ret;
}
