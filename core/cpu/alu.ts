// The integer ALU: add/sub/logic families, shifts and rotates, multiply and divide, and the
// status flags each produces (Intel SDM vol. 2, ADD..XOR, SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, MUL, DIV).

import { de } from './fault';
import {
  AF,
  CF,
  OF,
  OP_ADD,
  OP_LOGIC,
  OP_SUB,
  type FlagState,
  getCF,
  maskOf,
  record,
  recordKeepCF,
  recordResultWith,
  settle,
  signOf,
} from './flags';

/** The eight classic ALU operations in opcode order: ADD OR ADC SBB AND SUB XOR CMP. */
export function aluOp(c: FlagState, op: number, a: number, b: number, sz: number): number {
  const m = maskOf(sz);
  a &= m;
  b &= m;
  let r: number;
  switch (op) {
    case 0:
      r = (a + b) & m;
      record(c, OP_ADD, a, b, r, sz);
      return r;
    case 1:
      r = a | b;
      record(c, OP_LOGIC, 0, 0, r, sz);
      return r;
    case 2: {
      const cin = getCF(c);
      r = (a + b + cin) & m;
      const cf = cin ? (r >>> 0 <= a >>> 0 ? 1 : 0) : r >>> 0 < a >>> 0 ? 1 : 0;
      const of = ((a ^ r) & (b ^ r) & signOf(sz)) !== 0 ? OF : 0;
      recordResultWith(c, cf | of | ((a ^ b ^ r) & AF), r, sz);
      return r;
    }
    case 3: {
      const cin = getCF(c);
      r = (a - b - cin) & m;
      const cf = cin ? (a >>> 0 <= b >>> 0 ? 1 : 0) : a >>> 0 < b >>> 0 ? 1 : 0;
      const of = ((a ^ b) & (a ^ r) & signOf(sz)) !== 0 ? OF : 0;
      recordResultWith(c, cf | of | ((a ^ b ^ r) & AF), r, sz);
      return r;
    }
    case 4:
      r = a & b;
      record(c, OP_LOGIC, 0, 0, r, sz);
      return r;
    case 5:
    case 7:
      r = (a - b) & m;
      record(c, OP_SUB, a, b, r, sz);
      return r;
    default:
      r = a ^ b;
      record(c, OP_LOGIC, 0, 0, r, sz);
      return r;
  }
}

export function incOp(c: FlagState, a: number, sz: number): number {
  const m = maskOf(sz);
  const r = (a + 1) & m;
  recordKeepCF(c, OP_ADD, a & m, 1, r, sz);
  return r;
}

export function decOp(c: FlagState, a: number, sz: number): number {
  const m = maskOf(sz);
  const r = (a - 1) & m;
  recordKeepCF(c, OP_SUB, a & m, 1, r, sz);
  return r;
}

export function negOp(c: FlagState, a: number, sz: number): number {
  const m = maskOf(sz);
  const r = -a & m;
  record(c, OP_SUB, 0, a & m, r, sz);
  return r;
}

/**
 * Shift/rotate group 2 (ROL ROR RCL RCR SHL SHR SAL SAR by reg field). The count is already
 * masked to 5 bits; a zero count changes nothing. Returns the new value.
 */
export function shiftOp(c: FlagState, op: number, a: number, count: number, sz: number): number {
  const m = maskOf(sz);
  a &= m;
  if (count === 0) return a;
  const top = sz - 1;
  let r: number, cf: number, of: number;
  switch (op) {
    case 0: {
      // ROL
      const n = count & top;
      r = n === 0 ? a : ((a << n) | (a >>> (sz - n))) & m;
      cf = r & 1;
      of = ((r >>> top) & 1) ^ cf;
      setCfOf(c, cf, of);
      return r;
    }
    case 1: {
      // ROR
      const n = count & top;
      r = n === 0 ? a : ((a >>> n) | (a << (sz - n))) & m;
      cf = (r >>> top) & 1;
      of = cf ^ ((r >>> (top - 1)) & 1);
      setCfOf(c, cf, of);
      return r;
    }
    case 2: {
      // RCL
      const n = sz === 32 ? count : count % (sz + 1);
      cf = getCF(c);
      r = a;
      for (let k = 0; k < n; k++) {
        const out = (r >>> top) & 1;
        r = ((r << 1) | cf) & m;
        cf = out;
      }
      of = ((r >>> top) & 1) ^ cf;
      setCfOf(c, cf, of);
      return r;
    }
    case 3: {
      // RCR
      const n = sz === 32 ? count : count % (sz + 1);
      cf = getCF(c);
      of = ((a >>> top) & 1) ^ cf;
      r = a;
      for (let k = 0; k < n; k++) {
        const out = r & 1;
        r = ((r >>> 1) | (cf << top)) & m;
        cf = out;
      }
      setCfOf(c, cf, of);
      return r;
    }
    case 4:
    case 6: // SHL/SAL
      r = count >= 32 ? 0 : (a << count) & m;
      cf = count > sz ? 0 : (a >>> (sz - count)) & 1;
      of = ((r >>> top) & 1) ^ cf;
      recordResultWith(c, cf | (of ? OF : 0), r, sz);
      return r;
    case 5: // SHR
      r = (a >>> count) & m;
      cf = (a >>> (count - 1)) & 1;
      of = (a >>> top) & 1;
      recordResultWith(c, cf | (of ? OF : 0), r, sz);
      return r;
    default: {
      // SAR
      const s = sz === 32 ? a : (a << (32 - sz)) >> (32 - sz);
      r = (s >> count) & m;
      cf = (s >> (count - 1)) & 1;
      recordResultWith(c, cf, r, sz);
      return r;
    }
  }
}

function setCfOf(c: FlagState, cf: number, of: number): void {
  // Rotates leave SF/ZF/AF/PF alone: make them concrete, then replace CF and OF.
  settle(c);
  c.flags = (c.flags & ~(CF | OF)) | cf | (of ? OF : 0);
}

/** SHLD/SHRD: shift dst by count (1..31) filling from src. */
export function doubleShift(c: FlagState, left: boolean, dst: number, src: number, count: number, sz: number): number {
  const m = maskOf(sz);
  dst &= m;
  src &= m;
  if (count === 0) return dst;
  const top = sz - 1;
  let r: number, cf: number;
  if (sz === 32) {
    if (left) {
      r = (dst << count) | (src >>> (32 - count));
      cf = (dst >>> (32 - count)) & 1;
    } else {
      r = (dst >>> count) | (src << (32 - count));
      cf = (dst >>> (count - 1)) & 1;
    }
  } else if (left) {
    // 16-bit: shift the 32-bit pattern dst:src (counts above 16 give Intel-undefined results).
    const t = ((dst << 16) | src) >>> 0;
    const wide = count <= 16 ? t : ((src << 16) | dst) >>> 0;
    const n = count <= 16 ? count : count - 16;
    r = ((wide << n) >>> 16) & m;
    cf = count <= 16 ? (dst >>> (16 - count)) & 1 : (src >>> (32 - count)) & 1;
  } else {
    const t = ((src << 16) | dst) >>> 0;
    const wide = count <= 16 ? t : ((dst << 16) | src) >>> 0;
    const n = count <= 16 ? count : count - 16;
    r = (wide >>> n) & m;
    cf = count <= 16 ? (dst >>> (count - 1)) & 1 : (src >>> (count - 17)) & 1;
  }
  r &= m;
  const of = ((r ^ dst) >>> top) & 1;
  recordResultWith(c, cf | (of ? OF : 0), r, sz);
  return r;
}

// ---- 32x32 -> 64 multiply and 64/32 divide without BigInt ----

/** Scratch results of the wide helpers (high and low dwords). */
export const wide = { hi: 0, lo: 0 };

export function mulU32(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const al = a & 0xffff,
    ah = a >>> 16,
    bl = b & 0xffff,
    bh = b >>> 16;
  const ll = al * bl,
    lh = al * bh,
    hl = ah * bl,
    hh = ah * bh;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  wide.lo = (mid << 16) | (ll & 0xffff) | 0;
  wide.hi = (hh + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) | 0;
}

export function mulS32(a: number, b: number): void {
  mulU32(a, b);
  let hi = wide.hi;
  if ((a | 0) < 0) hi = (hi - b) | 0;
  if ((b | 0) < 0) hi = (hi - a) | 0;
  wide.hi = hi;
}

/** Unsigned (hi:lo) / d with hi < d; quotient in wide.lo, remainder in wide.hi. */
function divU64(hi: number, lo: number, d: number): void {
  hi >>>= 0;
  lo >>>= 0;
  d >>>= 0;
  let r = hi;
  const t1 = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(t1 / d);
  r = t1 - q1 * d;
  const t0 = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(t0 / d);
  r = t0 - q0 * d;
  wide.lo = (q1 * 65536 + q0) | 0;
  wide.hi = r | 0;
}

/** DIV r/m32: EDX:EAX / d -> quotient, remainder in wide.lo/wide.hi; #DE on zero or overflow. */
export function divide32(hi: number, lo: number, d: number): void {
  if (d === 0 || hi >>> 0 >= d >>> 0) throw de();
  divU64(hi, lo, d);
}

/** IDIV r/m32 with the same conventions. */
export function idivide32(hi: number, lo: number, d: number): void {
  if (d === 0) throw de();
  const negN = (hi | 0) < 0;
  if (negN) {
    lo = (~lo + 1) | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  const negD = (d | 0) < 0;
  const ad = negD ? -(d | 0) >>> 0 : d >>> 0;
  if (hi >>> 0 >= ad) throw de();
  divU64(hi, lo, ad);
  const q = wide.lo >>> 0;
  const r = wide.hi >>> 0;
  const negQ = negN !== negD;
  if (negQ ? q > 0x80000000 : q > 0x7fffffff) throw de();
  wide.lo = negQ ? -q | 0 : q | 0;
  wide.hi = negN ? -r | 0 : r | 0;
}
