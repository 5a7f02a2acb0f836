// Operand access: general registers by width, ModRM effective addresses through segments,
// and the stack (Intel SDM vol. 1, "Operand Addressing" and "Stack").

import type { I386 } from './cpu';
import type { Instr } from './instr';
import { SEG_SS } from './segmentation';

const ESP = 4;

export function getReg(c: I386, r: number, sz: number): number {
  if (sz === 32) return c.gpr[r]!;
  if (sz === 16) return c.gpr[r]! & 0xffff;
  return r < 4 ? c.gpr[r]! & 0xff : (c.gpr[r - 4]! >> 8) & 0xff;
}

export function setReg(c: I386, r: number, sz: number, v: number): void {
  if (sz === 32) c.gpr[r] = v;
  else if (sz === 16) c.gpr[r] = (c.gpr[r]! & ~0xffff) | (v & 0xffff);
  else if (r < 4) c.gpr[r] = (c.gpr[r]! & ~0xff) | (v & 0xff);
  else c.gpr[r - 4] = (c.gpr[r - 4]! & ~0xff00) | ((v & 0xff) << 8);
}

/** Effective address (offset within the segment) of a memory operand. */
export function ea(c: I386, i: Instr): number {
  let a = i.disp;
  if (i.base >= 0) a += c.gpr[i.base]!;
  if (i.index >= 0) a += c.gpr[i.index]! << i.scale;
  return i.a16 ? a & 0xffff : a | 0;
}

export function readMem(c: I386, s: number, off: number, sz: number): number {
  if (sz === 32) return c.mmu.read32(c.linR(s, off, 4));
  if (sz === 16) return c.mmu.read16(c.linR(s, off, 2));
  return c.mmu.read8(c.linR(s, off, 1));
}

export function writeMem(c: I386, s: number, off: number, sz: number, v: number): void {
  if (sz === 32) c.mmu.write32(c.linW(s, off, 4), v);
  else if (sz === 16) c.mmu.write16(c.linW(s, off, 2), v);
  else c.mmu.write8(c.linW(s, off, 1), v);
}

export function readLin(c: I386, lin: number, sz: number): number {
  return sz === 32 ? c.mmu.read32(lin) : sz === 16 ? c.mmu.read16(lin) : c.mmu.read8(lin);
}
export function writeLin(c: I386, lin: number, sz: number, v: number): void {
  if (sz === 32) c.mmu.write32(lin, v);
  else if (sz === 16) c.mmu.write16(lin, v);
  else c.mmu.write8(lin, v);
}

export function readRM(c: I386, i: Instr, sz: number): number {
  if (i.mod === 3) return getReg(c, i.rm, sz);
  return readMem(c, i.seg, ea(c, i), sz);
}

export function writeRM(c: I386, i: Instr, sz: number, v: number): void {
  if (i.mod === 3) setReg(c, i.rm, sz, v);
  else writeMem(c, i.seg, ea(c, i), sz, v);
}

/**
 * Linear address of a memory destination that will be read and then written: segment and page
 * write permission are checked first, so the later write cannot fault after flags changed.
 */
export function rmwLinear(c: I386, i: Instr, sz: number): number {
  const n = sz >>> 3;
  const lin = c.linW(i.seg, ea(c, i), n);
  c.mmu.probeWrite(lin, n);
  return lin;
}

// ---- stack ----

/** ESP after moving by delta, honouring a 16-bit stack segment. */
export function spAdd(c: I386, delta: number): number {
  const sp = c.gpr[ESP]!;
  return c.ss32 ? (sp + delta) | 0 : (sp & ~0xffff) | ((sp + delta) & 0xffff);
}

function spOffset(c: I386, sp: number): number {
  return c.ss32 ? sp : sp & 0xffff;
}

export function push(c: I386, v: number, sz: number): void {
  const nsp = spAdd(c, -(sz >>> 3));
  const lin = c.linW(SEG_SS, spOffset(c, nsp), sz >>> 3);
  if (sz === 32) c.mmu.write32(lin, v);
  else c.mmu.write16(lin, v);
  c.gpr[ESP] = nsp;
}

/** Reads the stack slot `offset` bytes above ESP without moving ESP. */
export function peek(c: I386, offset: number, sz: number): number {
  const lin = c.linR(SEG_SS, spOffset(c, spAdd(c, offset)), sz >>> 3);
  return sz === 32 ? c.mmu.read32(lin) : c.mmu.read16(lin);
}

export function pop(c: I386, sz: number): number {
  const v = peek(c, 0, sz);
  c.gpr[ESP] = spAdd(c, sz >>> 3);
  return v;
}
