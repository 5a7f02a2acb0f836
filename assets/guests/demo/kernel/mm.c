/*
 * Physical frames and two-level page tables.
 *
 * lguest keeps "shadow" page tables in the Host, built lazily from ours, so
 * every change we make to a page table must be told to the Host:
 *   SET_PTE(pgdir GPA, vaddr, value)  after writing a PTE,
 *   SET_PMD(page GPA, index)          after writing a page-directory entry,
 *   NEW_PGTABLE(pgdir GPA)            instead of loading CR3,
 *   FLUSH_TLB(all)                    instead of reloading CR3 / invlpg.
 * These go through lazy_hcall(): batched in the async ring when we are in
 * lazy mode, synchronous otherwise.
 */
#include "kernel.h"

#define MAX_FRAMES (0x40000000u / PAGE_SIZE) /* bitmap covers 1 GiB */

u32 kernel_pd[1024] __attribute__((aligned(4096))); /* like swapper_pg_dir */
u32 mem_bytes, total_frames, free_frames;
static u32 frame_map[MAX_FRAMES / 32]; /* bit set = frame in use */
static u32 nframes;
static u32 cur_cr3;
static u32 next_hint;

static int frame_used(u32 f)
{
	return (frame_map[f / 32] >> (f % 32)) & 1;
}
static void frame_set(u32 f, int used)
{
	if (used)
		frame_map[f / 32] |= 1u << (f % 32);
	else
		frame_map[f / 32] &= ~(1u << (f % 32));
}

static void reserve_range(u32 start, u32 end, int used)
{
	u32 f;
	for (f = start / PAGE_SIZE; f < (end + PAGE_SIZE - 1) / PAGE_SIZE && f < nframes; f++) {
		if (frame_used(f) != used) {
			frame_set(f, used);
			free_frames += used ? (u32)-1 : 1;
		}
	}
}

u32 frame_alloc(void)
{
	u32 i;
	for (i = 0; i < nframes; i++) {
		u32 f = (next_hint + i) % nframes;
		if (!frame_used(f)) {
			frame_set(f, 1);
			free_frames--;
			next_hint = f + 1;
			memset(__va(f * PAGE_SIZE), 0, PAGE_SIZE);
			return f * PAGE_SIZE;
		}
	}
	return 0;
}

u32 frame_alloc_stack(void)
{
	u32 f;
	for (f = 0; f + 1 < nframes; f += 2) {
		if (!frame_used(f) && !frame_used(f + 1)) {
			frame_set(f, 1);
			frame_set(f + 1, 1);
			free_frames -= 2;
			return f * PAGE_SIZE;
		}
	}
	return 0;
}

void frame_free(u32 pa)
{
	u32 f = pa / PAGE_SIZE;
	if (f >= nframes || !frame_used(f))
		panic("frame_free: bad frame %#x", pa);
	frame_set(f, 0);
	free_frames++;
}

/* Write a page-directory entry, then tell the Host which entry changed. */
void set_pmd(u32 *pd, u32 idx, u32 pde)
{
	pd[idx] = pde;
	lazy_hcall(LHCALL_SET_PMD, __pa(pd), idx, 0);
}

u32 *pte_lookup(u32 *pd, u32 va)
{
	u32 pde = pd[va >> 22];
	if (!(pde & PTE_P))
		return NULL;
	return (u32 *)__va(pde & ~0xFFFu) + ((va >> 12) & 1023);
}

/*
 * Write a PTE (allocating its page table if needed), then SET_PTE.  Before
 * we switch to our own page directory the Host does not shadow it yet, so
 * (like Linux's boot-time set_pte) no hypercall is needed for PTEs then.
 */
void set_pte_at(u32 *pd, u32 va, u32 pte)
{
	u32 *p = pte_lookup(pd, va);
	if (!p) {
		u32 pt = frame_alloc();
		if (!pt)
			panic("out of memory for a page table");
		set_pmd(pd, va >> 22, pt | PDE_TABLE);
		p = (u32 *)__va(pt) + ((va >> 12) & 1023);
	}
	*p = pte;
	if (cur_cr3)
		lazy_hcall(LHCALL_SET_PTE, __pa(pd), va, pte);
}

void load_pgtable(u32 *pd)
{
	if (__pa(pd) != cur_cr3) {
		cur_cr3 = __pa(pd);
		lazy_hcall(LHCALL_NEW_PGTABLE, cur_cr3, 0, 0); /* our "mov %eax, %cr3" */
	}
}

u32 current_cr3(void)
{
	return cur_cr3;
}

u32 count_pt_pages(u32 *pd, u32 first, u32 last, u32 *mapped)
{
	u32 i, j, n = 0;
	*mapped = 0;
	for (i = first; i <= last; i++) {
		u32 *pt;
		if (!(pd[i] & PTE_P))
			continue;
		n++;
		pt = __va(pd[i] & ~0xFFFu);
		for (j = 0; j < 1024; j++)
			if (pt[j] & PTE_P)
				(*mapped)++;
	}
	return n;
}

/*
 * mem: RAM we use (e820 size, at most LOWMEM_MAX).  reserved_low_end: GPA where free RAM starts
 * (end of the kernel image).  launcher_tables_start: lowest GPA of the
 * Launcher's initial page tables (and initrd) at the top of RAM, which we
 * must not reuse until we run on our own page directory; the initrd (if
 * any) starts at launcher_tables_end and stays reserved.
 */
void mm_init(u32 mem, u32 reserved_low_end, u32 launcher_tables_start, u32 launcher_tables_end)
{
	u32 pa;
	mem_bytes = mem;
	nframes = mem / PAGE_SIZE;
	total_frames = nframes;
	free_frames = nframes; /* the bitmap is in .bss: all zero = all free */
	/* Mark low memory + kernel, and the Launcher's tables and initrd, used. */
	reserve_range(0, reserved_low_end, 1);
	reserve_range(launcher_tables_start, mem, 1);
	next_hint = reserved_low_end / PAGE_SIZE;

	/*
	 * Build the kernel direct map PAGE_OFFSET+x -> x for all (low) RAM.
	 * PDE writes are queued in the async ring (lazy mode); the Host
	 * ignores them until we switch to this page directory.
	 */
	lazy_mode_enter();
	for (pa = 0; pa < mem; pa += PAGE_SIZE)
		set_pte_at(kernel_pd, PAGE_OFFSET + pa, pa | PTE_KERNEL);
	lazy_mode_leave();

	/* Switch to it (NEW_PGTABLE is our CR3 load), then flush everything. */
	load_pgtable(kernel_pd);
	hcall(LHCALL_FLUSH_TLB, 1, 0, 0);

	/* The Launcher's boot page tables are no longer used: free them. */
	reserve_range(launcher_tables_start, launcher_tables_end, 0);
}

/*
 * Device memory lives above RAM, so it is not in the direct map: like
 * Linux's ioremap we map it into a window below the Host's reserved top
 * 4 MiB (SET_PTE for each page, in the async ring).
 */
#define IOREMAP_BASE 0xF8000000u
#define IOREMAP_END 0xFFBFF000u /* fixmap top: PAGE_OFFSET + 4 GiB - reserve_mem - 4 KiB */
static u32 ioremap_next = IOREMAP_BASE;

void *ioremap(u32 gpa, u32 pages)
{
	u32 va = ioremap_next, i;
	if (pages > (IOREMAP_END - va) / PAGE_SIZE)
		panic("ioremap window full");
	lazy_mode_enter();
	for (i = 0; i < pages; i++)
		set_pte_at(kernel_pd, va + i * PAGE_SIZE, (gpa + i * PAGE_SIZE) | PTE_DEVICE);
	lazy_mode_leave();
	ioremap_next += pages * PAGE_SIZE;
	return (void *)va;
}
