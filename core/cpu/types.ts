// The contract between the i386 CPU and whoever runs it (the lguest host, tests, benchmarks).
// Ring 0 belongs to the owner: an event whose gate targets a CPL-0 code segment is an exit.

import type { PhysicalMemory, PhysicalMemoryState } from './memory';

/** General registers in Intel encoding order. */
export const EAX = 0,
  ECX = 1,
  EDX = 2,
  EBX = 3,
  ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7;
export type Reg32 = 0 | 1 | 2 | 3 | 4 | 5 | 6 | 7;

/** Segment registers in Intel encoding order. */
export const ES = 0,
  CS = 1,
  SS = 2,
  DS = 3,
  FS = 4,
  GS = 5;
export type SegReg = 0 | 1 | 2 | 3 | 4 | 5;

export const EFLAGS_CF = 1 << 0;
export const EFLAGS_PF = 1 << 2;
export const EFLAGS_AF = 1 << 4;
export const EFLAGS_ZF = 1 << 6;
export const EFLAGS_SF = 1 << 7;
export const EFLAGS_TF = 1 << 8;
export const EFLAGS_IF = 1 << 9;
export const EFLAGS_DF = 1 << 10;
export const EFLAGS_OF = 1 << 11;
export const EFLAGS_IOPL = 3 << 12;
export const EFLAGS_NT = 1 << 14;
export const EFLAGS_RF = 1 << 16;
export const EFLAGS_VM = 1 << 17;
export const EFLAGS_AC = 1 << 18;
export const EFLAGS_ID = 1 << 21;

export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_PG = 1 << 31;

/** Vectors of the CPU exceptions the emulator raises. */
export const DE = 0,
  DB = 1,
  BP = 3,
  OF = 4,
  BR = 5,
  UD = 6,
  NM = 7,
  DF = 8;
export const TS = 10,
  NP = 11,
  SS_FAULT = 12,
  GP = 13,
  PF = 14,
  MF = 16,
  AC = 17;

/** A segment register with its hidden descriptor cache. */
export interface SegmentRegister {
  selector: number;
  base: number;
  /** Byte-granular limit (already scaled by G). */
  limit: number;
  /** Descriptor high dword masked with 0x00F0FF00: type, S, DPL, P, AVL, D/B, G. */
  flags: number;
}

export interface TableRegister {
  base: number;
  limit: number;
}

/** x87 state in plain data, registers in the 80-bit extended format. */
export interface X87State {
  control: number;
  status: number;
  /** Full 16-bit tag word (2 bits per physical register). */
  tag: number;
  /**
   * Physical registers R0..R7, three words each: significand bits 31..0, significand bits 63..32
   * (bit 63 the explicit integer bit), sign and 15-bit exponent. ST(i) is R[(top + i) & 7] with
   * top from status bits 11..13.
   */
  regs: Uint32Array;
  /** Last instruction/operand pointers as FNSTENV stores them. */
  fip: number;
  fcs: number;
  fdp: number;
  fds: number;
  fop: number;
}

/** Everything that decides what the CPU does next. Plain data: snapshots store exactly this. */
export interface CpuState {
  gpr: Int32Array; // 8 registers, EAX..EDI
  eip: number;
  eflags: number; // fully materialised (no lazy flags)
  segs: SegmentRegister[]; // 6, ES..GS
  gdtr: TableRegister;
  idtr: TableRegister;
  ldtr: SegmentRegister;
  tr: SegmentRegister;
  cr0: number;
  cr2: number;
  cr3: number;
  cr4: number;
  x87: X87State;
  /** Instructions retired since reset (a double: exact up to 2^53). */
  instructionCount: number;
}

/** Why run() returned. */
export type CpuExit =
  /** The instruction budget was spent; the CPU is at an instruction boundary. */
  | { kind: 'budget' }
  /**
   * An exception or interrupt whose IDT gate targets a ring-0 code segment: nothing was pushed,
   * EIP is the restart point (faulting instruction for faults, next instruction for traps and
   * INT n), and CR2 holds the linear address for #PF.
   */
  | { kind: 'exit'; vector: number; errorCode: number; cr2: number };

/** The owner's hooks that the CPU calls (no wall-clock reads inside the CPU). */
export interface CpuOwner {
  /** Value of the time-stamp counter for RDTSC (a double, < 2^53). */
  readTsc(): number;
}

export interface Cpu {
  readonly mem: PhysicalMemory;
  owner: CpuOwner;

  /** Executes at most `budget` instructions; returns at an exit or when the budget is spent. */
  run(budget: number): CpuExit;

  getReg(r: Reg32): number; // unsigned
  setReg(r: Reg32, value: number): void;
  eip: number;
  /** Materialised EFLAGS. Setting it writes every writable bit (the owner is ring 0). */
  eflags: number;
  readonly cpl: number;

  getSegment(s: SegReg): Readonly<SegmentRegister>;
  /** Sets only the visible selector; caches are refreshed by loadSegmentsFromSelectors(). */
  setSelector(s: SegReg, selector: number): void;
  /**
   * What the lguest Switcher does on every entry: load DS, ES, FS, GS at CPL 0 from their
   * selectors, then IRET to CPL = RPL(CS), which loads CS and SS with the IRET checks and nulls
   * data segment registers whose DPL is below the new CPL. Returns false (state untouched) if
   * any load would fault.
   */
  loadSegmentsFromSelectors(): boolean;

  gdtr: TableRegister;
  idtr: TableRegister;
  /** Task register: base and limit of the TSS (ring-1 stack from SS1/ESP1 at +16/+12). */
  setTaskRegister(selector: number, base: number, limit: number): void;

  cr0: number;
  cr2: number;
  /** Setting CR3 flushes the TLB. */
  cr3: number;
  cr4: number;

  /** Forget every cached translation (call after editing page tables the CPU walks). */
  flushTlb(): void;
  /** Forget cached translations of one linear page. */
  invalidatePage(linear: number): void;

  readonly instructionCount: number;
  /** While set, run() has its position noted at each of these instruction counts (derived, never saved). */
  marks: SampleMarks | null;

  exportState(): CpuState;
  importState(state: CpuState): void;
  /** Drops every derived cache (TLB, decoded instructions, compiled blocks). Never observable. */
  dropCaches(): void;
}

/**
 * Instruction counts at which an observer (the guest profiler) wants to know where the CPU is,
 * without the run stopping there. The CPU notes each mark as the state it has when exactly that
 * many instructions have retired: the run loop stops at a mark in interpreted code; a compiled
 * region notes it at the start of the block that holds it, from the block's known EIPs, and
 * confirms it once the CPU has run up to the mark (a fault, interrupt or code write before the
 * mark voids the note, and the run loop then stops at the mark itself).
 */
export interface SampleMarks {
  /** The next mark: an instruction count above every count confirmed so far. */
  readonly next: number;
  /** The mark after `count`. */
  after(count: number): number;
  /** Notes the CPU at mark `next`: about to run the instruction at `eip`, at privilege `cpl`. */
  note(eip: number, cpl: number): void;
  /** Makes the last note final and moves `next` on. */
  confirm(): void;
}

export type { PhysicalMemoryState };
