// Conversions between 80-bit register values and the x87 memory formats: single (m32), double
// (m64), the integers (m16/m32/m64) and packed BCD (m80), with the load and store exception
// rules (SNaN loads quieted with IE, denormal loads raise DE, stores round under the rounding
// control with overflow/underflow/precision, out-of-range integers store the integer indefinite).

import { roundBig } from './x87-bigint';
import { roundIntegral, integral } from './x87-arith';
import {
  BIAS,
  DOUBLE_RANGE,
  EXP_MAX,
  F80,
  IE,
  K_DENORMAL,
  K_INF,
  K_NORMAL,
  K_QNAN,
  K_SNAN,
  K_UNSUPPORTED,
  K_ZERO,
  OE,
  PE,
  SINGLE_RANGE,
  UE,
  Unpacked,
  classify,
  flags,
  roundPack,
  roundingMode,
  unpack,
  EXACT,
  type Rounding,
} from './x87-format';

const u = new Unpacked();
const rounded = new F80();
/** Rounding for a memory store (scratch): the destination's range, no exponent adjustment. */
const storeRounding: Rounding = { bits: 53, rc: 0, range: DOUBLE_RANGE, oeMasked: true, ueMasked: true };

// ---------------------------------------------------------------------------------------------
// Loads (exact: every single/double/integer value is an extended value).

/** m32 bits to a register value. */
export function fromSingle(out: F80, b: number): F80 {
  const sign = (b >>> 31) << 15;
  const e = (b >>> 23) & 0xff;
  const f = b & 0x7fffff;
  if (e === 0xff) {
    if (f === 0) return out.set(sign | EXP_MAX, 0x80000000, 0);
    if (!(f & 0x400000)) flags.exc |= IE; // SNaN (FLD quiets it; arithmetic compares it as one)
    return out.set(sign | EXP_MAX, (0x80000000 | (f << 8)) >>> 0, 0);
  }
  if (e === 0) {
    if (f === 0) return out.set(sign, 0, 0);
    flags.denormal = true;
    const z = Math.clz32(f) - 8; // f has its top bit at 22 - (z - 1)
    return out.set(sign | (BIAS - 126 - z), (f << (8 + z)) >>> 0, 0);
  }
  return out.set(sign | (e - 127 + BIAS), (0x80000000 | (f << 8)) >>> 0, 0);
}

/** m64 (hi:lo words) to a register value. */
export function fromDouble(out: F80, hi: number, lo: number): F80 {
  const sign = (hi >>> 31) << 15;
  const e = (hi >>> 20) & 0x7ff;
  const fh = hi & 0xfffff;
  if (e === 0x7ff) {
    if ((fh | lo) === 0) return out.set(sign | EXP_MAX, 0x80000000, 0);
    if (!(fh & 0x80000)) flags.exc |= IE;
    return out.set(sign | EXP_MAX, (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
  }
  if (e === 0) {
    if ((fh | lo) === 0) return out.set(sign, 0, 0);
    flags.denormal = true;
    // Significand fh:lo (52 bits) normalised so its top set bit lands on bit 63.
    let h = ((fh << 11) | (lo >>> 21)) >>> 0,
      l = (lo << 11) >>> 0,
      exp = BIAS - 1022;
    if (h === 0) {
      h = l;
      l = 0;
      exp -= 32;
    }
    const z = Math.clz32(h);
    if (z) {
      h = ((h << z) | (l >>> (32 - z))) >>> 0;
      l = (l << z) >>> 0;
    }
    return out.set(sign | (exp - z), h, l);
  }
  return out.set(sign | (e - 1023 + BIAS), (0x80000000 | (fh << 11) | (lo >>> 21)) >>> 0, (lo << 11) >>> 0);
}

/** A signed integer given as hi:lo words (two's complement, hi signed) to a register value. */
export function fromInteger(out: F80, hi: number, lo: number): F80 {
  hi |= 0;
  lo >>>= 0;
  if (hi === 0 && lo === 0) return out.set(0, 0, 0);
  let sign = 0;
  if (hi < 0) {
    sign = 0x8000;
    lo = -lo >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  } else hi >>>= 0;
  let exp = BIAS + 63;
  if (hi === 0) {
    hi = lo;
    lo = 0;
    exp -= 32;
  }
  const z = Math.clz32(hi);
  if (z) {
    hi = ((hi << z) | (lo >>> (32 - z))) >>> 0;
    lo = (lo << z) >>> 0;
  }
  return out.set(sign | (exp - z), hi, lo);
}

/** Packed BCD (10 bytes) to a register value; invalid digits convert as their binary value. */
export function fromBcd(out: F80, bytes: Uint8Array): F80 {
  let high = 0,
    low = 0;
  for (let i = 8; i >= 4; i--) high = high * 100 + (bytes[i]! >>> 4) * 10 + (bytes[i]! & 15);
  for (let i = 3; i >= 0; i--) low = low * 100 + (bytes[i]! >>> 4) * 10 + (bytes[i]! & 15);
  const n = BigInt(high) * 100000000n + BigInt(low);
  const sign = bytes[9]! & 0x80 ? 1 : 0;
  if (n === 0n) return out.set(sign << 15, 0, 0);
  return roundBig(out, sign, n, 0, false, EXACT);
}

// ---------------------------------------------------------------------------------------------
// Stores.

/**
 * Rounds a register value for a single (bits 24) or double (bits 53) store. Returns false (with
 * IE) when the value is a NaN made from an unsupported encoding; NaNs keep their top payload.
 */
function roundForStore(v: F80, bits: number, control: number): F80 {
  const k = classify(v);
  if (k === K_UNSUPPORTED) {
    flags.exc |= IE;
    return rounded.set(0xffff, 0xc0000000, 0);
  }
  if (k === K_SNAN || k === K_QNAN) {
    if (k === K_SNAN) flags.exc |= IE;
    return rounded.set(v.se, v.hi | 0x40000000, v.lo);
  }
  if (k === K_ZERO || k === K_INF) return rounded.copy(v);
  unpack(v, u);
  const range = bits === 24 ? SINGLE_RANGE : DOUBLE_RANGE;
  // An unmasked underflow stops the store for any tiny value (exact or not).
  if (u.exp < range.min && !(control & UE)) flags.exc |= UE;
  storeRounding.bits = bits;
  storeRounding.rc = roundingMode(control);
  storeRounding.range = range;
  return roundPack(rounded, u.sign, u.exp, u.hi, u.lo, 0, storeRounding);
}

/** Exceptions that stop a memory store when unmasked. */
export const STORE_BLOCKING = IE | OE | UE;

/** The m32 bits for a register value (flags raised; the caller decides whether to write). */
export function toSingle(v: F80, control: number): number {
  const r = roundForStore(v, 24, control);
  const sign = (r.se & 0x8000) << 16;
  const e = r.se & 0x7fff;
  if (e === EXP_MAX) return (sign | 0x7f800000 | ((r.hi >>> 8) & 0x7fffff)) >>> 0;
  if (e === 0 && (r.hi | r.lo) === 0) return sign >>> 0;
  if (!(r.hi & 0x80000000)) return (sign | (r.hi >>> 8)) >>> 0; // single denormal
  return (sign | ((e - BIAS + 127) << 23) | ((r.hi >>> 8) & 0x7fffff)) >>> 0;
}

/** Words of an m64 store: toDouble fills `double.hi`/`double.lo`. */
export const double = { hi: 0, lo: 0 };
export function toDouble(v: F80, control: number): void {
  const e0 = v.se & 0x7fff;
  if (e0 >= DOUBLE_RANGE.min && e0 <= DOUBLE_RANGE.max && v.hi & 0x80000000 && !(v.lo & 0x7ff)) {
    // A normal value a double holds exactly: no rounding (the common case).
    double.lo = ((v.hi << 21) | (v.lo >>> 11)) >>> 0;
    double.hi = (((v.se & 0x8000) << 16) | ((e0 - BIAS + 1023) << 20) | ((v.hi >>> 11) & 0xfffff)) >>> 0;
    return;
  }
  const r = roundForStore(v, 53, control);
  const sign = (r.se & 0x8000) << 16;
  const e = r.se & 0x7fff;
  const fh = (r.hi >>> 11) & 0xfffff;
  const fl = ((r.hi << 21) | (r.lo >>> 11)) >>> 0;
  double.lo = fl;
  if (e === EXP_MAX) double.hi = (sign | 0x7ff00000 | fh) >>> 0;
  else if (e === 0 && (r.hi | r.lo) === 0) {
    double.hi = sign >>> 0;
    double.lo = 0;
  } else if (!(r.hi & 0x80000000)) double.hi = (sign | fh) >>> 0;
  else double.hi = (sign | ((e - BIAS + 1023) << 20) | fh) >>> 0;
}

/**
 * An integer store of `bits` (16, 32 or 64): fills `integer.hi`/`integer.lo` (two's complement)
 * or the integer indefinite with IE for NaNs, infinities, unsupported and out-of-range values.
 */
export const integer = { hi: 0, lo: 0 };
export function toInteger(v: F80, bits: number, rc: number): void {
  const k = classify(v);
  if (k === K_ZERO) {
    integer.hi = integer.lo = 0;
    return;
  }
  if (k !== K_DENORMAL && k !== K_NORMAL) return integerIndefinite(bits);
  unpack(v, u);
  roundIntegral(u, rc);
  let hi = integral.hi,
    lo = integral.lo;
  const neg = u.sign === 1;
  // Range: magnitude up to 2^(bits-1) - 1, or exactly 2^(bits-1) when negative.
  let fits: boolean;
  if (integral.big) fits = false;
  else if (bits === 64) fits = hi < 0x80000000 || (neg && hi === 0x80000000 && lo === 0);
  else {
    const lim = bits === 32 ? 0x80000000 : 0x8000;
    fits = hi === 0 && (lo < lim || (neg && lo === lim));
  }
  if (!fits) return integerIndefinite(bits);
  if (integral.inexact) {
    flags.exc |= PE;
    flags.up = integral.up ? 1 : 0;
  }
  if (neg) {
    lo = -lo >>> 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
  }
  integer.hi = hi >>> 0;
  integer.lo = lo >>> 0;
}

function integerIndefinite(bits: number): void {
  flags.exc |= IE;
  integer.hi = bits === 64 ? 0x80000000 : 0;
  integer.lo = bits === 64 ? 0 : bits === 32 ? 0x80000000 : 0x8000;
}

/** Packed BCD bytes of a register value (FBSTP), or the BCD indefinite with IE. */
export function toBcd(v: F80, rc: number, bytes: Uint8Array): void {
  const k = classify(v);
  bytes.fill(0);
  if (k === K_ZERO) {
    bytes[9] = v.se & 0x8000 ? 0x80 : 0;
    return;
  }
  if (k === K_DENORMAL || k === K_NORMAL) {
    unpack(v, u);
    roundIntegral(u, rc);
    const n = integral.big ? -1n : (BigInt(integral.hi) << 32n) | BigInt(integral.lo);
    if (n >= 0n && n < 1000000000000000000n) {
      if (integral.inexact) {
        flags.exc |= PE;
        flags.up = integral.up ? 1 : 0;
      }
      let m = n;
      for (let i = 0; i < 9; i++) {
        const lowDigit = Number(m % 10n);
        m /= 10n;
        const highDigit = Number(m % 10n);
        m /= 10n;
        bytes[i] = (highDigit << 4) | lowDigit;
      }
      bytes[9] = u.sign ? 0x80 : 0;
      return;
    }
  }
  flags.exc |= IE;
  bytes[7] = 0xc0;
  bytes[8] = 0xff;
  bytes[9] = 0xff;
}

/**
 * The register file of a state saved when registers were float64 (snapshot layout 1), in the
 * 80-bit words of X87State.regs. Exact: every double is an extended value; NaNs keep their
 * quiet bit and payload.
 */
export function registersFromFloat64(old: Float64Array): Uint32Array {
  const words = new Uint32Array(24);
  const bits = new Uint32Array(old.buffer.slice(old.byteOffset, old.byteOffset + 64));
  const v = new F80();
  for (let p = 0; p < 8; p++) {
    const lo = bits[p * 2]!,
      hi = bits[p * 2 + 1]!;
    fromDouble(v, hi, lo);
    words[p * 3] = v.lo;
    words[p * 3 + 1] = v.hi;
    words[p * 3 + 2] = v.se;
  }
  flags.exc = 0;
  flags.denormal = false;
  return words;
}
