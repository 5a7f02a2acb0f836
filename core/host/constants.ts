// The numbers of the 2.6.23 lguest ABI (include/linux/lguest.h, lg.h and the i386 headers):
// hypercall numbers, lguest_data layout, GDT/IDT slots, page-table bits and Switcher addresses.

export const PAGE_SIZE = 4096;

/** The hypercall vector, LGUEST_TRAP_ENTRY. */
export const LGUEST_TRAP_ENTRY = 0x1f;

export const LHCALL_FLUSH_ASYNC = 0;
export const LHCALL_LGUEST_INIT = 1;
export const LHCALL_CRASH = 2;
export const LHCALL_LOAD_GDT = 3;
export const LHCALL_NEW_PGTABLE = 4;
export const LHCALL_FLUSH_TLB = 5;
export const LHCALL_LOAD_IDT_ENTRY = 6;
export const LHCALL_SET_STACK = 7;
export const LHCALL_TS = 8;
export const LHCALL_SET_CLOCKEVENT = 9;
export const LHCALL_HALT = 10;
export const LHCALL_BIND_DMA = 12;
export const LHCALL_SEND_DMA = 13;
export const LHCALL_SET_PTE = 14;
export const LHCALL_SET_PMD = 15;
export const LHCALL_LOAD_TLS = 16;
/** Highest valid hypercall number (11 is unused and is a "Bad hypercall"). */
export const LHCALL_MAX = 16;
/** Hypercall names by number, without the LHCALL_ prefix (11 is unused in 2.6.23). */
export const HYPERCALL_NAMES: readonly string[] = [
  'FLUSH_ASYNC',
  'LGUEST_INIT',
  'CRASH',
  'LOAD_GDT',
  'NEW_PGTABLE',
  'FLUSH_TLB',
  'LOAD_IDT_ENTRY',
  'SET_STACK',
  'TS',
  'SET_CLOCKEVENT',
  'HALT',
  '(unused 11)',
  'BIND_DMA',
  'SEND_DMA',
  'SET_PTE',
  'SET_PMD',
  'LOAD_TLS',
];

export const LHCALL_RING_SIZE = 64;
export const LGUEST_IRQS = 32;
export const LGUEST_MAX_DMA = 32;
export const LGUEST_MAX_DMA_SECTIONS = 16;
export const LGUEST_MAX_GUESTS = 16;

/** struct lguest_data field offsets (i386). */
export const LGUEST_DATA_SIZE = 1128;
export const LD_IRQ_ENABLED = 0;
export const LD_BLOCKED_INTERRUPTS = 4;
export const LD_CR2 = 8;
export const LD_TIME = 12;
export const LD_HCALL_STATUS = 20;
export const LD_HCALLS = 84;
export const LD_RESERVE_MEM = 1108;
export const LD_GUESTID = 1112;
export const LD_TSC_KHZ = 1116;
export const LD_NOIRQ_START = 1120;
export const LD_NOIRQ_END = 1124;

/** struct lguest_dma: used_len, addr[16], len[16] (u16). */
export const LGUEST_DMA_SIZE = 100;
export const DMA_USED_LEN = 0;
export const DMA_ADDR = 4;
export const DMA_LEN = 68;

export const X86_EFLAGS_IF = 0x200;
export const X86_EFLAGS_IOPL = 0x3000;

/** GDT layout of i386 Linux 2.6.23 and the entries the Host keeps for itself. */
export const GDT_ENTRIES = 32;
export const IDT_ENTRIES = 256;
export const GDT_ENTRY_TLS_MIN = 6;
export const GDT_ENTRY_TLS_ENTRIES = 3;
export const GDT_ENTRY_LGUEST_CS = 10;
export const GDT_ENTRY_LGUEST_DS = 11;
export const GDT_ENTRY_KERNEL_CS = 12;
export const GDT_ENTRY_KERNEL_DS = 13;
export const GDT_ENTRY_TSS = 16;
export const GDT_ENTRY_DOUBLEFAULT_TSS = 31;
export const LGUEST_CS = GDT_ENTRY_LGUEST_CS * 8; // 0x50
export const LGUEST_DS = GDT_ENTRY_LGUEST_DS * 8; // 0x58
export const GUEST_PL = 1;
export const KERNEL_CS_GUEST = (GDT_ENTRY_KERNEL_CS * 8) | GUEST_PL; // 0x61
export const KERNEL_DS_GUEST = (GDT_ENTRY_KERNEL_DS * 8) | GUEST_PL; // 0x69
export const TSS_SELECTOR = GDT_ENTRY_TSS * 8; // 0x80

/** Flat 4 GiB descriptors: [low dword, high dword]. */
export const FLAT_CODE_DPL0_HI = 0x00cf9b00;
export const FLAT_DATA_DPL0_HI = 0x00cf9300;
export const FLAT_CODE_DPL1_HI = 0x00cfbb00;
export const FLAT_DATA_DPL1_HI = 0x00cfb300;
export const FLAT_LO = 0x0000ffff;

/** The vectors: the first external interrupt and the system call. */
export const FIRST_EXTERNAL_VECTOR = 0x20;
export const SYSCALL_VECTOR = 0x80;
/** The Host stores gates for vectors 0..63 plus the system-call gate. */
export const GUEST_IDT_STORED = 64;
export const IDT_HI_STORE_MASK = 0xffffef00;

/** Page-table entry bits. */
export const PTE_P = 0x001;
export const PTE_RW = 0x002;
export const PTE_US = 0x004;
export const PTE_PWT = 0x008;
export const PTE_PCD = 0x010;
export const PTE_A = 0x020;
export const PTE_D = 0x040;
export const PTE_PSE = 0x080;
export const PTE_G = 0x100;
/** _PAGE_TABLE: the only flags a Guest page-directory entry may carry. */
export const PAGE_TABLE_FLAGS = 0x067;

/** The Switcher owns the top 4 MiB of every address space. */
export const SWITCHER_ADDR = 0xffc00000;
export const SWITCHER_PGD_INDEX = 1023;
export const RESERVE_MEM = 0x00400000;
/** Where our Switcher keeps its pages inside that region. */
export const SWITCHER_CODE_VA = 0xffc00000;
export const SWITCHER_REGS_VA = 0xffc01000;
export const SWITCHER_STATE_VA = 0xffc02000;
/** Layout of the read-only state page: effective GDT, IDT and TSS. */
export const STATE_GDT_OFFSET = 0x000;
export const STATE_IDT_OFFSET = 0x100;
export const STATE_TSS_OFFSET = 0x900;
export const TSS_SIZE = 104;

/** Shadow page-directory cache size. */
export const PGDIR_SLOTS = 4;

/** The virtual CPU runs 100 M instructions per virtual second. */
export const NS_PER_INSTRUCTION = 10;
/** What LGUEST_INIT reports as tsc_khz: a 100 MHz TSC. */
export const TSC_KHZ = 100_000;
/** Default wall clock at boot: 2007-10-09 00:00:00 UTC, the day Linux 2.6.23 was released. */
export const DEFAULT_BOOT_EPOCH_SECONDS = Date.UTC(2007, 9, 9) / 1000;

/** Trap numbers the run loop treats specially. */
export const TRAP_NM = 7;
export const TRAP_GP = 13;
export const TRAP_PF = 14;
/** "Entry failed" and "hypercall consumed" markers in regs.trapnum. */
export const TRAPNUM_ENTRY_FAILED = 256;
export const TRAPNUM_HCALL_DONE = 255;
