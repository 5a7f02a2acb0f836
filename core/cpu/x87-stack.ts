// The x87 register stack in the machine state: eight physical 80-bit registers held as three
// uint32 words each ([significand low, significand high, sign/exponent]), TOP in the status word,
// and the tag word.

import type { X87State } from './types';
import { ES, BUSY, F80, TAG_EMPTY, tagOf } from './x87-format';

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

/** Physical register p into v. */
export function readPhys(st: X87State, p: number, v: F80): F80 {
  const r = st.regs,
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
}
export function readST(st: X87State, i: number, v: F80): F80 {
  return readPhys(st, physOf(st, i), v);
}
export function writeST(st: X87State, i: number, v: F80): void {
  writePhys(st, physOf(st, i), v);
}
/** The tag the contents of physical register p call for (ignoring "empty"). */
export function contentTag(st: X87State, p: number): number {
  const r = st.regs,
    b = p * REG_WORDS;
  return tagOf(r[b + 2]!, r[b + 1]!, r[b]!);
}
/** Copies ST(from) into ST(to) bit for bit. */
export function copyST(st: X87State, to: number, from: number): void {
  const pt = physOf(st, to) * REG_WORDS,
    pf = physOf(st, from) * REG_WORDS;
  const r = st.regs;
  r[pt] = r[pf]!;
  r[pt + 1] = r[pf + 1]!;
  r[pt + 2] = r[pf + 2]!;
  setTagPhys(st, pt / REG_WORDS, tagOfPhys(st, pf / REG_WORDS));
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
