// x87 transcendental instructions: FSIN, FCOS, FSINCOS, FPTAN, FPATAN, F2XM1, FYL2X, FYL2XP1.
// Values are computed in binary fixed point (BigInt) with at least 190 bits beyond the result's
// leading bit, then rounded once to the precision and rounding controls, so results are within
// one unit in the last place of the true value (correctly rounded in all but pathological
// cases). Special operands follow the x87 tables (infinities, zeros, out-of-range arguments).

import { screen } from './x87-arith';
import { bitLength, roundBig, sigOf } from './x87-bigint';
import {
  BIAS,
  EXP_MAX,
  F80,
  IE,
  K_DENORMAL,
  K_INF,
  K_ZERO,
  Unpacked,
  ZE,
  classify,
  flags,
  setIndefinite,
  unpack,
  forRegister,
} from './x87-format';

const ua = new Unpacked(),
  ub = new Unpacked();

// ---------------------------------------------------------------------------------------------
// Fixed-point series (value = n / 2^p). Products truncate toward zero, so every series of a
// negative argument also runs down to zero terms.

function mulFixed(a: bigint, b: bigint, p: number): bigint {
  return (a * b) / (1n << BigInt(p));
}

function atanhSeries(s: bigint, p: number): bigint {
  // s + s^3/3 + s^5/5 + ...
  const s2 = mulFixed(s, s, p);
  let term = s,
    sum = 0n;
  for (let k = 1n; term !== 0n; k += 2n) {
    sum += term / k;
    term = mulFixed(term, s2, p);
  }
  return sum;
}

function atanSeries(t: bigint, p: number): bigint {
  // t - t^3/3 + t^5/5 - ...
  const t2 = mulFixed(t, t, p);
  let term = t,
    sum = 0n;
  for (let k = 1n; term !== 0n; k += 2n) {
    sum += term / k;
    term = -mulFixed(term, t2, p);
  }
  return sum;
}

/** sin(r) and cos(r) for |r| <= pi/4. */
function sinCosSeries(r: bigint, p: number): [bigint, bigint] {
  let s = 0n,
    c = 0n,
    term = 1n << BigInt(p); // r^k / k!
  for (let k = 0n; term !== 0n; k++) {
    const v = (k / 2n) % 2n === 1n ? -term : term;
    if (k % 2n === 0n) c += v;
    else s += v;
    term = mulFixed(term, r, p) / (k + 1n);
  }
  return [s, c];
}

/** e^z - 1 for |z| < 1. */
function expm1Series(z: bigint, p: number): bigint {
  let term = z,
    sum = 0n;
  for (let k = 2n; term !== 0n; k++) {
    sum += term;
    term = mulFixed(term, z, p) / k;
  }
  return sum;
}

// pi and ln 2 to 400 bits. At a finer working precision they are padded with zero bits: every use
// needs them only to a relative precision far below 2^-300 (they never cancel to a tiny result).
const CONST_BITS = 400;
const PI_400 = machinPi(CONST_BITS);
const LN2_400 = (2n * atanhSeries((1n << BigInt(CONST_BITS + 16)) / 3n, CONST_BITS + 16)) >> 16n;

function machinPi(bits: number): bigint {
  // pi = 16 atan(1/5) - 4 atan(1/239), with guard bits.
  const q = bits + 16;
  const one = 1n << BigInt(q);
  return (16n * atanSeries(one / 5n, q) - 4n * atanSeries(one / 239n, q)) >> 16n;
}
function atPrecision(v: bigint, p: number): bigint {
  return p <= CONST_BITS ? v >> BigInt(CONST_BITS - p) : v << BigInt(p - CONST_BITS);
}
/**
 * pi * 2^64 truncated (66 significant bits): the real FPU reduces trigonometric arguments by
 * multiples of pi/2 taken from this approximation, which shows for large arguments.
 */
const REDUCTION_PI_66 = PI_400 >> BigInt(CONST_BITS - 64);

function pi(p: number): bigint {
  return atPrecision(PI_400, p);
}
function ln2(p: number): bigint {
  return atPrecision(LN2_400, p);
}

/** A finite nonzero unpacked value as fixed point with p fraction bits (truncated). */
function toFixed(u: Unpacked, p: number): bigint {
  const sh = u.exp - BIAS - 63 + p;
  const m = sigOf(u);
  const mag = sh >= 0 ? m << BigInt(sh) : m >> BigInt(-sh);
  return u.sign ? -mag : mag;
}

/** Rounds the fixed-point value n / 2^p (inexact: the true value is irrational here). */
function fromFixed(out: F80, n: bigint, p: number, control: number): F80 {
  if (n === 0n) return out.set(0, 0, 0);
  const sign = n < 0n ? 1 : 0;
  return roundBig(out, sign, sign ? -n : n, -p, true, forRegister(control));
}

/** Working precision for an argument of unbiased exponent e: 192 bits below its leading bit. */
function workBits(e: number): number {
  return 192 + Math.max(0, -e);
}

// ---------------------------------------------------------------------------------------------
// Trigonometry.

/**
 * A finite nonzero argument reduced by the nearest multiple k of pi/2 (the FPU's 66-bit pi):
 * sin and cos of the remainder as fixed point with p fraction bits.
 */
function reduced(a: F80): { p: number; k: bigint; sr: bigint; cr: bigint } {
  const u = unpack(a, ua);
  const p = workBits(u.exp - BIAS) + 64;
  const x = toFixed(u, p);
  const halfPi = REDUCTION_PI_66 << BigInt(p - 65);
  const k = (2n * x + (x < 0n ? -halfPi : halfPi)) / (2n * halfPi);
  const [sr, cr] = sinCosSeries(x - k * halfPi, p);
  return { p, k, sr, cr };
}

/** True when |a| >= 2^63: FSIN/FCOS/FSINCOS/FPTAN leave the operand and set C2. */
export function trigOutOfRange(a: F80): boolean {
  const k = classify(a);
  return (k === 1 || k === K_DENORMAL) && (a.se & 0x7fff) - BIAS >= 63;
}

/**
 * sin and/or cos of a (finite, in range, or special): writes sin to `s` and cos to `c`.
 * Only the wanted results are rounded (and raise their exceptions); for a NaN or invalid operand
 * both hold the NaN/indefinite result.
 */
export function sinCos(s: F80, c: F80, a: F80, control: number, wantSin = true, wantCos = true): void {
  const ka = classify(a);
  if (screen(s, a, ka, a, ka)) {
    c.copy(s);
    return;
  }
  if (ka === K_INF) {
    flags.exc |= IE;
    setIndefinite(s);
    c.copy(s);
    return;
  }
  if (ka === K_ZERO) {
    s.copy(a);
    c.set(BIAS, 0x80000000, 0);
    return;
  }
  const { p, k, sr, cr } = reduced(a);
  const q = Number(((k % 4n) + 4n) % 4n);
  const sv = q === 0 ? sr : q === 1 ? cr : q === 2 ? -sr : -cr;
  const cv = q === 0 ? cr : q === 1 ? -sr : q === 2 ? -cr : sr;
  if (wantSin) fromFixed(s, sv, p, control);
  if (wantCos) fromFixed(c, cv, p, control);
  // A result that rounds to exactly zero keeps the operand's sign for sine.
  if ((s.se & 0x7fff) === 0 && (s.hi | s.lo) === 0) s.se = a.se & 0x8000;
}

/** FPTAN's tangent (the 1.0 is pushed by the caller). */
export function tan(out: F80, a: F80, control: number): void {
  const ka = classify(a);
  if (screen(out, a, ka, a, ka)) return;
  if (ka === K_INF) {
    flags.exc |= IE;
    setIndefinite(out);
    return;
  }
  if (ka === K_ZERO) {
    out.copy(a);
    return;
  }
  const { p, k, sr, cr } = reduced(a);
  // tan(r + k pi/2) = tan r (k even) or -cot r (k odd).
  const odd = (k & 1n) !== 0n;
  const num = odd ? -cr : sr,
    den = odd ? sr : cr;
  fromFixed(out, (num << BigInt(p)) / den, p, control);
}

/** FPATAN: atan(y / x) with the quadrant of (x, y). */
export function atan2(out: F80, y: F80, x: F80, control: number): void {
  const ky = classify(y),
    kx = classify(x);
  if (screen(out, y, ky, x, kx)) return;
  const sy = y.se >>> 15,
    sx = x.se >>> 15;
  // Special operands: multiples of pi/4 and zeros.
  const p = 256;
  const piP = pi(p);
  const fixedResult = (v: bigint): void => {
    fromFixed(out, sy ? -v : v, p, control);
  };
  if (ky === K_ZERO) {
    if (sx === 0) out.set(sy << 15, 0, 0);
    else fixedResult(piP);
    return;
  }
  if (ky === K_INF) {
    if (kx === K_INF) fixedResult(sx ? (3n * piP) / 4n : piP / 4n);
    else fixedResult(piP / 2n);
    return;
  }
  if (kx === K_ZERO) return fixedResult(piP / 2n);
  if (kx === K_INF) {
    if (sx === 0) out.set(sy << 15, 0, 0);
    else fixedResult(piP);
    return;
  }
  const uy = unpack(y, ua),
    ux = unpack(x, ub);
  const my = sigOf(uy),
    mx = sigOf(ux);
  const d = uy.exp - ux.exp;
  // |y|/|x| or its reciprocal, at least 192 bits below the leading bit.
  const smallY = d < 0 || (d === 0 && my <= mx);
  const q = p + Math.max(0, smallY ? -d : d) + 8;
  let t: bigint;
  if (smallY) t = d >= 0 ? (my << BigInt(q + d)) / mx : (my << BigInt(q)) / (mx << BigInt(-d));
  else t = d <= 0 ? (mx << BigInt(q - d)) / my : (mx << BigInt(q)) / (my << BigInt(d));
  let a = atanReduced(t, q);
  const piQ = pi(q);
  if (!smallY) a = piQ / 2n - a;
  if (sx) a = piQ - a;
  fromFixed(out, sy ? -a : a, q, control);
}

/** atan(t) for 0 <= t <= 1 (fixed point, q bits), by two argument halvings and the series. */
function atanReduced(t: bigint, q: number): bigint {
  const one = 1n << BigInt(q);
  for (let i = 0; i < 2; i++) {
    // atan t = 2 atan(t / (1 + sqrt(1 + t^2)))
    const root = sqrtFixed(one + ((t * t) >> BigInt(q)), q);
    t = (t << BigInt(q)) / (one + root);
  }
  return atanSeries(t, q) * 4n;
}

function sqrtFixed(v: bigint, q: number): bigint {
  // sqrt(v / 2^q) * 2^q = sqrt(v * 2^q)
  const n = v << BigInt(q);
  let x = 1n << BigInt(Math.ceil((n.toString(2).length + 1) / 2));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x) break;
    x = y;
  }
  return x;
}

// ---------------------------------------------------------------------------------------------
// Exponential and logarithms.

/** F2XM1: 2^a - 1 (defined for -1 <= a <= 1). */
export function exp2m1(out: F80, a: F80, control: number): void {
  const ka = classify(a);
  if (screen(out, a, ka, a, ka)) return;
  if (ka === K_ZERO) {
    out.copy(a);
    return;
  }
  if (ka === K_INF) {
    if (a.se & 0x8000) out.set(0x8000 | BIAS, 0x80000000, 0);
    else out.copy(a);
    return;
  }
  const u = unpack(a, ua);
  const e = u.exp - BIAS;
  if (e >= 15) {
    // Outside the documented -1..1 by far: 2^a overflows, or 2^a - 1 rounds to -1.
    if (u.sign) fromFixed(out, -(1n << 64n) + 1n, 64, control);
    else fromFixed(out, 1n << 40000n, 0, control);
    return;
  }
  const p = workBits(e) + 8;
  const x = toFixed(u, p);
  if (e < 0) {
    fromFixed(out, expm1Series((x * ln2(p)) >> BigInt(p), p), p, control);
    return;
  }
  // |a| >= 1: 2^a = 2^n * 2^f with n = trunc(a), then subtract one.
  const one = 1n << BigInt(p);
  const n = x / one;
  const f = x - n * one;
  const pow = one + expm1Series((f * ln2(p)) >> BigInt(p), p);
  const k = Number(n);
  fromFixed(out, (k >= 0 ? pow << BigInt(k) : pow >> BigInt(-k)) - one, p, control);
}

/** log2 of a positive finite value (x, or 1 + x when plusOne) as fixed point with q bits. */
function log2Fixed(u: Unpacked, q: number, plusOne: boolean): bigint {
  const one = 1n << BigInt(q);
  if (plusOne && u.exp - BIAS < -2) {
    // |x| < 1/4: ln(1 + x) = 2 atanh(x / (2 + x)) keeps the precision of a tiny x.
    const x = toFixed(u, q);
    const s = (x << BigInt(q)) / (2n * one + x);
    return ((2n * atanhSeries(s, q)) << BigInt(q)) / ln2(q);
  }
  // v = m * 2^e, m in [1,2): log2 v = e + ln(m) / ln 2, ln m = 2 atanh((m - 1) / (m + 1)).
  let m: bigint, e: number;
  if (plusOne) {
    const v = one + toFixed(u, q); // 1 + x > 0 here, and at least 2^-66 from zero
    e = bitLength(v) - 1 - q;
    m = e >= 0 ? v >> BigInt(e) : v << BigInt(-e);
  } else {
    e = u.exp - BIAS;
    m = sigOf(u) << BigInt(q - 63);
  }
  const s = ((m - one) << BigInt(q)) / (m + one);
  return BigInt(e) * one + ((2n * atanhSeries(s, q)) << BigInt(q)) / ln2(q);
}

/** FYL2X (plusOne false): y * log2(x); FYL2XP1 (plusOne true): y * log2(x + 1). */
export function ylog2x(out: F80, y: F80, x: F80, plusOne: boolean, control: number): void {
  const kx = classify(x),
    ky = classify(y);
  if (screen(out, x, kx, y, ky)) return;
  const sx = x.se >>> 15,
    sy = y.se >>> 15;
  const invalid = (): void => {
    flags.exc |= IE;
    setIndefinite(out);
  };
  const signed = (neg: number, inf: boolean): void => {
    if (inf) out.set((neg << 15) | EXP_MAX, 0x80000000, 0);
    else out.set(neg << 15, 0, 0);
  };
  if (!plusOne) {
    if (sx && kx !== K_ZERO) return invalid();
    if (kx === K_ZERO) {
      if (ky === K_ZERO) return invalid();
      if (ky !== K_INF) flags.exc |= ZE;
      return signed(sy ^ 1, true);
    }
    if (kx === K_INF) {
      if (ky === K_ZERO) return invalid();
      return signed(sy, true);
    }
    const ux = unpack(x, ub);
    const isOne = ux.exp === BIAS && ux.hi === 0x80000000 && ux.lo === 0;
    if (isOne) {
      if (ky === K_INF) return invalid();
      return signed(sy, false); // log2(1) = +0, times y
    }
    const below = ux.exp < BIAS;
    if (ky === K_INF) return signed(sy ^ (below ? 1 : 0), true);
    if (ky === K_ZERO) return signed(sy ^ (below ? 1 : 0), false);
    return product(out, y, log2Fixed(ux, 256 + 8, false), 256 + 8, control);
  }
  if (kx === K_ZERO) {
    if (ky === K_INF) return invalid();
    return signed(sx ^ sy, false);
  }
  if (kx === K_INF) {
    if (sx) return invalid();
    if (ky === K_ZERO) return invalid();
    return signed(sy, true);
  }
  const ux = unpack(x, ub);
  // Below -1 the logarithm is undefined; at -1 it is -infinity.
  if (sx && (ux.exp > BIAS || (ux.exp === BIAS && (ux.hi !== 0x80000000 || ux.lo !== 0)))) return invalid();
  if (sx && ux.exp === BIAS) {
    if (ky === K_ZERO) return invalid();
    if (ky !== K_INF) flags.exc |= ZE;
    return signed(sy ^ 1, true);
  }
  if (ky === K_INF) return signed(sy ^ sx, true);
  if (ky === K_ZERO) return signed(sy ^ sx, false);
  const q = workBits(ux.exp - BIAS) + 8;
  return product(out, y, log2Fixed(ux, q, true), q, control);
}

/** Rounds y * (l / 2^q) once. */
function product(out: F80, y: F80, l: bigint, q: number, control: number): void {
  const uy = unpack(y, ua);
  const n = sigOf(uy) * (l < 0n ? -l : l);
  const sign = uy.sign ^ (l < 0n ? 1 : 0);
  if (n === 0n) {
    out.set(sign << 15, 0, 0);
    return;
  }
  roundBig(out, sign, n, uy.exp - BIAS - 63 - q, true, forRegister(control));
}
