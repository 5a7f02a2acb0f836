// Fast paths for the commonest 32-bit forms (register and flat-memory operands), chosen at
// decode time; each behaves exactly like the generic handler it replaces (Intel SDM vol. 2).

import type { I386 } from './cpu';
import { aluOp, shiftOp } from './alu';
import { ARITH, OP_ADD, OP_LOGIC, OP_SUB } from './flags';
import type { Handler, Instr } from './instr';
import { ea } from './operands';

const MIN = -0x80000000;

/** 32-bit ALU operation on a and b, recording flags like aluOp(…, 32). */
function alu32(c: I386, op: number, a: number, b: number): number {
  let r: number, kind: number;
  switch (op) {
    case 0:
      r = (a + b) | 0;
      kind = OP_ADD;
      break;
    case 1:
      r = a | b;
      kind = OP_LOGIC;
      a = b = 0;
      break;
    case 4:
      r = a & b;
      kind = OP_LOGIC;
      a = b = 0;
      break;
    case 5:
    case 7:
      r = (a - b) | 0;
      kind = OP_SUB;
      break;
    case 6:
      r = a ^ b;
      kind = OP_LOGIC;
      a = b = 0;
      break;
    default:
      return aluOp(c, op, a, b, 32); // ADC/SBB
  }
  c.lop = kind;
  c.la = a;
  c.lb = b;
  c.lres = r;
  c.lmask = -1;
  c.lsign = MIN;
  c.lazy = ARITH;
  return r;
}

/** 80..83 group 1 with a 32-bit register destination. */
export const aluImmReg32: Handler = (c, i) => {
  const r = alu32(c, i.reg, c.gpr[i.rm]!, i.imm);
  if (i.reg !== 7) c.gpr[i.rm] = r;
};

/** 01/09/.../39 op r/m32, r32 with a register destination. */
export const aluEGReg32: Handler = (c, i) => {
  const op = (i.op >> 3) & 7;
  const r = alu32(c, op, c.gpr[i.rm]!, c.gpr[i.reg]!);
  if (op !== 7) c.gpr[i.rm] = r;
};

/** 03/0B/.../3B op r32, r/m32. */
export const aluGE32: Handler = (c, i) => {
  const op = (i.op >> 3) & 7;
  const b = i.mod === 3 ? c.gpr[i.rm]! : c.mmu.read32(c.linR(i.seg, ea(c, i), 4));
  const r = alu32(c, op, c.gpr[i.reg]!, b);
  if (op !== 7) c.gpr[i.reg] = r;
};

/** 05/0D/.../3D op EAX, imm32. */
export const aluAccImm32: Handler = (c, i) => {
  const op = (i.op >> 3) & 7;
  const r = alu32(c, op, c.gpr[0]!, i.imm);
  if (op !== 7) c.gpr[0] = r;
};

/** 0F B6 MOVZX r32, r/m8. */
export const movzxByte32: Handler = (c, i) => {
  if (i.mod === 3) c.gpr[i.reg] = i.rm < 4 ? c.gpr[i.rm]! & 0xff : (c.gpr[i.rm - 4]! >> 8) & 0xff;
  else c.gpr[i.reg] = c.mmu.read8(c.linR(i.seg, ea(c, i), 1));
};

/** C1 group 2 r32, imm8 (shifts and rotates of a register). */
export const shiftRegImm32: Handler = (c, i) => {
  const n = i.imm & 0x1f;
  if (n !== 0) c.gpr[i.rm] = shiftOp(c, i.reg, c.gpr[i.rm]!, n, 32);
};

/** 40..47 INC r32 and 48..4F DEC r32. */
export const incDec32: Handler = (c, i) => {
  const r = i.op & 7;
  const a = c.gpr[r]!;
  const inc = i.op < 0x48;
  // CF survives: make it concrete before the record is replaced.
  if (c.lazy & 1) {
    const m = c.lmask;
    const cf =
      c.lop === OP_ADD
        ? (c.lres & m) >>> 0 < (c.la & m) >>> 0
          ? 1
          : 0
        : c.lop === OP_SUB
          ? (c.la & m) >>> 0 < (c.lb & m) >>> 0
            ? 1
            : 0
          : 0;
    c.flags = (c.flags & ~1) | cf;
  }
  const res = inc ? (a + 1) | 0 : (a - 1) | 0;
  c.lop = inc ? OP_ADD : OP_SUB;
  c.la = a;
  c.lb = 1;
  c.lres = res;
  c.lmask = -1;
  c.lsign = MIN;
  c.lazy = ARITH & ~1;
  c.gpr[r] = res;
};

/** 50..57 PUSH r32 on a 32-bit stack. */
export const push32: Handler = (c, i) => {
  if (!c.ss32) return pushGeneric(c, i);
  const sp = (c.gpr[4]! - 4) | 0;
  c.mmu.write32(c.linW(2, sp, 4), c.gpr[i.op & 7]!);
  c.gpr[4] = sp;
};

/** 58..5F POP r32 on a 32-bit stack. */
export const pop32: Handler = (c, i) => {
  if (!c.ss32) return popGeneric(c, i);
  const sp = c.gpr[4]!;
  const v = c.mmu.read32(c.linR(2, sp, 4));
  c.gpr[4] = (sp + 4) | 0;
  c.gpr[i.op & 7] = v;
};

let pushGeneric: Handler = () => {};
let popGeneric: Handler = () => {};
/** The generic stack handlers the fast ones fall back to (set by the opcode map). */
export function setStackFallbacks(push: Handler, pop: Handler): void {
  pushGeneric = push;
  popGeneric = pop;
}

/** Picks a fast handler for a decoded instruction when one applies. */
export function specialize(i: Instr, generic: Handler): Handler {
  if (i.sz !== 32 || i.lock) return generic;
  const op = i.op;
  if (op < 0x40 && (op & 7) === 1 && i.mod === 3) return aluEGReg32;
  if (op < 0x40 && (op & 7) === 3) return aluGE32;
  if (op < 0x40 && (op & 7) === 5) return aluAccImm32;
  if ((op === 0x81 || op === 0x83) && i.mod === 3) return aluImmReg32;
  if (op === 0x1b6) return movzxByte32;
  if (op === 0xc1 && i.mod === 3 && i.reg >= 4) return shiftRegImm32;
  if (op >= 0x40 && op < 0x50) return incDec32;
  if (op >= 0x50 && op < 0x58) return push32;
  if (op >= 0x58 && op < 0x60) return pop32;
  return generic;
}
