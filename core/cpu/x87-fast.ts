// A float64 fast path for FADD/FSUB/FMUL/FDIV, taken only where it is provably the same as the
// 80-bit path: precision control "double" and round-to-nearest, both operands normal values a
// double holds exactly, and a result in the double's normal range. There IEEE double arithmetic
// rounds the exact result to 53 bits exactly as the x87 does; the precision exception and C1
// ("rounded up") come from the exact error of the operation (TwoSum, Dekker's product).

import { BIAS, F80, PE, flags } from './x87-format';

const f64 = new Float64Array(1);
const words = new Uint32Array(f64.buffer);

const MIN_EXP = BIAS - 1022,
  MAX_EXP = BIAS + 1023;
/** Products and quotients of values within 2^±400, and their error terms, stay normal. */
const SAFE = 2 ** 400,
  TINY = 2 ** -400,
  MIN_NORMAL = 2 ** -1022;

/** The double equal to v, or NaN when v is not a normal value a double holds exactly. */
function exactDouble(v: F80): number {
  const e = v.se & 0x7fff;
  if (e < MIN_EXP || e > MAX_EXP || !(v.hi & 0x80000000) || v.lo & 0x7ff) return NaN;
  words[0] = ((v.hi << 21) | (v.lo >>> 11)) >>> 0;
  words[1] = ((v.se & 0x8000) << 16) | ((e - BIAS + 1023) << 20) | ((v.hi >>> 11) & 0xfffff);
  return f64[0]!;
}

function fromNormalDouble(out: F80, r: number): F80 {
  f64[0] = r;
  const lo = words[0]!,
    hi = words[1]!;
  const e = (hi >>> 20) & 0x7ff;
  return out.set(
    ((hi >>> 16) & 0x8000) | (e - 1023 + BIAS),
    0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21),
    lo << 11,
  );
}

function splitHigh(x: number): number {
  const c = 134217729 * x;
  return c - (c - x);
}
/** The exact a*b minus its rounded value p (Dekker). */
function productError(a: number, b: number, p: number): number {
  const ah = splitHigh(a),
    al = a - ah,
    bh = splitHigh(b),
    bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

function safe(x: number): boolean {
  const m = Math.abs(x);
  return m >= TINY && m <= SAFE;
}

export const FAST_ADD = 0,
  FAST_MUL = 1,
  FAST_DIV = 2;

/**
 * a op b (op FAST_ADD with `negateB` for subtraction, FAST_MUL, FAST_DIV) into `out` when the
 * fast path applies; false (nothing changed) otherwise.
 */
export function fastArith(out: F80, op: number, a: F80, b: F80, negateB: boolean, control: number): boolean {
  if ((control & 0xf00) !== 0x200) return false;
  const x = exactDouble(a);
  let y = exactDouble(b);
  if (x !== x || y !== y) return false;
  if (negateB) y = -y;
  let r: number, err: number;
  if (op === FAST_ADD) {
    r = x + y;
    if (r === 0) {
      // x = -y exactly: +0 in round-to-nearest, as on the x87.
      flags.up = 0;
      out.set(0, 0, 0);
      return true;
    }
    const t = r - x;
    err = x - (r - t) + (y - t);
  } else if (op === FAST_MUL) {
    if (!safe(x) || !safe(y)) return false;
    r = x * y;
    err = productError(x, y, r);
  } else {
    if (!safe(x) || !safe(y)) return false;
    r = x / y;
    if (!safe(r)) return false;
    // The exact quotient is r + rem / y with rem = x - r*y computed exactly.
    const p = r * y;
    const rem = x - p - productError(r, y, p);
    err = y > 0 ? rem : -rem;
  }
  const m = Math.abs(r);
  if (!(m >= MIN_NORMAL && m <= Number.MAX_VALUE)) return false;
  if (err !== 0) {
    flags.exc |= PE;
    flags.up = (r > 0 && err < 0) || (r < 0 && err > 0) ? 1 : 0;
  } else flags.up = 0;
  fromNormalDouble(out, r);
  return true;
}
