// Chapter "the Switcher" (2.6.23 switcher.S and copy_in_guest_info in core.c), emulated: the
// top 4 MiB of every shadow maps a code page, a regs page and a read-only state page holding the
// effective GDT, IDT and TSS; before each entry we install them and load the segment registers.

import type { Cpu } from '../cpu/types';
import {
  CR0_ET,
  CR0_MP,
  CR0_NE,
  CR0_PE,
  CR0_PG,
  CR0_TS,
  CR0_WP,
  EAX,
  EBP,
  EBX,
  ECX,
  EDI,
  EDX,
  ESI,
  ESP,
  CS,
  DS,
  ES,
  FS,
  GS,
  SS,
} from '../cpu/types';
import {
  FIRST_EXTERNAL_VECTOR,
  FLAT_CODE_DPL0_HI,
  FLAT_DATA_DPL0_HI,
  FLAT_LO,
  GDT_ENTRIES,
  GDT_ENTRY_DOUBLEFAULT_TSS,
  GDT_ENTRY_LGUEST_CS,
  GDT_ENTRY_LGUEST_DS,
  GDT_ENTRY_TSS,
  GUEST_PL,
  IDT_ENTRIES,
  LGUEST_CS,
  LGUEST_DS,
  LGUEST_TRAP_ENTRY,
  PTE_A,
  PTE_D,
  PTE_P,
  PTE_RW,
  STATE_GDT_OFFSET,
  STATE_IDT_OFFSET,
  STATE_TSS_OFFSET,
  SWITCHER_CODE_VA,
  SWITCHER_PGD_INDEX,
  SWITCHER_REGS_VA,
  SWITCHER_STATE_VA,
  SYSCALL_VECTOR,
  TSS_SELECTOR,
  TSS_SIZE,
  X86_EFLAGS_IF,
  X86_EFLAGS_IOPL,
} from './constants';
import { CHANGED_ALL, CHANGED_GDT, CHANGED_GDT_TLS, CHANGED_IDT, type Lguest } from './lg';
import { GDT_ENTRY_TLS_ENTRIES, GDT_ENTRY_TLS_MIN } from './constants';

/** Switcher PDE/PTE flags: present, supervisor-only (no US), so ring 3 can never touch it. */
const SWITCHER_PDE_FLAGS = PTE_P | PTE_RW | PTE_A | PTE_D; // 0x063
const SWITCHER_RO_FLAGS = PTE_P | PTE_A; // read-only pages: code and state
const SWITCHER_RW_FLAGS = PTE_P | PTE_RW | PTE_A | PTE_D; // the regs page

/** CR0 while the Guest runs: protected mode, paging, write-protect honoured in ring 1. */
export const GUEST_CR0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
/** CR4 of the Host: OSFXSR | OSXMMEXCPT (PGE off, TSD off, no PSE/PAE). */
export const GUEST_CR4 = (1 << 9) | (1 << 10);

/** Allocate the Switcher's pages and its page table (once per Guest). */
export function initSwitcher(lg: Lguest): void {
  const s = lg.state;
  s.switcherCode = lg.mem.allocHostFrame();
  s.switcherRegs = lg.mem.allocHostFrame();
  s.switcherState = lg.mem.allocHostFrame();
  s.switcherPte = lg.mem.allocHostFrame();
  // The "code" page: the real one holds switch_to_guest/return_to_host. Ours is never executed
  // (every Host gate is an exit) but is mapped so the region looks as it did on hardware.
  const code = lg.mem.hostFrameWords(s.switcherCode);
  code.fill(0xcccccccc | 0); // int3 filler
  const pte = lg.mem.hostFrameWords(s.switcherPte);
  pte[(SWITCHER_CODE_VA >>> 12) & 1023] = s.switcherCode | SWITCHER_RO_FLAGS | 0;
  pte[(SWITCHER_REGS_VA >>> 12) & 1023] = s.switcherRegs | SWITCHER_RW_FLAGS | 0;
  pte[(SWITCHER_STATE_VA >>> 12) & 1023] = s.switcherState | SWITCHER_RO_FLAGS | 0;
  s.changed = CHANGED_ALL;
}

/** map_switcher_in_page_table(): PDE 1023 of a shadow directory points at the Switcher's PTEs. */
export function mapSwitcherInDirectory(lg: Lguest, pgdir: number): void {
  lg.mem.hostFrameWords(pgdir)[SWITCHER_PGD_INDEX] = lg.state.switcherPte | SWITCHER_PDE_FLAGS | 0;
}

/** Free the Switcher's frames (close()). */
export function freeSwitcher(lg: Lguest): void {
  const s = lg.state;
  for (const f of [s.switcherCode, s.switcherRegs, s.switcherState, s.switcherPte]) if (f) lg.mem.freeHostFrame(f);
  s.switcherCode = s.switcherRegs = s.switcherState = s.switcherPte = 0;
}

/**
 * The Host gate for a vector: a DPL-0 interrupt gate to LGUEST_CS (DPL 1 for the hypercall), as
 * its low and high words (int32, as the IDT's Int32Array stores them).
 */
function defaultIdtLo(vector: number): number {
  const handler = SWITCHER_CODE_VA + vector * 8;
  return (LGUEST_CS << 16) | (handler & 0xffff);
}
function defaultIdtHi(vector: number): number {
  const handler = SWITCHER_CODE_VA + vector * 8;
  let flags = 0x8e00;
  if (vector === LGUEST_TRAP_ENTRY) flags |= GUEST_PL << 13;
  return (handler & 0xffff0000) | flags;
}

/**
 * direct_trap(): may this vector go straight to the Guest's handler without an exit? Only
 * exceptions (and the system call) whose Guest gate is a trap gate; never 7, 13, 14 (the Host
 * must see those) or the hypercall vector.
 */
export function directTrap(vector: number, hi: number): boolean {
  if (vector >= FIRST_EXTERNAL_VECTOR && vector !== SYSCALL_VECTOR) return false;
  if (vector === 14 || vector === 13 || vector === 7 || vector === LGUEST_TRAP_ENTRY) return false;
  return ((hi >>> 8) & 0xf) === 0xf;
}

/** copy_traps(): the effective IDT, 256 [lo, hi] gates. */
export function copyTraps(lg: Lguest, idt: Int32Array, wordOffset: number): void {
  for (let v = 0; v < IDT_ENTRIES; v++) {
    let lo: number, hi: number;
    if (v < FIRST_EXTERNAL_VECTOR && directTrap(v, lg.state.idt[v * 2 + 1]!)) {
      lo = lg.state.idt[v * 2]!;
      hi = lg.state.idt[v * 2 + 1]!;
    } else if (v === SYSCALL_VECTOR && directTrap(v, lg.state.syscallIdt[1])) {
      lo = lg.state.syscallIdt[0];
      hi = lg.state.syscallIdt[1];
    } else {
      lo = defaultIdtLo(v);
      hi = defaultIdtHi(v);
    }
    idt[wordOffset + v * 2] = lo;
    idt[wordOffset + v * 2 + 1] = hi;
  }
}

/** The effective GDT entry i: Guest entries, except the four the Host owns. */
export function effectiveGdtEntry(lg: Lguest, i: number): [number, number] {
  switch (i) {
    case GDT_ENTRY_LGUEST_CS:
      return [FLAT_LO, FLAT_CODE_DPL0_HI];
    case GDT_ENTRY_LGUEST_DS:
      return [FLAT_LO, FLAT_DATA_DPL0_HI];
    case GDT_ENTRY_TSS: {
      // A busy 32-bit TSS (type 0xB), DPL 0, limit 0x67, based in the state page.
      const base = (SWITCHER_STATE_VA + STATE_TSS_OFFSET) >>> 0;
      const lo = ((base & 0xffff) << 16) | (TSS_SIZE - 1);
      const hi = (base & 0xff000000) | 0x8b00 | ((base >>> 16) & 0xff);
      return [lo >>> 0, hi >>> 0];
    }
    case GDT_ENTRY_DOUBLEFAULT_TSS:
      return [0, 0];
    default:
      return [lg.state.gdt[i * 2]! >>> 0, lg.state.gdt[i * 2 + 1]! >>> 0];
  }
}

function writeGdtEntries(lg: Lguest, words: Int32Array, start: number, end: number): void {
  const base = STATE_GDT_OFFSET >>> 2;
  for (let i = start; i < end; i++) {
    const [lo, hi] = effectiveGdtEntry(lg, i);
    words[base + i * 2] = lo | 0;
    words[base + i * 2 + 1] = hi | 0;
  }
}

/**
 * copy_in_guest_info() and the Switcher's entry path: refresh what changed in the state page,
 * point GDTR/IDTR/TR at it, set CR3/CR0/CR4 and EFLAGS (IF=1, IOPL=0), then reload the segment
 * registers from their selectors. Returns false if that reload fails (trap 256).
 */
export function enterGuest(lg: Lguest, shadowPgdir: number): boolean {
  const s = lg.state;
  const cpu: Cpu = lg.cpu;
  const words = lg.mem.hostFrameWords(s.switcherState);
  if (s.changed & CHANGED_IDT) copyTraps(lg, words, STATE_IDT_OFFSET >>> 2);
  if (s.changed & CHANGED_GDT) writeGdtEntries(lg, words, 0, GDT_ENTRIES);
  else if (s.changed & CHANGED_GDT_TLS)
    writeGdtEntries(lg, words, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES);
  s.changed = 0;
  // The TSS: ring-0 stack in the regs page (never used: ring 0 is an exit), ring-1 stack from
  // SET_STACK, and an I/O bitmap offset past the limit so every port access from ring 1/3 faults.
  const tss = STATE_TSS_OFFSET >>> 2;
  words[tss + 1] = (SWITCHER_REGS_VA + 4096) | 0; // esp0
  words[tss + 2] = LGUEST_DS; // ss0
  words[tss + 3] = s.esp1 | 0; // esp1
  words[tss + 4] = s.ss1 & 0xffff; // ss1
  words[tss + 25] = TSS_SIZE << 16; // I/O map base = 104 (no bitmap)

  cpu.gdtr = { base: (SWITCHER_STATE_VA + STATE_GDT_OFFSET) >>> 0, limit: GDT_ENTRIES * 8 - 1 };
  cpu.idtr = { base: (SWITCHER_STATE_VA + STATE_IDT_OFFSET) >>> 0, limit: IDT_ENTRIES * 8 - 1 };
  cpu.setTaskRegister(TSS_SELECTOR, (SWITCHER_STATE_VA + STATE_TSS_OFFSET) >>> 0, TSS_SIZE - 1);
  if (cpu.cr4 >>> 0 !== GUEST_CR4) cpu.cr4 = GUEST_CR4;
  const cr0 = (GUEST_CR0 | (s.ts ? CR0_TS : 0)) >>> 0;
  if (cpu.cr0 >>> 0 !== cr0) cpu.cr0 = cr0;
  if (cpu.cr3 >>> 0 !== shadowPgdir >>> 0) cpu.cr3 = shadowPgdir;
  cpu.eflags = ((cpu.eflags | X86_EFLAGS_IF) & ~X86_EFLAGS_IOPL & ~(1 << 17)) >>> 0;
  return cpu.loadSegmentsFromSelectors();
}

/** After an exit: the Switcher saved struct lguest_regs into the regs page (for inspectors). */
export function saveRegsPage(lg: Lguest): void {
  const cpu = lg.cpu;
  const r = lg.mem.hostFrameWords(lg.state.switcherRegs);
  // struct lguest_regs sits at the top of the regs page, as the 72 bytes below the ring-0 stack top.
  const base = (4096 - 72) >>> 2;
  r[base] = cpu.getReg(EBX);
  r[base + 1] = cpu.getReg(ECX);
  r[base + 2] = cpu.getReg(EDX);
  r[base + 3] = cpu.getReg(ESI);
  r[base + 4] = cpu.getReg(EDI);
  r[base + 5] = cpu.getReg(EBP);
  r[base + 6] = cpu.getSegment(GS).selector;
  r[base + 7] = cpu.getReg(EAX);
  r[base + 8] = cpu.getSegment(FS).selector;
  r[base + 9] = cpu.getSegment(DS).selector;
  r[base + 10] = cpu.getSegment(ES).selector;
  r[base + 11] = lg.state.trapnum;
  r[base + 12] = lg.state.errcode;
  r[base + 13] = cpu.eip;
  r[base + 14] = cpu.getSegment(CS).selector;
  r[base + 15] = cpu.eflags;
  r[base + 16] = cpu.getReg(ESP);
  r[base + 17] = cpu.getSegment(SS).selector;
}
