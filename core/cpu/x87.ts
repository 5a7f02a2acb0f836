// The x87 floating-point unit's instruction handlers: the D8..DF escape opcodes, the status and
// tag words, stack faults, and #MF delivery (an unmasked exception sets ES; the next waiting x87
// instruction or FWAIT raises #MF). Models the 387-compatible FPU of an i486/Pentium with true
// 80-bit registers; the arithmetic is in x87-arith.ts, formats and rounding in x87-format.ts,
// memory conversions in x87-convert.ts, environment images in x87-env.ts and transcendentals in
// x87-transcendental.ts. FISTTP (SSE3) is not an x87 of this generation and raises #UD.
// core/cpu/difftest compares all of this bit for bit against the host FPU.

import type { X87State } from './types';
import {
  add,
  compare,
  div,
  extract,
  mul,
  remainder,
  roundToInteger,
  scale,
  sqrt,
  EQUAL,
  GREATER,
  LESS,
  UNORDERED,
} from './x87-arith';
import {
  STORE_BLOCKING,
  double,
  fromBcd,
  fromDouble,
  fromInteger,
  fromSingle,
  integer,
  toBcd,
  toDouble,
  toInteger,
  toSingle,
} from './x87-convert';
import { extendedArith, extendedControl, extendedResult } from './x87-extended';
import { fastControl, fastDouble } from './x87-fast';
import { applyEnv, rd16, rd32, rd8, readEnv, restoreImage, saveImage, writeEnv } from './x87-env';
import {
  BIAS,
  BUSY,
  C0,
  C1,
  C2,
  C3,
  CC_MASK,
  DE,
  ES,
  F80,
  IE,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_QNAN,
  K_SNAN,
  K_ZERO,
  PE,
  SF,
  TAG_EMPTY,
  ZE,
  classify,
  flags,
  roundingMode,
  setIndefinite,
} from './x87-format';
import { exp2m1, atan2, sinCos, tan, trigOutOfRange, ylog2x } from './x87-transcendental';
import {
  bindShadow,
  copyST,
  exchange,
  isEmpty,
  physOf,
  pop,
  push,
  readDouble,
  readPhys,
  readST,
  setTagPhys,
  setTop,
  tagOfPhys,
  top,
  updateSummary,
  writeDouble,
  writePhys,
  writeST,
} from './x87-stack';

export { createX87State, syncRegisters } from './x87-stack';
export { fxrstor, fxsave } from './x87-env';

/** Thrown for an escape encoding this FPU does not implement; the CPU maps it to #UD. */
export class X87Undefined extends Error {
  constructor(opcode: number, modrm: number) {
    super(`undefined x87 encoding ${hex2(opcode)} ${hex2(modrm)}`);
    this.name = 'X87Undefined';
  }
}

/** Memory and register access the FPU needs from the CPU. Accessors may throw the CPU's faults. */
export interface X87Host {
  read8(l: number): number;
  read16(l: number): number;
  read32(l: number): number;
  write8(l: number, v: number): void;
  write16(l: number, v: number): void;
  write32(l: number, v: number): void;
  getEflags(): number;
  setEflags(v: number): void;
  setAx(v: number): void;
}

// EFLAGS bits touched by FCOMI and read by FCMOVcc.
const CF = 0x1,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SFLAG = 0x80,
  OF = 0x800;

// Operand and result scratch (per instruction; not machine state).
const A = new F80(),
  B = new F80(),
  R = new F80(),
  R2 = new F80();

function finit(st: X87State): void {
  st.control = 0x037f;
  st.status = 0;
  st.tag = 0xffff;
  st.fip = st.fcs = st.fdp = st.fds = st.fop = 0;
}

/** True when an unmasked exception is pending: FWAIT and waiting x87 instructions raise #MF. */
export function fwaitPending(st: X87State): boolean {
  return (st.status & ES) !== 0;
}

/** The nearest double to physical register p (for display; NaN payloads are not kept). */
export function x87RegisterValue(st: X87State, p: number): number {
  const v = readPhys(st, p, new F80());
  const k = classify(v);
  const negative = (v.se & 0x8000) !== 0;
  if (k === K_QNAN || k === K_SNAN || (k !== K_ZERO && k !== K_INF && k !== K_NORMAL && k !== K_DENORMAL)) return NaN;
  if (k === K_INF) return negative ? -Infinity : Infinity;
  const e = Math.max(v.se & 0x7fff, 1) - BIAS - 63;
  const m = (v.hi * 4294967296 + v.lo) * 2 ** Math.max(e, -1000);
  const r = e < -1000 ? m * 2 ** (e + 1000) : m;
  return negative ? -r : r;
}

// ---------------------------------------------------------------------------------------------
// Exceptions and results.

/** Stack underflow: a source register is empty (C1 = 0). */
function underflow(): void {
  flags.exc |= IE | SF;
  flags.up = 0;
}
/** Stack overflow: pushing onto a non-empty register (C1 = 1). */
function overflow(): void {
  flags.exc |= IE | SF;
  flags.up = 1;
}
function masked(st: X87State, f: number): boolean {
  return (f & ~st.control & 0x3f) === 0;
}
/** Merges this instruction's exceptions into the status word; false if an unmasked one blocks the result. */
function finish(st: X87State): boolean {
  // Nothing new raised (e.g. PE again): the status word and ES are already right.
  if (!flags.denormal && (flags.exc & ~st.status) === 0 && !(flags.exc & (IE | ZE))) return true;
  if (flags.denormal && !(flags.exc & (IE | ZE))) {
    flags.exc |= DE;
    // An unmasked denormal-operand exception stops the operation before anything else happens.
    if (!(st.control & DE)) {
      flags.exc = DE;
      flags.up = 0;
    }
  }
  st.status |= flags.exc;
  updateSummary(st);
  // Unmasked invalid-operation, divide-by-zero and denormal-operand exceptions suppress the
  // result; overflow/underflow/precision deliver it (exponent-adjusted for OE/UE).
  return masked(st, flags.exc & (IE | ZE | DE));
}
function setC1(st: X87State, v: number): void {
  st.status = (st.status & ~C1) | (v ? C1 : 0);
}
/** Result of an operation that writes ST(dest) (optionally popping afterwards). */
function commitST(st: X87State, dest: number, v: F80, popAfter: boolean): void {
  const ok = finish(st);
  setC1(st, flags.up);
  if (ok) {
    writeST(st, dest, v);
    if (popAfter) pop(st);
  }
}

// ---------------------------------------------------------------------------------------------
// The dispatcher.

/** Escape encodings that do not wait for (or raise) a pending unmasked exception. */
function isNoWait(opcode: number, modrm: number): boolean {
  const mem = modrm < 0xc0;
  const reg = (modrm >>> 3) & 7;
  if (opcode === 0xd9 && mem && (reg === 6 || reg === 7)) return true; // FNSTENV, FNSTCW
  if (opcode === 0xdd && mem && (reg === 6 || reg === 7)) return true; // FNSAVE, FNSTSW m16
  if (opcode === 0xdb && modrm >= 0xe0 && modrm <= 0xe4) return true; // FNENI..FNSETPM, FNCLEX, FNINIT
  if (opcode === 0xdf && modrm === 0xe0) return true; // FNSTSW AX
  return false;
}

/** Control instructions leave FIP/FDP/FOP alone. */
function isControl(opcode: number, modrm: number): boolean {
  const mem = modrm < 0xc0;
  const reg = (modrm >>> 3) & 7;
  if (opcode === 0xd9 && mem && reg >= 4) return true;
  if (opcode === 0xdd && mem && reg >= 4) return true;
  if (opcode === 0xdb && modrm >= 0xe0 && modrm <= 0xe4) return true;
  if (opcode === 0xdf && modrm === 0xe0) return true;
  return false;
}

/**
 * Executes one x87 escape instruction. `linear` is the operand's linear address (-1 for a
 * register form). Returns true, doing nothing, when a pending unmasked exception must be raised
 * as #MF before this (waiting) instruction. All memory reads happen before any state changes,
 * and stores happen before the register stack is updated, so a fault leaves the FPU untouched.
 */
export function executeX87(
  st: X87State,
  host: X87Host,
  opcode: number,
  modrm: number,
  linear: number,
  operandSize32: boolean,
  instructionEip: number,
): boolean {
  // Register forms other than DB E0..E4 and DF E0 wait and are not control instructions.
  const plain = modrm >= 0xc0 && opcode !== 0xdb && opcode !== 0xdf;
  if (st.status & ES && (plain || !isNoWait(opcode, modrm))) return true;
  flags.exc = 0;
  flags.up = 0;
  flags.denormal = false;
  bindShadow(st);
  const handled =
    modrm < 0xc0
      ? executeMemory(st, host, opcode, modrm, linear, operandSize32)
      : executeRegister(st, host, opcode, modrm);
  if (!handled) throw new X87Undefined(opcode, modrm);
  if (plain || !isControl(opcode, modrm)) {
    st.fip = instructionEip >>> 0;
    st.fop = ((opcode & 7) << 8) | modrm;
    if (modrm < 0xc0) st.fdp = linear >>> 0;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic: ST(dest) = ST(dest) op operand, with the /digit's operation.

const OP_ADD = 0,
  OP_MUL = 1,
  OP_SUB = 4,
  OP_SUBR = 5,
  OP_DIV = 6;

/** dest op src for the /digit op (SUBR/DIVR reverse the operands); result in R. */
function arith(st: X87State, op: number, dest: F80, src: F80): F80 {
  const cw = st.control;
  switch (op) {
    case OP_ADD:
      return add(R, dest, src, false, cw);
    case OP_MUL:
      return mul(R, dest, src, cw);
    case OP_SUB:
      return add(R, dest, src, true, cw);
    case OP_SUBR:
      return add(R, src, dest, true, cw);
    case OP_DIV:
      return div(R, dest, src, cw);
    default: // OP_DIVR
      return div(R, src, dest, cw);
  }
}

/** A zero (a fast-path exact cancellation) or normal double result into ST(dest), then pop. */
function commitDouble(st: X87State, dest: number, r: number, popAfter: boolean): void {
  finish(st);
  setC1(st, flags.up);
  const p = physOf(st, dest);
  if (r === 0) writePhys(st, p, R.set(0, 0, 0));
  else writeDouble(st, p, r);
  if (popAfter) pop(st);
}

/**
 * ST(dest) op y by the extended fast path (x87-extended.ts), committed as the 80-bit code would
 * (then pop); false, with nothing done, when it does not apply. `same`: y is ST(dest) itself.
 */
function arithExtended(st: X87State, op: number, dest: number, y: F80, popAfter: boolean, same = false): boolean {
  const x = readST(st, dest, A);
  if (!extendedArith(op, x.se, x.hi, x.lo, y.se, y.hi, y.lo, same)) return false;
  commitST(st, dest, R.set(extendedResult.se, extendedResult.hi, extendedResult.lo), popAfter);
  return true;
}

/** A memory operand as a double when it is a nonzero normal value (else NaN); no exceptions. */
function memoryDouble(host: X87Host, opcode: number, l: number): number {
  switch (opcode) {
    case 0xdc: {
      const lo = rd32(host, l),
        hi = rd32(host, l + 4);
      const e = (hi >>> 20) & 0x7ff;
      if (e === 0 || e === 0x7ff) return NaN;
      scratchWords[0] = lo;
      scratchWords[1] = hi;
      return scratchF64[0]!;
    }
    case 0xd8: {
      const b = rd32(host, l);
      const e = (b >>> 23) & 0xff;
      if (e === 0 || e === 0xff) return NaN;
      scratchWords32[0] = b;
      return scratchF32[0]!;
    }
    case 0xda:
      return rd32(host, l) | 0 || NaN;
    default:
      return (rd16(host, l) << 16) >> 16 || NaN;
  }
}
const scratchF64 = new Float64Array(1);
const scratchWords = new Uint32Array(scratchF64.buffer);
const scratchF32 = new Float32Array(1);
const scratchWords32 = new Uint32Array(scratchF32.buffer);

function readMemoryOperand(host: X87Host, opcode: number, l: number, out: F80): F80 {
  switch (opcode) {
    case 0xd8:
      return fromSingle(out, rd32(host, l));
    case 0xdc:
      return fromDouble(out, rd32(host, l + 4), rd32(host, l));
    case 0xda: {
      const v = rd32(host, l) | 0;
      return fromInteger(out, v >> 31, v >>> 0);
    }
    default: {
      const v = (rd16(host, l) << 16) >> 16;
      return fromInteger(out, v >> 31, v >>> 0);
    }
  }
}

function executeMemory(st: X87State, host: X87Host, opcode: number, modrm: number, l: number, op32: boolean): boolean {
  const reg = (modrm >>> 3) & 7;
  switch (opcode) {
    case 0xd8:
    case 0xdc:
    case 0xda:
    case 0xde: {
      if (reg !== 2 && reg !== 3 && fastControl(st.control) && !isEmpty(st, 0)) {
        const r = fastDouble(reg, readDouble(st, physOf(st, 0)), memoryDouble(host, opcode, l));
        if (r === r) {
          commitDouble(st, 0, r, false);
          return true;
        }
      }
      const src = readMemoryOperand(host, opcode, l, B);
      const fast = reg !== 2 && reg !== 3 && !flags.denormal && extendedControl(st.control) && !isEmpty(st, 0);
      if (fast && arithExtended(st, reg, 0, src, false)) return true;
      // A denormal memory operand counts (DE) only when the register operand is not a NaN.
      if (flags.denormal && !isEmpty(st, 0) && classify(readST(st, 0, A)) >= K_QNAN) flags.denormal = false;
      if (reg === 2 || reg === 3) {
        // FCOM / FCOMP / FICOM / FICOMP
        if (isEmpty(st, 0)) {
          underflow();
          setCompareCodes(st, UNORDERED);
        } else setCompareCodes(st, compare(readST(st, 0, A), src, false));
        setC1(st, 0);
        if (finish(st) && reg === 3) pop(st);
        return true;
      }
      if (isEmpty(st, 0)) {
        underflow();
        commitST(st, 0, setIndefinite(R), false);
        return true;
      }
      commitST(st, 0, arith(st, reg, readST(st, 0, A), src), false);
      return true;
    }
    case 0xd9:
      switch (reg) {
        case 0:
          if (!fastLoad(st, memoryDouble(host, 0xd8, l))) loadValue(st, quietSignaling(fromSingle(B, rd32(host, l))));
          return true;
        case 2:
        case 3:
          storeSingle(st, host, l, reg === 3);
          return true;
        case 4:
          applyEnv(st, readEnv(host, l, op32));
          return true;
        case 5:
          st.control = (rd16(host, l) & 0x1f3f) | 0x40;
          updateSummary(st);
          return true;
        case 6:
          writeEnv(st, host, l, op32);
          st.control |= 0x3f;
          updateSummary(st);
          return true;
        case 7:
          host.write16(l, st.control);
          return true;
      }
      return false;
    case 0xdb:
      switch (reg) {
        case 0: {
          const v = rd32(host, l) | 0;
          loadValue(st, fromInteger(B, v >> 31, v >>> 0));
          return true;
        }
        case 2:
        case 3:
          storeInt(st, host, l, 32, reg === 3);
          return true;
        case 5:
          // FLD m80: the bits as they are (no conversion, no exceptions).
          loadValue(st, B.set(rd16(host, l + 8), rd32(host, l + 4), rd32(host, l)));
          return true;
        case 7:
          storeExtended(st, host, l);
          return true;
      }
      return false;
    case 0xdd:
      switch (reg) {
        case 0:
          if (!fastLoad(st, memoryDouble(host, 0xdc, l)))
            loadValue(st, quietSignaling(fromDouble(B, rd32(host, l + 4), rd32(host, l))));
          return true;
        case 2:
        case 3:
          storeDouble(st, host, l, reg === 3);
          return true;
        case 4:
          restoreImage(st, host, l, op32);
          return true;
        case 6:
          saveImage(st, host, l, op32);
          finit(st);
          return true;
        case 7:
          host.write16(l, st.status);
          return true;
      }
      return false;
    case 0xdf:
      switch (reg) {
        case 0: {
          const v = (rd16(host, l) << 16) >> 16;
          loadValue(st, fromInteger(B, v >> 31, v >>> 0));
          return true;
        }
        case 2:
        case 3:
          storeInt(st, host, l, 16, reg === 3);
          return true;
        case 4: {
          const bytes = new Uint8Array(10);
          for (let i = 0; i < 10; i++) bytes[i] = rd8(host, l + i);
          loadValue(st, fromBcd(B, bytes));
          return true;
        }
        case 5:
          loadValue(st, fromInteger(B, rd32(host, l + 4), rd32(host, l)));
          return true;
        case 6:
          storeBcd(st, host, l);
          return true;
        case 7:
          storeInt(st, host, l, 64, true);
          return true;
      }
      return false;
  }
  return false;
}

/** FLD of a normal double value v onto a free register (no exceptions); false otherwise. */
function fastLoad(st: X87State, v: number): boolean {
  if (v !== v || !isEmpty(st, 7)) return false;
  setTop(st, top(st) - 1);
  writeDouble(st, physOf(st, 0), v);
  setC1(st, 0);
  return true;
}

/** FLD/FILD/FBLD of an already-converted value. */
function loadValue(st: X87State, v: F80): void {
  if (!isEmpty(st, 7)) {
    overflow();
    setC1(st, 1);
    if (finish(st)) push(st, setIndefinite(R));
    return;
  }
  setC1(st, 0);
  if (finish(st)) push(st, v);
}

/** FLD m32/m64 loads a signalling NaN quieted (IE was raised by the conversion). */
function quietSignaling(v: F80): F80 {
  if (classify(v) === K_SNAN) v.hi = (v.hi | 0x40000000) >>> 0;
  return v;
}

/** ST(0) for a store, or the indefinite with a stack underflow. */
function storeSource(st: X87State): F80 {
  if (isEmpty(st, 0)) {
    underflow();
    return setIndefinite(A);
  }
  return readST(st, 0, A);
}
/** Status and pop after a memory store; `wrote` = the store was allowed. */
function finishStore(st: X87State, popAfter: boolean, wrote: boolean): void {
  if (!wrote) {
    // A store stopped by an unmasked exception reports no precision loss.
    flags.exc &= ~PE;
    flags.up = 0;
  }
  setC1(st, flags.up);
  st.status |= flags.exc;
  updateSummary(st);
  if (popAfter && wrote) pop(st);
}

function storeSingle(st: X87State, host: X87Host, l: number, popAfter: boolean): void {
  const b = toSingle(storeSource(st), st.control);
  const ok = masked(st, flags.exc & STORE_BLOCKING);
  if (ok) host.write32(l, b);
  finishStore(st, popAfter, ok);
}

function storeDouble(st: X87State, host: X87Host, l: number, popAfter: boolean): void {
  toDouble(storeSource(st), st.control);
  const ok = masked(st, flags.exc & STORE_BLOCKING);
  if (ok) {
    host.write32(l, double.lo);
    host.write32(l + 4, double.hi);
  }
  finishStore(st, popAfter, ok);
}

/** FSTP m80: the register's bits as they are (a signalling NaN is stored unchanged). */
function storeExtended(st: X87State, host: X87Host, l: number): void {
  const v = storeSource(st);
  const ok = masked(st, flags.exc & IE);
  if (ok) {
    host.write32(l, v.lo);
    host.write32(l + 4, v.hi);
    host.write16(l + 8, v.se);
  }
  finishStore(st, true, ok);
}

function storeInt(st: X87State, host: X87Host, l: number, bits: number, popAfter: boolean): void {
  if (isEmpty(st, 0)) {
    underflow();
    integer.hi = bits === 64 ? 0x80000000 : 0;
    integer.lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
  } else toInteger(readST(st, 0, A), bits, roundingMode(st.control));
  const ok = masked(st, flags.exc & IE);
  if (ok) {
    if (bits === 16) host.write16(l, integer.lo & 0xffff);
    else {
      host.write32(l, integer.lo);
      if (bits === 64) host.write32(l + 4, integer.hi);
    }
  }
  finishStore(st, popAfter, ok);
}

function storeBcd(st: X87State, host: X87Host, l: number): void {
  const bytes = new Uint8Array(10);
  if (isEmpty(st, 0)) {
    underflow();
    bytes[7] = 0xc0;
    bytes[8] = bytes[9] = 0xff;
  } else toBcd(readST(st, 0, A), roundingMode(st.control), bytes);
  const ok = masked(st, flags.exc & IE);
  if (ok) for (let i = 0; i < 10; i++) host.write8(l + i, bytes[i]!);
  finishStore(st, true, ok);
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

function setCompareCodes(st: X87State, result: number): void {
  const cc = result === LESS ? C0 : result === EQUAL ? C3 : result === UNORDERED ? C0 | C2 | C3 : 0;
  st.status = (st.status & ~CC_MASK) | cc;
}
function setCompareEflags(host: X87Host, result: number): void {
  let f = host.getEflags() & ~(CF | PF | AF | ZF | SFLAG | OF);
  if (result === LESS) f |= CF;
  else if (result === EQUAL) f |= ZF;
  else if (result === UNORDERED) f |= ZF | PF | CF;
  host.setEflags(f);
}

/** FCOM family with ST(i); pops = 0, 1, or 2. */
function fcom(st: X87State, i: number, pops: number, quietOk: boolean): boolean {
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    setCompareCodes(st, UNORDERED);
  } else setCompareCodes(st, compareRegs(st, i, quietOk));
  setC1(st, 0);
  if (finish(st)) for (let k = 0; k < pops; k++) pop(st);
  return true;
}

/** Compares ST(0) with ST(i) (both non-empty), through their doubles when both have one. */
function compareRegs(st: X87State, i: number, quietOk: boolean): number {
  const x = readDouble(st, physOf(st, 0)),
    y = readDouble(st, physOf(st, i));
  if (x === x && y === y) return x < y ? LESS : x > y ? GREATER : EQUAL;
  return compare(readST(st, 0, A), readST(st, i, B), quietOk);
}

function fcomi(st: X87State, host: X87Host, i: number, quietOk: boolean, popAfter: boolean): boolean {
  let result = UNORDERED;
  if (isEmpty(st, 0) || isEmpty(st, i)) underflow();
  else result = compareRegs(st, i, quietOk);
  setC1(st, 0);
  if (finish(st)) {
    setCompareEflags(host, result);
    if (popAfter) pop(st);
  }
  return true;
}

function fxam(st: X87State): void {
  const p = physOf(st, 0);
  const v = readPhys(st, p, A);
  let cc: number;
  if (tagOfPhys(st, p) === TAG_EMPTY) cc = C3 | C0;
  else {
    const k = classify(v);
    if (k === K_QNAN || k === K_SNAN) cc = C0;
    else if (k === K_INF) cc = C2 | C0;
    else if (k === K_ZERO) cc = C3;
    else if (k === K_DENORMAL) cc = C3 | C2;
    else if (k === K_NORMAL) cc = C2;
    else cc = 0; // unsupported encodings
  }
  if (v.se & 0x8000) cc |= C1;
  st.status = (st.status & ~CC_MASK) | cc;
}

// ---------------------------------------------------------------------------------------------
// Register forms.

function executeRegister(st: X87State, host: X87Host, opcode: number, modrm: number): boolean {
  const reg = (modrm >>> 3) & 7;
  const i = modrm & 7;
  switch (opcode) {
    case 0xd8:
    case 0xdc:
      if (reg === 2 || reg === 3) return fcom(st, i, reg === 3 ? 1 : 0, false);
      // D8: ST(0) = ST(0) op ST(i). DC: ST(i) = ST(i) op ST(0) with SUB/SUBR and DIV/DIVR swapped.
      return arithRegs(
        st,
        opcode === 0xd8 ? 0 : i,
        opcode === 0xd8 ? i : 0,
        opcode === 0xd8 ? reg : swapReversed(reg),
        false,
      );
    case 0xde:
      if (reg === 2) return fcom(st, i, 1, false);
      if (reg === 3) {
        if (i !== 1) return false;
        return fcom(st, 1, 2, false); // FCOMPP
      }
      return arithRegs(st, i, 0, swapReversed(reg), true);
    case 0xd9:
      return executeD9(st, modrm);
    case 0xda:
      if (modrm === 0xe9) return fcom(st, 1, 2, true); // FUCOMPP
      if (reg <= 3) return fcmov(st, host, reg, false, i);
      return false;
    case 0xdb:
      if (reg <= 3) return fcmov(st, host, reg, true, i);
      if (modrm === 0xe0 || modrm === 0xe1 || modrm === 0xe4) return true; // FNENI, FNDISI, FNSETPM: no-ops
      if (modrm === 0xe2) {
        st.status &= ~(0x7f | ES | BUSY);
        return true;
      }
      if (modrm === 0xe3) {
        finit(st);
        return true;
      }
      if (reg === 5) return fcomi(st, host, i, true, false);
      if (reg === 6) return fcomi(st, host, i, false, false);
      return false;
    case 0xdd:
      switch (reg) {
        case 0: // FFREE
          setTagPhys(st, physOf(st, i), TAG_EMPTY);
          return true;
        case 1:
          return fxch(st, i);
        case 2:
        case 3:
          return fstReg(st, i, reg === 3);
        case 4:
          return fcom(st, i, 0, true);
        case 5:
          return fcom(st, i, 1, true);
      }
      return false;
    case 0xdf:
      switch (reg) {
        case 0: // FFREEP: FFREE ST(i), then pop
          setTagPhys(st, physOf(st, i), TAG_EMPTY);
          pop(st);
          return true;
        case 1:
          return fxch(st, i);
        case 2:
        case 3:
          return fstReg(st, i, true);
        case 4:
          if (i !== 0) return false;
          host.setAx(st.status);
          return true;
        case 5:
          return fcomi(st, host, i, true, true);
        case 6:
          return fcomi(st, host, i, false, true);
      }
      return false;
  }
  return false;
}

/** In the DC/DE register forms the SUB/SUBR and DIV/DIVR digits name the reversed operation. */
function swapReversed(reg: number): number {
  return reg >= 4 ? reg ^ 1 : reg;
}

function arithRegs(st: X87State, dest: number, src: number, op: number, popAfter: boolean): boolean {
  if (isEmpty(st, dest) || isEmpty(st, src)) {
    underflow();
    commitST(st, dest, setIndefinite(R), popAfter);
    return true;
  }
  if (fastControl(st.control)) {
    const r = fastDouble(op, readDouble(st, physOf(st, dest)), readDouble(st, physOf(st, src)));
    if (r === r) {
      commitDouble(st, dest, r, popAfter);
      return true;
    }
  } else if (extendedControl(st.control) && arithExtended(st, op, dest, readST(st, src, B), popAfter, dest === src))
    return true;
  return arithRegsExact(st, dest, src, op, popAfter);
}

function arithRegsExact(st: X87State, dest: number, src: number, op: number, popAfter: boolean): boolean {
  commitST(st, dest, arith(st, op, readST(st, dest, A), readST(st, src, B)), popAfter);
  return true;
}

function fcmov(st: X87State, host: X87Host, cond: number, negate: boolean, i: number): boolean {
  const f = host.getEflags();
  let take = cond === 0 ? f & CF : cond === 1 ? f & ZF : cond === 2 ? f & (CF | ZF) : f & PF;
  if (negate) take = take ? 0 : 1;
  setC1(st, 0);
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    if (finish(st)) writeST(st, 0, setIndefinite(R));
    return true;
  }
  if (take) copyST(st, 0, i);
  return true;
}

function fxch(st: X87State, i: number): boolean {
  setC1(st, 0);
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    if (!finish(st)) return true;
    // Masked underflow: empty operands become the indefinite first, then exchange.
    if (isEmpty(st, 0)) writeST(st, 0, setIndefinite(R));
    if (isEmpty(st, i)) writeST(st, i, setIndefinite(R));
  }
  exchange(st, i);
  return true;
}

function fstReg(st: X87State, i: number, popAfter: boolean): boolean {
  setC1(st, 0);
  if (isEmpty(st, 0)) {
    underflow();
    if (finish(st)) {
      writeST(st, i, setIndefinite(R));
      if (popAfter) pop(st);
    }
    return true;
  }
  copyST(st, i, 0);
  if (popAfter) pop(st);
  return true;
}

// ---------------------------------------------------------------------------------------------
// Constants (FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ): 64-bit significands truncated
// from the exact value, and whether the exact value lies above the midpoint (round-to-nearest
// goes up) — directed modes go up when the exact value is above the truncation.

const CONSTANTS: Record<number, [se: number, hi: number, lo: number, aboveHalf: boolean, exact: boolean]> = {
  0xe8: [0x3fff, 0x80000000, 0x00000000, false, true], // 1
  0xe9: [0x4000, 0xd49a784b, 0xcd1b8afe, false, false], // log2(10)
  0xea: [0x3fff, 0xb8aa3b29, 0x5c17f0bb, true, false], // log2(e)
  0xeb: [0x4000, 0xc90fdaa2, 0x2168c234, true, false], // pi
  0xec: [0x3ffd, 0x9a209a84, 0xfbcff798, true, false], // log10(2)
  0xed: [0x3ffe, 0xb17217f7, 0xd1cf79ab, true, false], // ln(2)
  0xee: [0x0000, 0x00000000, 0x00000000, false, true], // +0
};

function loadConstant(st: X87State, modrm: number): void {
  const [se, hi, lo, aboveHalf, exact] = CONSTANTS[modrm]!;
  const rc = roundingMode(st.control);
  const up = !exact && (rc === 2 || (rc === 0 && aboveHalf));
  B.set(se, hi, lo);
  if (up) B.lo = (lo + 1) >>> 0;
  loadValue(st, B);
}

// ---------------------------------------------------------------------------------------------
// The D9 register row: stack management, constants, and the operations on ST(0) (and ST(1)).

/** The D9 E0..FF operations dispatched below (others in that row are handled earlier or reserved). */
const D9_OPERATIONS = new Set([
  0xe0, 0xe1, 0xe4, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
]);
/** Those that also read ST(1): FYL2X, FPATAN, FPREM1, FPREM, FYL2XP1, FSCALE. */
const D9_BINARY = new Set([0xf1, 0xf3, 0xf5, 0xf8, 0xf9, 0xfd]);

function executeD9(st: X87State, modrm: number): boolean {
  const i = modrm & 7;
  if (modrm < 0xc8) {
    // FLD ST(i)
    if (!isEmpty(st, 7)) {
      overflow();
      setC1(st, 1);
      if (finish(st)) push(st, setIndefinite(R));
      return true;
    }
    if (isEmpty(st, i)) {
      underflow();
      setC1(st, 0);
      if (finish(st)) push(st, setIndefinite(R));
      return true;
    }
    setTop(st, top(st) - 1);
    copyST(st, 0, i + 1); // the old ST(i) is ST(i+1) after the push
    setC1(st, 0);
    return true;
  }
  if (modrm < 0xd0) return fxch(st, i);
  if (modrm === 0xd0) return true; // FNOP
  if (modrm < 0xd8) return false;
  if (modrm < 0xe0) return fstReg(st, i, true); // FSTP1 alias
  if (modrm >= 0xe8 && modrm <= 0xee) {
    loadConstant(st, modrm);
    return true;
  }
  switch (modrm) {
    case 0xf6: // FDECSTP
      setTop(st, top(st) - 1);
      setC1(st, 0);
      return true;
    case 0xf7: // FINCSTP
      setTop(st, top(st) + 1);
      setC1(st, 0);
      return true;
    case 0xe5:
      fxam(st);
      return true;
  }
  if (!D9_OPERATIONS.has(modrm)) return false;
  const needsSt1 = D9_BINARY.has(modrm);
  if (isEmpty(st, 0) || (needsSt1 && isEmpty(st, 1))) {
    stackFaultD9(st, modrm);
    return true;
  }
  const x = readST(st, 0, A);
  const cw = st.control;
  switch (modrm) {
    case 0xe0: // FCHS
      R.copy(x).se ^= 0x8000;
      writeST(st, 0, R);
      setC1(st, 0);
      return true;
    case 0xe1: // FABS
      R.copy(x).se &= 0x7fff;
      writeST(st, 0, R);
      setC1(st, 0);
      return true;
    case 0xe4: // FTST
      setCompareCodes(st, compare(x, B.set(0, 0, 0), false));
      setC1(st, 0);
      finish(st);
      return true;
    case 0xfa:
      commitST(st, 0, sqrt(R, x, cw), false);
      return true;
    case 0xfc:
      commitST(st, 0, roundToInteger(R, x, cw), false);
      return true;
    case 0xfd:
      commitST(st, 0, scale(R, x, readST(st, 1, B), cw), false);
      return true;
    case 0xf4: // FXTRACT: ST(0) = exponent, then push the significand.
      extract(R2, R, x);
      twoResults(st, R, R2);
      return true;
    case 0xf8: // FPREM
    case 0xf5: {
      // FPREM1
      const cc = remainder(R, x, readST(st, 1, B), modrm === 0xf5, cw);
      setC1(st, 0);
      if (finish(st)) {
        st.status = (st.status & ~CC_MASK) | cc;
        writeST(st, 0, R);
      }
      return true;
    }
    case 0xf0: // F2XM1
      exp2m1(R, x, cw);
      commitST(st, 0, R, false);
      return true;
    case 0xf1: // FYL2X: ST(1) = ST(1) * log2(ST(0)), pop
    case 0xf9: // FYL2XP1
      ylog2x(R, readST(st, 1, B), x, modrm === 0xf9, cw);
      commitST(st, 1, R, false);
      if (masked(st, flags.exc & (IE | ZE | DE))) pop(st);
      return true;
    case 0xf3: // FPATAN: ST(1) = atan2(ST(1), ST(0)), pop
      atan2(R, readST(st, 1, B), x, cw);
      commitST(st, 1, R, false);
      if (masked(st, flags.exc & (IE | ZE | DE))) pop(st);
      return true;
    case 0xfe: // FSIN
    case 0xff: // FCOS
    case 0xf2: // FPTAN
    case 0xfb: // FSINCOS
      trig(st, modrm, x);
      return true;
  }
  return false;
}

/** ST(0) and ST(1) (when needed) empty: the masked response per instruction. */
function stackFaultD9(st: X87State, modrm: number): void {
  underflow();
  setC1(st, 0);
  if (!finish(st)) return;
  if (modrm === 0xe4) setCompareCodes(st, UNORDERED);
  else if (modrm === 0xf1 || modrm === 0xf3 || modrm === 0xf9) {
    writeST(st, 1, setIndefinite(R));
    pop(st);
  } else if (modrm === 0xf2 || modrm === 0xf4 || modrm === 0xfb) {
    // Two-result operations: both results become the indefinite (if there is room).
    writeST(st, 0, setIndefinite(R));
    if (isEmpty(st, 7)) push(st, R);
  } else writeST(st, 0, setIndefinite(R));
}

/** ST(0) = first, then push second (FXTRACT, FPTAN, FSINCOS), with the stack-overflow check. */
function twoResults(st: X87State, first: F80, second: F80): void {
  if (!isEmpty(st, 7)) {
    flags.exc = 0;
    overflow();
    setC1(st, 1);
    if (finish(st)) {
      writeST(st, 0, setIndefinite(R));
      push(st, R);
    }
    return;
  }
  const ok = finish(st);
  setC1(st, flags.up);
  if (ok) {
    writeST(st, 0, first);
    push(st, second);
  }
}

function trig(st: X87State, modrm: number, x: F80): void {
  if (trigOutOfRange(x)) {
    st.status |= C2; // out of range: operand unchanged
    return;
  }
  st.status &= ~C2;
  const cw = st.control;
  switch (modrm) {
    case 0xfe:
      sinCos(R, R2, x, cw, true, false);
      commitST(st, 0, R, false);
      return;
    case 0xff:
      sinCos(R2, R, x, cw, false, true);
      commitST(st, 0, R, false);
      return;
    case 0xf2:
      tan(R, x, cw);
      if (classify(R) === K_QNAN) R2.copy(R);
      else R2.set(BIAS, 0x80000000, 0);
      twoResults(st, R, R2);
      return;
    default:
      sinCos(R, R2, x, cw);
      twoResults(st, R, R2);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
