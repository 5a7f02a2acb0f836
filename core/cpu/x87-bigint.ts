// Slow-path helpers between 80-bit values and exact integers (BigInt): used where an operation is
// rare enough that clarity beats speed (division remainders, square roots, FPREM, BCD, the
// transcendentals). Hot paths (add, multiply, loads, stores, compares) use 32-bit limbs instead.

import { BIAS, F80, roundPack, type Rounding, type Unpacked } from './x87-format';

/** The 64-bit significand of an unpacked value as a BigInt. */
export function sigOf(u: Unpacked): bigint {
  return (BigInt(u.hi) << 32n) | BigInt(u.lo);
}

export function bitLength(n: bigint): number {
  if (n === 0n) return 0;
  const hex = n.toString(16);
  return (hex.length - 1) * 4 + 32 - Math.clz32(parseInt(hex[0]!, 16));
}

/**
 * Rounds sign * n * 2^scale (n > 0; `sticky` = the exact value is slightly above n * 2^scale)
 * into `out` (see roundPack for the other parameters).
 */
export function roundBig(out: F80, sign: number, n: bigint, scale: number, sticky: boolean, how: Rounding): F80 {
  const len = bitLength(n);
  let top: bigint;
  if (len > 96) {
    const drop = BigInt(len - 96);
    if (n & ((1n << drop) - 1n)) sticky = true;
    top = n >> drop;
  } else top = n << BigInt(96 - len);
  const exp = scale + len - 1 + BIAS;
  const s2 = Number(top & 0xffffffffn) | (sticky ? 1 : 0);
  return roundPack(out, sign, exp, Number(top >> 64n), Number((top >> 32n) & 0xffffffffn), s2 >>> 0, how);
}

/** floor(sqrt(n)) for n >= 0. */
export function isqrt(n: bigint): bigint {
  if (n < 2n) return n;
  let x = BigInt(Math.floor(Math.sqrt(Number(n))));
  for (;;) {
    const y = (x + n / x) >> 1n;
    if (y >= x && y - x <= 1n) {
      x = y;
      break;
    }
    if (y === x) break;
    x = y;
  }
  while (x * x > n) x -= 1n;
  while ((x + 1n) * (x + 1n) <= n) x += 1n;
  return x;
}
