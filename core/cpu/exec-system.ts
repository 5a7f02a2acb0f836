// System instructions: segment loads, PUSHF/POPF/CLI/STI, CPUID, RDTSC, descriptor-table, control-
// register and I/O instructions, and the x87 escape bridge (Intel SDM vol. 3, "Privileged Instructions").

import type { I386 } from './cpu';
import { CpuFault, gp, nm, ud } from './fault';
import { IF, IOPL, VM, RF, ZF, materialize, setStatus } from './flags';
import type { Instr } from './instr';
import { ea, pop, push, readMem, readRM, setReg, writeMem } from './operands';
import {
  D_CODE,
  D_DC,
  D_P,
  D_RW,
  D_S,
  SEG_CS,
  SEG_SS,
  checkDataSegment,
  checkStackSegment,
  descDpl,
  descLimit,
} from './segmentation';
import { X87Undefined, executeX87, fwaitPending, fxrstor, fxsave } from './x87';

const CR0_MP = 2,
  CR0_EM = 4,
  CR0_TS = 8;

function requireCpl0(c: I386): void {
  if (c.cpl !== 0) throw gp(0);
}

/** Loads a data or stack segment register from a selector with the protected-mode checks. */
export function loadSegment(c: I386, s: number, sel: number): void {
  sel &= 0xffff;
  if (s === SEG_SS) c.setSegmentCache(s, checkStackSegment(c, sel, c.cpl));
  else c.setSegmentCache(s, checkDataSegment(c, sel, c.cpl));
}

/** 8E MOV Sreg, r/m16 (CS cannot be loaded this way). */
export function movSregRM(c: I386, i: Instr): void {
  if (i.reg === SEG_CS || i.reg > 5) throw ud();
  loadSegment(c, i.reg, readRM(c, i, 16));
}

/** 8C MOV r/m, Sreg (a 32-bit register destination is zero-extended). */
export function movRMSreg(c: I386, i: Instr): void {
  if (i.reg > 5) throw ud();
  const v = c.segs[i.reg]!.selector;
  if (i.mod === 3) setReg(c, i.rm, i.o16 ? 16 : 32, v);
  else writeMem(c, i.seg, ea(c, i), 16, v);
}

const SREG_OF_PUSHPOP: Record<number, number> = {
  0x06: 0,
  0x07: 0,
  0x0e: 1,
  0x16: 2,
  0x17: 2,
  0x1e: 3,
  0x1f: 3,
  0x1a0: 4,
  0x1a1: 4,
  0x1a8: 5,
  0x1a9: 5,
};

export function pushSreg(c: I386, i: Instr): void {
  push(c, c.segs[SREG_OF_PUSHPOP[i.op]!]!.selector, i.o16 ? 16 : 32);
}

export function popSreg(c: I386, i: Instr): void {
  const sz = i.o16 ? 16 : 32;
  const s = SREG_OF_PUSHPOP[i.op]!;
  const old = c.gpr[4]!;
  const v = pop(c, sz);
  try {
    loadSegment(c, s, v & 0xffff);
  } catch (e) {
    c.gpr[4] = old;
    throw e;
  }
}

/** C4 LES, C5 LDS, 0F B2 LSS, 0F B4 LFS, 0F B5 LGS: load a far pointer. */
export function loadFarPointer(c: I386, i: Instr): void {
  if (i.mod === 3) throw ud();
  const s = i.op === 0xc4 ? 0 : i.op === 0xc5 ? 3 : i.op === 0x1b2 ? 2 : i.op === 0x1b4 ? 4 : 5;
  const n = i.sz >>> 3;
  const off = ea(c, i);
  const v = readMem(c, i.seg, off, i.sz);
  const sel = readMem(c, i.seg, (off + n) | 0, 16);
  loadSegment(c, s, sel);
  setReg(c, i.reg, i.sz, v);
}

// ---- flags ----

export function pushf(c: I386, i: Instr): void {
  push(c, materialize(c) & ~(VM | RF), i.o16 ? 16 : 32);
}

export function popf(c: I386, i: Instr): void {
  const sz = i.o16 ? 16 : 32;
  const v = pop(c, sz);
  c.loadFlags(v, sz);
}

function iopl(c: I386): number {
  return (c.flags & IOPL) >>> 12;
}

export function cli(c: I386): void {
  if (c.cpl > iopl(c)) throw gp(0);
  c.flags &= ~IF;
}
export function sti(c: I386): void {
  if (c.cpl > iopl(c)) throw gp(0);
  c.flags |= IF;
}

/**
 * Port I/O (IN/OUT/INS/OUTS). This machine has no ports of its own: at CPL > IOPL the TSS has
 * no I/O bitmap so every port faults; at CPL <= IOPL the owner still sees #GP(0) and emulates
 * the access from the exit, which is exactly the lguest model.
 */
export function io(): void {
  throw gp(0);
}

export function hlt(c: I386): void {
  requireCpl0(c);
  throw ud(); // a halted state at CPL 0 is not modelled (ring 0 belongs to the owner)
}

// ---- identification and time ----

const VENDOR_EBX = 0x756e6547,
  VENDOR_EDX = 0x49656e69,
  VENDOR_ECX = 0x6c65746e; // "GenuineIntel"
/** Family 6, model 3, stepping 3. */
const CPUID_SIGNATURE = 0x00000633;
/** FPU (0), TSC (4), CX8 (8), CMOV (15). */
export const CPUID_FEATURES_EDX = (1 << 0) | (1 << 4) | (1 << 8) | (1 << 15);

export function cpuid(c: I386): void {
  const g = c.gpr;
  const leaf = g[0]! >>> 0;
  let a = 0,
    b = 0,
    cx = 0,
    d = 0;
  if (leaf === 0) {
    a = 1;
    b = VENDOR_EBX;
    d = VENDOR_EDX;
    cx = VENDOR_ECX;
  } else if (leaf === 0x80000000) {
    a = 0x80000000 | 0;
  } else {
    // Leaf 1, and (as Intel documents) any leaf past the maximum returns the highest basic leaf.
    a = CPUID_SIGNATURE;
    d = CPUID_FEATURES_EDX;
  }
  g[0] = a;
  g[3] = b;
  g[1] = cx;
  g[2] = d;
}

export function rdtsc(c: I386): void {
  if (c.cr4 & 4 && c.cpl !== 0) throw gp(0); // CR4.TSD
  const t = Math.max(0, Math.floor(c.owner.readTsc()));
  c.gpr[0] = t % 0x100000000 | 0;
  c.gpr[2] = Math.floor(t / 0x100000000) | 0;
}

export function rdpmc(c: I386): void {
  if (c.cpl !== 0 && (c.cr4 & 0x100) === 0) throw gp(0);
  throw gp(0); // no performance counters exist
}

/** RDMSR/WRMSR: privileged, and no MSR is implemented (CPUID reports none). */
export function msr(c: I386): void {
  requireCpl0(c);
  throw gp(0);
}

export function ud2(): void {
  throw ud();
}

/** 0F 18..1F with ModRM: hint NOPs (reserved NOP space on P6-family processors). */
export function hintNop(): void {}

// ---- descriptor tables and control registers ----

/** 0F 00: SLDT, STR, LLDT, LTR, VERR, VERW. */
export function group6(c: I386, i: Instr): void {
  switch (i.reg) {
    case 0:
    case 1: {
      const v = (i.reg === 0 ? c.ldtr : c.tr).selector;
      if (i.mod === 3) setReg(c, i.rm, i.o16 ? 16 : 32, v);
      else writeMem(c, i.seg, ea(c, i), 16, v);
      return;
    }
    case 2:
    case 3:
      requireCpl0(c);
      throw ud(); // LLDT/LTR at CPL 0 are not modelled (the owner sets TR directly)
    case 4:
    case 5:
      verify(c, i);
      return;
    default:
      throw ud();
  }
}

/** Reads a descriptor for LAR/LSL/VERR/VERW: null when the selector is outside its table. */
function probeDescriptor(c: I386, sel: number): { lo: number; hi: number } | null {
  if ((sel & 0xfffc) === 0) return null;
  const tbl = sel & 4 ? c.ldtr : null;
  const base = tbl ? tbl.base : c.gdtr.base;
  const limit = tbl ? tbl.limit : c.gdtr.limit;
  if (tbl && ((tbl.selector & 0xfffc) === 0 || (tbl.flags & D_P) === 0)) return null;
  if ((sel & 0xfff8) + 7 > limit) return null;
  const a = (base + (sel & 0xfff8)) | 0;
  return { lo: c.mmu.readSys(a, 4), hi: c.mmu.readSys((a + 4) | 0, 4) };
}

function visible(c: I386, sel: number, hi: number): boolean {
  const conformingCode = (hi & (D_S | D_CODE | D_DC)) === (D_S | D_CODE | D_DC);
  if (conformingCode) return true;
  const dpl = descDpl(hi);
  return dpl >= c.cpl && dpl >= (sel & 3);
}

function verify(c: I386, i: Instr): void {
  const sel = readRM(c, i, 16);
  const d = probeDescriptor(c, sel);
  let ok = false;
  if (d && d.hi & D_S && visible(c, sel, d.hi)) {
    const code = (d.hi & D_CODE) !== 0;
    ok = i.reg === 4 ? !code || (d.hi & D_RW) !== 0 : !code && (d.hi & D_RW) !== 0;
  }
  setStatus(c, ZF, ok ? ZF : 0);
}

const LAR_SYSTEM_TYPES = new Set([1, 2, 3, 4, 5, 9, 11, 12]);
const LSL_SYSTEM_TYPES = new Set([1, 2, 3, 9, 11]);

/** 0F 02 LAR, 0F 03 LSL. */
export function larLsl(c: I386, i: Instr): void {
  const sel = readRM(c, i, 16);
  const d = probeDescriptor(c, sel);
  const isLar = i.op === 0x102;
  let ok = false;
  if (d) {
    const typeOk = d.hi & D_S ? true : (isLar ? LAR_SYSTEM_TYPES : LSL_SYSTEM_TYPES).has((d.hi >>> 8) & 0xf);
    ok = typeOk && visible(c, sel, d.hi);
  }
  if (ok && d) {
    const v = isLar ? d.hi & 0x00ffff00 : descLimit(d.lo, d.hi);
    setReg(c, i.reg, i.sz, i.sz === 16 ? v & 0xffff : v);
  }
  setStatus(c, ZF, ok ? ZF : 0);
}

/** 0F 01: SGDT, SIDT, LGDT, LIDT, SMSW, LMSW, INVLPG. */
export function group7(c: I386, i: Instr): void {
  const r = i.reg;
  if (r === 4) {
    const v = c.cr0;
    if (i.mod === 3) setReg(c, i.rm, i.o16 ? 16 : 32, i.o16 ? v & 0xffff : v);
    else writeMem(c, i.seg, ea(c, i), 16, v);
    return;
  }
  if (r === 5 || (i.mod === 3 && r !== 6)) throw ud();
  if (r === 0 || r === 1) {
    const t = r === 0 ? c.gdtr : c.idtr;
    const off = ea(c, i);
    const base = i.o16 ? t.base & 0xffffff : t.base;
    const l1 = c.linW(i.seg, off, 6);
    c.mmu.probeWrite(l1, 6);
    writeMem(c, i.seg, off, 16, t.limit);
    writeMem(c, i.seg, (off + 2) | 0, 32, base);
    return;
  }
  requireCpl0(c);
  if (r === 2 || r === 3) {
    const off = ea(c, i);
    const limit = readMem(c, i.seg, off, 16);
    let base = readMem(c, i.seg, (off + 2) | 0, 32) >>> 0;
    if (i.o16) base &= 0xffffff;
    if (r === 2) c.gdtr = { base, limit };
    else c.idtr = { base, limit };
  } else if (r === 6) {
    const v = readRM(c, i, 16);
    // LMSW changes PE (set only), MP, EM and TS.
    c.cr0 = (c.cr0 & ~0xe) | (v & 0xf) | (c.cr0 & 1);
  } else {
    c.invalidatePage((c.sbase[i.seg]! + ea(c, i)) | 0);
  }
}

export function clts(c: I386): void {
  requireCpl0(c);
  c.cr0 = c.cr0 & ~CR0_TS;
}

export function wbinvd(c: I386): void {
  requireCpl0(c);
}

/** 0F 20/22 MOV r32, CRn / CRn, r32; 0F 21/23 debug registers. */
export function movCr(c: I386, i: Instr): void {
  requireCpl0(c);
  if (i.op === 0x121 || i.op === 0x123) throw ud(); // debug registers are not modelled
  const n = i.reg;
  if (i.op === 0x120) {
    const v = n === 0 ? c.cr0 : n === 2 ? c.cr2 : n === 3 ? c.cr3 : n === 4 ? c.cr4 : -1;
    if (v === -1) throw ud();
    c.gpr[i.rm] = v;
    return;
  }
  const v = c.gpr[i.rm]! >>> 0;
  if (n === 0) c.cr0 = v;
  else if (n === 2) c.cr2 = v;
  else if (n === 3) c.cr3 = v;
  else if (n === 4) c.cr4 = v;
  else throw ud();
}

// ---- x87 bridge ----

/** D8..DF: device-not-available checks, then the FPU module does the work. */
export function x87Escape(c: I386, i: Instr): void {
  if (c.cr0 & (CR0_EM | CR0_TS)) throw nm();
  const lin = i.mod === 3 ? -1 : c.linR(i.seg, ea(c, i), 1) >>> 0;
  runX87(c, i.op, i.modrm, lin, !i.o16, c.ip);
}

/**
 * An escape from compiled code, whose operand's linear address (-1: a register) and EIP are
 * known there: the same checks and faults as x87Escape, in the same order.
 */
export function x87Compiled(c: I386, opcode: number, modrm: number, lin: number, op32: boolean, eip: number): void {
  if (c.cr0 & (CR0_EM | CR0_TS)) throw nm();
  runX87(c, opcode, modrm, lin, op32, eip);
}

function runX87(c: I386, opcode: number, modrm: number, lin: number, op32: boolean, eip: number): void {
  let mf: boolean;
  try {
    mf = executeX87(c.x87, c.x87host, opcode, modrm, lin, op32, eip >>> 0);
  } catch (e) {
    if (e instanceof X87Undefined) throw ud();
    throw e;
  }
  if (mf) throw new CpuFault(16, 0, false);
}

/** 9B FWAIT. */
export function fwait(c: I386): void {
  if ((c.cr0 & (CR0_TS | CR0_MP)) === (CR0_TS | CR0_MP)) throw nm();
  if (fwaitPending(c.x87)) throw new CpuFault(16, 0, false);
}

/** 0F AE /0 FXSAVE, /1 FXRSTOR (no other 0F AE forms: there is no SSE unit). */
export function group15(c: I386, i: Instr): void {
  if (i.mod === 3 || i.reg > 1) throw ud();
  if (c.cr0 & (CR0_EM | CR0_TS)) throw nm();
  const off = ea(c, i);
  const lin = (i.reg === 0 ? c.linW(i.seg, off, 512) : c.linR(i.seg, off, 512)) >>> 0;
  if (lin & 15) throw gp(0);
  if (i.reg === 0) {
    fxsave(c.x87, c.x87host, lin);
  } else {
    fxrstor(c.x87, c.x87host, lin);
  }
}
