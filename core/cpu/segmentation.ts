// Protected-mode segmentation: descriptor-table lookup, the checks made when a selector is
// loaded into a segment register, and limit/rights checks on access (Intel SDM vol. 3, ch. 3 and 5).

import type { I386 } from './cpu';
import { CpuFault, gp, np, ss } from './fault';
import type { SegmentRegister } from './types';

export const SEG_ES = 0,
  SEG_CS = 1,
  SEG_SS = 2,
  SEG_DS = 3,
  SEG_FS = 4,
  SEG_GS = 5;

// Bits of a descriptor's high dword.
export const D_ACCESSED = 0x100,
  D_RW = 0x200,
  D_DC = 0x400,
  D_CODE = 0x800,
  D_S = 0x1000;
export const D_P = 0x8000,
  D_DB = 0x400000,
  D_G = 0x800000;

export function descBase(lo: number, hi: number): number {
  return ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0;
}
export function descLimit(lo: number, hi: number): number {
  const raw = (lo & 0xffff) | (hi & 0xf0000);
  return hi & D_G ? ((raw << 12) | 0xfff) >>> 0 : raw;
}
export function descDpl(hi: number): number {
  return (hi >>> 13) & 3;
}

/** A descriptor as read from a table: its two dwords. */
export interface Descriptor {
  lo: number;
  hi: number;
}

/**
 * Reads the descriptor a selector names from the GDT or LDT (supervisor accesses through paging).
 * Raises #GP(selector | ext) when the selector lies outside the table.
 */
export function readDescriptor(c: I386, sel: number, ext: number): Descriptor {
  const index = sel & 0xfff8;
  let base: number, limit: number;
  if (sel & 4) {
    const ldt = c.ldtr;
    if ((ldt.selector & 0xfffc) === 0 || (ldt.flags & D_P) === 0) throw gp((sel & 0xfffc) | ext);
    base = ldt.base;
    limit = ldt.limit;
  } else {
    base = c.gdtr.base;
    limit = c.gdtr.limit;
  }
  if (index + 7 > limit) throw gp((sel & 0xfffc) | ext);
  const addr = (base + index) | 0;
  return { lo: c.mmu.readSys(addr, 4), hi: c.mmu.readSys((addr + 4) | 0, 4) };
}

export function makeCache(sel: number, d: Descriptor): SegmentRegister {
  return { selector: sel & 0xffff, base: descBase(d.lo, d.hi), limit: descLimit(d.lo, d.hi), flags: d.hi & 0x00f0ff00 };
}

export function nullCache(sel: number): SegmentRegister {
  return { selector: sel & 0xffff, base: 0, limit: 0, flags: 0 };
}

/** Checks for loading DS/ES/FS/GS at privilege `cpl`; returns the new cache. */
export function checkDataSegment(c: I386, sel: number, cpl: number): SegmentRegister {
  if ((sel & 0xfffc) === 0) return nullCache(sel);
  const d = readDescriptor(c, sel, 0);
  const hi = d.hi;
  const err = sel & 0xfffc;
  if ((hi & D_S) === 0 || (hi & (D_CODE | D_RW)) === D_CODE) throw gp(err);
  if ((hi & D_CODE) === 0 || (hi & D_DC) === 0) {
    const dpl = descDpl(hi);
    if (dpl < cpl || dpl < (sel & 3)) throw gp(err);
  }
  if ((hi & D_P) === 0) throw np(err);
  return makeCache(sel, d);
}

/** Checks for loading SS at privilege `cpl` (RPL = DPL = CPL, writable data, present). */
export function checkStackSegment(
  c: I386,
  sel: number,
  cpl: number,
  gpCode: (e: number) => CpuFault = gp,
): SegmentRegister {
  if ((sel & 0xfffc) === 0) throw gpCode(0);
  const d = readDescriptor(c, sel, 0);
  const hi = d.hi;
  const err = sel & 0xfffc;
  if ((sel & 3) !== cpl) throw gpCode(err);
  if ((hi & (D_S | D_CODE | D_RW)) !== (D_S | D_RW)) throw gpCode(err);
  if (descDpl(hi) !== cpl) throw gpCode(err);
  if ((hi & D_P) === 0) throw ss(err);
  return makeCache(sel, d);
}

/**
 * Checks a code segment as a return target (IRET/RETF) with requested privilege RPL(sel):
 * non-conforming needs DPL == RPL, conforming needs DPL <= RPL.
 */
export function checkReturnCode(c: I386, sel: number): SegmentRegister {
  if ((sel & 0xfffc) === 0) throw gp(0);
  const d = readDescriptor(c, sel, 0);
  const hi = d.hi;
  const err = sel & 0xfffc;
  const rpl = sel & 3;
  if ((hi & (D_S | D_CODE)) !== (D_S | D_CODE)) throw gp(err);
  const dpl = descDpl(hi);
  if (hi & D_DC ? dpl > rpl : dpl !== rpl) throw gp(err);
  if ((hi & D_P) === 0) throw np(err);
  return makeCache(sel, d);
}

/** After a return to an outer ring: data registers the new CPL may not use become null. */
export function nullInaccessibleSegments(c: I386, newCpl: number): void {
  for (let s = 0; s < 6; s++) {
    if (s === SEG_CS || s === SEG_SS) continue;
    const f = c.segs[s]!.flags;
    const dataOrNonConforming = (f & D_CODE) === 0 || (f & D_DC) === 0;
    if ((f & D_S) !== 0 && dataOrNonConforming && descDpl(f) < newCpl) c.setSegmentCache(s, nullCache(0));
  }
}

/**
 * The full access check for a segment whose fast-path bits are clear: usability, type and
 * limit (expand-up and expand-down). Returns the linear address.
 */
export function checkedLinear(c: I386, s: number, ea: number, len: number, write: boolean): number {
  const sg = c.segs[s]!;
  const f = sg.flags;
  const fault = s === SEG_SS ? ss(0) : gp(0);
  if ((f & (D_S | D_P)) !== (D_S | D_P)) throw fault;
  if (f & D_CODE) {
    if (write || (f & D_RW) === 0) throw gp(0);
  } else if (write && (f & D_RW) === 0) {
    throw fault;
  }
  const off = ea >>> 0;
  const end = off + len - 1;
  if ((f & D_CODE) === 0 && (f & D_DC) !== 0) {
    const upper = f & D_DB ? 0xffffffff : 0xffff;
    if (off <= sg.limit || end > upper) throw fault;
  } else if (end > sg.limit) {
    throw fault;
  }
  return (sg.base + off) | 0;
}
