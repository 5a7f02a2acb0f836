// x87 arithmetic on 80-bit values, exactly rounded under the precision and rounding controls:
// add/subtract, multiply, divide, square root, partial remainders, round to integer, scale and
// extract, and comparison. Each takes operands as stored in registers (any encoding), applies
// the x87 special-operand rules (NaN propagation, invalid operations, denormal operands), and
// writes its result to `out`, raising exceptions in flags.exc and the C1 indicator in flags.up.

import { isqrt, roundBig, sigOf } from './x87-bigint';
import {
  BIAS,
  C0,
  C1,
  C2,
  C3,
  EXP_MAX,
  F80,
  IE,
  K_DENORMAL,
  K_INF,
  K_SNAN,
  K_UNSUPPORTED,
  K_ZERO,
  PE,
  Unpacked,
  ZE,
  classify,
  flags,
  isNaNClass,
  normalizeRoundPack,
  propagateNaN,
  roundPack,
  roundingMode,
  setIndefinite,
  unpack,
  EXACT,
  forRegister,
} from './x87-format';

const TWO32 = 4294967296;
const ua = new Unpacked(),
  ub = new Unpacked();

/**
 * Common operand screening. Returns true when the result is already decided (written to out):
 * unsupported encodings (IE, indefinite) and NaNs. Raises DE for denormal operands otherwise.
 */
export function screen(out: F80, a: F80, ka: number, b: F80, kb: number): boolean {
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) {
    flags.exc |= IE;
    setIndefinite(out);
    return true;
  }
  if (isNaNClass(ka) || isNaNClass(kb)) {
    propagateNaN(out, a, ka, b, kb);
    return true;
  }
  if (ka === K_DENORMAL || kb === K_DENORMAL) flags.denormal = true;
  return false;
}

function invalid(out: F80): F80 {
  flags.exc |= IE;
  return setIndefinite(out);
}

/** A value rounded to the precision control (an operand passed through, e.g. x + 0). */
function roundValue(out: F80, sign: number, u: Unpacked, control: number): F80 {
  return roundPack(out, sign, u.exp, u.hi, u.lo, 0, forRegister(control));
}

// ---------------------------------------------------------------------------------------------
// Addition and subtraction.

/** a + b (or a - b when `negateB`). */
export function add(out: F80, a: F80, b: F80, negateB: boolean, control: number): F80 {
  const ka = classify(a),
    kb = classify(b);
  if (screen(out, a, ka, b, kb)) return out;
  const sa = a.se >>> 15,
    sb = (b.se >>> 15) ^ (negateB ? 1 : 0);
  const rc = roundingMode(control);
  if (ka === K_INF) {
    if (kb === K_INF && sa !== sb) return invalid(out);
    return out.set((sa << 15) | EXP_MAX, 0x80000000, 0);
  }
  if (kb === K_INF) return out.set((sb << 15) | EXP_MAX, 0x80000000, 0);
  if (ka === K_ZERO && kb === K_ZERO) return out.set((sa === sb ? sa : rc === 1 ? 1 : 0) << 15, 0, 0);
  if (ka === K_ZERO) return roundValue(out, sb, unpack(b, ub), control);
  if (kb === K_ZERO) return roundValue(out, sa, unpack(a, ua), control);
  let x = unpack(a, ua),
    y = unpack(b, ub),
    sx = sa,
    sy = sb;
  if (y.exp > x.exp || (y.exp === x.exp && (y.hi > x.hi || (y.hi === x.hi && y.lo > x.lo)))) {
    x = ub;
    y = ua;
    sx = sb;
    sy = sa;
  }
  // y aligned to x: three limbs, the lowest with the sticky bit.
  const d = x.exp - y.exp;
  let y0 = y.hi,
    y1 = y.lo,
    y2 = 0;
  if (d >= 96) {
    y0 = y1 = 0;
    y2 = 1;
  } else if (d > 0) {
    let k = d;
    while (k >= 32) {
      y2 = (y1 | (y2 ? 1 : 0)) >>> 0;
      y1 = y0;
      y0 = 0;
      k -= 32;
    }
    if (k) {
      const lost = (y2 << (32 - k)) >>> 0;
      y2 = ((y2 >>> k) | (y1 << (32 - k)) | (lost ? 1 : 0)) >>> 0;
      y1 = ((y1 >>> k) | (y0 << (32 - k))) >>> 0;
      y0 >>>= k;
    }
  }
  let exp = x.exp;
  let s0: number, s1: number, s2: number;
  if (sx === sy) {
    s2 = y2;
    s1 = x.lo + y1;
    s0 = x.hi + y0;
    if (s1 >= TWO32) {
      s1 -= TWO32;
      s0 += 1;
    }
    if (s0 >= TWO32) {
      // Carry out: shift right one place, keeping the sticky bit.
      s0 -= TWO32;
      s2 = ((s2 >>> 1) | ((s1 & 1) << 31) | (s2 & 1)) >>> 0;
      s1 = ((s1 >>> 1) | ((s0 & 1) << 31)) >>> 0;
      s0 = ((s0 >>> 1) | 0x80000000) >>> 0;
      exp += 1;
    }
  } else {
    s2 = -y2;
    let borrow = 0;
    if (s2 < 0) {
      s2 += TWO32;
      borrow = 1;
    }
    s1 = x.lo - y1 - borrow;
    borrow = 0;
    if (s1 < 0) {
      s1 += TWO32;
      borrow = 1;
    }
    s0 = x.hi - y0 - borrow;
    if (s0 === 0 && s1 === 0 && s2 === 0) return out.set((rc === 1 ? 1 : 0) << 15, 0, 0);
  }
  return normalizeRoundPack(out, sx, exp, s0, s1, s2, forRegister(control));
}

// ---------------------------------------------------------------------------------------------
// Multiplication.

let mulHi = 0,
  mulLo = 0;
/** The exact 64-bit product of two uint32 values into mulHi:mulLo. */
function mul32(a: number, b: number): void {
  const lo = Math.imul(a, b) >>> 0;
  // a*b as a double is within 2^11 of the exact product; its high word is then exact.
  mulHi = Math.round((a * b - lo) / TWO32);
  mulLo = lo;
}

export function mul(out: F80, a: F80, b: F80, control: number): F80 {
  const ka = classify(a),
    kb = classify(b);
  if (screen(out, a, ka, b, kb)) return out;
  const sign = (a.se ^ b.se) >>> 15;
  if (ka === K_INF || kb === K_INF) {
    if (ka === K_ZERO || kb === K_ZERO) return invalid(out);
    return out.set((sign << 15) | EXP_MAX, 0x80000000, 0);
  }
  if (ka === K_ZERO || kb === K_ZERO) return out.set(sign << 15, 0, 0);
  const x = unpack(a, ua),
    y = unpack(b, ub);
  // 128-bit product p3:p2:p1:p0 of the two 64-bit significands.
  mul32(x.lo, y.lo);
  const p0 = mulLo;
  let p1 = mulHi;
  mul32(x.hi, y.lo);
  p1 += mulLo;
  let p2 = mulHi;
  mul32(x.lo, y.hi);
  p1 += mulLo;
  p2 += mulHi;
  mul32(x.hi, y.hi);
  p2 += mulLo;
  let p3 = mulHi;
  // Propagate carries (each limb sum stays far below 2^53).
  let c = Math.floor(p1 / TWO32);
  p1 -= c * TWO32;
  p2 += c;
  c = Math.floor(p2 / TWO32);
  p2 -= c * TWO32;
  p3 += c;
  let exp = x.exp + y.exp - BIAS + 1;
  let s0 = p3,
    s1 = p2,
    s2 = (p1 | (p0 ? 1 : 0)) >>> 0;
  if (!(s0 & 0x80000000)) {
    s0 = ((s0 << 1) | (s1 >>> 31)) >>> 0;
    s1 = ((s1 << 1) | (s2 >>> 31)) >>> 0;
    s2 = ((s2 << 1) | (p0 >>> 31) | (p0 ? 1 : 0)) >>> 0;
    exp -= 1;
  }
  return roundPack(out, sign, exp, s0, s1, s2, forRegister(control));
}

// ---------------------------------------------------------------------------------------------
// Division and square root (slow path: exact integer quotient and root).

export function div(out: F80, a: F80, b: F80, control: number): F80 {
  const ka = classify(a),
    kb = classify(b);
  if (screen(out, a, ka, b, kb)) return out;
  const sign = (a.se ^ b.se) >>> 15;
  if (ka === K_INF) {
    if (kb === K_INF) return invalid(out);
    return out.set((sign << 15) | EXP_MAX, 0x80000000, 0);
  }
  if (kb === K_INF) return out.set(sign << 15, 0, 0);
  if (kb === K_ZERO) {
    if (ka === K_ZERO) return invalid(out);
    flags.exc |= ZE;
    return out.set((sign << 15) | EXP_MAX, 0x80000000, 0);
  }
  if (ka === K_ZERO) return out.set(sign << 15, 0, 0);
  const x = unpack(a, ua),
    y = unpack(b, ub);
  const n = sigOf(x) << 96n;
  const d = sigOf(y);
  const q = n / d;
  return roundBig(out, sign, q, x.exp - y.exp - 96, q * d !== n, forRegister(control));
}

export function sqrt(out: F80, a: F80, control: number): F80 {
  const ka = classify(a);
  if (screen(out, a, ka, a, ka)) return out;
  if (ka === K_ZERO) return out.copy(a);
  if (a.se & 0x8000) return invalid(out);
  if (ka === K_INF) return out.copy(a);
  const x = unpack(a, ua);
  // value = m * 2^(e - 63); take sqrt(m * 2^k) with e - 63 - k even and enough root bits.
  const e = x.exp - BIAS;
  const k = 130 + ((e - 63 - 130) & 1);
  const n = sigOf(x) << BigInt(k);
  const r = isqrt(n);
  return roundBig(out, 0, r, (e - 63 - k) / 2, r * r !== n, forRegister(control));
}

// ---------------------------------------------------------------------------------------------
// Partial remainder.

/**
 * FPREM (truncating quotient) and FPREM1 (round-to-nearest quotient) of a by b. Returns the
 * condition codes: C2 set for an incomplete (partial) reduction, else the quotient's low three
 * bits in C0 (bit 2), C3 (bit 1), C1 (bit 0).
 */
export function remainder(out: F80, a: F80, b: F80, nearest: boolean, control: number): number {
  const ka = classify(a),
    kb = classify(b);
  if (screen(out, a, ka, b, kb)) return 0;
  if (ka === K_INF || kb === K_ZERO) {
    invalid(out);
    return 0;
  }
  if (kb === K_INF || ka === K_ZERO) {
    passThrough(out, a, ka);
    return 0;
  }
  const x = unpack(a, ua),
    y = unpack(b, ub);
  const sign = a.se >>> 15;
  const d = x.exp - y.exp;
  const mx = sigOf(x),
    my = sigOf(y);
  if (d >= 64) {
    // Partial: reduce by b * 2^(d - n), n in 32..63, with a truncated quotient.
    const n = 32 + ((d - 32) % 32);
    // b * 2^(d - n) has the significand my and the exponent ey; x is then mx << n at that scale.
    const ey = y.exp + d - n;
    packRemainder(out, sign, (mx << BigInt(n)) % my, ey - BIAS - 63, control);
    return C2;
  }
  if (d < -1) {
    passThrough(out, a, ka);
    return 0;
  }
  // Common scale: the smaller exponent.
  let num: bigint, den: bigint, scale: number;
  if (d >= 0) {
    num = mx << BigInt(d);
    den = my;
    scale = y.exp - BIAS - 63;
  } else {
    num = mx;
    den = my << 1n;
    scale = x.exp - BIAS - 63;
  }
  let q = num / den;
  let r = num - q * den;
  let rsign = sign;
  if (nearest && (2n * r > den || (2n * r === den && (q & 1n) === 1n))) {
    q += 1n;
    r = den - r;
    rsign ^= 1;
  }
  if (r === 0n) out.set(sign << 15, 0, 0);
  else packRemainder(out, rsign, r, scale, control);
  const qb = Number(q & 7n);
  return (qb & 1 ? C1 : 0) | (qb & 2 ? C3 : 0) | (qb & 4 ? C0 : 0);
}

/** The operand as the result, a pseudo-denormal given its canonical (exponent 1) encoding. */
function passThrough(out: F80, a: F80, ka: number): void {
  if (ka === K_DENORMAL && a.hi & 0x80000000) out.set((a.se & 0x8000) | 1, a.hi, a.lo);
  else out.copy(a);
}

function packRemainder(out: F80, sign: number, r: bigint, scale: number, control: number): void {
  if (r === 0n) {
    out.set(sign << 15, 0, 0);
    return;
  }
  // Exact: the remainder has no more significant bits than the operands.
  // Exact: the remainder has no more significant bits than the operands (only tininess matters).
  const how = forRegister(control);
  how.bits = 64;
  how.rc = 0;
  roundBig(out, sign, r, scale, false, how);
}

// ---------------------------------------------------------------------------------------------
// Round to integer.

/** Result of roundIntegral: the integer magnitude as limbs (exact below 2^64). */
export const integral = { hi: 0, lo: 0, inexact: false, up: false, big: false };

/**
 * |v| rounded to an integer under rc (the sign decides directed modes). `integral.big` when
 * |v| >= 2^64 (then it is an integer already). For a finite nonzero unpacked value.
 */
export function roundIntegral(u: Unpacked, rc: number): void {
  const e = u.exp - BIAS;
  integral.inexact = false;
  integral.up = false;
  integral.big = e >= 64;
  if (e >= 63) {
    integral.hi = u.hi;
    integral.lo = u.lo;
    return;
  }
  // Integer part and the discarded fraction (compared with one half).
  let ih: number, il: number, fracAbove: boolean, fracHalf: boolean, fracZero: boolean;
  const sh = 63 - e; // 1..
  if (sh >= 65) {
    ih = il = 0;
    fracZero = false;
    fracHalf = false;
    fracAbove = false;
  } else if (sh === 64) {
    ih = il = 0;
    fracZero = false;
    fracHalf = u.hi === 0x80000000 && u.lo === 0;
    fracAbove = !fracHalf;
  } else if (sh >= 32) {
    const k = sh - 32;
    ih = 0;
    il = k === 0 ? u.hi : u.hi >>> k;
    // Fraction: low k bits of hi, then lo.
    const fh = k === 0 ? 0 : (u.hi << (32 - k)) >>> 0; // left-aligned
    const halfBit = k === 0 ? u.lo >>> 31 : fh >>> 31;
    const rest = k === 0 ? (u.lo & 0x7fffffff) !== 0 : (fh & 0x7fffffff) !== 0 || u.lo !== 0;
    fracZero = !halfBit && !rest;
    fracHalf = halfBit === 1 && !rest;
    fracAbove = halfBit === 1 && rest;
  } else {
    ih = u.hi >>> sh;
    il = ((u.hi << (32 - sh)) | (u.lo >>> sh)) >>> 0;
    const fl = (u.lo << (32 - sh)) >>> 0;
    const halfBit = fl >>> 31;
    const rest = (fl & 0x7fffffff) !== 0;
    fracZero = !halfBit && !rest;
    fracHalf = halfBit === 1 && !rest;
    fracAbove = halfBit === 1 && rest;
  }
  let inc = false;
  if (!fracZero) {
    integral.inexact = true;
    if (rc === 0) inc = fracAbove || (fracHalf && (il & 1) === 1);
    else if (rc === 1) inc = u.sign === 1;
    else if (rc === 2) inc = u.sign === 0;
  }
  if (inc) {
    il += 1;
    if (il >= TWO32) {
      il -= TWO32;
      ih += 1;
    }
    integral.up = true;
  }
  integral.hi = ih >>> 0;
  integral.lo = il >>> 0;
  if (ih >= TWO32) integral.big = true;
}

/** FRNDINT. */
export function roundToInteger(out: F80, a: F80, control: number): F80 {
  const ka = classify(a);
  if (screen(out, a, ka, a, ka)) return out;
  if (ka === K_ZERO || ka === K_INF) return out.copy(a);
  const u = unpack(a, ua);
  roundIntegral(u, roundingMode(control));
  if (u.exp - BIAS >= 63) return out.copy(a);
  if (integral.hi === 0 && integral.lo === 0) out.set(u.sign << 15, 0, 0);
  else normalizeRoundPack(out, u.sign, BIAS + 63, integral.hi, integral.lo, 0, EXACT);
  if (integral.inexact) flags.exc |= PE;
  flags.up = integral.up ? 1 : 0;
  return out;
}

// ---------------------------------------------------------------------------------------------
// FSCALE and FXTRACT.

/** FSCALE: a * 2^trunc(b). */
export function scale(out: F80, a: F80, b: F80, control: number): F80 {
  const ka = classify(a),
    kb = classify(b);
  if (screen(out, a, ka, b, kb)) return out;
  const sb = b.se >>> 15;
  if (kb === K_INF) {
    if (sb === 0) {
      if (ka === K_ZERO) return invalid(out);
      if (ka === K_INF) return out.copy(a);
      return out.set((a.se & 0x8000) | EXP_MAX, 0x80000000, 0);
    }
    if (ka === K_INF) return invalid(out);
    return out.set(a.se & 0x8000, 0, 0);
  }
  if (ka === K_ZERO || ka === K_INF) return out.copy(a);
  const x = unpack(a, ua);
  let n = 0;
  if (kb !== K_ZERO) {
    const y = unpack(b, ub);
    const e = y.exp - BIAS;
    if (e >= 31) n = 0x7fffffff;
    else if (e >= 0) n = y.hi >>> (31 - e);
    if (sb) n = -n;
  }
  const exp = Math.max(-0x10000, Math.min(0x20000, x.exp + n));
  // The result keeps all 64 bits whatever the precision control.
  const how = forRegister(control);
  how.bits = 64;
  return roundPack(out, x.sign, exp, x.hi, x.lo, 0, how);
}

/** FXTRACT: the exponent (as a value) into `exponent`, the significand in [1,2) into `out`. */
export function extract(out: F80, exponent: F80, a: F80): void {
  const ka = classify(a);
  if (screen(out, a, ka, a, ka)) {
    exponent.copy(out);
    return;
  }
  if (ka === K_ZERO) {
    flags.exc |= ZE;
    exponent.set(0xffff, 0x80000000, 0);
    out.copy(a);
    return;
  }
  if (ka === K_INF) {
    exponent.set(EXP_MAX, 0x80000000, 0);
    out.copy(a);
    return;
  }
  const x = unpack(a, ua);
  out.set((x.sign << 15) | BIAS, x.hi, x.lo);
  const e = x.exp - BIAS;
  fromInt32(exponent, e);
}

/** An exact integer |n| < 2^32 with its sign as an 80-bit value. */
export function fromInt32(out: F80, n: number): F80 {
  if (n === 0) return out.set(0, 0, 0);
  const sign = n < 0 ? 1 : 0;
  const m = Math.abs(n);
  const z = Math.clz32(m);
  return out.set((sign << 15) | (BIAS + 31 - z), (m << z) >>> 0, 0);
}

// ---------------------------------------------------------------------------------------------
// Comparison.

export const LESS = 0,
  EQUAL = 1,
  GREATER = 2,
  UNORDERED = 3;

/** Compares a with b. `quietOk` = the FUCOM rules (only SNaNs and unsupported raise IE). */
export function compare(a: F80, b: F80, quietOk: boolean): number {
  const ka = classify(a),
    kb = classify(b);
  if (ka === K_UNSUPPORTED || kb === K_UNSUPPORTED || isNaNClass(ka) || isNaNClass(kb)) {
    if (!quietOk || ka === K_SNAN || kb === K_SNAN || ka === K_UNSUPPORTED || kb === K_UNSUPPORTED) flags.exc |= IE;
    return UNORDERED;
  }
  if (ka === K_DENORMAL || kb === K_DENORMAL) flags.denormal = true;
  if (ka === K_ZERO && kb === K_ZERO) return EQUAL;
  const c = orderKey(a, ka, b, kb);
  return c < 0 ? LESS : c > 0 ? GREATER : EQUAL;
}

/** Signed comparison of two ordered values (zeros, finite, infinities): -1, 0, 1. */
function orderKey(a: F80, ka: number, b: F80, kb: number): number {
  const na = ka === K_ZERO ? 0 : a.se & 0x8000 ? -1 : 1;
  const nb = kb === K_ZERO ? 0 : b.se & 0x8000 ? -1 : 1;
  if (na !== nb) return na < nb ? -1 : 1;
  if (na === 0) return 0;
  const m = magnitude(a, ka, b, kb);
  return na < 0 ? -m : m;
}

function magnitude(a: F80, ka: number, b: F80, kb: number): number {
  if (ka === K_INF || kb === K_INF) return ka === kb ? 0 : ka === K_INF ? 1 : -1;
  const x = unpack(a, ua),
    y = unpack(b, ub);
  if (x.exp !== y.exp) return x.exp > y.exp ? 1 : -1;
  if (x.hi !== y.hi) return x.hi > y.hi ? 1 : -1;
  if (x.lo !== y.lo) return x.lo > y.lo ? 1 : -1;
  return 0;
}
