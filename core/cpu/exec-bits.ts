// Shift, rotate and bit instructions: group 2, SHLD/SHRD, BT/BTS/BTR/BTC, BSF/BSR, BSWAP, and the
// condition-code consumers SETcc and CMOVcc (Intel SDM vol. 2).

import type { I386 } from './cpu';
import { doubleShift, shiftOp } from './alu';
import { CF, ZF, setStatus, testCond } from './flags';
import type { Instr } from './instr';
import { ea, getReg, readLin, readMem, readRM, rmwLinear, setReg, writeLin, writeRM } from './operands';

/** C0/C1 (imm8), D0/D1 (by 1), D2/D3 (by CL): group 2 with the operation in the reg field. */
export function group2(c: I386, i: Instr): void {
  const sz = i.sz;
  const count = (i.op === 0xd0 || i.op === 0xd1 ? 1 : i.op === 0xd2 || i.op === 0xd3 ? c.gpr[1]! : i.imm) & 0x1f;
  if (i.mod === 3) {
    if (count !== 0) setReg(c, i.rm, sz, shiftOp(c, i.reg, getReg(c, i.rm, sz), count, sz));
    return;
  }
  if (count === 0) {
    readMem(c, i.seg, ea(c, i), sz);
    return;
  }
  const lin = rmwLinear(c, i, sz);
  writeLin(c, lin, sz, shiftOp(c, i.reg, readLin(c, lin, sz), count, sz));
}

/** 0F A4/A5 SHLD, 0F AC/AD SHRD. */
export function shiftDouble(c: I386, i: Instr): void {
  const sz = i.sz;
  const left = i.op === 0x1a4 || i.op === 0x1a5;
  const count = (i.op & 1 ? c.gpr[1]! : i.imm) & 0x1f;
  const src = getReg(c, i.reg, sz);
  if (i.mod === 3) {
    if (count !== 0) setReg(c, i.rm, sz, doubleShift(c, left, getReg(c, i.rm, sz), src, count, sz));
    return;
  }
  if (count === 0) {
    readMem(c, i.seg, ea(c, i), sz);
    return;
  }
  const lin = rmwLinear(c, i, sz);
  writeLin(c, lin, sz, doubleShift(c, left, readLin(c, lin, sz), src, count, sz));
}

/**
 * BT family. kind: 0 BT, 1 BTS, 2 BTR, 3 BTC. With a register bit offset and a memory operand
 * the offset is signed and selects a word/dword relative to the effective address.
 */
function bitTest(c: I386, i: Instr, kind: number, offset: number, fromReg: boolean): void {
  const sz = i.sz;
  if (i.mod === 3) {
    const bit = offset & (sz - 1);
    const v = getReg(c, i.rm, sz);
    const cf = (v >>> bit) & 1;
    setStatus(c, CF, cf);
    if (kind !== 0) setReg(c, i.rm, sz, apply(kind, v, bit));
    return;
  }
  let off = ea(c, i);
  let bit: number;
  if (fromReg) {
    const bytes = sz >>> 3;
    const sh = sz === 32 ? 5 : 4;
    off = (off + (offset >> sh) * bytes) | 0;
    if (i.a16) off &= 0xffff;
    bit = offset & (sz - 1);
  } else {
    bit = offset & (sz - 1);
  }
  if (kind === 0) {
    const v = readMem(c, i.seg, off, sz);
    setStatus(c, CF, (v >>> bit) & 1);
    return;
  }
  const lin = c.linW(i.seg, off, sz >>> 3);
  c.mmu.probeWrite(lin, sz >>> 3);
  const v = readLin(c, lin, sz);
  writeLin(c, lin, sz, apply(kind, v, bit));
  setStatus(c, CF, (v >>> bit) & 1);
}

function apply(kind: number, v: number, bit: number): number {
  const m = 1 << bit;
  return kind === 1 ? v | m : kind === 2 ? v & ~m : v ^ m;
}

/** 0F A3 BT, AB BTS, B3 BTR, BB BTC (register bit offset). */
export function btReg(c: I386, i: Instr): void {
  const kind = i.op === 0x1a3 ? 0 : i.op === 0x1ab ? 1 : i.op === 0x1b3 ? 2 : 3;
  const off = i.sz === 16 ? (getReg(c, i.reg, 16) << 16) >> 16 : c.gpr[i.reg]!;
  bitTest(c, i, kind, off, true);
}

/** 0F BA /4../7 with an immediate bit offset. */
export function btImm(c: I386, i: Instr): void {
  bitTest(c, i, i.reg - 4, i.imm & 0xff, false);
}

/** 0F BC BSF, 0F BD BSR: ZF=1 and destination unchanged when the source is zero. */
export function bitScan(c: I386, i: Instr): void {
  const sz = i.sz;
  const v = readRM(c, i, sz) & (sz === 32 ? -1 : 0xffff);
  if (v === 0) {
    setStatus(c, ZF, ZF);
    return;
  }
  const idx = i.op === 0x1bc ? 31 - Math.clz32(v & -v) : 31 - Math.clz32(v);
  setReg(c, i.reg, sz, idx);
  setStatus(c, ZF, 0);
}

/** 0F C8+r BSWAP r32 (with 0x66 the result is undefined; hardware clears the low word). */
export function bswap(c: I386, i: Instr): void {
  const r = i.op & 7;
  const v = c.gpr[r]!;
  if (i.o16) {
    c.gpr[r] = v & ~0xffff;
    return;
  }
  c.gpr[r] = (v >>> 24) | ((v >>> 8) & 0xff00) | ((v << 8) & 0xff0000) | (v << 24) | 0;
}

/** 0F 90..9F SETcc r/m8. */
export function setcc(c: I386, i: Instr): void {
  writeRM(c, i, 8, testCond(c, i.op & 0xf) ? 1 : 0);
}

/** 0F 40..4F CMOVcc r, r/m (the source is read, and may fault, even when the move is skipped). */
export function cmovcc(c: I386, i: Instr): void {
  const v = readRM(c, i, i.sz);
  if (testCond(c, i.op & 0xf)) setReg(c, i.reg, i.sz, v);
}
