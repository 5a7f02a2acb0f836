// The x87 floating-point unit: the register stack, status/control/tag words, and the D8..DF
// escape opcodes. Models the 387-compatible FPU of an i486/Pentium as Linux and libc use it.
//
// Precision: registers hold IEEE double (float64) values, not 80-bit extended ones. Results of
// FADD/FSUB/FMUL/FDIV/FSQRT are rounded correctly to 53 bits in every rounding mode (with exact
// precision/round-up flags), so they match a real FPU whose precision control is "double"; under
// the default "extended" precision control they can differ from hardware in the last bits, and
// values beyond float64's exponent range overflow/underflow where hardware would not. Conversion
// to and from the 80-bit memory format is exact for every value float64 can hold (NaN payloads
// keep their top 52 fraction bits). Transcendentals use the JavaScript Math library.
// Also approximated: FILD m64 / FBLD beyond 2^53 round to float64; unmasked overflow/underflow
// deliver the rounded result, not the exponent-biased one. FISTTP (SSE3) is not an x87 of this
// generation and raises #UD. core/cpu/difftest compares all of this against the host FPU.

import type { X87State } from './types';

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

// Status word bits.
const IE = 0x01,
  DE = 0x02,
  ZE = 0x04,
  OE = 0x08,
  UE = 0x10,
  PE = 0x20,
  SF = 0x40,
  ES = 0x80;
const C0 = 0x100,
  C1 = 0x200,
  C2 = 0x400,
  C3 = 0x4000,
  BUSY = 0x8000;
const CC_MASK = C0 | C1 | C2 | C3;
// Tag values.
const TAG_VALID = 0,
  TAG_ZERO = 1,
  TAG_SPECIAL = 2,
  TAG_EMPTY = 3;
// EFLAGS bits touched by FCOMI and read by FCMOVcc.
const CF = 0x1,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SFLAG = 0x80,
  OF = 0x800;

/** The state FNINIT leaves behind. */
export function createX87State(): X87State {
  return { control: 0x037f, status: 0, tag: 0xffff, regs: new Float64Array(8), fip: 0, fcs: 0, fdp: 0, fds: 0, fop: 0 };
}

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

// ---------------------------------------------------------------------------------------------
// Bit-level helpers. NaN payloads must survive, so values are moved between registers and
// memory through their bit patterns, never through JS arrays (which may canonicalise NaNs).

const scratchF64 = new Float64Array(1);
const scratchU32 = new Uint32Array(scratchF64.buffer);
const scratchF32 = new Float32Array(1);
const scratchF32Bits = new Uint32Array(scratchF32.buffer);

function fromBits(hi: number, lo: number): number {
  scratchU32[0] = lo >>> 0;
  scratchU32[1] = hi >>> 0;
  return scratchF64[0]!;
}
function hiOf(v: number): number {
  scratchF64[0] = v;
  return scratchU32[1]!;
}
function loOf(v: number): number {
  scratchF64[0] = v;
  return scratchU32[0]!;
}
function f32FromBits(b: number): number {
  scratchF32Bits[0] = b >>> 0;
  return scratchF32[0]!;
}
function f32Bits(v: number): number {
  scratchF32[0] = v;
  return scratchF32Bits[0]!;
}

function isSignaling(v: number): boolean {
  return v !== v && (hiOf(v) & 0x00080000) === 0;
}
function quiet(v: number): number {
  return fromBits(hiOf(v) | 0x00080000, loOf(v));
}
function signBit(v: number): number {
  return hiOf(v) >>> 31;
}
/** The "real indefinite" QNaN produced by masked invalid operations. */
const INDEFINITE = fromBits(0xfff80000, 0);

/** 2^k for integer k, built from bits (exact, including the subnormal range). */
function pow2(k: number): number {
  if (k > 1023) return Infinity;
  if (k >= -1022) return fromBits((k + 1023) << 20, 0);
  if (k >= -1042) return fromBits(1 << (k + 1042), 0);
  if (k >= -1074) return fromBits(0, 1 << (k + 1074));
  return 0;
}

/** Unbiased exponent of a finite nonzero value (floor(log2|v|)), subnormals included. */
function exponentOf(v: number): number {
  const e = (hiOf(v) >>> 20) & 0x7ff;
  if (e !== 0) return e - 1023;
  return ((hiOf(v * 18446744073709551616) >>> 20) & 0x7ff) - 1023 - 64;
}

/** v * 2^k without spurious overflow/underflow in intermediate steps. */
function scaleBy(v: number, k: number): number {
  while (k > 1000) {
    v *= pow2(1000);
    k -= 1000;
  }
  while (k < -1000) {
    v *= pow2(-1000);
    k += 1000;
  }
  return v * pow2(k);
}

/** Adjacent float64 in the direction of dir (+1 up, -1 down). */
function nextDouble(v: number, dir: number): number {
  if (v === 0) return dir > 0 ? fromBits(0, 1) : fromBits(0x80000000, 1);
  let hi = hiOf(v),
    lo = loOf(v);
  const awayFromZero = v > 0 === dir > 0;
  if (awayFromZero) {
    lo = (lo + 1) >>> 0;
    if (lo === 0) hi = (hi + 1) >>> 0;
  } else {
    if (lo === 0) hi = (hi - 1) >>> 0;
    lo = (lo - 1) >>> 0;
  }
  return fromBits(hi, lo);
}

function nextFloat(v: number, dir: number): number {
  if (v === 0) return dir > 0 ? f32FromBits(1) : f32FromBits(0x80000001);
  const b = f32Bits(v);
  return f32FromBits(v > 0 === dir > 0 ? b + 1 : b - 1);
}

// Exact error terms (Dekker / Knuth). All inputs here are scaled near 1 so nothing overflows.
function splitHi(x: number): number {
  const c = 134217729 * x;
  return c - (c - x);
}
/** Low part of the exact product a*b minus its rounded value p. */
function productError(a: number, b: number, p: number): number {
  const ah = splitHi(a),
    al = a - ah,
    bh = splitHi(b),
    bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

/** 2^-400 <= |x| <= 2^400: products and quotients of such values and their Dekker error terms stay normal. */
const SAFE_MIN = 2 ** -400;
const SAFE_MAX = 2 ** 400;
function inSafeRange(x: number): boolean {
  const m = Math.abs(x);
  return m >= SAFE_MIN && m <= SAFE_MAX;
}

function sign(x: number): number {
  return x > 0 ? 1 : x < 0 ? -1 : 0;
}

// ---------------------------------------------------------------------------------------------
// Per-instruction scratch (reset at the start of every instruction; not machine state).

/** Exception flags raised by the current instruction. */
let exc = 0;
/** Rounding indicator: 1 when the delivered result's magnitude exceeds the exact one. */
let roundedUp = 0;

function rc(st: X87State): number {
  return (st.control >>> 10) & 3;
}

/**
 * Delivers value r, which is the round-to-nearest float64 of an exact result whose position
 * relative to r is d (sign of exact - r), under the rounding and precision controls.
 */
function deliver(st: X87State, r: number, d: number): number {
  if (r !== r) return r;
  const mode = rc(st);
  if (((st.control >>> 8) & 3) === 0 && r !== 0 && isFinite(r)) {
    // Precision control "single": 24-bit significand, but the exponent range stays extended,
    // so round a copy scaled near 1 and scale back (exact).
    const e = exponentOf(r);
    return scaleBy(roundToSingle(scaleBy(r, -e), d, mode), e);
  }
  if (!isFinite(r)) {
    // Overflow of the float64 range (an 80-bit register would still hold it: documented).
    exc |= OE | PE;
    const positive = r > 0;
    const toMax = mode === 3 || (mode === 1 && positive) || (mode === 2 && !positive);
    if (toMax) return positive ? Number.MAX_VALUE : -Number.MAX_VALUE;
    roundedUp = 1;
    return r;
  }
  if (d === 0) return r;
  exc |= PE;
  let out = r;
  if (mode === 1 && d < 0) out = nextDouble(r, -1);
  else if (mode === 2 && d > 0) out = nextDouble(r, 1);
  else if (mode === 3 && (r > 0 ? d < 0 : d > 0)) out = nextDouble(r, r > 0 ? -1 : 1);
  if (out === 0 && r !== 0) out = r > 0 ? 0 : -0;
  // Rounded up: the delivered magnitude exceeds the exact magnitude.
  if (out === r) roundedUp = (r > 0 && d < 0) || (r < 0 && d > 0) ? 1 : 0;
  else roundedUp = Math.abs(out) > Math.abs(r) ? 1 : 0;
  if (Math.abs(out) < 2.2250738585072014e-308) exc |= UE;
  return out;
}

const FLT_MAX = 3.4028234663852886e38;
const FLT_MIN = 1.1754943508222875e-38;

/** Rounds (r, d) to a float32 value under rounding mode `mode` (for PC=single and FST m32). */
function roundToSingle(r: number, d: number, mode: number): number {
  // Overflow: the result rounded with an unbounded exponent exceeds the largest float32.
  const absR = Math.abs(r);
  if (absR > FLT_MAX) {
    const away = (mode === 0 && absR >= FLT_MAX + 2 ** 103) || (mode === 2 && r > 0) || (mode === 1 && r < 0);
    exc |= PE;
    if (away) {
      exc |= OE;
      roundedUp = 1;
      return r > 0 ? Infinity : -Infinity;
    }
    if (absR >= 2 ** 128) exc |= OE;
    roundedUp = 0;
    return r > 0 ? FLT_MAX : -FLT_MAX;
  }
  const f = Math.fround(r);
  if (f === r && d === 0) return r;
  // The two float32 neighbours around the exact value.
  let lo: number, hi: number;
  if (f === r) {
    lo = d < 0 ? nextFloat(r, -1) : r;
    hi = d < 0 ? r : nextFloat(r, 1);
  } else if (f < r) {
    lo = f;
    hi = nextFloat(f, 1);
  } else {
    hi = f;
    lo = nextFloat(f, -1);
  }
  let out: number;
  if (mode === 0) {
    // fround rounded r to nearest-even; only an exact tie in r needs the sign of the residue.
    out = f !== r && r === lo / 2 + hi / 2 && d !== 0 ? (d > 0 ? hi : lo) : f;
  } else if (mode === 1) out = lo;
  else if (mode === 2) out = hi;
  else out = Math.abs(lo) < Math.abs(hi) ? lo : hi;
  if (out === 0) out = r > 0 ? 0 : -0;
  exc |= PE;
  roundedUp = Math.abs(out) > Math.abs(r) || (out === r && ((r > 0 && d < 0) || (r < 0 && d > 0))) ? 1 : 0;
  if (absR < FLT_MIN) {
    // Tininess is judged after rounding (to 24 bits with an unbounded exponent), as hardware does.
    const savedExc = exc,
      savedUp = roundedUp;
    const unbounded = Math.abs(roundToSingle(r * 2 ** 64, d, mode)) / 2 ** 64;
    exc = savedExc;
    roundedUp = savedUp;
    if (unbounded < FLT_MIN) exc |= UE;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The register stack.

function top(st: X87State): number {
  return (st.status >>> 11) & 7;
}
function setTop(st: X87State, t: number): void {
  st.status = (st.status & ~0x3800) | ((t & 7) << 11);
}
function physOf(st: X87State, i: number): number {
  return (top(st) + i) & 7;
}
function tagOfPhys(st: X87State, p: number): number {
  return (st.tag >>> (p * 2)) & 3;
}
function setTagPhys(st: X87State, p: number, t: number): void {
  st.tag = (st.tag & ~(3 << (p * 2))) | (t << (p * 2));
}
function isEmpty(st: X87State, i: number): boolean {
  return tagOfPhys(st, physOf(st, i)) === TAG_EMPTY;
}
function classTag(v: number): number {
  if (v === 0) return TAG_ZERO;
  if (v !== v || !isFinite(v)) return TAG_SPECIAL;
  return TAG_VALID; // float64 subnormals are normal numbers in the 80-bit format
}
function getST(st: X87State, i: number): number {
  return st.regs[physOf(st, i)]!;
}
function setST(st: X87State, i: number, v: number): void {
  const p = physOf(st, i);
  st.regs[p] = v;
  setTagPhys(st, p, classTag(v));
}
// A 32-bit view of the register file for bit-exact moves, rebuilt when the array changes
// (state import replaces it). Derived data only.
let wordsOf: Float64Array | null = null;
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(16);
function regWords(st: X87State): Uint32Array<ArrayBufferLike> {
  if (wordsOf !== st.regs) {
    wordsOf = st.regs;
    words = new Uint32Array(st.regs.buffer, st.regs.byteOffset, 16);
  }
  return words;
}

/** Copies ST(from) into ST(to) bit for bit (keeps NaN payloads). */
function copyST(st: X87State, to: number, from: number): void {
  const pt = physOf(st, to),
    pf = physOf(st, from);
  const u = regWords(st);
  u[pt * 2] = u[pf * 2]!;
  u[pt * 2 + 1] = u[pf * 2 + 1]!;
  setTagPhys(st, pt, tagOfPhys(st, pf));
}
function pop(st: X87State): void {
  setTagPhys(st, physOf(st, 0), TAG_EMPTY);
  setTop(st, top(st) + 1);
}
function push(st: X87State, v: number): void {
  setTop(st, top(st) - 1);
  setST(st, 0, v);
}

/** Stack underflow: a source register is empty. */
function underflow(): void {
  exc |= IE | SF;
  roundedUp = 0;
}
/** Stack overflow: pushing onto a non-empty register. */
function overflow(): void {
  exc |= IE | SF;
  roundedUp = 1;
}
function masked(st: X87State, flags: number): boolean {
  return (flags & ~st.control & 0x3f) === 0;
}

// ---------------------------------------------------------------------------------------------
// Arithmetic with x87 special-operand rules.

function propagateNaN(a: number, b: number): number {
  if (isSignaling(a) || isSignaling(b)) exc |= IE;
  if (a === a) return quiet(b);
  if (b === b) return quiet(a);
  // Both NaN: QNaN beats SNaN, otherwise the larger significand (ties go to the first).
  const qa = !isSignaling(a),
    qb = !isSignaling(b);
  if (qa !== qb) return quiet(qa ? a : b);
  const ha = hiOf(a) & 0xfffff,
    hb = hiOf(b) & 0xfffff;
  const la = loOf(a),
    lb = loOf(b);
  if (hb > ha || (hb === ha && lb > la)) return quiet(b);
  return quiet(a);
}

const OP_ADD = 0,
  OP_MUL = 1,
  OP_SUB = 4,
  OP_SUBR = 5,
  OP_DIV = 6,
  OP_DIVR = 7;

/** dest OP src with the x87 operand order of the /digit (SUBR/DIVR reverse the operands). */
function arith(st: X87State, op: number, dest: number, src: number): number {
  if (op === OP_SUBR) return binary(st, OP_SUB, src, dest);
  if (op === OP_DIVR) return binary(st, OP_DIV, src, dest);
  return binary(st, op, dest, src);
}

function binary(st: X87State, op: number, a: number, b: number): number {
  if (a !== a || b !== b) return propagateNaN(a, b);
  if (op === OP_ADD || op === OP_SUB) {
    const bb = op === OP_SUB ? -b : b;
    if (!isFinite(a) && !isFinite(bb) && a !== bb) {
      exc |= IE;
      return INDEFINITE;
    }
    const s = a + bb;
    if (!isFinite(a) || !isFinite(bb)) return s;
    if (!isFinite(s)) return deliver(st, s, 0);
    if (s === 0) {
      // Exact zero: x + (-x) is +0, except -0 when rounding toward -infinity.
      if (a === 0 && bb === 0 && signBit(a) === signBit(bb)) return a;
      return rc(st) === 1 ? -0 : 0;
    }
    const t = s - a;
    const err = a - (s - t) + (bb - t);
    return deliver(st, s, sign(err));
  }
  if (op === OP_MUL) {
    const negative = (signBit(a) ^ signBit(b)) === 1;
    if ((a === 0 && !isFinite(b)) || (b === 0 && !isFinite(a))) {
      exc |= IE;
      return INDEFINITE;
    }
    const p = a * b;
    if (a === 0 || b === 0 || !isFinite(a) || !isFinite(b)) return p;
    if (inSafeRange(a) && inSafeRange(b)) return deliver(st, p, sign(productError(a, b, p))); // common case
    if (!isFinite(p)) return deliver(st, p, 0);
    const ea = exponentOf(a),
      eb = exponentOf(b);
    const as = Math.abs(scaleBy(a, -ea)),
      bs = Math.abs(scaleBy(b, -eb));
    const ps = as * bs;
    const pBack = Math.abs(scaleBy(p, -(ea + eb)));
    let d = ps !== pBack ? sign(ps - pBack) : sign(productError(as, bs, ps));
    if (p === 0) return deliverTiny(st, negative, d);
    if (negative) d = -d;
    return deliver(st, p, d);
  }
  // Division.
  const negative = (signBit(a) ^ signBit(b)) === 1;
  if ((a === 0 && b === 0) || (!isFinite(a) && !isFinite(b))) {
    exc |= IE;
    return INDEFINITE;
  }
  if (b === 0) {
    if (isFinite(a)) exc |= ZE;
    return negative ? -Infinity : Infinity;
  }
  const q = a / b;
  if (a === 0 || !isFinite(a) || !isFinite(b)) return q;
  if (inSafeRange(a) && inSafeRange(b)) {
    // Common case: q*b and its error term are exact, so is the remainder a - q*b.
    const p = q * b;
    return deliver(st, q, sign(a - p - productError(q, b, p)) * sign(b));
  }
  if (!isFinite(q)) return deliver(st, q, 0);
  const ea = exponentOf(a),
    eb = exponentOf(b);
  const as = Math.abs(scaleBy(a, -ea)),
    bs = Math.abs(scaleBy(b, -eb));
  const qs = as / bs;
  const qBack = Math.abs(scaleBy(q, -(ea - eb)));
  let d: number;
  if (qs !== qBack) d = sign(qs - qBack);
  else {
    const p = qs * bs;
    d = sign(as - p - productError(qs, bs, p));
  }
  if (q === 0) return deliverTiny(st, negative, d);
  if (negative) d = -d;
  return deliver(st, q, d);
}

/** A nonzero exact result that rounded to zero in float64. */
function deliverTiny(st: X87State, negative: boolean, d: number): number {
  exc |= UE | PE;
  const mode = rc(st);
  const r = negative ? -0 : 0;
  if ((mode === 2 && !negative && d > 0) || (mode === 1 && negative)) {
    roundedUp = 1;
    return negative ? -pow2(-1074) : pow2(-1074);
  }
  roundedUp = 0;
  return r;
}

function sqrtOf(st: X87State, a: number): number {
  if (a !== a) return propagateNaN(a, a);
  if (a === 0) return a;
  if (a < 0) {
    exc |= IE;
    return INDEFINITE;
  }
  if (!isFinite(a)) return a;
  let e = exponentOf(a);
  if (e & 1) e -= 1;
  const as = scaleBy(a, -e);
  const s = Math.sqrt(as);
  const p = s * s;
  const d = sign(as - p - productError(s, s, p));
  return deliver(st, scaleBy(s, e / 2), d);
}

/** Rounds to an integer under the rounding control (FRNDINT and FIST). */
function roundToInteger(v: number, mode: number): number {
  switch (mode) {
    case 0: {
      let r = Math.round(v);
      if (r - v === 0.5 && r % 2 !== 0) r -= 1;
      if (r === 0 && v < 0) return -0;
      return r;
    }
    case 1:
      return Math.floor(v);
    case 2:
      return Math.ceil(v);
    default:
      return Math.trunc(v);
  }
}

// ---------------------------------------------------------------------------------------------
// Memory formats.

// Host reads normalised to unsigned values (a CPU may hand back int32 words).
function rd32(host: X87Host, l: number): number {
  return host.read32(l) >>> 0;
}
function rd16(host: X87Host, l: number): number {
  return host.read16(l) & 0xffff;
}
function rd8(host: X87Host, l: number): number {
  return host.read8(l) & 0xff;
}

function readF32(host: X87Host, l: number): number {
  const b = rd32(host, l);
  if ((b & 0x7f800000) === 0x7f800000 && b & 0x7fffff) {
    // Widen a NaN by bits: a JS float32->float64 conversion would quiet a signalling NaN.
    return memoryOperand(fromBits((b & 0x80000000) | 0x7ff00000 | ((b & 0x7fffff) >>> 3), (b & 7) << 29));
  }
  const v = f32FromBits(b);
  return memoryOperand(v, (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0);
}
function readF64(host: X87Host, l: number): number {
  const lo = rd32(host, l),
    hi = rd32(host, l + 4);
  const v = fromBits(hi, lo);
  return memoryOperand(v, ((hi >>> 20) & 0x7ff) === 0 && v !== 0);
}
/** Flags for a single/double memory operand: SNaN -> IE and quieted, denormal -> DE. */
function memoryOperand(v: number, denormal = false): number {
  if (denormal) exc |= DE;
  if (isSignaling(v)) {
    exc |= IE;
    return quiet(v);
  }
  return v;
}

/** The 80-bit form of a float64: [mantissa low 32, mantissa high 32, sign/exponent 16]. */
function toExtended(v: number): [number, number, number] {
  const hi = hiOf(v),
    lo = loOf(v);
  const s = (hi >>> 31) << 15;
  const e = (hi >>> 20) & 0x7ff;
  const mHi = ((hi & 0xfffff) << 11) | (lo >>> 21);
  const mLo = (lo << 11) >>> 0;
  if (e === 0x7ff) return [mLo, (0x80000000 | mHi) >>> 0, s | 0x7fff];
  if (e === 0) {
    if ((hi & 0xfffff) === 0 && lo === 0) return [0, 0, s];
    const [l2, h2, se2] = toExtended(v * 18446744073709551616);
    return [l2, h2, (se2 & 0x8000) | ((se2 & 0x7fff) - 64)];
  }
  return [mLo, (0x80000000 | mHi) >>> 0, s | (e - 1023 + 16383)];
}

/** A float64 from the 80-bit form (rounded to nearest-even where it does not fit). */
function fromExtended(mLo: number, mHi: number, se: number): number {
  const negative = (se & 0x8000) !== 0;
  const e = se & 0x7fff;
  if (e === 0x7fff) {
    if ((mHi & 0x7fffffff) === 0 && mLo === 0) {
      if (!(mHi & 0x80000000)) return INDEFINITE; // pseudo-infinity: unsupported
      return negative ? -Infinity : Infinity;
    }
    if (!(mHi & 0x80000000)) return INDEFINITE; // pseudo-NaN: unsupported
    let fh = (mHi >>> 11) & 0xfffff;
    let fl = (((mHi & 0x7ff) << 21) | (mLo >>> 11)) >>> 0;
    if (fh === 0 && fl === 0) fl = 1; // payload only in the lost low bits: stay a NaN
    fh |= 0;
    return fromBits((negative ? 0x80000000 : 0) | 0x7ff00000 | fh, fl);
  }
  if (mHi === 0 && mLo === 0) return negative ? -0 : 0;
  if (e !== 0 && !(mHi & 0x80000000)) return INDEFINITE; // unnormal: unsupported
  const unbiased = (e === 0 ? 1 : e) - 16383 - 63;
  // mHi*2^32 + mLo rounds once to 53 bits; the power-of-two scaling is then exact unless the
  // result lands in float64's subnormal range.
  let m = mHi * 4294967296 + mLo;
  if (unbiased + 63 > 1024) return negative ? -Infinity : Infinity;
  if (unbiased + 63 < -1140) return negative ? -0 : 0;
  m = scaleBy(m, unbiased);
  return negative ? -m : m;
}

function readF80(host: X87Host, l: number): number {
  const lo = rd32(host, l),
    hi = rd32(host, l + 4),
    se = rd16(host, l + 8);
  return fromExtended(lo, hi, se);
}
function writeF80(host: X87Host, l: number, v: number): void {
  const [lo, hi, se] = toExtended(v);
  host.write32(l, lo);
  host.write32(l + 4, hi);
  host.write16(l + 8, se);
}

/** float64 -> float32 bits under the rounding control, with x87 store flags. */
function toSingleBits(st: X87State, v: number): number {
  if (v !== v) {
    if (isSignaling(v)) exc |= IE;
    const hi = hiOf(v),
      lo = loOf(v);
    return ((hi & 0x80000000) | 0x7fc00000 | ((hi & 0xfffff) << 3) | (lo >>> 29)) >>> 0;
  }
  if (v === 0 || !isFinite(v)) return f32Bits(v);
  return f32Bits(roundToSingle(v, 0, rc(st)));
}

// ---------------------------------------------------------------------------------------------
// Integer conversions.

const INT_RANGE: Record<number, [number, number]> = {
  16: [-32768, 32767],
  32: [-2147483648, 2147483647],
  // 2^63 - 1 is not a double; values are checked against 2^63 (exclusive) below.
  64: [-(2 ** 63), 2 ** 63],
};

/** Converts for FIST: the integer, or null for the integer indefinite (after flags). */
function toInteger(st: X87State, v: number, bits: number): number | null {
  if (v !== v || !isFinite(v)) {
    exc |= IE;
    return null;
  }
  const r = roundToInteger(v, rc(st));
  const [min, max] = INT_RANGE[bits]!;
  if (r < min || r > max || (bits === 64 && r >= max)) {
    exc |= IE;
    return null;
  }
  if (r !== v) {
    exc |= PE;
    roundedUp = Math.abs(r) > Math.abs(v) ? 1 : 0;
  }
  return r;
}

function writeInt(host: X87Host, l: number, bits: number, r: number | null): void {
  if (bits === 16) host.write16(l, r === null ? 0x8000 : r & 0xffff);
  else if (bits === 32) host.write32(l, r === null ? 0x80000000 : r >>> 0);
  else {
    if (r === null) {
      host.write32(l, 0);
      host.write32(l + 4, 0x80000000);
      return;
    }
    const hi = Math.floor(r / 4294967296);
    host.write32(l, (r - hi * 4294967296) >>> 0);
    host.write32(l + 4, hi >>> 0);
  }
}

function readInt(host: X87Host, l: number, bits: number): number {
  if (bits === 16) return (rd16(host, l) << 16) >> 16;
  if (bits === 32) return rd32(host, l) | 0;
  const lo = rd32(host, l) >>> 0,
    hi = rd32(host, l + 4) | 0;
  return hi * 4294967296 + lo;
}

// ---------------------------------------------------------------------------------------------
// Comparisons.

/** Compares a with b: -1 less, 0 equal, 1 greater, 2 unordered. `quietOk` = FUCOM rules. */
function compare(a: number, b: number, quietOk: boolean): number {
  if (a !== a || b !== b) {
    if (!quietOk || isSignaling(a) || isSignaling(b)) exc |= IE;
    return 2;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
function setCompareCodes(st: X87State, result: number): void {
  let cc = 0;
  if (result === -1) cc = C0;
  else if (result === 0) cc = C3;
  else if (result === 2) cc = C0 | C2 | C3;
  st.status = (st.status & ~CC_MASK) | cc;
}
function setCompareEflags(host: X87Host, result: number): void {
  let f = host.getEflags() & ~(CF | PF | AF | ZF | SFLAG | OF);
  if (result === -1) f |= CF;
  else if (result === 0) f |= ZF;
  else if (result === 2) f |= ZF | PF | CF;
  host.setEflags(f);
}

// ---------------------------------------------------------------------------------------------
// Environment images.

function fullTag(st: X87State): number {
  // The stored tag word reflects register contents; keep it exact for non-empty registers.
  let t = 0;
  for (let p = 0; p < 8; p++) {
    const cur = tagOfPhys(st, p);
    t |= (cur === TAG_EMPTY ? TAG_EMPTY : classTag(st.regs[p]!)) << (p * 2);
  }
  return t;
}

function writeEnv(st: X87State, host: X87Host, l: number, op32: boolean): void {
  const tag = fullTag(st);
  if (op32) {
    host.write32(l, 0xffff0000 | st.control);
    host.write32(l + 4, 0xffff0000 | st.status);
    host.write32(l + 8, 0xffff0000 | tag);
    host.write32(l + 12, st.fip);
    host.write32(l + 16, ((st.fop & 0x7ff) << 16) | (st.fcs & 0xffff));
    host.write32(l + 20, st.fdp);
    host.write32(l + 24, 0xffff0000 | (st.fds & 0xffff));
  } else {
    host.write16(l, st.control);
    host.write16(l + 2, st.status);
    host.write16(l + 4, tag);
    host.write16(l + 6, st.fip & 0xffff);
    host.write16(l + 8, st.fcs & 0xffff);
    host.write16(l + 10, st.fdp & 0xffff);
    host.write16(l + 12, st.fds & 0xffff);
  }
}

interface Env {
  control: number;
  status: number;
  tag: number;
  fip: number;
  fcs: number;
  fop: number;
  fdp: number;
  fds: number;
}

function readEnv(host: X87Host, l: number, op32: boolean): Env {
  if (op32) {
    const w4 = rd32(host, l + 16);
    return {
      control: rd16(host, l),
      status: rd16(host, l + 4),
      tag: rd16(host, l + 8),
      fip: rd32(host, l + 12) >>> 0,
      fcs: w4 & 0xffff,
      fop: (w4 >>> 16) & 0x7ff,
      fdp: rd32(host, l + 20) >>> 0,
      fds: rd16(host, l + 24),
    };
  }
  return {
    control: rd16(host, l),
    status: rd16(host, l + 2),
    tag: rd16(host, l + 4),
    fip: rd16(host, l + 6),
    fcs: rd16(host, l + 8),
    fop: 0,
    fdp: rd16(host, l + 10),
    fds: rd16(host, l + 12),
  };
}

function applyEnv(st: X87State, env: Env): void {
  st.control = env.control | 0x40; // bit 6 reads as one
  st.status = env.status;
  st.fip = env.fip;
  st.fcs = env.fcs;
  st.fop = env.fop;
  st.fdp = env.fdp;
  st.fds = env.fds;
  // Only "empty" is taken from the image; other tags follow from the registers.
  let t = 0;
  for (let p = 0; p < 8; p++) {
    t |= (((env.tag >>> (p * 2)) & 3) === TAG_EMPTY ? TAG_EMPTY : classTag(st.regs[p]!)) << (p * 2);
  }
  st.tag = t;
  updateSummary(st);
}

/** Keeps ES/B consistent with the exception flags and masks. */
function updateSummary(st: X87State): void {
  if (st.status & ~st.control & 0x3f) st.status |= ES | BUSY;
  else st.status &= ~(ES | BUSY);
}

// ---------------------------------------------------------------------------------------------
// FXSAVE / FXRSTOR (the FPU part of the 512-byte image).

export function fxsave(st: X87State, host: X87Host, linear: number): void {
  let abridged = 0;
  for (let p = 0; p < 8; p++) if (tagOfPhys(st, p) !== TAG_EMPTY) abridged |= 1 << p;
  host.write16(linear, st.control);
  host.write16(linear + 2, st.status);
  host.write16(linear + 4, abridged);
  host.write16(linear + 6, st.fop & 0x7ff);
  host.write32(linear + 8, st.fip);
  host.write32(linear + 12, st.fcs & 0xffff);
  host.write32(linear + 16, st.fdp);
  host.write32(linear + 20, st.fds & 0xffff);
  host.write32(linear + 24, 0x1f80); // MXCSR at its reset value (no SSE unit)
  host.write32(linear + 28, 0xffff); // MXCSR_MASK
  for (let i = 0; i < 8; i++) {
    const base = linear + 32 + i * 16;
    writeF80(host, base, st.regs[physOf(st, i)]!);
    host.write16(base + 10, 0);
    host.write32(base + 12, 0);
  }
}

export function fxrstor(st: X87State, host: X87Host, linear: number): void {
  const control = rd16(host, linear);
  const status = rd16(host, linear + 2);
  const abridged = rd8(host, linear + 4);
  const fop = rd16(host, linear + 6) & 0x7ff;
  const fip = rd32(host, linear + 8) >>> 0;
  const fcs = rd16(host, linear + 12);
  const fdp = rd32(host, linear + 16) >>> 0;
  const fds = rd16(host, linear + 20);
  const values = new Float64Array(8);
  for (let i = 0; i < 8; i++) values[i] = readF80(host, linear + 32 + i * 16);
  // Everything read: now commit.
  st.control = control | 0x40;
  st.status = status;
  st.fop = fop;
  st.fip = fip;
  st.fcs = fcs;
  st.fdp = fdp;
  st.fds = fds;
  const t = (status >>> 11) & 7;
  let tag = 0;
  for (let i = 0; i < 8; i++) {
    const p = (t + i) & 7;
    st.regs[p] = values[i]!;
  }
  for (let p = 0; p < 8; p++) tag |= (abridged & (1 << p) ? classTag(st.regs[p]!) : TAG_EMPTY) << (p * 2);
  st.tag = tag;
  updateSummary(st);
}

// ---------------------------------------------------------------------------------------------
// Constants for FLD1..FLDZ (rounded to double; the D9 E8..EE forms).

const LOAD_CONSTANTS: Record<number, number> = {
  0xe8: 1,
  0xe9: fromBits(0x400a934f, 0x0979a371), // log2(10)
  0xea: fromBits(0x3ff71547, 0x652b82fe), // log2(e)
  0xeb: fromBits(0x400921fb, 0x54442d18), // pi
  0xec: fromBits(0x3fd34413, 0x509f79ff), // log10(2)
  0xed: fromBits(0x3fe62e42, 0xfefa39ef), // ln(2)
  0xee: 0,
};

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
  if (!isNoWait(opcode, modrm) && st.status & ES) return true;
  exc = 0;
  roundedUp = 0;
  const handled =
    modrm < 0xc0
      ? executeMemory(st, host, opcode, modrm, linear, operandSize32)
      : executeRegister(st, host, opcode, modrm);
  if (!handled) throw new X87Undefined(opcode, modrm);
  if (!isControl(opcode, modrm)) {
    st.fip = instructionEip >>> 0;
    st.fop = ((opcode & 7) << 8) | modrm;
    if (modrm < 0xc0) st.fdp = linear >>> 0;
  }
  return false;
}

/** Merges this instruction's exceptions into the status word; false if an unmasked one blocks the result. */
function finish(st: X87State): boolean {
  st.status |= exc;
  updateSummary(st);
  // Invalid-operation and divide-by-zero (and denormal-operand) exceptions, when unmasked,
  // suppress the result; overflow/underflow/precision deliver it.
  return masked(st, exc & (IE | ZE | DE));
}
function setC1(st: X87State, v: number): void {
  st.status = (st.status & ~C1) | (v ? C1 : 0);
}

/** Result of an operation that writes ST(dest) (optionally popping afterwards). */
function commitST(st: X87State, dest: number, v: number, popAfter: boolean): void {
  setC1(st, roundedUp);
  if (finish(st)) setST(st, dest, v);
  if (popAfter && masked(st, exc & (IE | ZE | DE))) pop(st);
}

function executeMemory(st: X87State, host: X87Host, opcode: number, modrm: number, l: number, op32: boolean): boolean {
  const reg = (modrm >>> 3) & 7;
  switch (opcode) {
    case 0xd8:
    case 0xdc:
    case 0xda:
    case 0xde: {
      const src =
        opcode === 0xd8
          ? readF32(host, l)
          : opcode === 0xdc
            ? readF64(host, l)
            : readInt(host, l, opcode === 0xda ? 32 : 16);
      if (reg === 2 || reg === 3) {
        // FCOM / FCOMP / FICOM / FICOMP
        if (isEmpty(st, 0)) {
          underflow();
          setCompareCodes(st, 2);
        } else setCompareCodes(st, compare(getST(st, 0), src, false));
        setC1(st, 0);
        const ok = finish(st);
        if (reg === 3 && ok) pop(st);
        return true;
      }
      if (isEmpty(st, 0)) {
        underflow();
        commitST(st, 0, INDEFINITE, false);
        return true;
      }
      commitST(st, 0, arith(st, reg, getST(st, 0), src), false);
      return true;
    }
    case 0xd9:
      switch (reg) {
        case 0: {
          const v = readF32(host, l);
          loadValue(st, v);
          return true;
        }
        case 2:
        case 3:
          storeFloat(st, host, l, 32, reg === 3);
          return true;
        case 4: {
          const env = readEnv(host, l, op32);
          applyEnv(st, env);
          return true;
        }
        case 5: {
          const cw = rd16(host, l);
          st.control = (cw & 0x1f3f) | 0x40;
          updateSummary(st);
          return true;
        }
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
        case 0:
          loadValue(st, readInt(host, l, 32));
          return true;
        case 2:
        case 3:
          storeInt(st, host, l, 32, reg === 3);
          return true;
        case 5:
          loadValue(st, readF80(host, l));
          return true;
        case 7:
          storeFloat(st, host, l, 80, true);
          return true;
      }
      return false;
    case 0xdd:
      switch (reg) {
        case 0:
          loadValue(st, readF64(host, l));
          return true;
        case 2:
        case 3:
          storeFloat(st, host, l, 64, reg === 3);
          return true;
        case 4: {
          // FRSTOR
          const env = readEnv(host, l, op32);
          const base = l + (op32 ? 28 : 14);
          const values = new Float64Array(8);
          for (let i = 0; i < 8; i++) values[i] = readF80(host, base + i * 10);
          const t = (env.status >>> 11) & 7;
          for (let i = 0; i < 8; i++) st.regs[(t + i) & 7] = values[i]!;
          applyEnv(st, env);
          return true;
        }
        case 6: {
          // FNSAVE
          writeEnv(st, host, l, op32);
          const base = l + (op32 ? 28 : 14);
          for (let i = 0; i < 8; i++) writeF80(host, base + i * 10, getST(st, i));
          finit(st);
          return true;
        }
        case 7:
          host.write16(l, st.status);
          return true;
      }
      return false;
    case 0xdf:
      switch (reg) {
        case 0:
          loadValue(st, readInt(host, l, 16));
          return true;
        case 2:
        case 3:
          storeInt(st, host, l, 16, reg === 3);
          return true;
        case 4:
          loadValue(st, readBcd(host, l));
          return true;
        case 5:
          loadValue(st, readInt(host, l, 64));
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

/** FLD/FILD/FBLD of an already-read value. */
function loadValue(st: X87State, v: number): void {
  if (!isEmpty(st, 7)) {
    overflow();
    setC1(st, 1);
    if (finish(st)) push(st, INDEFINITE);
    return;
  }
  setC1(st, 0);
  if (finish(st)) push(st, v);
}

function storeFloat(st: X87State, host: X87Host, l: number, bits: number, popAfter: boolean): void {
  let v: number;
  if (isEmpty(st, 0)) {
    underflow();
    v = INDEFINITE;
  } else v = getST(st, 0);
  if (bits === 32) {
    const b = toSingleBits(st, v);
    if (masked(st, exc & IE)) host.write32(l, b);
  } else if (bits === 64) {
    if (isSignaling(v)) exc |= IE;
    const q = v !== v ? quiet(v) : v;
    if (masked(st, exc & IE)) {
      host.write32(l, loOf(q));
      host.write32(l + 4, hiOf(q));
    }
  } else if (masked(st, exc & IE)) writeF80(host, l, v); // m80 keeps a signalling NaN as is
  setC1(st, roundedUp);
  st.status |= exc;
  updateSummary(st);
  if (popAfter && masked(st, exc & IE)) pop(st);
}

function storeInt(st: X87State, host: X87Host, l: number, bits: number, popAfter: boolean): void {
  let r: number | null = null;
  if (isEmpty(st, 0)) underflow();
  else r = toInteger(st, getST(st, 0), bits);
  if (masked(st, exc & IE)) writeInt(host, l, bits, r);
  setC1(st, roundedUp);
  st.status |= exc;
  updateSummary(st);
  if (popAfter && masked(st, exc & IE)) pop(st);
}

function readBcd(host: X87Host, l: number): number {
  let v = 0;
  for (let i = 8; i >= 0; i--) {
    const b = rd8(host, l + i);
    v = v * 100 + (b >>> 4) * 10 + (b & 15);
  }
  return rd8(host, l + 9) & 0x80 ? -v : v === 0 ? 0 : v;
}

function storeBcd(st: X87State, host: X87Host, l: number): void {
  let r: number | null = null;
  if (isEmpty(st, 0)) underflow();
  else {
    const v = getST(st, 0);
    if (v !== v || !isFinite(v)) exc |= IE;
    else {
      const n = roundToInteger(v, rc(st));
      if (Math.abs(n) >= 1e18)
        exc |= IE; // more than 18 decimal digits
      else {
        if (n !== v) {
          exc |= PE;
          roundedUp = Math.abs(n) > Math.abs(v) ? 1 : 0;
        }
        r = n;
      }
    }
  }
  if (masked(st, exc & IE)) {
    const bytes = new Uint8Array(10);
    if (r === null) {
      bytes[7] = 0xc0; // packed BCD indefinite: FFFF C000 0000 0000 0000
      bytes[8] = 0xff;
      bytes[9] = 0xff;
    } else {
      let m = Math.abs(r);
      for (let i = 0; i < 9; i++) {
        const lo = m % 10;
        m = Math.floor(m / 10);
        const hi = m % 10;
        m = Math.floor(m / 10);
        bytes[i] = (hi << 4) | lo;
      }
      if (signBit(r)) bytes[9] = 0x80;
    }
    for (let i = 0; i < 10; i++) host.write8(l + i, bytes[i]!);
  }
  setC1(st, roundedUp);
  st.status |= exc;
  updateSummary(st);
  if (masked(st, exc & IE)) pop(st);
}

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
    commitST(st, dest, INDEFINITE, popAfter);
    return true;
  }
  commitST(st, dest, arith(st, op, getST(st, dest), getST(st, src)), popAfter);
  return true;
}

/** FCOM family with ST(i); pops = 0, 1, or 2. */
function fcom(st: X87State, i: number, pops: number, quietOk: boolean): boolean {
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    setCompareCodes(st, 2);
  } else setCompareCodes(st, compare(getST(st, 0), getST(st, i), quietOk));
  setC1(st, 0);
  if (finish(st)) for (let k = 0; k < pops; k++) pop(st);
  return true;
}

function fcomi(st: X87State, host: X87Host, i: number, quietOk: boolean, popAfter: boolean): boolean {
  let result = 2;
  if (isEmpty(st, 0) || isEmpty(st, i)) underflow();
  else result = compare(getST(st, 0), getST(st, i), quietOk);
  setC1(st, 0);
  const ok = finish(st);
  if (ok) {
    setCompareEflags(host, result);
    if (popAfter) pop(st);
  }
  return true;
}

function fcmov(st: X87State, host: X87Host, cond: number, negate: boolean, i: number): boolean {
  const f = host.getEflags();
  let take = cond === 0 ? f & CF : cond === 1 ? f & ZF : cond === 2 ? f & (CF | ZF) : f & PF;
  if (negate) take = take ? 0 : 1;
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    setC1(st, 0);
    if (finish(st)) setST(st, 0, INDEFINITE);
    return true;
  }
  setC1(st, 0);
  if (take) copyST(st, 0, i);
  return true;
}

function fxch(st: X87State, i: number): boolean {
  if (isEmpty(st, 0) || isEmpty(st, i)) {
    underflow();
    setC1(st, 0);
    if (!finish(st)) return true;
    // Masked underflow: empty operands become the indefinite first, then exchange.
    if (isEmpty(st, 0)) setST(st, 0, INDEFINITE);
    if (isEmpty(st, i)) setST(st, i, INDEFINITE);
  }
  const p0 = physOf(st, 0),
    pi = physOf(st, i);
  const u = regWords(st);
  const lo = u[p0 * 2]!,
    hi = u[p0 * 2 + 1]!;
  u[p0 * 2] = u[pi * 2]!;
  u[p0 * 2 + 1] = u[pi * 2 + 1]!;
  u[pi * 2] = lo;
  u[pi * 2 + 1] = hi;
  const t0 = tagOfPhys(st, p0);
  setTagPhys(st, p0, tagOfPhys(st, pi));
  setTagPhys(st, pi, t0);
  setC1(st, 0);
  return true;
}

function fstReg(st: X87State, i: number, popAfter: boolean): boolean {
  if (isEmpty(st, 0)) {
    underflow();
    setC1(st, 0);
    if (finish(st)) {
      setST(st, i, INDEFINITE);
      if (popAfter) pop(st);
    }
    return true;
  }
  copyST(st, i, 0);
  setC1(st, 0);
  if (popAfter) pop(st);
  return true;
}

/** The D9 E0..FF operations dispatched below (others in that row are handled earlier or reserved). */
const D9_OPERATIONS = new Set([
  0xe0, 0xe1, 0xe4, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff,
]);
/** Those that also read ST(1): FYL2X, FPATAN, FPREM1, FPREM, FYL2XP1, FSCALE. */
const D9_BINARY = new Set([0xf1, 0xf3, 0xf5, 0xf8, 0xf9, 0xfd]);

/** Operations on ST(0) alone (or ST(0) and ST(1)): the D9 register row. */
function executeD9(st: X87State, modrm: number): boolean {
  const i = modrm & 7;
  if (modrm < 0xc8) {
    // FLD ST(i)
    if (!isEmpty(st, 7)) {
      overflow();
      setC1(st, 1);
      if (finish(st)) push(st, INDEFINITE);
      return true;
    }
    if (isEmpty(st, i)) {
      underflow();
      setC1(st, 0);
      if (finish(st)) push(st, INDEFINITE);
      return true;
    }
    const srcPhys = physOf(st, i);
    setTop(st, top(st) - 1);
    const u = regWords(st);
    const p = physOf(st, 0);
    u[p * 2] = u[srcPhys * 2]!;
    u[p * 2 + 1] = u[srcPhys * 2 + 1]!;
    setTagPhys(st, p, tagOfPhys(st, srcPhys));
    setC1(st, 0);
    return true;
  }
  if (modrm < 0xd0) return fxch(st, i);
  if (modrm === 0xd0) return true; // FNOP
  if (modrm < 0xd8) return false;
  if (modrm < 0xe0) return fstReg(st, i, true); // FSTP1 alias
  if (modrm >= 0xe8 && modrm <= 0xee) {
    // FLD1, FLDL2T, FLDL2E, FLDPI, FLDLG2, FLDLN2, FLDZ
    loadValue(st, LOAD_CONSTANTS[modrm]!);
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
  }
  if (modrm === 0xe5) {
    fxam(st);
    return true;
  }
  if (!D9_OPERATIONS.has(modrm)) return false;
  // Everything below reads ST(0); FYL2X, FPATAN, FSCALE, FPREM, FPREM1, FYL2XP1 also ST(1).
  const needsSt1 = D9_BINARY.has(modrm);
  if (isEmpty(st, 0) || (needsSt1 && isEmpty(st, 1))) {
    underflow();
    setC1(st, 0);
    const ok = finish(st);
    if (!ok) return true;
    if (modrm === 0xe4) setCompareCodes(st, 2);
    else if (modrm === 0xf1 || modrm === 0xf3 || modrm === 0xf9) {
      setST(st, 1, INDEFINITE);
      pop(st);
    } else if (modrm === 0xf2 || modrm === 0xf4 || modrm === 0xfb) {
      // Two-result operations: both results become the indefinite (if there is room).
      setST(st, 0, INDEFINITE);
      if (isEmpty(st, 7)) push(st, INDEFINITE);
    } else setST(st, 0, INDEFINITE);
    return true;
  }
  const x = getST(st, 0);
  switch (modrm) {
    case 0xe0: // FCHS
      setST(st, 0, fromBits(hiOf(x) ^ 0x80000000, loOf(x)));
      setC1(st, 0);
      return true;
    case 0xe1: // FABS
      setST(st, 0, fromBits(hiOf(x) & 0x7fffffff, loOf(x)));
      setC1(st, 0);
      return true;
    case 0xe4: // FTST
      setCompareCodes(st, compare(x, 0, false));
      setC1(st, 0);
      finish(st);
      return true;
    case 0xfa: // FSQRT
      commitST(st, 0, sqrtOf(st, x), false);
      return true;
    case 0xfc: {
      // FRNDINT
      if (x !== x) {
        commitST(st, 0, propagateNaN(x, x), false);
        return true;
      }
      const r = isFinite(x) ? roundToInteger(x, rc(st)) : x;
      if (r !== x) {
        exc |= PE;
        roundedUp = Math.abs(r) > Math.abs(x) ? 1 : 0;
      }
      commitST(st, 0, r, false);
      return true;
    }
    case 0xfd: {
      // FSCALE: ST(0) * 2^trunc(ST(1))
      const y = getST(st, 1);
      let r: number;
      if (x !== x || y !== y) r = propagateNaN(x, y);
      else if (!isFinite(y)) {
        if ((y > 0 && x === 0) || (y < 0 && !isFinite(x))) {
          exc |= IE;
          r = INDEFINITE;
        } else r = y > 0 ? (x === 0 ? x : x * Infinity) : isFinite(x) ? x * 0 : x;
      } else {
        const n = Math.trunc(y);
        r = x === 0 || !isFinite(x) ? x : scaleBy(x, Math.max(-5000, Math.min(5000, n)));
        if (x !== 0 && isFinite(x) && (r === 0 || !isFinite(r))) r = deliver(st, r, 0);
      }
      commitST(st, 0, r, false);
      return true;
    }
    case 0xf4: {
      // FXTRACT: ST(0) = exponent, then push the significand.
      let e: number, s: number;
      if (x !== x) e = s = propagateNaN(x, x);
      else if (x === 0) {
        exc |= ZE;
        e = -Infinity;
        s = x;
      } else if (!isFinite(x)) {
        e = Infinity;
        s = x;
      } else {
        const k = exponentOf(x);
        e = k;
        s = scaleBy(x, -k);
      }
      if (!isEmpty(st, 7)) {
        overflow();
        setC1(st, 1);
        if (finish(st)) {
          setST(st, 0, INDEFINITE);
          push(st, INDEFINITE);
        }
        return true;
      }
      setC1(st, 0);
      if (finish(st)) {
        setST(st, 0, e);
        push(st, s);
      }
      return true;
    }
    case 0xf8: // FPREM
    case 0xf5: // FPREM1
      fprem(st, x, getST(st, 1), modrm === 0xf5);
      return true;
    case 0xf0: {
      // F2XM1 (defined for -1 <= x <= 1)
      let r: number;
      if (x !== x) r = propagateNaN(x, x);
      else if (x === 0) r = x;
      else {
        r = x === -Infinity ? -1 : Math.expm1(x * Math.LN2);
        if (isFinite(x)) exc |= PE;
      }
      commitST(st, 0, r, false);
      return true;
    }
    case 0xf1: // FYL2X: ST(1) * log2(ST(0)), pop
    case 0xf9: {
      // FYL2XP1: ST(1) * log2(ST(0) + 1), pop
      const y = getST(st, 1);
      let r: number;
      if (x !== x || y !== y) r = propagateNaN(x, y);
      else {
        const arg = modrm === 0xf1 ? x : x + 1;
        if (arg < 0 || (modrm === 0xf9 && x < -1)) {
          exc |= IE;
          r = INDEFINITE;
        } else if (arg === 0 && modrm === 0xf1) {
          if (y === 0) {
            exc |= IE;
            r = INDEFINITE;
          } else {
            exc |= ZE;
            r = y > 0 ? -Infinity : Infinity;
          }
        } else {
          const lg = modrm === 0xf1 ? Math.log2(x) : Math.log1p(x) / Math.LN2;
          if ((lg === 0 && !isFinite(y)) || (!isFinite(lg) && y === 0)) {
            exc |= IE;
            r = INDEFINITE;
          } else {
            r = y * lg;
            if (lg !== 0 && isFinite(lg) && isFinite(y) && y !== 0) exc |= PE;
          }
        }
      }
      setC1(st, 0);
      if (finish(st)) {
        setST(st, 1, r);
        pop(st);
      }
      return true;
    }
    case 0xf3: {
      // FPATAN: ST(1) = atan2(ST(1), ST(0)), pop
      const y = getST(st, 1);
      const r = x !== x || y !== y ? propagateNaN(y, x) : Math.atan2(y, x);
      if (r === r && y !== 0 && isFinite(r)) exc |= PE;
      setC1(st, 0);
      if (finish(st)) {
        setST(st, 1, r);
        pop(st);
      }
      return true;
    }
    case 0xfe: // FSIN
    case 0xff: // FCOS
    case 0xf2: // FPTAN
    case 0xfb: {
      // FSINCOS
      if (x === x && isFinite(x) && Math.abs(x) >= 9223372036854775808) {
        st.status |= C2; // out of range: operand unchanged
        return true;
      }
      st.status &= ~C2;
      let a: number,
        b: number | null = null;
      if (x !== x) a = propagateNaN(x, x);
      else if (!isFinite(x)) {
        exc |= IE;
        a = INDEFINITE;
      } else if (modrm === 0xfe) a = Math.sin(x);
      else if (modrm === 0xff) a = Math.cos(x);
      else if (modrm === 0xf2) {
        a = Math.tan(x);
        b = 1;
      } else {
        a = Math.sin(x);
        b = Math.cos(x);
      }
      if (modrm === 0xfb && (x !== x || !isFinite(x))) b = a;
      if (modrm === 0xf2 && (x !== x || !isFinite(x))) b = a;
      if (x === x && isFinite(x) && x !== 0) exc |= PE;
      if ((modrm === 0xf2 || modrm === 0xfb) && !isEmpty(st, 7)) {
        overflow();
        setC1(st, 1);
        if (finish(st)) {
          setST(st, 0, INDEFINITE);
          push(st, INDEFINITE);
        }
        return true;
      }
      setC1(st, 0);
      if (!finish(st)) return true;
      if (b === null) setST(st, 0, a);
      else if (modrm === 0xf2) {
        setST(st, 0, a);
        push(st, b);
      } else {
        // FSINCOS: ST(0) = sin, then push cos (cos ends up in ST(0)).
        setST(st, 0, a);
        push(st, b);
      }
      return true;
    }
  }
  return false;
}

function fxam(st: X87State): void {
  const p = physOf(st, 0);
  const v = st.regs[p]!;
  let cc: number;
  if (tagOfPhys(st, p) === TAG_EMPTY) cc = C3 | C0;
  else if (v !== v) cc = C0;
  else if (!isFinite(v)) cc = C2 | C0;
  else if (v === 0) cc = C3;
  else cc = C2;
  if (signBit(v)) cc |= C1;
  st.status = (st.status & ~CC_MASK) | cc;
}

/** FPREM (truncating quotient) and FPREM1 (round-to-nearest quotient). */
function fprem(st: X87State, x: number, y: number, ieee: boolean): void {
  let r: number;
  let cc = 0;
  if (x !== x || y !== y) r = propagateNaN(x, y);
  else if (!isFinite(x) || y === 0) {
    exc |= IE;
    r = INDEFINITE;
  } else if (!isFinite(y) || x === 0) r = x;
  else {
    const ex = exponentOf(x),
      ey = exponentOf(y);
    if (ex - ey >= 64) {
      // Partial remainder: reduce by y * 2^(d - n) with n in 32..63, and report incomplete.
      const d = ex - ey;
      const n = 32 + ((d - 32) % 32);
      const yScaled = scaleBy(Math.abs(y), d - n);
      r = x % yScaled;
      cc = C2;
    } else {
      const ax = Math.abs(x),
        ay = Math.abs(y);
      let rem = ax % ay; // exact truncating remainder, in [0, |y|)
      // Low three bits of the quotient: (|x| mod 8|y| - rem) / |y| is a small exact integer.
      const ay8 = 8 * ay;
      let q = isFinite(ay8) ? Math.round(((ax % ay8) - rem) / ay) : Math.round((ax - rem) / ay);
      if (ieee && (2 * rem > ay || (2 * rem === ay && (q & 1) === 1))) {
        rem -= ay; // exact (Sterbenz): the quotient rounds up instead
        q += 1;
      }
      r = x < 0 ? -rem : rem;
      if (r === 0) r = x < 0 ? -0 : 0;
      q &= 7;
      if (q & 1) cc |= C1;
      if (q & 2) cc |= C3;
      if (q & 4) cc |= C0;
    }
  }
  if (finish(st)) {
    st.status = (st.status & ~CC_MASK) | cc;
    setST(st, 0, r);
  }
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0');
}
