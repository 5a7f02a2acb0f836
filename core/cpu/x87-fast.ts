// A float64 fast path for FADD/FSUB/FMUL/FDIV, taken only where it is provably the same as the
// 80-bit path: precision control "double" and round-to-nearest, both operands normal values a
// double holds exactly, and a result in the double's normal range. There IEEE double arithmetic
// rounds the exact result to 53 bits exactly as the x87 does; the precision exception and C1
// ("rounded up") come from the exact error of the operation (TwoSum, Dekker's product).

import { PE, flags } from './x87-format';

/** Products and quotients of values within 2^±400, and their error terms, stay normal. */
const SAFE = 2 ** 400,
  TINY = 2 ** -400,
  MIN_NORMAL = 2 ** -1022;

function splitHigh(x: number): number {
  const c = 134217729 * x;
  return c - (c - x);
}
/** The exact a*b minus its rounded value p (Dekker). */
export function productError(a: number, b: number, p: number): number {
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

/**
 * The control word's precision and rounding bits, and their values for precision "double" (this
 * file's fast path) and extended (x87-extended.ts's), both rounding to nearest.
 */
export const PRECISION_ROUNDING = 0xf00,
  DOUBLE_NEAREST = 0x200,
  EXTENDED_NEAREST = 0x300;

/** Whether the control word allows the fast path: precision "double", round to nearest. */
export function fastControl(control: number): boolean {
  return (control & PRECISION_ROUNDING) === DOUBLE_NEAREST;
}

/**
 * x op y for the arithmetic /digit op (0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr) on doubles
 * (NaN = not a usable operand), with PE and C1 in flags; NaN (and nothing raised) when the fast
 * path does not apply. The caller has checked fastControl.
 */
export function fastDouble(op: number, x: number, y: number): number {
  if (x !== x || y !== y) return NaN;
  if (op === 5 || op === 7) {
    const t = x;
    x = y;
    y = t;
    op -= 1;
  }
  let r: number, err: number;
  if (op === 0 || op === 4) {
    if (op === 4) y = -y;
    r = x + y;
    if (r === 0) {
      // x = -y exactly: +0 in round-to-nearest, as on the x87.
      flags.up = 0;
      return 0;
    }
    const t = r - x;
    err = x - (r - t) + (y - t);
  } else if (op === 1) {
    if (!safe(x) || !safe(y)) return NaN;
    r = x * y;
    err = productError(x, y, r);
  } else {
    if (!safe(x) || !safe(y)) return NaN;
    r = x / y;
    if (!safe(r)) return NaN;
    // The exact quotient is r + rem / y with rem = x - r*y computed exactly.
    const p = r * y;
    const rem = x - p - productError(r, y, p);
    err = y > 0 ? rem : -rem;
  }
  const m = Math.abs(r);
  if (!(m >= MIN_NORMAL && m <= Number.MAX_VALUE)) return NaN;
  if (err !== 0) {
    flags.exc |= PE;
    flags.up = (r > 0 && err < 0) || (r < 0 && err > 0) ? 1 : 0;
  } else flags.up = 0;
  return r;
}
