// A fast path for FADD/FSUB/FMUL/FDIV and FCOMI at the precision every Linux process starts with
// (control word 0x037f: 64-bit significands, round to nearest), taken where it is provably the
// same as the general 80-bit code of x87-arith.ts: operands zero or normal with exponents far
// enough inside the range that the result can neither overflow nor underflow (and no zero
// divisor). WebAssembly code does it all on the register words (sign/exponent, significand):
// the exact sum, product or quotient of two normal values rounded once, a zero operand's exact
// result, the comparison; region code inlines it, the interpreter calls it in a small module of
// its own; without WebAssembly there is no fast path. PE and C1 ("rounded up") land in flags as
// the general code raises them. x87.test.ts compares it with x87-arith.ts.

import {
  add,
  add64,
  and,
  and64,
  eq,
  eqz,
  get,
  k,
  k64,
  mul64,
  or,
  or64,
  select,
  shl,
  shl64,
  shr64,
  shrU,
  sub,
  sub64,
  u64,
  wrap,
  xor,
  type Ex,
} from './wasm-code';
import { I32, I64, VOID, encodeModule, op, uleb, wasmApi } from './wasm-module';
import { EXTENDED_NEAREST, PRECISION_ROUNDING } from './x87-fast';
import { PE, flags } from './x87-format';

/** Exponents (biased) the fast path takes: a product, quotient or sum of two stays normal. */
const LOW = 16383 - 8000,
  HIGH = 16383 + 8000;

/**
 * The words of the last result of extendedArith (and of extendedOfDouble): the significand's
 * halves as int32, so that optimised callers pass them around without boxing them (uint32 values
 * at or above 2^31 are not small integers); a Uint32Array takes them as they are.
 */
export const extendedResult = { se: 0, hi: 0, lo: 0 };

/** Whether the control word is the one the fast path serves: precision extended, round to nearest. */
export function extendedControl(control: number): boolean {
  return (control & PRECISION_ROUNDING) === EXTENDED_NEAREST;
}

/**
 * x op y for the arithmetic /digit op (0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr) on two values'
 * words (the significand halves as int32 or uint32), into extendedResult with PE and C1 in flags;
 * false, with nothing raised, when the fast path does not apply (another op, an operand neither a
 * zero nor normal within its exponents, a zero divisor, or no WebAssembly). `same`: y is x itself
 * (one register), which makes a sum or product cheaper. The caller has checked extendedControl.
 */
export function extendedArith(
  op: number,
  xse: number,
  xhi: number,
  xlo: number,
  yse: number,
  yhi: number,
  ylo: number,
  same = false,
): boolean {
  if (core === null) return false;
  const r = core.run(same && op <= 1 ? op | SAME : op, xse, xhi, xlo, yse, yhi, ylo);
  if (r === 0) return false;
  if (r & 2) flags.exc |= PE;
  flags.up = (r >>> 2) & 1;
  const w = core.words;
  extendedResult.se = w[2]!;
  extendedResult.hi = w[1]!;
  extendedResult.lo = w[0]!;
  return true;
}

// The arithmetic in WebAssembly: its 64-bit integers hold a whole significand and the 64 guard
// bits of an exact sum, product or quotient (the lowest of them sticky), where JavaScript would
// need three 32-bit limbs in doubles. It is written once over a set of locals (an ExtendedFrame):
// region code inlines it on its own locals (extendedInline), and the standalone module below
// wraps it in a function `run(op, xse, xhi, xlo, yse, yhi, ylo)` for extendedArith, which leaves
// the result's significand at bytes 0-7 of its memory and its sign/exponent at bytes 8-11.

/**
 * The locals the arithmetic works in (an ExtendedFrame), in order with their types: the operands
 * (sign/exponent i32, significand i64); the result's sign (SIGN, 0 or 1), biased exponent (EX)
 * and significand (S), with G nonzero when it is inexact and D 1 when it was rounded up; a
 * comparison's result (OUT: FCOMI's EFLAGS, 1 below, 0 above, 64 equal); and working values.
 */
const FRAME_LAYOUT = [
  ['XSE', I32],
  ['YSE', I32],
  ['EX', I32],
  ['EY', I32],
  ['D', I32],
  ['SIGN', I32],
  ['OUT', I32],
  ['X', I64],
  ['Y', I64],
  ['S', I64],
  ['G', I64],
  ['LL', I64],
  ['LH', I64],
  ['HL', I64],
  ['HH', I64],
] as const;
export type ExtendedFrame = Record<(typeof FRAME_LAYOUT)[number][0], number>;

/** A frame on locals from `first` on, in FRAME_LAYOUT's order. */
export function extendedFrame(first: number): ExtendedFrame {
  return Object.fromEntries(FRAME_LAYOUT.map(([name], n) => [name, first + n])) as ExtendedFrame;
}
/** The types of extendedFrame's locals, in order. */
export const EXTENDED_FRAME_LOCALS: number[] = FRAME_LAYOUT.map(([, type]) => type);

const set = (n: number, v: Ex): Ex => [...v, op.localSet, ...uleb(n)];
const low = (a: Ex): Ex => u64(wrap(a));
const high = (a: Ex): Ex => shr64(a, k64(32));
const TOP = shl64(k64(1), k64(63));
const TWO32 = shl64(k64(1), k64(32));
const when = (cond: Ex, then: Ex, otherwise: Ex = []): Ex => [
  ...cond,
  op.if,
  VOID,
  ...then,
  ...(otherwise.length > 0 ? [op.else, ...otherwise] : []),
  op.end,
];

/**
 * Code that leaves inlined arithmetic where the fast path does not apply (a branch out of it, or
 * a return), for a place `depth` blocks deep inside it.
 */
export type Decline = (depth: number) => Ex;

/**
 * The arithmetic's code on frame f, one piece per kind of operation: each reads the operands
 * from XSE/X and YSE/Y and leaves its result in the frame (see ExtendedFrame), or runs
 * `declined` where the fast path does not apply.
 */
function arithmetic(
  f: ExtendedFrame,
  declined: Decline,
): {
  sum: Ex;
  twice: Ex;
  product: (square: boolean) => Ex;
  quotient: Ex;
  compare: Ex;
} {
  const { XSE, X, YSE, Y, S, G, LL, LH, HL, HH, EX, EY, D, SIGN, OUT } = f;
  /** Swaps locals a and b (t a temporary of their type) when D is 1. */
  const swapWhen = (a: number, b: number, t: number): Ex => [
    ...set(t, get(a)),
    ...set(a, select(get(D), get(b), get(a))),
    ...set(b, select(get(D), get(t), get(b))),
  ];
  /** An exact result: sign bit `sign` (0x8000 or 0), exponent and significand. */
  const exactly = (sign: Ex, ex: Ex, sig: Ex): Ex => [
    ...set(SIGN, shrU(sign, k(15))),
    ...set(EX, ex),
    ...set(S, sig),
    ...set(G, k64(0)),
    ...set(D, k(0)),
  ];
  /** The sign bit of a product or quotient. */
  const productSign = and(xor(get(XSE), get(YSE)), k(0x8000));
  // Whether an operand is a zero, or normal with an exponent the path takes.
  const isZero = (x: number, e: number): Ex => and([...get(e), op.i32Eqz], [...get(x), op.i64Eqz]);
  const isNormal = (x: number, e: number): Ex =>
    and([...get(x), ...k64(0), op.i64LtS], [...sub(get(e), k(LOW)), ...k(HIGH - LOW + 1), op.i32LtU]);
  const taken = (x: number, e: number): Ex => or(isZero(x, e), isNormal(x, e));
  const zeroX = isZero(X, EX),
    zeroY = isZero(Y, EY);
  const exponents = [...set(EX, and(get(XSE), k(0x7fff))), ...set(EY, and(get(YSE), k(0x7fff)))];
  const bothTaken = and(taken(X, EX), taken(Y, EY));
  /**
   * The exponents into EX and EY, then `main` when both operands are normal within the exponents
   * taken, `zeros` when they are taken, one is a zero and `refused` (if given) does not hold,
   * else `declined`.
   */
  const screen = (main: Ex, zeros: Ex, refused?: Ex): Ex => [
    ...exponents,
    ...when(
      and(isNormal(X, EX), isNormal(Y, EY)),
      main,
      when(refused === undefined ? eqz(bothTaken) : or(eqz(bothTaken), refused), declined(2), zeros),
    ),
  ];
  // The data decide most of this arithmetic's choices (which operand is larger, whether a
  // product needs a shift, which way a result rounds), about as often one way as the other: those
  // are computed with selects and shifts by 0 or 1 rather than branches a processor would
  // mispredict. Branches remain where one way is rare.
  /**
   * Rounds S (with guard bits G) to nearest, ties to even, at 64 bits. D: 1 when it
   * rounds up (G above half, or exactly half and S odd).
   */
  const rounded: Ex = [
    // G + 2^63 - 1 carries out when G is above half, G + 2^63 when it is at least half.
    ...set(D, [...add64(get(G), add64(and64(get(S), k64(1)), sub64(TOP, k64(1)))), ...get(G), op.i64LtU]),
    ...set(S, add64(get(S), u64(get(D)))),
    // All ones rounded up: the next power of two.
    ...when([...get(S), op.i64Eqz], [...set(S, TOP), ...set(EX, add(get(EX), k(1)))]),
  ];

  const sum = screen(
    [
      // x the one with the larger exponent (D: swap them; G and SIGN hold the values swapped).
      // With equal exponents a difference may come out negative: it is negated below.
      ...set(D, [...get(EY), ...get(EX), op.i32GtU]),
      ...swapWhen(X, Y, G),
      ...swapWhen(EX, EY, SIGN),
      ...set(SIGN, shrU(select(get(D), get(YSE), get(XSE)), k(15))),
      ...set(D, sub(get(EX), get(EY))),
      // y aligned: Y its part in x's 64 bits, G the 64 bits below them (the lowest sticky).
      ...when(
        [...get(D), ...k(64), op.i32LtU],
        [
          // (By 64 - D in two steps: a shift by 64 is none in WebAssembly.)
          ...set(G, shl64(shl64(get(Y), u64(sub(k(63), get(D)))), k64(1))),
          ...set(Y, shr64(get(Y), u64(get(D)))),
        ],
        [
          ...when(
            [...get(D), ...k(64), op.i32Eq],
            set(G, get(Y)),
            when(
              [...get(D), ...k(128), op.i32LtU],
              set(
                G,
                or64(
                  shr64(get(Y), u64(sub(get(D), k(64)))),
                  u64([...shl64(get(Y), u64(sub(k(128), get(D)))), ...k64(0), op.i64Ne]),
                ),
              ),
              set(G, k64(1)),
            ),
          ),
          ...set(Y, k64(0)),
        ],
      ),
      ...when(
        [...and(xor(get(XSE), get(YSE)), k(0x8000)), op.i32Eqz],
        [
          ...set(S, add64(get(X), get(Y))),
          // A carry out (LL 1): one place right (only when y reaches into x's 64 bits, when G's
          // lowest bit is clear: nothing is lost).
          ...set(LL, u64([...get(S), ...get(X), op.i64LtU])),
          ...set(G, or64(shr64(get(G), get(LL)), shl64(and64(get(S), get(LL)), k64(63)))),
          ...set(S, or64(shr64(get(S), get(LL)), shl64(get(LL), k64(63)))),
          ...set(EX, add(get(EX), wrap(get(LL)))),
          ...rounded,
        ],
        [
          // y above x (equal exponents, so G is 0): y - x, with y's sign.
          ...set(LL, u64([...get(X), ...get(Y), op.i64LtU])),
          ...set(SIGN, xor(get(SIGN), wrap(get(LL)))),
          ...set(
            S,
            select(
              wrap(get(LL)),
              sub64(get(Y), get(X)),
              sub64(sub64(get(X), get(Y)), u64([...get(G), ...k64(0), op.i64Ne])),
            ),
          ),
          ...set(G, sub64(k64(0), get(G))),
          // Exact cancellation: +0 under round to nearest.
          ...when([...or64(get(S), get(G)), op.i64Eqz], exactly(k(0), k(0), k64(0)), [
            ...when([...get(S), op.i64Eqz], [...set(S, get(G)), ...set(G, k64(0)), ...set(EX, sub(get(EX), k(64)))]),
            // Normalised: LL places left.
            ...set(LL, [...get(S), op.i64Clz]),
            ...set(S, or64(shl64(get(S), get(LL)), shr64(shr64(get(G), k64(1)), sub64(k64(63), get(LL))))),
            ...set(G, shl64(get(G), get(LL))),
            ...set(EX, sub(get(EX), wrap(get(LL)))),
            ...rounded,
          ]),
        ],
      ),
    ],
    // A zero term: the other value exactly; two zeros keep a common sign, else +0.
    when(
      zeroX,
      exactly(
        [...and(and(get(XSE), get(YSE)), k(0x8000)), ...and(get(YSE), k(0x8000)), ...zeroY, op.select],
        get(EY),
        get(Y),
      ),
      exactly(and(get(XSE), k(0x8000)), get(EX), get(X)),
    ),
  );

  /** x * y; x * x when `square` (y the same value): its sign is +, its cross products one. */
  const product = (square: boolean): Ex =>
    screen(
      [
        ...set(SIGN, square ? k(0) : shrU(productSign, k(15))),
        ...set(EX, sub(add(get(EX), get(EY)), k(16382))),
        ...set(LL, mul64(low(get(X)), low(get(Y)))),
        ...set(LH, mul64(low(get(X)), high(get(Y)))),
        ...set(HL, square ? get(LH) : mul64(high(get(X)), low(get(Y)))),
        ...set(HH, mul64(high(get(X)), high(get(Y)))),
        // X: the middle column with its carries; G the low 64 bits, S the high 64.
        ...set(X, add64(add64(high(get(LL)), low(get(LH))), low(get(HL)))),
        ...set(G, or64(shl64(get(X), k64(32)), low(get(LL)))),
        ...set(S, add64(add64(add64(get(HH), high(get(LH))), high(get(HL))), high(get(X)))),
        // A product below 2: LL (1) place left.
        ...set(LL, [...get(S), op.i64Clz]),
        ...set(S, or64(shl64(get(S), get(LL)), and64(shr64(get(G), k64(63)), get(LL)))),
        ...set(G, shl64(get(G), get(LL))),
        ...set(EX, sub(get(EX), wrap(get(LL)))),
        ...rounded,
      ],
      // A zero factor: a zero with the product's sign.
      exactly(square ? k(0) : productSign, k(0), k64(0)),
    );

  // x + x: x one exponent higher, exactly (a zero stays itself).
  const twice = [
    ...set(EX, and(get(XSE), k(0x7fff))),
    ...when(
      isNormal(X, EX),
      exactly(and(get(XSE), k(0x8000)), add(get(EX), k(1)), get(X)),
      when(isZero(X, EX), exactly(get(XSE), k(0), k64(0)), declined(2)),
    ),
  ];

  // The quotient x / y: the first bit is 1 once x is scaled to [y, 2y) (x < y: x * 2, one less
  // in the exponent), then two 32-bit digits of the partial remainder times 2^64 over y, each
  // estimated from y's high half and corrected at most twice (schoolbook division on 64-bit
  // words, y having its top bit set); the last quotient bit and the remainder make G.
  const digit: Ex = [
    ...set(HL, [...get(X), ...get(LL), op.i64DivU]),
    ...set(HH, sub64(get(X), mul64(get(HL), get(LL)))),
    op.loop,
    VOID,
    ...or([...get(HL), ...TWO32, op.i64GeU], [...mul64(get(HL), get(LH)), ...shl64(get(HH), k64(32)), op.i64GtU]),
    op.if,
    VOID,
    ...set(HL, sub64(get(HL), k64(1))),
    ...set(HH, add64(get(HH), get(LL))),
    ...get(HH),
    ...TWO32,
    op.i64LtU,
    op.brIf,
    1,
    op.end,
    op.end,
    ...set(X, sub64(shl64(get(X), k64(32)), mul64(get(HL), get(Y)))),
  ];
  const quotient = screen(
    [
      ...set(SIGN, shrU(productSign, k(15))),
      ...set(EX, sub(add(get(EX), k(16383)), get(EY))),
      ...when(
        [...get(X), ...get(Y), op.i64LtU],
        [...set(EX, sub(get(EX), k(1))), ...set(X, sub64(shl64(get(X), k64(1)), get(Y)))],
        set(X, sub64(get(X), get(Y))),
      ),
      ...set(LL, shr64(get(Y), k64(32))),
      ...set(LH, and64(get(Y), u64(k(-1)))),
      ...digit,
      ...set(S, shl64(get(HL), k64(32))),
      ...digit,
      ...set(S, or64(get(S), get(HL))),
      ...set(G, or64(shl64(get(S), k64(63)), u64([...get(X), ...k64(0), op.i64Ne]))),
      ...set(S, or64(shr64(get(S), k64(1)), TOP)),
      ...rounded,
    ],
    // A zero dividend gives a zero with the quotient's sign; a zero divisor is left to the FPU
    // (it raises ZE or IE).
    exactly(productSign, k(0), k64(0)),
    zeroY,
  );

  // The comparison: zeros count as +0, so that (exponent, significand) orders equal signs by
  // magnitude. EFLAGS as FCOMI sets them (1 below, 0 above, 64 equal) in bits 8 and up.
  const signOf = (x: number, se: number, e: number): Ex => [
    ...k(0),
    ...shrU(get(se), k(15)),
    ...isZero(x, e),
    op.select,
  ];
  const magnitudeBelow = or(
    [...get(EX), ...get(EY), op.i32LtU],
    and([...get(EX), ...get(EY), op.i32Eq], [...get(X), ...get(Y), op.i64LtU]),
  );
  const magnitudeEqual = and([...get(EX), ...get(EY), op.i32Eq], [...get(X), ...get(Y), op.i64Eq]);
  const BELOW = 1,
    ABOVE = 0,
    EQUAL = 64;
  /** The comparison on the signs (0 or 1) given: they count zeros as +0. */
  const ordered = (signX: Ex, signY: Ex): Ex => [
    ...set(D, signX),
    ...set(SIGN, signY),
    ...set(
      OUT,
      select(
        eq(get(D), get(SIGN)),
        // Same sign: below when the magnitude is below (positive) or above (negative).
        select(magnitudeEqual, k(EQUAL), select(xor(get(D), magnitudeBelow), k(BELOW), k(ABOVE))),
        // Signs differ: x is below when it is the negative one.
        select(get(D), k(BELOW), k(ABOVE)),
      ),
    ),
  ];
  const compare = screen(
    ordered(shrU(get(XSE), k(15)), shrU(get(YSE), k(15))),
    ordered(signOf(X, XSE, EX), signOf(Y, YSE, EY)),
  );
  return { sum, twice, product, quotient, compare };
}

/**
 * The code of op (an arithmetic /digit, or 2: compare) on x and y (sign/exponent i32 and
 * significand i64 each) on frame f; its result is then in extendedOut(f), and where the fast path
 * does not apply `declined` runs (see arithmetic); null for another op. A difference adds the
 * negated operand, a reversed division swaps them; `same` says y is x (a sum is then x doubled,
 * a product x squared).
 */
export function extendedInline(
  f: ExtendedFrame,
  opd: number,
  declined: Decline,
  xse: Ex,
  x: Ex,
  yse: Ex,
  y: Ex,
  same = false,
): Ex | null {
  const negated = (se: Ex): Ex => xor(se, k(0x8000));
  const operands = (a: Ex, b: Ex, c: Ex, d: Ex): Ex => [
    ...set(f.XSE, a),
    ...set(f.X, b),
    ...set(f.YSE, c),
    ...set(f.Y, d),
  ];
  const code = arithmetic(f, declined);
  switch (opd) {
    case 0:
      return [...operands(xse, x, yse, y), ...(same ? code.twice : code.sum)];
    case 4:
      return [...operands(xse, x, negated(yse), y), ...code.sum];
    case 5:
      return [...operands(negated(xse), x, yse, y), ...code.sum];
    case 1:
      return [...operands(xse, x, yse, y), ...code.product(same)];
    case 6:
      return [...operands(xse, x, yse, y), ...code.quotient];
    case 7:
      return [...operands(yse, y, xse, x), ...code.quotient];
    case 2:
      return [...operands(xse, x, yse, y), ...code.compare];
    default:
      return null;
  }
}

/**
 * The result of extendedInline on frame f: sign/exponent and significand, its guard bits (i64,
 * nonzero when it is inexact), whether it was rounded up (0 or 1), a comparison's EFLAGS.
 */
export function extendedOut(f: ExtendedFrame): { se: Ex; sig: Ex; guard: Ex; up: Ex; eflags: Ex } {
  return {
    se: or(shl(get(f.SIGN), k(15)), get(f.EX)),
    sig: get(f.S),
    guard: get(f.G),
    up: get(f.D),
    eflags: get(f.OUT),
  };
}

/** The flag in `run`'s op for an operation on one value (extendedArith's `same`). */
const SAME = 8;

/** `run`: the code of its op on the significands put together from their halves, the result stored. */
function runBody(): Ex {
  // Parameters: op, xse, xhi, xlo, yse, yhi, ylo; then the frame.
  const f = extendedFrame(7);
  const significand = (hi: number, lo: number): Ex => or64(shl64(u64(get(hi)), k64(32)), u64(get(lo)));
  const out = extendedOut(f);
  // It returns 0 when the fast path does not apply, else 1 | 2 inexact | 4 rounded up, or for a
  // comparison 1 | FCOMI's EFLAGS in bits 8 and up.
  const declined = (): Ex => [...k(0), op.return];
  const stored = [...k(0), ...out.se, op.i32Store, 2, 8, ...k(0), ...out.sig, op.i64Store, 3, 0];
  // SAME | 0 and SAME | 1: a sum or product of x with itself.
  const cases = [0, 1, 2, 4, 5, 6, 7, SAME, SAME | 1].map((code) =>
    when(eq(get(0), k(code)), [
      ...extendedInline(f, code & 7, declined, get(1), significand(2, 3), get(4), significand(5, 6), code >= SAME)!,
      ...(code === 2
        ? or(k(1), shl(out.eflags, k(8)))
        : [...stored, ...or(or(k(1), shl([...out.guard, ...k64(0), op.i64Ne], k(1))), shl(out.up, k(2)))]),
      op.return,
    ]),
  );
  return [...cases.flat(), ...k(0)];
}

/** The core and the words it writes, or null where there is no WebAssembly (no fast path then). */
const core = ((): { run: (op: number, ...words: number[]) => number; words: Int32Array } | null => {
  if (wasmApi === null) return null;
  const memory = new wasmApi.Memory({ initial: 1, maximum: 1, shared: false });
  const bytes = encodeModule({
    imports: [],
    memory: { pages: 1, shared: false },
    funcs: [
      {
        type: { params: [I32, I32, I32, I32, I32, I32, I32], results: [I32] },
        locals: EXTENDED_FRAME_LOCALS,
        body: runBody(),
      },
    ],
    exportRun: 0,
  });
  const instance = new wasmApi.Instance(new wasmApi.Module(bytes), { env: { memory } });
  return {
    run: instance.exports['run'] as (op: number, ...words: number[]) => number,
    words: new Int32Array(memory.buffer, 0, 3),
  };
})();

const f64 = new Float64Array(1);
const f64Words = new Uint32Array(f64.buffer);

/** The words of a normal double or a zero, into extendedResult (exact: the double format is narrower). */
export function extendedOfDouble(v: number): void {
  f64[0] = v;
  const lo = f64Words[0]!,
    hi = f64Words[1]!;
  const sign = (hi >>> 16) & 0x8000;
  if (v === 0) {
    extendedResult.se = sign;
    extendedResult.hi = extendedResult.lo = 0;
    return;
  }
  extendedResult.se = sign | (((hi >>> 20) & 0x7ff) - 1023 + 16383);
  extendedResult.hi = 0x80000000 | ((hi & 0xfffff) << 11) | (lo >>> 21);
  extendedResult.lo = lo << 11;
}

/**
 * EFLAGS ZF/PF/CF as FCOMI leaves them for two values (words as extendedArith takes them): 1
 * below, 0 above, 64 equal; -1 when the fast path does not apply (not both zero or normal within
 * its exponents, or no WebAssembly).
 */
export function extendedCompare(xse: number, xhi: number, xlo: number, yse: number, yhi: number, ylo: number): number {
  if (core === null) return -1;
  const r = core.run(2, xse, xhi, xlo, yse, yhi, ylo);
  return r === 0 ? -1 : r >>> 8;
}
