// The x87 80-bit extended format: register encoding, operand classification, and rounding of an
// exact intermediate result to 24/53/64 significand bits under the rounding control, with the
// exponent range of the destination (extended register, or a double/single memory operand).
//
// A value is sign, 15-bit biased exponent and 64-bit significand with an explicit integer bit.
// Significands are handled as 32-bit limbs (hi = bits 63..32, lo = bits 31..0); intermediate
// results carry a third limb of guard bits whose lowest bit is "sticky" (ORed with everything
// shifted out below it), which is all correct rounding needs.

// Status word bits.
export const IE = 0x01,
  DE = 0x02,
  ZE = 0x04,
  OE = 0x08,
  UE = 0x10,
  PE = 0x20,
  SF = 0x40,
  ES = 0x80;
export const C0 = 0x100,
  C1 = 0x200,
  C2 = 0x400,
  C3 = 0x4000,
  BUSY = 0x8000;
export const CC_MASK = C0 | C1 | C2 | C3;
// Tag values.
export const TAG_VALID = 0,
  TAG_ZERO = 1,
  TAG_SPECIAL = 2,
  TAG_EMPTY = 3;

export const BIAS = 16383;
export const EXP_MAX = 0x7fff;
/** Exponent bias adjustment of an unmasked overflow/underflow result delivered to a register. */
const BIAS_ADJUST = 24576;

/**
 * Exceptions raised and the C1 "rounded up" indicator of the current instruction, and whether an
 * operand was denormal (DE is reported only when the operation raises neither IE nor ZE). Scratch
 * reset at the start of every instruction; not machine state.
 */
export const flags = { exc: 0, up: 0, denormal: false };

/** An 80-bit value in registers: sign/exponent word and the significand limbs. */
export class F80 {
  se = 0;
  hi = 0;
  lo = 0;
  set(se: number, hi: number, lo: number): this {
    this.se = se;
    this.hi = hi >>> 0;
    this.lo = lo >>> 0;
    return this;
  }
  copy(o: F80): this {
    return this.set(o.se, o.hi, o.lo);
  }
}

/** The "real indefinite" QNaN produced by masked invalid operations. */
export function setIndefinite(out: F80): F80 {
  return out.set(0xffff, 0xc0000000, 0);
}

// ---------------------------------------------------------------------------------------------
// Classification of register contents.

export const K_ZERO = 0,
  K_NORMAL = 1,
  K_DENORMAL = 2, // exponent 0, significand nonzero (pseudo-denormals included)
  K_INF = 3,
  K_QNAN = 4,
  K_SNAN = 5,
  K_UNSUPPORTED = 6; // unnormal, pseudo-NaN, pseudo-infinity

export function classify(v: F80): number {
  const e = v.se & 0x7fff;
  if (e === 0) return (v.hi | v.lo) === 0 ? K_ZERO : K_DENORMAL;
  if (!(v.hi & 0x80000000)) return K_UNSUPPORTED;
  if (e !== EXP_MAX) return K_NORMAL;
  if ((v.hi & 0x7fffffff) === 0 && v.lo === 0) return K_INF;
  return v.hi & 0x40000000 ? K_QNAN : K_SNAN;
}

/** The tag a register holding this value gets. */
export function tagOf(se: number, hi: number, lo: number): number {
  const e = se & 0x7fff;
  if (e === 0) return (hi | lo) === 0 ? TAG_ZERO : TAG_SPECIAL;
  if (e === EXP_MAX || !(hi & 0x80000000)) return TAG_SPECIAL;
  return TAG_VALID;
}

export function isNaNClass(k: number): boolean {
  return k === K_QNAN || k === K_SNAN;
}

/**
 * A finite nonzero operand normalised: sign, unbiased-free exponent (biased, may go below 1 for
 * denormals) and a significand with bit 63 set.
 */
export class Unpacked {
  sign = 0;
  exp = 0;
  hi = 0;
  lo = 0;
}

/** Normalises a K_NORMAL or K_DENORMAL value (denormal operands count as exponent 1). */
export function unpack(v: F80, u: Unpacked): Unpacked {
  u.sign = v.se >>> 15;
  let e = v.se & 0x7fff;
  let hi = v.hi,
    lo = v.lo;
  if (e === 0) {
    e = 1;
    if (hi === 0) {
      hi = lo;
      lo = 0;
      e -= 32;
    }
    const z = Math.clz32(hi);
    if (z) {
      hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
      lo = (lo << z) >>> 0;
      e -= z;
    }
  }
  u.exp = e;
  u.hi = hi;
  u.lo = lo;
  return u;
}

// ---------------------------------------------------------------------------------------------
// Rounding.

/** Precision control field to significand bits (the reserved value 1 acts as 64 bits here). */
export function precisionBits(control: number): number {
  const pc = (control >>> 8) & 3;
  return pc === 0 ? 24 : pc === 2 ? 53 : 64;
}
export function roundingMode(control: number): number {
  return (control >>> 10) & 3;
}

/** Exponent range (biased as in the extended format) of a destination. */
export interface Range {
  min: number;
  max: number;
}
export const EXTENDED_RANGE: Range = { min: 1, max: 0x7ffe };
export const DOUBLE_RANGE: Range = { min: BIAS - 1022, max: BIAS + 1023 };
export const SINGLE_RANGE: Range = { min: BIAS - 126, max: BIAS + 127 };

const TWO32 = 4294967296;

/**
 * How a result is rounded: significand bits (24/53/64), rounding mode, the destination's exponent
 * range, and whether overflow/underflow are masked (unmasked, a register destination gets the
 * exponent-adjusted result).
 */
export interface Rounding {
  bits: number;
  rc: number;
  range: Range;
  oeMasked: boolean;
  ueMasked: boolean;
}

const registerRounding: Rounding = { bits: 64, rc: 0, range: EXTENDED_RANGE, oeMasked: true, ueMasked: true };
/** The rounding of a register result under control word `control` (a shared scratch object). */
export function forRegister(control: number): Rounding {
  registerRounding.bits = precisionBits(control);
  registerRounding.rc = roundingMode(control);
  registerRounding.oeMasked = (control & OE) !== 0;
  registerRounding.ueMasked = (control & UE) !== 0;
  return registerRounding;
}
/** Exact results in a register (FPREM, FRNDINT, integer loads): 64 bits, no directed rounding. */
export const EXACT: Rounding = { bits: 64, rc: 0, range: EXTENDED_RANGE, oeMasked: true, ueMasked: true };

/**
 * Rounds sign * (s0:s1:s2 / 2^95) * 2^(exp - BIAS) (s0 bit 31 set, s2's low bit sticky) as `how`
 * says. Raises PE/UE/OE in flags.exc and sets flags.up. Results land in `out` in extended
 * encoding: a tiny result has the exponent range.min with the integer bit clear (encoded
 * exponent 0 for the extended range).
 */
export function roundPack(out: F80, sign: number, exp: number, s0: number, s1: number, s2: number, how: Rounding): F80 {
  const { bits, rc, range, oeMasked, ueMasked } = how;
  let tiny = false;
  if (exp < range.min) {
    if (!ueMasked) {
      // Unmasked underflow: deliver the rounded value with the exponent raised by the bias adjust.
      flags.exc |= UE;
      exp += BIAS_ADJUST;
    } else {
      // Tininess is judged after rounding with an unbounded exponent: only a value just below the
      // smallest normal can round up to it.
      tiny = exp < range.min - 1 || !roundsToCarry(sign, s0, s1, s2, bits, rc);
      const n = range.min - exp;
      // Shift right by n with jamming into the sticky bit.
      if (n >= 96) {
        s2 = s0 | s1 | s2 ? 1 : 0;
        s0 = s1 = 0;
      } else {
        let k = n;
        while (k >= 32) {
          s2 = (s1 | (s2 ? 1 : 0)) >>> 0;
          s1 = s0;
          s0 = 0;
          k -= 32;
        }
        if (k) {
          const lost = (s2 << (32 - k)) >>> 0;
          s2 = ((s2 >>> k) | (s1 << (32 - k)) | (lost ? 1 : 0)) >>> 0;
          s1 = ((s1 >>> k) | (s0 << (32 - k))) >>> 0;
          s0 >>>= k;
        }
      }
      exp = range.min;
    }
  }
  // Split at the rounding position: `half` compares the discarded part with half an ulp.
  let inexact: boolean, above: boolean, tie: boolean, odd: boolean;
  if (bits === 64) {
    inexact = s2 !== 0;
    above = s2 > 0x80000000;
    tie = s2 === 0x80000000;
    odd = (s1 & 1) !== 0;
  } else if (bits === 53) {
    const r = s1 & 0x7ff;
    inexact = (r | s2) !== 0;
    above = r > 0x400 || (r === 0x400 && s2 !== 0);
    tie = r === 0x400 && s2 === 0;
    odd = (s1 & 0x800) !== 0;
  } else {
    const r = s0 & 0xff;
    inexact = (r | s1 | s2) !== 0;
    above = r > 0x80 || (r === 0x80 && (s1 | s2) !== 0);
    tie = r === 0x80 && (s1 | s2) === 0;
    odd = (s0 & 0x100) !== 0;
  }
  let inc = false;
  if (inexact) {
    if (rc === 0) inc = above || (tie && odd);
    else if (rc === 1) inc = sign === 1;
    else if (rc === 2) inc = sign === 0;
  }
  // Truncate, then add one unit in the last place.
  if (bits === 53) s1 = (s1 & ~0x7ff) >>> 0;
  else if (bits === 24) {
    s0 = (s0 & ~0xff) >>> 0;
    s1 = 0;
  }
  if (inc) {
    if (bits === 24) s0 += 0x100;
    else {
      s1 += bits === 64 ? 1 : 0x800;
      if (s1 >= TWO32) {
        s1 -= TWO32;
        s0 += 1;
      }
    }
    if (s0 >= TWO32) {
      s0 = 0x80000000;
      exp += 1;
    }
  }
  if (inexact) {
    flags.exc |= PE;
    if (tiny) flags.exc |= UE;
  }
  flags.up = inc ? 1 : 0;
  if (exp > range.max) {
    flags.exc |= OE;
    if (!oeMasked) {
      exp -= BIAS_ADJUST;
    } else {
      flags.exc |= PE;
      const toInf = rc === 0 || (rc === 1 && sign === 1) || (rc === 2 && sign === 0);
      flags.up = toInf ? 1 : 0;
      if (toInf) return out.set((sign << 15) | EXP_MAX, 0x80000000, 0);
      const maxHi = bits === 24 ? 0xffffff00 : 0xffffffff;
      const maxLo = bits === 64 ? 0xffffffff : bits === 53 ? 0xfffff800 : 0;
      return out.set((sign << 15) | range.max, maxHi, maxLo);
    }
  }
  if (s0 === 0 && s1 === 0) return out.set(sign << 15, 0, 0);
  // A tiny result in the extended range encodes exponent 0 (the integer bit is then clear).
  const encoded = exp === 1 && range.min === 1 && !(s0 & 0x80000000) ? 0 : exp;
  return out.set((sign << 15) | encoded, s0, s1);
}

/** Whether rounding the significand at `bits` would carry out of the top (all kept bits ones). */
function roundsToCarry(sign: number, s0: number, s1: number, s2: number, bits: number, rc: number): boolean {
  if (rc === 3 || (rc === 1 && sign === 0) || (rc === 2 && sign === 1)) return false;
  if (bits === 64) {
    if (s0 !== 0xffffffff || s1 !== 0xffffffff || s2 === 0) return false;
    return rc !== 0 || s2 >= 0x80000000;
  }
  if (bits === 53) {
    if (s0 !== 0xffffffff || (s1 & 0xfffff800) >>> 0 !== 0xfffff800) return false;
    const r = s1 & 0x7ff;
    if ((r | s2) === 0) return false;
    return rc !== 0 || r >= 0x400;
  }
  if ((s0 & 0xffffff00) >>> 0 !== 0xffffff00) return false;
  const r = s0 & 0xff;
  if ((r | s1 | s2) === 0) return false;
  return rc !== 0 || r >= 0x80;
}

/** Normalises a nonzero 96-bit significand (s0:s1:s2) left and rounds it (see roundPack). */
export function normalizeRoundPack(
  out: F80,
  sign: number,
  exp: number,
  s0: number,
  s1: number,
  s2: number,
  how: Rounding,
): F80 {
  while (s0 === 0) {
    s0 = s1;
    s1 = s2;
    s2 = 0;
    exp -= 32;
  }
  const z = Math.clz32(s0);
  if (z) {
    s0 = ((s0 << z) | (s1 >>> (32 - z))) >>> 0;
    s1 = ((s1 << z) | (s2 >>> (32 - z))) >>> 0;
    s2 = (s2 << z) >>> 0;
    exp -= z;
  }
  return roundPack(out, sign, exp, s0, s1, s2, how);
}

// ---------------------------------------------------------------------------------------------
// NaN propagation.

/** Quiets a NaN (sets significand bit 62). */
export function quietNaN(out: F80, v: F80): F80 {
  return out.set(v.se, v.hi | 0x40000000, v.lo);
}

/**
 * The NaN result of an operation with NaN operand(s) a and/or b (ka, kb their classes): an SNaN
 * raises IE; of two NaNs a QNaN beats an SNaN, otherwise the larger significand wins (ties: a).
 */
export function propagateNaN(out: F80, a: F80, ka: number, b: F80, kb: number): F80 {
  if (ka === K_SNAN || kb === K_SNAN) flags.exc |= IE;
  if (!isNaNClass(kb)) return quietNaN(out, a);
  if (!isNaNClass(ka)) return quietNaN(out, b);
  if (ka !== kb) return quietNaN(out, ka === K_QNAN ? a : b);
  if (b.hi > a.hi || (b.hi === a.hi && b.lo > a.lo)) return quietNaN(out, b);
  return quietNaN(out, a);
}
