// String instructions MOVS/CMPS/STOS/LODS/SCAS with REP/REPE/REPNE, one element per step so a
// fault leaves ESI/EDI/ECX at a restartable point (Intel SDM vol. 1, "String Instructions").

import type { I386 } from './cpu';
import { aluOp } from './alu';
import { getZF } from './flags';
import type { Instr } from './instr';
import { getReg, readLin, setReg, writeLin } from './operands';
import { SEG_ES } from './segmentation';

const ESI = 6,
  EDI = 7,
  ECX = 1;

function step(c: I386, i: Instr): number {
  const n = i.sz >>> 3;
  return c.flags & 0x400 ? -n : n;
}

function idx(c: I386, i: Instr, r: number): number {
  return i.a16 ? c.gpr[r]! & 0xffff : c.gpr[r]!;
}

function advance(c: I386, i: Instr, r: number, d: number): void {
  if (i.a16) c.gpr[r] = (c.gpr[r]! & ~0xffff) | ((c.gpr[r]! + d) & 0xffff);
  else c.gpr[r] = (c.gpr[r]! + d) | 0;
}

function count(c: I386, i: Instr): number {
  return i.a16 ? c.gpr[ECX]! & 0xffff : c.gpr[ECX]!;
}

function decCount(c: I386, i: Instr): void {
  advance(c, i, ECX, -1);
}

/** A4/A5 MOVS. */
export function movs(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3,
    d = step(c, i);
  if (i.rep === 0) {
    const v = readLin(c, c.linR(i.seg, idx(c, i, ESI), n), sz);
    writeLin(c, c.linW(SEG_ES, idx(c, i, EDI), n), sz, v);
    advance(c, i, ESI, d);
    advance(c, i, EDI, d);
    return;
  }
  if (!i.a16 && d > 0 && fastMovs(c, i, n)) return;
  while (count(c, i) !== 0) {
    const v = readLin(c, c.linR(i.seg, idx(c, i, ESI), n), sz);
    writeLin(c, c.linW(SEG_ES, idx(c, i, EDI), n), sz, v);
    advance(c, i, ESI, d);
    advance(c, i, EDI, d);
    decCount(c, i);
  }
}

/**
 * REP MOVS forwards with flat 32-bit addressing: copies whole runs inside a source page and a
 * destination page at a time, through the TLB's RAM offsets (a page holding cached code has no
 * write entry, so stores there go element by element through the MMU).
 */
function fastMovs(c: I386, i: Instr, n: number): boolean {
  const mmu = c.mmu;
  const ram = mmu.ram;
  for (;;) {
    const cnt = c.gpr[ECX]! >>> 0;
    if (cnt === 0) return true;
    const sl = c.linR(i.seg, c.gpr[ESI]!, n),
      dl = c.linW(SEG_ES, c.gpr[EDI]!, n);
    const so = sl & 0xfff,
      dofs = dl & 0xfff;
    const se = mmu.r[sl >>> 12]!,
      de = mmu.w[dl >>> 12]!;
    const chunk = Math.min(cnt, Math.floor((4096 - so) / n), Math.floor((4096 - dofs) / n));
    if (se === 0 || de === 0 || chunk === 0 || (c.segOkR & (1 << i.seg)) === 0 || (c.segOkW & 1) === 0) {
      // One element the slow way (this fills the TLB), then try again.
      const v = readLin(c, sl, n * 8);
      writeLin(c, dl, n * 8, v);
      c.gpr[ESI] = (c.gpr[ESI]! + n) | 0;
      c.gpr[EDI] = (c.gpr[EDI]! + n) | 0;
      c.gpr[ECX] = (cnt - 1) | 0;
      continue;
    }
    const sp = se - 1 + so,
      dp = de - 1 + dofs;
    const bytes = chunk * n;
    if (dp > sp && dp < sp + bytes) {
      // Overlapping forward copy must replicate element by element like the hardware does.
      for (let k = 0; k < bytes; k++) ram[dp + k] = ram[sp + k]!;
    } else {
      ram.copyWithin(dp, sp, sp + bytes);
    }
    c.gpr[ESI] = (c.gpr[ESI]! + bytes) | 0;
    c.gpr[EDI] = (c.gpr[EDI]! + bytes) | 0;
    c.gpr[ECX] = (cnt - chunk) | 0;
  }
}

/** AA/AB STOS. */
export function stos(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3,
    d = step(c, i);
  const v = getReg(c, 0, sz);
  if (i.rep === 0) {
    writeLin(c, c.linW(SEG_ES, idx(c, i, EDI), n), sz, v);
    advance(c, i, EDI, d);
    return;
  }
  const mmu = c.mmu;
  while (count(c, i) !== 0) {
    const dl = c.linW(SEG_ES, idx(c, i, EDI), n);
    const de = mmu.w[dl >>> 12]!;
    const o = dl & 0xfff;
    if (!i.a16 && d > 0 && de !== 0 && (c.segOkW & 1) !== 0 && o + n <= 4096) {
      // Fill the rest of this page in one go.
      const chunk = Math.min(c.gpr[ECX]! >>> 0, Math.floor((4096 - o) / n));
      const p = de - 1 + o;
      if (n === 1) mmu.ram.fill(v & 0xff, p, p + chunk);
      else if (n === 2) for (let k = 0; k < chunk; k++) mmu.dv.setUint16(p + 2 * k, v & 0xffff, true);
      else for (let k = 0; k < chunk; k++) mmu.dv.setInt32(p + 4 * k, v, true);
      c.gpr[EDI] = (c.gpr[EDI]! + chunk * n) | 0;
      c.gpr[ECX] = (c.gpr[ECX]! - chunk) | 0;
      continue;
    }
    writeLin(c, dl, sz, v);
    advance(c, i, EDI, d);
    decCount(c, i);
  }
}

/** AC/AD LODS. */
export function lods(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3,
    d = step(c, i);
  if (i.rep === 0) {
    setReg(c, 0, sz, readLin(c, c.linR(i.seg, idx(c, i, ESI), n), sz));
    advance(c, i, ESI, d);
    return;
  }
  while (count(c, i) !== 0) {
    setReg(c, 0, sz, readLin(c, c.linR(i.seg, idx(c, i, ESI), n), sz));
    advance(c, i, ESI, d);
    decCount(c, i);
  }
}

/** A6/A7 CMPS: compares [seg:ESI] with ES:[EDI]; REPE/REPNE stop on ZF. */
export function cmps(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3,
    d = step(c, i);
  const one = (): void => {
    const a = readLin(c, c.linR(i.seg, idx(c, i, ESI), n), sz);
    const b = readLin(c, c.linR(SEG_ES, idx(c, i, EDI), n), sz);
    aluOp(c, 7, a, b, sz);
    advance(c, i, ESI, d);
    advance(c, i, EDI, d);
  };
  if (i.rep === 0) return one();
  while (count(c, i) !== 0) {
    one();
    decCount(c, i);
    if (getZF(c) !== (i.rep === 1)) break;
  }
}

/** AE/AF SCAS: compares the accumulator with ES:[EDI]. */
export function scas(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3,
    d = step(c, i);
  const acc = getReg(c, 0, sz);
  const one = (): void => {
    const b = readLin(c, c.linR(SEG_ES, idx(c, i, EDI), n), sz);
    aluOp(c, 7, acc, b, sz);
    advance(c, i, EDI, d);
  };
  if (i.rep === 0) return one();
  while (count(c, i) !== 0) {
    one();
    decCount(c, i);
    if (getZF(c) !== (i.rep === 1)) break;
  }
}
