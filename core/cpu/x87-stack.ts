// The x87 register stack in the machine state: eight physical 80-bit registers held as three
// uint32 words each ([significand low, significand high, sign/exponent]), TOP in the status word,
// and the tag word.

import type { X87State } from './types';
import { extendedOfDouble, extendedResult } from './x87-extended';
import { BIAS, BUSY, ES, F80, TAG_EMPTY, tagOf } from './x87-format';

/** Words per physical register in X87State.regs. */
export const REG_WORDS = 3;

/** The state FNINIT leaves behind (registers zeroed). */
export function createX87State(): X87State {
  return {
    control: 0x037f,
    status: 0,
    tag: 0xffff,
    regs: new Uint32Array(8 * REG_WORDS),
    fip: 0,
    fcs: 0,
    fdp: 0,
    fds: 0,
    fop: 0,
  };
}

export function top(st: X87State): number {
  return (st.status >>> 11) & 7;
}
export function setTop(st: X87State, t: number): void {
  st.status = (st.status & ~0x3800) | ((t & 7) << 11);
}
export function physOf(st: X87State, i: number): number {
  return (((st.status >>> 11) & 7) + i) & 7;
}
export function tagOfPhys(st: X87State, p: number): number {
  return (st.tag >>> (p * 2)) & 3;
}
export function setTagPhys(st: X87State, p: number, t: number): void {
  st.tag = (st.tag & ~(3 << (p * 2))) | (t << (p * 2));
}
export function isEmpty(st: X87State, i: number): boolean {
  return tagOfPhys(st, physOf(st, i)) === TAG_EMPTY;
}

// ---------------------------------------------------------------------------------------------
// The float64 fast path keeps results as doubles: per physical register, the double equal to its
// value when it is a normal value a double holds exactly, else NaN (unknown or not such a value).
// Tied to one register array (bound before every instruction; an imported state brings a new
// array). A fast-path result lives only here until something reads the 80-bit words: `stale` marks
// the registers whose words lag behind their double, and every reader of the words here, in
// x87-env.ts and in exportState (syncRegisters) writes them first, so the words seen are always
// the exact 80-bit value; the double converts to them exactly. Code elsewhere that writes a
// register array in place must call dropShadow afterwards.

/**
 * The cache: `values` by physical register, `of` the register array it belongs to, and `stale`
 * with bit p set when physical register p's words are behind its double (`of`'s registers only).
 * Compiled regions read and write it directly (jit-x87.ts), under the same rules.
 */
export const shadowCache = { values: new Float64Array(8).fill(NaN), of: null as Uint32Array | null, stale: 0 };
const shadow = shadowCache.values;
const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/** Forgets the cached doubles after a bulk write of every register of st's array. */
export function dropShadow(st: X87State): void {
  if (shadowCache.of !== st.regs) return;
  shadow.fill(NaN);
  shadowCache.stale = 0;
}

/** Ties the cache to this state's register array (called before every instruction). */
export function bindShadow(st: X87State): void {
  if (shadowCache.of !== st.regs) {
    if (shadowCache.of) writeStale(shadowCache.of);
    shadowCache.of = st.regs;
    shadow.fill(NaN);
  }
}

/** Brings st's 80-bit register words up to date (before anything outside reads st.regs). */
export function syncRegisters(st: X87State): void {
  if (shadowCache.stale && shadowCache.of === st.regs) writeStale(st.regs);
}

function writeStale(r: Uint32Array): void {
  for (let p = 0; p < 8; p++) if ((shadowCache.stale >>> p) & 1) wordsOfDouble(r, p, shadow[p]!);
  shadowCache.stale = 0;
}

/** Writes the 80-bit words of the normal double v into physical register p of r. */
function wordsOfDouble(r: Uint32Array, p: number, v: number): void {
  extendedOfDouble(v);
  const b = p * REG_WORDS;
  r[b] = extendedResult.lo;
  r[b + 1] = extendedResult.hi;
  r[b + 2] = extendedResult.se;
}

/** Physical register p's words, written first when they lag behind its double. */
function words(st: X87State, p: number): Uint32Array {
  const r = st.regs;
  if ((shadowCache.stale >>> p) & 1 && r === shadowCache.of) {
    wordsOfDouble(r, p, shadow[p]!);
    shadowCache.stale &= ~(1 << p);
  }
  return r;
}

/** The double equal to physical register p, or NaN when it is not a normal double value. */
export function readDouble(st: X87State, p: number): number {
  const cached = shadow[p]!;
  return cached === cached ? cached : convertDouble(st, p);
}

/** readDouble's conversion from the register words (cached when it gives a double). */
function convertDouble(st: X87State, p: number): number {
  const r = st.regs,
    b = p * REG_WORDS;
  const se = r[b + 2]!,
    hi = r[b + 1]!,
    lo = r[b]!;
  const e = se & 0x7fff;
  if (e < BIAS - 1022 || e > BIAS + 1023 || !(hi & 0x80000000) || lo & 0x7ff) return NaN;
  f64Words[0] = ((hi << 21) | (lo >>> 11)) >>> 0;
  f64Words[1] = ((se & 0x8000) << 16) | ((e - BIAS + 1023) << 20) | ((hi >>> 11) & 0xfffff);
  const v = f64[0]!;
  shadow[p] = v;
  return v;
}

/** Makes a normal double v the value of physical register p (tag valid); its words come later. */
export function writeDouble(st: X87State, p: number, v: number): void {
  st.tag &= ~(3 << (p * 2)); // TAG_VALID
  shadow[p] = v;
  shadowCache.stale |= 1 << p;
}

/** Physical register p into v. */
export function readPhys(st: X87State, p: number, v: F80): F80 {
  const r = words(st, p),
    b = p * REG_WORDS;
  return v.set(r[b + 2]!, r[b + 1]!, r[b]!);
}
/** v into physical register p with its tag. */
export function writePhys(st: X87State, p: number, v: F80): void {
  const r = st.regs,
    b = p * REG_WORDS;
  r[b] = v.lo;
  r[b + 1] = v.hi;
  r[b + 2] = v.se & 0xffff;
  setTagPhys(st, p, tagOf(v.se, v.hi, v.lo));
  shadow[p] = NaN;
  shadowCache.stale &= ~(1 << p);
}
export function readST(st: X87State, i: number, v: F80): F80 {
  return readPhys(st, physOf(st, i), v);
}
export function writeST(st: X87State, i: number, v: F80): void {
  writePhys(st, physOf(st, i), v);
}
/** The tag the contents of physical register p call for (ignoring "empty"). */
export function contentTag(st: X87State, p: number): number {
  const r = words(st, p),
    b = p * REG_WORDS;
  return tagOf(r[b + 2]!, r[b + 1]!, r[b]!);
}
/** Copies ST(from) into ST(to) bit for bit (the state bound by bindShadow). */
export function copyST(st: X87State, to: number, from: number): void {
  const t = (((st.status >>> 11) & 7) + to) & 7,
    f = (((st.status >>> 11) & 7) + from) & 7;
  st.tag = (st.tag & ~(3 << (t * 2))) | (((st.tag >>> (f * 2)) & 3) << (t * 2));
  shadow[t] = shadow[f]!;
  if ((shadowCache.stale >>> f) & 1) {
    shadowCache.stale |= 1 << t;
    return;
  }
  shadowCache.stale &= ~(1 << t);
  const r = st.regs,
    pt = t * REG_WORDS,
    pf = f * REG_WORDS;
  r[pt] = r[pf]!;
  r[pt + 1] = r[pf + 1]!;
  r[pt + 2] = r[pf + 2]!;
}

/** Swaps ST(0) and ST(i) with their tags (the state bound by bindShadow). */
export function exchange(st: X87State, i: number): void {
  const p0 = physOf(st, 0),
    pi = physOf(st, i);
  const r = st.regs,
    a = p0 * REG_WORDS,
    b = pi * REG_WORDS;
  for (let k = 0; k < REG_WORDS; k++) {
    const t = r[a + k]!;
    r[a + k] = r[b + k]!;
    r[b + k] = t;
  }
  const t0 = tagOfPhys(st, p0);
  setTagPhys(st, p0, tagOfPhys(st, pi));
  setTagPhys(st, pi, t0);
  const s0 = shadow[p0]!;
  shadow[p0] = shadow[pi]!;
  shadow[pi] = s0;
  const d = ((shadowCache.stale >>> p0) ^ (shadowCache.stale >>> pi)) & 1;
  shadowCache.stale ^= (d << p0) | (d << pi);
}

export function pop(st: X87State): void {
  setTagPhys(st, physOf(st, 0), TAG_EMPTY);
  setTop(st, top(st) + 1);
}
export function push(st: X87State, v: F80): void {
  setTop(st, top(st) - 1);
  writeST(st, 0, v);
}

/** Keeps ES/B consistent with the exception flags and masks. */
export function updateSummary(st: X87State): void {
  if (st.status & ~st.control & 0x3f) st.status |= ES | BUSY;
  else st.status &= ~(ES | BUSY);
}
