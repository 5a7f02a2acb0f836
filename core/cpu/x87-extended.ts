// A fast path for FADD/FSUB/FMUL at the precision every Linux process starts with (control word
// 0x037f: 64-bit significands, round to nearest), taken where it is provably the same as the
// general 80-bit code of x87-arith.ts: both operands normal with exponents far enough inside the
// range that the result can neither overflow nor underflow. It works on the register words
// themselves (sign/exponent, significand high and low) in locals, with the exact sum or product
// in three 32-bit limbs (the lowest sticky) rounded once; PE and C1 ("rounded up") land in
// flags as the general code raises them. x87.test.ts compares it with x87-arith.ts.

import { PE, flags } from './x87-format';

const TWO32 = 4294967296,
  INV32 = 1 / TWO32;
/** Exponents (biased) the fast path takes: a product or sum of two stays normal. */
const LOW = 16383 - 8000,
  HIGH = 16383 + 8000;

/**
 * The words of the last result of extendedArith (and of extendedOfDouble): the significand's
 * halves as int32, so that optimised callers pass them around without boxing them (uint32 values
 * at or above 2^31 are not small integers); a Uint32Array takes them as they are.
 */
export const extendedResult = { se: 0, hi: 0, lo: 0 };

/** Whether the control word is the one the fast path serves: precision extended, round to nearest. */
export function extendedControl(control: number): boolean {
  return (control & 0xf00) === 0x300;
}

/** Integer bit set (hi, as int32 or uint32, negative as int32) and an exponent the path takes. */
const normal = (se: number, hi: number): boolean => {
  const e = se & 0x7fff;
  return (hi | 0) < 0 && e >= LOW && e <= HIGH;
};
const zero = (se: number, hi: number, lo: number): boolean => ((se & 0x7fff) | hi | lo) === 0;

/**
 * x op y for the arithmetic /digit op (0 add, 1 mul, 4 sub, 5 subr) on two values' words (the
 * significand halves as int32 or uint32), into extendedResult with PE and C1 in flags; false,
 * with nothing raised, when the fast path does not apply (an operand neither a zero nor normal
 * within its exponents). The caller has checked extendedControl.
 */
export function extendedArith(
  op: number,
  xse: number,
  xhi: number,
  xlo: number,
  yse: number,
  yhi: number,
  ylo: number,
): boolean {
  const xz = zero(xse, xhi, xlo),
    yz = zero(yse, yhi, ylo);
  if ((!xz && !normal(xse, xhi)) || (!yz && !normal(yse, yhi))) return false;
  if (op === 1) {
    if (xz || yz) set((xse ^ yse) & 0x8000, 0, 0);
    else multiply(xse, xhi, xlo, yse, yhi, ylo);
    return true;
  }
  if (op !== 0 && op !== 4 && op !== 5) return false;
  // x - y is x + (-y); y - x is y + (-x).
  if (op === 4) yse ^= 0x8000;
  else if (op === 5) xse ^= 0x8000;
  if (!xz && !yz) sum(xse, xhi, xlo, yse, yhi, ylo);
  // A zero operand: the other value exactly; two zeros keep a common sign, else +0.
  else if (!yz) set(yse, yhi, ylo);
  else if (!xz) set(xse, xhi, xlo);
  else set(xse & yse & 0x8000, 0, 0);
  return true;
}

/** An exact result. */
function set(se: number, hi: number, lo: number): void {
  flags.up = 0;
  extendedResult.se = se;
  extendedResult.hi = hi | 0;
  extendedResult.lo = lo | 0;
}

/**
 * Rounds sign * s0:s1.s2 * 2^(exp - BIAS - 63) (s0's top bit set, s2 sticky; the limbs as int32,
 * uint32 below) to 64 bits.
 */
function round(sign: number, exp: number, s0: number, s1: number, s2: number): void {
  s0 >>>= 0;
  s1 >>>= 0;
  s2 >>>= 0;
  let up = 0;
  if (s2 !== 0) {
    flags.exc |= PE;
    if (s2 > 0x80000000 || (s2 === 0x80000000 && (s1 & 1) !== 0)) {
      up = 1;
      s1 += 1;
      if (s1 === TWO32) {
        s1 = 0;
        s0 += 1;
        if (s0 === TWO32) {
          s0 = 0x80000000;
          exp += 1;
        }
      }
    }
  }
  flags.up = up;
  extendedResult.se = (sign << 15) | exp;
  extendedResult.hi = s0 | 0;
  extendedResult.lo = s1 | 0;
}

/** x + y (the significand halves as int32 or uint32: uint32 below). */
function sum(xse: number, xhi: number, xlo: number, yse: number, yhi: number, ylo: number): void {
  xhi >>>= 0;
  xlo >>>= 0;
  yhi >>>= 0;
  ylo >>>= 0;
  // x is the larger magnitude.
  let ex = xse & 0x7fff,
    ey = yse & 0x7fff;
  if (ey > ex || (ey === ex && (yhi > xhi || (yhi === xhi && ylo > xlo)))) {
    let t = xse;
    xse = yse;
    yse = t;
    t = xhi;
    xhi = yhi;
    yhi = t;
    t = xlo;
    xlo = ylo;
    ylo = t;
    t = ex;
    ex = ey;
    ey = t;
  }
  const sx = xse >>> 15,
    same = sx === yse >>> 15;
  // y aligned to x in three limbs, the lowest with the sticky bit.
  const d = ex - ey;
  let y0 = yhi,
    y1 = ylo,
    y2 = 0;
  if (d >= 96) {
    y0 = y1 = 0;
    y2 = 1;
  } else if (d >= 64) {
    const k = d - 64;
    const rest = y1 !== 0 || (k !== 0 && y0 << (32 - k) !== 0);
    y2 = ((y0 >>> k) | (rest ? 1 : 0)) >>> 0;
    y0 = y1 = 0;
  } else if (d >= 32) {
    const k = d - 32;
    if (k === 0) {
      y2 = y1;
      y1 = y0;
    } else {
      y2 = ((y1 >>> k) | (y0 << (32 - k)) | ((y1 << (32 - k)) >>> 0 ? 1 : 0)) >>> 0;
      y1 = y0 >>> k;
    }
    y0 = 0;
  } else if (d > 0) {
    y2 = (y1 << (32 - d)) >>> 0;
    y1 = ((y1 >>> d) | (y0 << (32 - d))) >>> 0;
    y0 >>>= d;
  }
  let s0: number, s1: number, s2: number;
  if (same) {
    s2 = y2;
    s1 = xlo + y1;
    s0 = xhi + y0;
    if (s1 >= TWO32) {
      s1 -= TWO32;
      s0 += 1;
    }
    if (s0 >= TWO32) {
      // Carry out: one place right, keeping the sticky bit.
      s0 -= TWO32;
      s2 = ((s2 >>> 1) | ((s1 & 1) << 31) | (s2 & 1)) >>> 0;
      s1 = ((s1 >>> 1) | ((s0 & 1) << 31)) >>> 0;
      s0 = ((s0 >>> 1) | 0x80000000) >>> 0;
      ex += 1;
    }
  } else {
    s2 = -y2;
    let borrow = 0;
    if (s2 < 0) {
      s2 += TWO32;
      borrow = 1;
    }
    s1 = xlo - y1 - borrow;
    borrow = 0;
    if (s1 < 0) {
      s1 += TWO32;
      borrow = 1;
    }
    s0 = xhi - y0 - borrow;
    if (s0 === 0 && s1 === 0 && s2 === 0) {
      set(0, 0, 0); // exact cancellation: +0 under round to nearest
      return;
    }
    // Normalise left (the difference keeps at least one bit in s0:s1 unless d <= 1).
    while (s0 === 0) {
      s0 = s1;
      s1 = s2;
      s2 = 0;
      ex -= 32;
    }
    const z = Math.clz32(s0);
    if (z) {
      s0 = ((s0 << z) | (s1 >>> (32 - z))) >>> 0;
      s1 = ((s1 << z) | (s2 >>> (32 - z))) >>> 0;
      s2 = (s2 << z) >>> 0;
      ex -= z;
    }
  }
  round(sx, ex, s0 | 0, s1 | 0, s2 | 0);
}

/** x * y (the significand halves as int32 or uint32: uint32 below). */
function multiply(xse: number, xhi: number, xlo: number, yse: number, yhi: number, ylo: number): void {
  xhi >>>= 0;
  xlo >>>= 0;
  yhi >>>= 0;
  ylo >>>= 0;
  // The 128-bit product p3:p2:p1:p0 of the significands from four 32-bit products, each with an
  // exact low word (imul) and a high word from the double product, which is within 2^11 of the
  // exact one (limb sums stay far below 2^53).
  const ll = Math.imul(xlo, ylo) >>> 0,
    hl = Math.imul(xhi, ylo) >>> 0,
    lh = Math.imul(xlo, yhi) >>> 0,
    hh = Math.imul(xhi, yhi) >>> 0;
  const p0 = ll;
  let p1 = Math.round((xlo * ylo - ll) * INV32) + hl + lh;
  let p2 = Math.round((xhi * ylo - hl) * INV32) + Math.round((xlo * yhi - lh) * INV32) + hh;
  let p3 = Math.round((xhi * yhi - hh) * INV32);
  let c = Math.floor(p1 * INV32);
  p1 -= c * TWO32;
  p2 += c;
  c = Math.floor(p2 * INV32);
  p2 -= c * TWO32;
  p3 += c;
  let exp = (xse & 0x7fff) + (yse & 0x7fff) - 16383 + 1;
  let s0 = p3,
    s1 = p2,
    s2 = (p1 | (p0 ? 1 : 0)) >>> 0;
  if (s0 < 0x80000000) {
    s0 = ((s0 << 1) | (s1 >>> 31)) >>> 0;
    s1 = ((s1 << 1) | (s2 >>> 31)) >>> 0;
    s2 = ((s2 << 1) | (p0 >>> 31) | (p0 ? 1 : 0)) >>> 0;
    exp -= 1;
  }
  round((xse ^ yse) >>> 15, exp, s0 | 0, s1 | 0, s2 | 0);
}

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/** The words of a normal double or a zero, into extendedResult (exact: the double format is narrower). */
export function extendedOfDouble(v: number): void {
  f64[0] = v;
  const lo = f64Words[0]!,
    hi = f64Words[1]!;
  const sign = (hi >>> 16) & 0x8000;
  if (v === 0) {
    extendedResult.se = sign;
    extendedResult.hi = extendedResult.lo = 0;
    return;
  }
  extendedResult.se = sign | (((hi >>> 20) & 0x7ff) - 1023 + 16383);
  extendedResult.hi = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
  extendedResult.lo = lo << 11;
}

/** EFLAGS ZF/PF/CF as FCOMI leaves them for two normal-or-zero values: 1 below, 0 above, 64 equal. */
export function compareExtended(xse: number, xhi: number, xlo: number, yse: number, yhi: number, ylo: number): number {
  // Zeros of either sign are equal; otherwise the sign, then the magnitude's words, decide.
  const xz = xhi === 0,
    yz = yhi === 0;
  if (xz && yz) return 64;
  const xs = xz ? 0 : xse & 0x8000 ? -1 : 1,
    ys = yz ? 0 : yse & 0x8000 ? -1 : 1;
  if (xs !== ys) return xs < ys ? 1 : 0;
  const xe = xse & 0x7fff,
    ye = yse & 0x7fff;
  const m = xe !== ye ? xe - ye : xhi !== yhi ? (xhi >>> 0) - (yhi >>> 0) : (xlo >>> 0) - (ylo >>> 0);
  if (m === 0) return 64;
  return m < 0 === xs > 0 ? 1 : 0;
}
