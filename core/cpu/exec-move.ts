// Data movement: MOV forms, MOVZX/MOVSX, LEA, XCHG, XLAT, and the stack instructions PUSH/POP,
// PUSHA/POPA, ENTER/LEAVE (Intel SDM vol. 1, "Data Transfer Instructions").

import type { I386 } from './cpu';
import { ud } from './fault';
import type { Instr } from './instr';
import {
  ea,
  getReg,
  peek,
  pop,
  push,
  readLin,
  readMem,
  readRM,
  rmwLinear,
  setReg,
  spAdd,
  writeLin,
  writeMem,
  writeRM,
} from './operands';
import { SEG_SS } from './segmentation';

/** 88/89 MOV E,G. */
export function movEG(c: I386, i: Instr): void {
  if (i.sz === 32) {
    if (i.mod === 3) c.gpr[i.rm] = c.gpr[i.reg]!;
    else c.mmu.write32(c.linW(i.seg, ea(c, i), 4), c.gpr[i.reg]!);
    return;
  }
  writeRM(c, i, i.sz, getReg(c, i.reg, i.sz));
}

/** 8A/8B MOV G,E. */
export function movGE(c: I386, i: Instr): void {
  if (i.sz === 32) {
    c.gpr[i.reg] = i.mod === 3 ? c.gpr[i.rm]! : c.mmu.read32(c.linR(i.seg, ea(c, i), 4));
    return;
  }
  setReg(c, i.reg, i.sz, readRM(c, i, i.sz));
}

/** B0..BF MOV r, imm. */
export function movRegImm(c: I386, i: Instr): void {
  setReg(c, i.op & 7, i.sz, i.imm);
}

/** C6/C7 /0 MOV r/m, imm. */
export function movRMImm(c: I386, i: Instr): void {
  if (i.reg !== 0) throw ud();
  writeRM(c, i, i.sz, i.imm);
}

/** A0..A3 MOV with a direct offset (moffs) and the accumulator. */
export function movMoffs(c: I386, i: Instr): void {
  if (i.op < 0xa2) setReg(c, 0, i.sz, readMem(c, i.seg, i.disp, i.sz));
  else writeMem(c, i.seg, i.disp, i.sz, getReg(c, 0, i.sz));
}

/** 0F B6/B7 MOVZX, 0F BE/BF MOVSX. */
export function movExtend(c: I386, i: Instr): void {
  const byteSrc = i.op === 0x1b6 || i.op === 0x1be;
  let v = readRM(c, i, byteSrc ? 8 : 16);
  if (i.op >= 0x1be) v = byteSrc ? (v << 24) >> 24 : (v << 16) >> 16;
  setReg(c, i.reg, i.sz, v);
}

/** 8D LEA. */
export function lea(c: I386, i: Instr): void {
  if (i.mod === 3) throw ud();
  setReg(c, i.reg, i.sz, ea(c, i));
}

/** 86/87 XCHG r/m, r. */
export function xchgRM(c: I386, i: Instr): void {
  const sz = i.sz;
  const a = getReg(c, i.reg, sz);
  if (i.mod === 3) {
    setReg(c, i.reg, sz, getReg(c, i.rm, sz));
    setReg(c, i.rm, sz, a);
    return;
  }
  const lin = rmwLinear(c, i, sz);
  const v = readLin(c, lin, sz);
  writeLin(c, lin, sz, a);
  setReg(c, i.reg, sz, v);
}

/** 90..97 XCHG eAX, r (90 is NOP). */
export function xchgAcc(c: I386, i: Instr): void {
  const r = i.op & 7;
  if (r === 0) return;
  const t = getReg(c, r, i.sz);
  setReg(c, r, i.sz, getReg(c, 0, i.sz));
  setReg(c, 0, i.sz, t);
}

/** D7 XLAT. */
export function xlat(c: I386, i: Instr): void {
  const off = i.a16 ? (c.gpr[3]! + (c.gpr[0]! & 0xff)) & 0xffff : (c.gpr[3]! + (c.gpr[0]! & 0xff)) | 0;
  setReg(c, 0, 8, readMem(c, i.seg, off, 8));
}

// ---- stack ----

export function pushReg(c: I386, i: Instr): void {
  push(c, getReg(c, i.op & 7, i.sz), i.sz);
}
export function popReg(c: I386, i: Instr): void {
  const v = pop(c, i.sz);
  setReg(c, i.op & 7, i.sz, v);
}
export function pushImm(c: I386, i: Instr): void {
  push(c, i.imm, i.sz);
}

/** FF /6 PUSH r/m. */
export function pushRM(c: I386, i: Instr): void {
  push(c, readRM(c, i, i.sz), i.sz);
}

/** 8F /0 POP r/m: ESP is incremented before the destination address is computed. */
export function popRM(c: I386, i: Instr): void {
  if (i.reg !== 0) throw ud();
  const v = peek(c, 0, i.sz);
  const old = c.gpr[4]!;
  c.gpr[4] = spAdd(c, i.sz >>> 3);
  try {
    writeRM(c, i, i.sz, v);
  } catch (e) {
    c.gpr[4] = old;
    throw e;
  }
}

function stackLin(c: I386, sp: number, n: number, write: boolean): number {
  const off = c.ss32 ? sp : sp & 0xffff;
  return write ? c.linW(SEG_SS, off, n) : c.linR(SEG_SS, off, n);
}

/** 60 PUSHA/PUSHAD: all writes happen before ESP moves. */
export function pusha(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3;
  // ESP changes only at the end, so each register (ESP included) is pushed with its old value.
  let sp = c.gpr[4]!;
  for (let r = 0; r < 8; r++) {
    sp = c.ss32 ? (sp - n) | 0 : (sp & ~0xffff) | ((sp - n) & 0xffff);
    writeLin(c, stackLin(c, sp, n, true), sz, getReg(c, r, sz));
  }
  c.gpr[4] = sp;
}

/** 61 POPA/POPAD (the saved ESP is skipped). */
export function popa(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3;
  // Every slot is read, in order, before any register changes (a read may fault); the saved ESP
  // is read and dropped.
  const edi = peek(c, 0, sz),
    esi = peek(c, n, sz),
    ebp = peek(c, 2 * n, sz);
  peek(c, 3 * n, sz);
  const ebx = peek(c, 4 * n, sz),
    edx = peek(c, 5 * n, sz),
    ecx = peek(c, 6 * n, sz),
    eax = peek(c, 7 * n, sz);
  setReg(c, 7, sz, edi);
  setReg(c, 6, sz, esi);
  setReg(c, 5, sz, ebp);
  setReg(c, 3, sz, ebx);
  setReg(c, 2, sz, edx);
  setReg(c, 1, sz, ecx);
  setReg(c, 0, sz, eax);
  c.gpr[4] = spAdd(c, 8 * n);
}

/** C8 ENTER imm16, imm8. */
export function enter(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3;
  const level = i.imm2 & 31;
  const dec = (v: number, k: number): number => (c.ss32 ? (v - k) | 0 : (v & ~0xffff) | ((v - k) & 0xffff));
  let sp = dec(c.gpr[4]!, n);
  writeLin(c, stackLin(c, sp, n, true), sz, getReg(c, 5, sz));
  const frame = sp;
  if (level > 0) {
    let bp = c.gpr[5]!;
    for (let k = 1; k < level; k++) {
      bp = dec(bp, n);
      const v = readLin(c, stackLin(c, bp, n, false), sz);
      sp = dec(sp, n);
      writeLin(c, stackLin(c, sp, n, true), sz, v);
    }
    sp = dec(sp, n);
    writeLin(c, stackLin(c, sp, n, true), sz, frame);
  }
  sp = dec(sp, i.imm & 0xffff);
  setReg(c, 5, sz, frame);
  c.gpr[4] = sp;
}

/** C9 LEAVE. */
export function leave(c: I386, i: Instr): void {
  const sz = i.sz,
    n = sz >>> 3;
  const bp = c.gpr[5]!;
  const v = readLin(c, stackLin(c, bp, n, false), sz);
  c.gpr[4] = c.ss32 ? (bp + n) | 0 : (c.gpr[4]! & ~0xffff) | ((bp + n) & 0xffff);
  setReg(c, 5, sz, v);
}
