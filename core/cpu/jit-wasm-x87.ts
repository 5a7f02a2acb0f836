// x87 runs in WebAssembly regions: the runs of jit-x87.ts (consecutive escapes that only move
// and compute values, maybe with integer instructions between them) as WebAssembly, each with two
// fast pieces: on f64 locals under precision "double", and on 80-bit values (an i32 sign/exponent
// and an i64 significand, with x87-extended.ts's arithmetic) under precision extended, the
// control word a Linux process starts with. A fast piece applies under the same conditions as in
// JavaScript (no pending exception, CR0.EM/TS clear, its precision, round to nearest, all
// exceptions masked, every operand known and normal or zero, every load a TLB hit, every result
// normal or zero) and leaves the same state; when neither applies, nothing has been written and
// the run's instructions run one by one through their handlers (jit-wasm.ts emits that part).
//
// The x87 state is in the mirror (wasm-code.ts) when the region starts: status, tags,
// FIP/FOP/FDP, and the registers as doubles (the float64 cache of x87-stack.ts, with zeros filled
// in from the words; NaN where the value is not known as a double) or as words, whichever the
// control word lets runs use; the region's wrapper copies it in and out with x87ToMirror and
// x87ToC, as it does the general registers. Runs take it into locals and keep it there from one
// run to the next ("live", see wasmX87Runs); x87Flush puts it back before anything outside the
// region can see the mirror.

import type { I386 } from './cpu';
import type { Instr } from './instr';
import { fastPieceOf, planRun, type RunPlan, type RunWriter } from './jit-x87';
import { RAM_BASE } from './memory';
import {
  ARITH,
  Code,
  E,
  FAH,
  FAL,
  FBH,
  FBL,
  FC,
  FERR,
  FH,
  FK,
  FSLOT,
  FU,
  FVAL,
  FW,
  IN_RAM,
  L,
  M,
  R,
  RB,
  RUN_VALUES,
  X,
  XFDP,
  XFL,
  XG,
  XPE,
  XS,
  XFRAME,
  F_X87_FLUSH,
  call,
  LB,
  LD,
  CK,
  CA,
  CB,
  CR,
  LOK,
  LS,
  LSE,
  LSIG,
  LT,
  LTAG,
  LV,
  LWR,
  XSE_SLOT,
  XSE_VAL,
  XSIG_SLOT,
  XSIG_VAL,
  add,
  and,
  bin,
  eaOf,
  eq,
  eqz,
  get,
  k,
  k64,
  mget,
  ne,
  or,
  or64,
  select,
  shl,
  shl64,
  shr64,
  shrU,
  sub,
  tlb,
  tlbHit,
  localType,
  wrap,
  type Ex,
} from './wasm-code';
import { F64, f64Bytes, op, uleb, type FuncType } from './wasm-module';
import { extendedFrame, extendedInline, extendedOut } from './x87-extended';
import { bindShadow, shadowCache, syncRegisters } from './x87-stack';

/** Status word: ES|BUSY, C1, TOP. */
const SUMMARY = 0x8080,
  C1 = 0x200,
  TOP = 0x3800;
const MIN_NORMAL = 2 ** -1022,
  MIN_SINGLE = 2 ** -126;
/** Byte address of the mirror's doubles. */
const DOUBLES = M.x87Doubles * 4;

// ---- f64 expressions ----

const f = (v: number): Ex => [op.f64Const, ...f64Bytes(v)];
const fadd = bin(op.f64Add),
  fsub = bin(op.f64Sub),
  fmul = bin(op.f64Mul),
  fdiv = bin(op.f64Div),
  feq = bin(op.f64Eq),
  fne = bin(op.f64Ne),
  flt = bin(op.f64Lt),
  fgt = bin(op.f64Gt),
  fle = bin(op.f64Le),
  fge = bin(op.f64Ge);
const fabs = (x: Ex): Ex => [...x, op.f64Abs];
const fneg = (x: Ex): Ex => [...x, op.f64Neg];
/** Physical register p's double in the mirror. */
const double = (p: Ex): Ex => [...shl(p, k(3)), op.f64Load, 3, ...uleb(DOUBLES)];
/**
 * Whether the double v is normal, at least `min` (a power of two) in magnitude (and a double's
 * at most): on its bits, whose biased exponent is then from min's to 2046 (an integer test, off
 * the floating-point units the run's arithmetic keeps busy).
 */
const inRange = (v: Ex, min: number): Ex => {
  const lowest = Math.log2(min) + 1023;
  const exponent = wrap(shr64(shl64([...v, op.i64ReinterpretF64], k64(1)), k64(53)));
  return [...sub(exponent, k(lowest)), ...k(2047 - lowest), op.i32LtU];
};
/** Leaves unless the double v is inRange or a zero (zeros are rarer: tested only outside the range). */
function leaveUnlessNormalOrZero(c: Code, v: Ex, min: number): void {
  c.if(eqz(inRange(v, min)));
  leave(c, fne(v, f(0)));
  c.close();
}
/** A run value's local (see RunStack: `e<slot>` read at the start, `v<n>` computed). */
const local = (name: string): number => (name[0] === 'e' ? FSLOT : FVAL) + Number(name.slice(1));

/** Leaves the fast piece (nothing written yet) when `cond` holds. */
function leave(c: Code, cond: Ex): void {
  c.if(cond);
  c.br('stretch');
  c.close();
}

/** Whether 2^-400 <= |v| <= 2^400. */
const safe = (v: Ex): Ex => and(fge(fabs(v), f(2 ** -400)), fle(fabs(v), f(2 ** 400)));

/** The f64 locals an arithmetic error is worked out in (the region's, or the flush function's). */
interface Scratch {
  FU: number;
  FH: number;
  FERR: number;
  FC: number;
  FAH: number;
  FAL: number;
  FBH: number;
  FBL: number;
}
const REGION_SCRATCH: Scratch = { FU, FH, FERR, FC, FAH, FAL, FBH, FBL };

/** FERR = the exact a*b minus its rounded value p: Dekker's product error, in productError's order (x87-fast.ts). */
function productError(c: Code, a: Ex, b: Ex, p: Ex, t: Scratch): void {
  split(c, a, t.FAH, t.FAL, t);
  split(c, b, t.FBH, t.FBL, t);
  const m = (x: number, y: number): Ex => fmul(get(x), get(y));
  c.set(t.FERR, fadd(fadd(fadd(fsub(m(t.FAH, t.FBH), p), m(t.FAH, t.FBL)), m(t.FAL, t.FBH)), m(t.FAL, t.FBL)));
}

/** hi and lo of Veltkamp's split of x (hi + lo = x, each with at most 26 significant bits). */
function split(c: Code, x: Ex, hi: number, lo: number, t: Scratch): void {
  c.set(t.FC, fmul(f(134217729), x));
  c.set(hi, fsub(get(t.FC), fsub(get(t.FC), x)));
  c.set(lo, fsub(x, get(hi)));
}

/** The kinds of double arithmetic whose error C1 is worked out from (see `errorOf`). */
const SUM = 1,
  PRODUCT = 2,
  QUOTIENT = 3;
/**
 * FERR = the error of a double result r of `kind` (exact minus rounded; sign as x87-fast.ts
 * gives it): of the sum a + b (TwoSum), the product a * b (Dekker), the quotient a / b.
 */
function errorOf(c: Code, kind: number, a: Ex, b: Ex, r: Ex, t: Scratch): void {
  if (kind === SUM) {
    c.set(t.FH, fsub(r, a));
    c.set(t.FERR, fadd(fsub(a, fsub(r, get(t.FH))), fsub(b, get(t.FH))));
  } else if (kind === PRODUCT) {
    productError(c, a, b, r, t);
  } else {
    // The remainder a - r*b, exact; over b its sign is the error's.
    c.set(t.FU, fmul(r, b));
    productError(c, r, b, get(t.FU), t);
    c.set(t.FERR, fsub(fsub(a, get(t.FU)), get(t.FERR)));
    c.if(fle(b, f(0)));
    c.set(t.FERR, fneg(get(t.FERR)));
    c.close();
  }
}
/** C1 ("rounded up") of a double result r with error FERR: the error is nonzero and has its sign. */
const roundedUp = (r: Ex, t: Scratch): Ex =>
  select(and(fne(get(t.FERR), f(0)), eq(fgt(r, f(0)), flt(get(t.FERR), f(0)))), k(C1), k(0));

/**
 * The number at i's memory operand (a float of 4 bytes or 8, or an int32 as FILD converts it) as
 * a double into f64 local dst, its address in L; leaves on a TLB miss.
 */
function loadNumber(c: Code, i: Instr, kind: 'single' | 'double' | 'int', dst: number): void {
  c.set(L, eaOf(i));
  c.set(E, tlb(RB));
  leave(c, eqz(tlbHit(kind === 'double' ? 8 : 4)));
  const at = IN_RAM();
  c.set(
    dst,
    kind === 'single'
      ? [...at, op.f32Load, 2, ...uleb(RAM_BASE - 1), op.f64PromoteF32]
      : kind === 'double'
        ? [...at, op.f64Load, 3, ...uleb(RAM_BASE - 1)]
        : [...at, op.i32Load, 2, ...uleb(RAM_BASE - 1), op.f64ConvertI32s],
  );
}

/**
 * A step's code: `last` when it is the run's last instruction, whose result's error gives C1
 * (other results' errors only matter while PE is clear).
 */
type Line = (c: Code, last: boolean) => void;

/** The WebAssembly writer of a float64 run's computing steps (an arithmetic one leaves its error in FERR). */
const doubleWriter: RunWriter<Line> = {
  load: (v, i, single) => (c) => {
    loadNumber(c, i, single ? 'single' : 'double', local(v));
    leaveUnlessNormalOrZero(c, get(local(v)), single ? MIN_SINGLE : MIN_NORMAL);
    c.set(XFDP, get(L));
  },
  loadInt: (v, i) => (c) => {
    loadNumber(c, i, 'int', local(v));
    c.set(XFDP, get(L));
  },
  constant: (v, value) => (c) => c.set(local(v), f(value)),
  compare: (a, b) => (c) => {
    const x = get(local(a)),
      y = get(local(b));
    c.set(XFL, select(flt(x, y), k(1), select(fgt(x, y), k(0), k(64))));
  },
  arith: (r, opd, y, z) => (c, last) => {
    const res = local(r),
      yv = get(local(y)),
      zv = get(local(z));
    // The error (see errorOf) of the result, from `kind`'s operands a and b; `exact`: code that
    // leaves where that error term would not be exact.
    let kind: number, a: Ex, b: Ex;
    let exact = (): void => undefined;
    if (opd >= 6) {
      // fastDouble's division: operands and quotient within 2^±400 (no zeros).
      [a, b] = opd === 6 ? [yv, zv] : [zv, yv];
      leave(c, eqz(and(safe(a), safe(b))));
      c.set(res, fdiv(a, b));
      leave(c, eqz(safe(get(res))));
      kind = QUOTIENT;
    } else if (opd === 1) {
      // The rounded product is the x87's when it is at least 2^-1021 (no rounding below the
      // normal range) and finite, or when an operand is zero. Its error term is exact for operands
      // within 2^±400 (or zero): checked only where the error is needed.
      c.set(res, fmul(yv, zv));
      c.if(eqz(inRange(get(res), 2 ** -1021)));
      leave(c, eqz(or(feq(yv, f(0)), feq(zv, f(0)))));
      c.close();
      const safeOrZero = (v: Ex): Ex => or(feq(v, f(0)), safe(v));
      exact = () => leave(c, eqz(y === z ? safeOrZero(yv) : and(safeOrZero(yv), safeOrZero(zv))));
      [a, b] = [yv, zv];
      kind = PRODUCT;
    } else {
      const [u, w] = opd === 0 ? [yv, zv] : opd === 4 ? [yv, fneg(zv)] : [zv, fneg(yv)];
      c.set(FU, u);
      c.set(FW, w);
      c.set(res, fadd(get(FU), get(FW)));
      leaveUnlessNormalOrZero(c, get(res), MIN_NORMAL);
      [a, b] = [get(FU), get(FW)];
      kind = SUM;
    }
    // The last instruction's C1 is owed: worked out from these when the state goes back to the
    // mirror (x87FlushFunction), as the next run writes over it.
    if (last) {
      exact();
      c.set(CK, k(kind));
      c.set(CA, a);
      c.set(CB, b);
      c.set(CR, get(res));
    }
    // PE, while it is clear.
    c.if(eqz(get(XPE)));
    if (!last) exact();
    errorOf(c, kind, a, b, get(res), REGION_SCRATCH);
    c.if(fne(get(FERR), f(0)));
    c.set(XPE, k(32));
    c.close();
    c.close();
  },
};

/**
 * How a run holds its values (as RunValues in jit-x87.ts): the mirror's x87Fast it needs, the
 * writer of its computing steps, how the live locals take register s (by slot from LB) from the
 * mirror (its LOK bit set when a run can take it) and put it back, how run slot j's start value
 * comes from live slot s and a run value goes to live slot s, whether the value of live slot s
 * (in `at`) is a zero, and how the status gets the last instruction's C1.
 */
interface WasmRunValues {
  mode: number;
  writer: RunWriter<Line>;
  fromMirror(c: Code, s: number): void;
  toMirror(c: Code, s: number, at: LiveLocals): void;
  take(c: Code, j: number, s: number): void;
  keep(c: Code, s: number, w: string): void;
  isZero(s: number, at: LiveLocals): Ex;
  /** Code at the start of the piece, and before its PE (XPE) is written into the status. */
  begin(c: Code): void;
  end(c: Code): void;
  c1(c: Code, last: string | null): void;
}

/** Where the live base and registers are: the region's locals, or the flush function's parameters. */
interface LiveLocals {
  LB: number;
  LD: number;
  LSE: number;
  LSIG: number;
}
const REGION_LOCALS: LiveLocals = { LB, LD, LSE, LSIG };
/** The physical register of live slot s. */
const physOfSlot = (s: number, at: LiveLocals = REGION_LOCALS): Ex => and(add(get(at.LB), k(s)), k(7));

const DOUBLE_VALUES: WasmRunValues = {
  mode: 1,
  writer: doubleWriter,
  // NaN: not known as a double.
  fromMirror: (c, s) => {
    c.set(LD + s, double(physOfSlot(s)));
    c.set(LOK, or(get(LOK), shl(feq(get(LD + s), get(LD + s)), k(s))));
  },
  toMirror: (c, s, at) => c.emit(shl(physOfSlot(s, at), k(3)), get(at.LD + s), [op.f64Store, 3, ...uleb(DOUBLES)]),
  take: (c, j, s) => c.set(FSLOT + j, get(LD + s)),
  keep: (c, s, w) => c.set(LD + s, get(local(w))),
  isZero: (s, at) => feq(get(at.LD + s), f(0)),
  // Its arithmetic sets XPE itself.
  begin: () => undefined,
  end: () => undefined,
  // Owed by the last instruction's arithmetic (see doubleWriter), or clear.
  c1: (c, last) => {
    if (last !== null) return;
    c.set(CK, k(0));
    c.set(LS, and(get(LS), k(~C1)));
  },
};

// ---- 80-bit values: an i32 sign/exponent and an i64 significand per value ----

/** Byte address of the mirror's register words. */
const WORDS = M.x87Words * 4;
const seOf = (name: string): number => (name[0] === 'e' ? XSE_SLOT : XSE_VAL) + Number(name.slice(1));
const sigOf = (name: string): number => (name[0] === 'e' ? XSIG_SLOT : XSIG_VAL) + Number(name.slice(1));
/** 2^63: the integer bit of a normal value's significand. */
const INTEGER_BIT = shl64(k64(1), k64(63));
/** The double in FC (normal or zero) as the 80-bit value `v` (exact: the double format is narrower). */
function fromDouble(c: Code, v: string): void {
  c.set(sigOf(v), [...get(FC), op.i64ReinterpretF64]);
  const sign = and(wrap(shr64(get(sigOf(v)), k64(48))), k(0x8000));
  c.if(feq(get(FC), f(0)));
  c.set(seOf(v), sign);
  c.set(sigOf(v), k64(0));
  c.else();
  c.set(seOf(v), or(sign, add(and(wrap(shr64(get(sigOf(v)), k64(52))), k(0x7ff)), k(16383 - 1023))));
  c.set(sigOf(v), or64(INTEGER_BIT, shl64(get(sigOf(v)), k64(11))));
  c.close();
}
const FRAME = extendedFrame(XFRAME);
const RESULT = extendedOut(FRAME);
/**
 * The 80-bit arithmetic (x87-extended.ts) of op (its /digit, or 2: compare) on a and b, inline
 * (its result in FRAME, see extendedOut), a result into r's locals; leaves when it declines.
 */
function extended(c: Code, opd: number, a: string, b: string, r: string | null): void {
  const declined = (depth: number): Ex => c.brFrom('stretch', depth);
  c.emit(extendedInline(FRAME, opd, declined, get(seOf(a)), get(sigOf(a)), get(seOf(b)), get(sigOf(b)), a === b)!);
  if (r === null) return;
  c.set(seOf(r), RESULT.se);
  c.set(sigOf(r), RESULT.sig);
}

/** The WebAssembly writer of an 80-bit run's computing steps. */
const extendedWriter: RunWriter<Line> = {
  load: (v, i, single) => (c) => {
    loadNumber(c, i, single ? 'single' : 'double', FC);
    leaveUnlessNormalOrZero(c, get(FC), single ? MIN_SINGLE : MIN_NORMAL);
    fromDouble(c, v);
    c.set(XFDP, get(L));
  },
  loadInt: (v, i) => (c) => {
    loadNumber(c, i, 'int', FC);
    fromDouble(c, v);
    c.set(XFDP, get(L));
  },
  constant: (v, value) => (c) => {
    c.set(seOf(v), k(value === 0 ? 0 : 16383));
    c.set(sigOf(v), value === 0 ? k64(0) : INTEGER_BIT);
  },
  compare: (a, b) => (c) => {
    extended(c, 2, a, b, null);
    c.set(XFL, RESULT.eflags);
  },
  arith: (r, opd, y, z) => (c) => {
    extended(c, opd, y, z, r);
    c.set(XG, or64(get(XG), RESULT.guard));
  },
};

const EXTENDED_VALUES: WasmRunValues = {
  mode: 2,
  writer: extendedWriter,
  fromMirror: (c, s) => {
    const at = shl(physOfSlot(s), k(4));
    c.set(LSE + s, [...at, op.i32Load, 2, ...uleb(WORDS + 8)]);
    c.set(LSIG + s, [...at, op.i64Load, 3, ...uleb(WORDS)]);
    // Normal (exponent neither 0 nor all ones, integer bit set) or a zero.
    const e = and(get(LSE + s), k(0x7fff));
    const sig = get(LSIG + s);
    const ok = select(eqz(e), [...sig, op.i64Eqz], and(ne(e, k(0x7fff)), [...sig, ...k64(0), op.i64LtS]));
    c.set(LOK, or(get(LOK), shl(ok, k(s))));
  },
  toMirror: (c, s, at) => {
    const addr = shl(physOfSlot(s, at), k(4));
    c.emit(addr, get(at.LSIG + s), [op.i64Store, 3, ...uleb(WORDS)]);
    c.emit(addr, get(at.LSE + s), [op.i32Store, 2, ...uleb(WORDS + 8)]);
  },
  take: (c, j, s) => {
    c.set(XSE_SLOT + j, get(LSE + s));
    c.set(XSIG_SLOT + j, get(LSIG + s));
  },
  keep: (c, s, w) => {
    c.set(LSE + s, get(seOf(w)));
    c.set(LSIG + s, get(sigOf(w)));
  },
  isZero: (s, at) => [...get(at.LSIG + s), op.i64Eqz],
  // PE: one of the results was inexact (XG collects their guard bits).
  begin: (c) => c.set(XG, k64(0)),
  end: (c) => c.set(XPE, or(get(XPE), shl([...get(XG), ...k64(0), op.i64Ne], k(5)))),
  // Whether the last instruction's result was rounded up.
  c1: (c, last) => c.set(LS, or(and(get(LS), k(~C1)), last === null ? k(0) : select(RESULT.up, k(C1), k(0)))),
};

/** A 16-bit mask (two bits per slot) rotated left by `by` bits (at run time). */
const rotl16 = (mask: Ex, by: Ex): Ex => and(or(shl(mask, by), shrU(mask, sub(k(16), by))), k(0xffff));
/** The same, rotated right. */
const rotr16 = (mask: Ex, by: Ex): Ex => and(or(shrU(mask, by), shl(mask, sub(k(16), by))), k(0xffff));
/** A tag mask by a run's slots (two bits each) as one by live slots, the run's slot 0 being live slot rel. */
const bySlot = (mask: number, rel: number): number => ((mask << (2 * rel)) | (mask >>> (16 - 2 * rel))) & 0xffff;

/**
 * Takes the x87 state into the live locals when the mirror lets runs use it (no pending
 * exception, a mode): LB such that the run about to start, whose slot 0 is live slot `rel`,
 * finds TOP there.
 */
function goLive(c: Code, rel: number): void {
  c.set(XS, mget(M.x87Status));
  c.if(and(eqz(and(get(XS), k(128))), ne(mget(M.x87Fast), k(0))));
  c.set(LV, mget(M.x87Fast));
  c.set(LS, get(XS));
  c.set(LT, and(shrU(get(XS), k(11)), k(7)));
  c.set(LB, and(sub(get(LT), k(rel)), k(7)));
  c.set(LTAG, rotr16(mget(M.x87Tag), shl(get(LB), k(1))));
  c.set(LWR, k(0));
  c.set(LOK, k(0));
  c.set(CK, k(0));
  c.close();
}

/** The values of the fast pieces `pieces` (bits of fastPieceOf in jit-x87.ts: a value's mode). */
const piecesOf = (pieces: number): WasmRunValues[] =>
  [DOUBLE_VALUES, EXTENDED_VALUES].filter((v) => (pieces & v.mode) !== 0);
const locals = (first: number, n: number): number[] => Array.from({ length: n }, (_, j) => first + j);
/**
 * The flush function's parameters in a region whose runs have the fast pieces `pieces`: the
 * region's locals LV, LB, LT, LTAG, LWR, LS, then the registers by live slot those pieces hold
 * (LD and the owed C1 of a double run, CK, CA, CB, CR; LSE and LSIG), in this order. The other
 * registers' locals are not used at all there.
 */
const flushArgs = (pieces: number): number[] => [
  ...[LV, LB, LT, LTAG, LWR, LS],
  ...((pieces & DOUBLE_VALUES.mode) !== 0 ? [...locals(LD, 8), CK, CA, CB, CR] : []),
  ...((pieces & EXTENDED_VALUES.mode) !== 0 ? locals(LSE, 16) : []),
];

/**
 * The function (at F_X87_FLUSH in region modules with runs, which have the fast pieces `pieces`)
 * that puts the live x87 state back into the mirror: the registers written, tags, status with TOP.
 */
export function x87FlushFunction(pieces: number): { type: FuncType; locals: number[]; body: number[] } {
  const c = new Code();
  const args = flushArgs(pieces);
  const param = (x: number): number => args.indexOf(x);
  const at: LiveLocals = { LB: param(LB), LD: param(LD), LSE: param(LSE), LSIG: param(LSIG) };
  const [lv, lb, lt, ltag, lwr, ls] = [LV, LB, LT, LTAG, LWR, LS].map(param);
  const doubles = (pieces & DOUBLE_VALUES.mode) !== 0;
  if (doubles) {
    // Its own f64 locals, after the parameters: where an owed C1's error is worked out.
    const n = args.length;
    const scratch: Scratch = {
      FU: n,
      FH: n + 1,
      FERR: n + 2,
      FC: n + 3,
      FAH: n + 4,
      FAL: n + 5,
      FBH: n + 6,
      FBL: n + 7,
    };
    const [ck, ca, cb, cr] = [CK, CA, CB, CR].map(param);
    c.if(and(eq(get(lv), k(DOUBLE_VALUES.mode)), ne(get(ck), k(0))));
    for (const kind of [SUM, PRODUCT, QUOTIENT]) {
      c.if(eq(get(ck), k(kind)));
      errorOf(c, kind, get(ca), get(cb), get(cr), scratch);
      c.close();
    }
    c.set(ls, or(and(get(ls), k(~C1)), roundedUp(get(cr), scratch)));
    c.close();
  }
  // Registers were written only by a piece of the mode the state went live in (LV). A written
  // one not empty now is "zero" or "valid" (runs leave only zeros and normal values), by its value.
  for (const values of piecesOf(pieces)) {
    c.if(eq(get(lv), k(values.mode)));
    for (let s = 0; s < 8; s++) {
      c.if(and(get(lwr), k(1 << s)));
      values.toMirror(c, s, at);
      c.if(ne(and(get(ltag), k(3 << (2 * s))), k(3 << (2 * s))));
      c.set(ltag, or(and(get(ltag), k(~(3 << (2 * s)))), shl(values.isZero(s, at), k(2 * s))));
      c.close();
      c.close();
    }
    c.close();
  }
  // x87Written is by physical register: live slot s is register LB + s.
  c.mset(
    M.x87Written,
    or(mget(M.x87Written), and(or(shl(get(lwr), get(lb)), shrU(get(lwr), sub(k(8), get(lb)))), k(255))),
  );
  c.mset(M.x87Tag, rotl16(get(ltag), shl(get(lb), k(1))));
  c.mset(M.x87Status, or(and(get(ls), k(~TOP)), shl(get(lt), k(11))));
  return {
    type: { params: args.map(localType), results: [] },
    locals: doubles ? Array<number>(8).fill(F64) : [],
    body: c.b,
  };
}

/**
 * Leaves live, the state back in the mirror: wherever code outside the region may read the
 * mirror (a call out) or the region returns. `pieces`: the region's (see x87FlushFunction).
 */
export function x87Flush(c: Code, pieces: number): void {
  c.if(get(LV));
  c.emit(call(F_X87_FLUSH, ...flushArgs(pieces).map(get)));
  c.set(LV, k(0));
  c.close();
}

/** A run as WebAssembly: how many instructions it covers, its integer ones, and its fast piece. */
export interface WasmX87Run<F> {
  n: number;
  integer: Map<number, F>;
  /** Whether it ends with ZF/PF/CF of an FCOMI: the fast piece leaves them in local r too. */
  eflags: boolean;
  /** How far it moves TOP (mod 8). */
  depth: number;
  /**
   * Writes the fast pieces, for a run whose slot 0 is expected at live slot `rel`: local x is 1
   * when one ran the whole run, 0 when nothing was done (the state may still be live: x87Flush
   * before the handlers).
   */
  fast: (c: Code, rel: number) => void;
}

/**
 * A run's fast piece holding values as `values` says (see wasmX87Runs), on the live state: it
 * sets local x to 1 when it ran the whole run; otherwise nothing has been written.
 */
function livePiece<F>(
  c: Code,
  plan: RunPlan<Line, F>,
  values: WasmRunValues,
  fip: number,
  fop: number,
  rel: number,
): void {
  const { st, eflags, mem } = plan;
  const slot = (j: number): number => (rel + j) & 7;
  c.open('block', 'stretch');
  leave(c, ne(get(LV), k(values.mode)));
  // The slots read must hold a value a run can take (LOK: not empty, and a zero or a value of
  // the piece's kind); the slots pushed into must be empty (tag 3).
  let empty = 0,
    ok = 0;
  for (const j of st.full) ok |= 1 << slot(j);
  for (const j of st.emptyAtStart) empty |= 3 << (2 * slot(j));
  // A slot read comes from the mirror the first time since going live (an empty one is not
  // taken: LOK stays clear). Once they are all in, one test passes them all.
  const missing = ne(and(get(LOK), k(ok)), k(ok));
  if (ok !== 0) {
    c.if(missing);
    for (const j of st.full) {
      const s = slot(j);
      c.if(eqz(and(get(LOK), k(1 << s))));
      values.fromMirror(c, s);
      c.if(eq(and(get(LTAG), k(3 << (2 * s))), k(3 << (2 * s))));
      c.set(LOK, and(get(LOK), k(~(1 << s))));
      c.close();
      c.close();
    }
    leave(c, missing);
    c.close();
  }
  if (empty !== 0) leave(c, ne(and(get(LTAG), k(empty)), k(empty)));
  c.set(XPE, and(get(LS), k(32)));
  values.begin(c);
  for (const j of st.full) values.take(c, j, slot(j));
  // The last line is the last instruction's when that computes a result (st.error).
  st.lines.forEach((line, n) => line(c, st.error !== null && n === st.lines.length - 1));
  // Nothing can fail from here on. Each written slot gets its last value; the tags are set by
  // live slot, a written one's as "valid" (the flush tells zeros by their values).
  let slots = 0;
  for (const [j, w] of st.written) {
    slots |= 1 << slot(j);
    values.keep(c, slot(j), w);
  }
  const { valid, emptied } = st.tagMasks();
  const set = bySlot(valid | emptied, rel),
    popped = bySlot(emptied, rel);
  // LOK: the slots written hold values a run can take, the ones popped nothing.
  let poppedSlots = 0;
  for (let s = 0; s < 8; s++) if (((popped >>> (2 * s)) & 3) !== 0) poppedSlots |= 1 << s;
  c.set(LWR, or(get(LWR), k(slots)));
  c.set(LOK, and(or(get(LOK), k(slots)), k(~poppedSlots)));
  c.set(LTAG, or(and(get(LTAG), k(~set)), k(popped)));
  c.set(LT, and(add(get(LT), k(st.depth)), k(7)));
  values.end(c);
  c.if(ne(get(XPE), and(get(LS), k(32))));
  c.set(LS, and(or(get(LS), k(32)), k(~SUMMARY)));
  c.close();
  values.c1(c, st.error);
  c.mset(M.fip, k(fip | 0));
  c.mset(M.fop, k(fop));
  if (mem) c.mset(M.fdp, get(XFDP));
  if (eflags) {
    c.mset(M.flags, or(and(mget(M.flags), k(~ARITH)), get(XFL)));
    c.mset(M.lazy, k(0));
    c.mset(M.recordDirty, k(1));
    c.set(FK, k(-1));
    c.set(R, get(XFL));
  }
  c.set(X, k(1));
  c.close();
}

/**
 * The runs of a basic block (instructions `block` at `eips`), by the position they start at. A
 * single escape of the kinds a run holds is a run too (WebAssembly has no other inline x87 code).
 * Runs keep the x87 state in the region's locals from one to the next ("live": registers by slot
 * from a base LB, tags, status, TOP) and put it back with x87Flush. A run expects its slot 0 at
 * a live slot known when compiling (jit-wasm.ts works it out along the region's control flow);
 * where TOP is elsewhere at run time the state goes back to the mirror and comes live again
 * around the run. Each run has the fast pieces `pieces` asks for (bits of fastPieceOf: on
 * doubles, on 80-bit values): the mirror's x87Fast, taken when going live, picks the one that
 * applies; under a control word whose piece is not there, runs go through their handlers.
 */
export function wasmX87Runs<F>(
  block: Instr[],
  eips: number[],
  integerStep: (i: Instr) => F | null,
  pieces: number,
): Map<number, WasmX87Run<F>> {
  const runs = new Map<number, WasmX87Run<F>>();
  const values = piecesOf(pieces);
  if (values.length === 0) return runs;
  for (let p = 0; p < block.length; p++) {
    // The instructions planned with each piece's writer (planning does not depend on it).
    const plans = values.map((v) => planRun(block, p, v.writer, integerStep, 1));
    const plan = plans[0]!;
    if (plan === null) continue;
    const { n, integer, eflags } = plan;
    if (plan.st.values > RUN_VALUES) throw new Error('x87 run with more values than locals');
    const last = block[p + n - 1]!;
    const fip = eips[p + n - 1]!,
      fop = ((last.op & 7) << 8) | last.modrm;
    const fast = (c: Code, rel: number): void => {
      c.set(X, k(0));
      // Live with TOP where the run expects it (and in the mode of the one piece there is): on
      // at once; else the state goes back to the mirror where TOP is elsewhere, and comes live
      // (each piece then checks the mode).
      const topThere = eq(get(LT), and(add(get(LB), k(rel)), k(7)));
      c.if(eqz(and(values.length === 1 ? eq(get(LV), k(values[0]!.mode)) : ne(get(LV), k(0)), topThere)));
      c.if(and(ne(get(LV), k(0)), eqz(topThere)));
      x87Flush(c, pieces);
      c.close();
      c.if(eqz(get(LV)));
      goLive(c, rel);
      c.close();
      c.close();
      plans.forEach((pl, j) => {
        if (j > 0) c.if(eqz(get(X)));
        livePiece(c, pl!, values[j]!, fip, fop, rel);
      });
      for (let j = 1; j < plans.length; j++) c.close();
    };
    runs.set(p, { n, integer, eflags, depth: plan.st.depth, fast });
    p += n - 1;
  }
  return runs;
}

/**
 * Copies the x87 state a run reads into the mirror when runs can take their fast pieces: its
 * registers as doubles (`doubles`) for float64 runs, as words for 80-bit ones.
 */
export function x87ToMirror(c: I386, m: Int32Array, doubles: Float64Array): void {
  const x = c.x87;
  const mode = (c.cr0 & 12) !== 0 ? 0 : fastPieceOf(x.control);
  m[M.x87Fast] = mode;
  // Otherwise every fast piece leaves at once, and nothing else reads the x87 state here.
  if (mode === 0) return;
  bindShadow(x);
  m[M.x87Status] = x.status;
  m[M.x87Tag] = x.tag;
  m[M.fip] = x.fip;
  m[M.fop] = x.fop;
  m[M.fdp] = x.fdp;
  m[M.x87Written] = 0;
  if (mode === 2) {
    syncRegisters(x);
    for (let p = 0; p < 8; p++) {
      m[M.x87Words + 4 * p] = x.regs[p * 3]!;
      m[M.x87Words + 4 * p + 1] = x.regs[p * 3 + 1]!;
      m[M.x87Words + 4 * p + 2] = x.regs[p * 3 + 2]!;
    }
    return;
  }
  const cached = shadowCache.values;
  for (let p = 0; p < 8; p++) {
    let v = cached[p]!;
    // A register tagged "zero" is not in the cache: its words are current and give the sign.
    if (v !== v && ((x.tag >>> (p * 2)) & 3) === 1) v = (x.regs[p * 3 + 2]! & 0x8000) !== 0 ? -0 : 0;
    doubles[p] = v;
  }
}

/**
 * Copies what runs changed back: status, tags, FIP/FOP/FDP, and the registers written (doubles
 * into the cache, zeros into their words; words into the words, dropping their doubles).
 */
export function x87ToC(c: I386, m: Int32Array, doubles: Float64Array): void {
  const mode = m[M.x87Fast]!;
  if (mode === 0) return;
  const x = c.x87;
  x.status = m[M.x87Status]! & 0xffff;
  x.tag = m[M.x87Tag]! & 0xffff;
  x.fip = m[M.fip]! >>> 0;
  x.fop = m[M.fop]!;
  x.fdp = m[M.fdp]! >>> 0;
  const written = m[M.x87Written]!;
  if (written === 0) return;
  m[M.x87Written] = 0;
  const cached = shadowCache.values;
  for (let p = 0; p < 8; p++) {
    if (((written >>> p) & 1) === 0) continue;
    if (mode === 2) {
      x.regs[p * 3] = m[M.x87Words + 4 * p]!;
      x.regs[p * 3 + 1] = m[M.x87Words + 4 * p + 1]!;
      x.regs[p * 3 + 2] = m[M.x87Words + 4 * p + 2]! & 0xffff;
      cached[p] = NaN;
      shadowCache.stale &= ~(1 << p);
      continue;
    }
    const v = doubles[p]!;
    if (v !== 0) {
      cached[p] = v;
      shadowCache.stale |= 1 << p;
    } else {
      cached[p] = NaN;
      shadowCache.stale &= ~(1 << p);
      x.regs[p * 3] = 0;
      x.regs[p * 3 + 1] = 0;
      x.regs[p * 3 + 2] = 1 / v < 0 ? 0x8000 : 0;
    }
  }
}
