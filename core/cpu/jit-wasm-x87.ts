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
// The x87 state a run needs is in the mirror (wasm-code.ts): status, tags, FIP/FOP/FDP, and the
// registers as doubles (the float64 cache of x87-stack.ts, with zeros filled in from the words;
// NaN where the value is not known as a double) or as words, whichever the control word lets
// runs use. The region's wrapper copies it in and out with x87ToMirror and x87ToC, as it does the
// general registers.

import type { I386 } from './cpu';
import type { Instr } from './instr';
import { planRun, runsExtended, runsFast, type RunPlan, type RunWriter } from './jit-x87';
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
  XP,
  XPE,
  XS,
  XT,
  XTG,
  XZT,
  XR,
  XFRAME,
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
  wrap,
  type Ex,
} from './wasm-code';
import { f64Bytes, op, uleb } from './wasm-module';
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
/** The physical register of the slot j places above TOP at the start of the run. */
const physOf = (j: number): Ex => and(add(get(XT), k(j)), k(7));
/** Whether the double v is a normal value of at least `min` in magnitude (and a double's at most) or a zero. */
const normalOrZero = (v: Ex, min: number): Ex =>
  or(and(fge(fabs(v), f(min)), fle(fabs(v), f(Number.MAX_VALUE))), feq(v, f(0)));
/** A run value's local (see RunStack: `e<slot>` read at the start, `v<n>` computed). */
const local = (name: string): number => (name[0] === 'e' ? FSLOT : FVAL) + Number(name.slice(1));
/** An 8-bit mask by slot, rotated by TOP at run time (by physical register). */
const rotate = (mask: number): Ex => and(or(shl(k(mask), get(XT)), shrU(k(mask), sub(k(8), get(XT)))), k(255));

/** Leaves the fast piece (nothing written yet) when `cond` holds. */
function leave(c: Code, cond: Ex): void {
  c.if(cond);
  c.br('stretch');
  c.close();
}

/** Whether 2^-400 <= |v| <= 2^400. */
const safe = (v: Ex): Ex => and(fge(fabs(v), f(2 ** -400)), fle(fabs(v), f(2 ** 400)));

/** FERR = the exact a*b minus its rounded value p: Dekker's product error, in productError's order (x87-fast.ts). */
function productError(c: Code, a: Ex, b: Ex, p: Ex): void {
  split(c, a, FAH, FAL);
  split(c, b, FBH, FBL);
  const m = (x: number, y: number): Ex => fmul(get(x), get(y));
  c.set(FERR, fadd(fadd(fadd(fsub(m(FAH, FBH), p), m(FAH, FBL)), m(FAL, FBH)), m(FAL, FBL)));
}

/** hi and lo of Veltkamp's split of x (hi + lo = x, each with at most 26 significant bits). */
function split(c: Code, x: Ex, hi: number, lo: number): void {
  c.set(FC, fmul(f(134217729), x));
  c.set(hi, fsub(get(FC), fsub(get(FC), x)));
  c.set(lo, fsub(x, get(hi)));
}

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
    leave(c, eqz(normalOrZero(get(local(v)), single ? MIN_SINGLE : MIN_NORMAL)));
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
    let error: () => void;
    if (opd >= 6) {
      // fastDouble's division: operands and quotient within 2^±400 (no zeros); the error has
      // the sign of the remainder over the divisor.
      const [x, d] = opd === 6 ? [yv, zv] : [zv, yv];
      leave(c, eqz(and(safe(x), safe(d))));
      c.set(res, fdiv(x, d));
      leave(c, eqz(safe(get(res))));
      error = () => {
        c.set(FU, fmul(get(res), d));
        productError(c, get(res), d, get(FU));
        c.set(FERR, fsub(fsub(x, get(FU)), get(FERR)));
        c.if(fle(d, f(0)));
        c.set(FERR, fneg(get(FERR)));
        c.close();
      };
    } else if (opd === 1) {
      // The rounded product is the x87's when it is at least 2^-1021 (no rounding below the
      // normal range) and finite, or when an operand is zero. Its error term is exact for operands
      // within 2^±400 (or zero): checked only where the error is needed.
      c.set(res, fmul(yv, zv));
      const r = fabs(get(res));
      leave(c, eqz(or(and(fge(r, f(2 ** -1021)), fle(r, f(Number.MAX_VALUE))), or(feq(yv, f(0)), feq(zv, f(0))))));
      const safeOrZero = (v: Ex): Ex => or(feq(v, f(0)), safe(v));
      error = () => {
        leave(c, eqz(y === z ? safeOrZero(yv) : and(safeOrZero(yv), safeOrZero(zv))));
        productError(c, yv, zv, get(res));
      };
    } else {
      // TwoSum: the exact error of the sum.
      const [u, w] = opd === 0 ? [yv, zv] : opd === 4 ? [yv, fneg(zv)] : [zv, fneg(yv)];
      c.set(FU, u);
      c.set(FW, w);
      c.set(res, fadd(get(FU), get(FW)));
      error = () => {
        c.set(FH, fsub(get(res), get(FU)));
        c.set(FERR, fadd(fsub(get(FU), fsub(get(res), get(FH))), fsub(get(FW), get(FH))));
      };
    }
    // (A product's range is checked above; a quotient within 2^±400 is a normal double.)
    if (opd === 0 || opd === 4 || opd === 5) leave(c, eqz(normalOrZero(get(res), MIN_NORMAL)));
    if (last) error();
    c.if(eqz(get(XPE)));
    if (!last) error();
    c.if(fne(get(FERR), f(0)));
    c.set(XPE, k(32));
    c.close();
    c.close();
  },
};

/**
 * How a run holds its values (as RunValues in jit-x87.ts): the mirror's x87Fast it needs, the
 * writer of its computing steps, how slot j's value comes from its register at the start and
 * goes back at the end (a zero's tag into XZT), and the last instruction's C1.
 */
interface WasmRunValues {
  mode: number;
  writer: RunWriter<Line>;
  load(c: Code, j: number): void;
  store(c: Code, j: number, w: string): void;
  c1(last: string | null): Ex;
}

const DOUBLE_VALUES: WasmRunValues = {
  mode: 1,
  writer: doubleWriter,
  load: (c, j) => {
    c.set(FSLOT + j, double(physOf(j)));
    leave(c, fne(get(FSLOT + j), get(FSLOT + j)));
  },
  store: (c, j, w) => {
    c.emit(shl(physOf(j), k(3)), get(local(w)), [op.f64Store, 3, ...uleb(DOUBLES)]);
    c.set(XZT, or(get(XZT), shl(feq(get(local(w)), f(0)), k(2 * j))));
  },
  // "Rounded up": the error of a result is zero or has its sign.
  c1: (last) =>
    last === null
      ? k(0)
      : select(and(fne(get(FERR), f(0)), eq(fgt(get(local(last)), f(0)), flt(get(FERR), f(0)))), k(C1), k(0)),
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
 * The 80-bit arithmetic (x87-extended.ts) of op (its /digit, or 2: compare) on a and b, inline:
 * flags into XR, a result into r's locals; leaves when it declines.
 */
function extended(c: Code, opd: number, a: string, b: string, r: string | null): void {
  c.emit(extendedInline(FRAME, opd, get(seOf(a)), get(sigOf(a)), get(seOf(b)), get(sigOf(b)))!);
  c.set(XR, RESULT.flags);
  leave(c, eqz(get(XR)));
  if (r === null) return;
  c.set(seOf(r), RESULT.se);
  c.set(sigOf(r), RESULT.sig);
}

/** The WebAssembly writer of an 80-bit run's computing steps. */
const extendedWriter: RunWriter<Line> = {
  load: (v, i, single) => (c) => {
    loadNumber(c, i, single ? 'single' : 'double', FC);
    leave(c, eqz(normalOrZero(get(FC), single ? MIN_SINGLE : MIN_NORMAL)));
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
    c.set(XFL, shrU(get(XR), k(8)));
  },
  arith: (r, opd, y, z) => (c) => {
    extended(c, opd, y, z, r);
    c.set(XPE, or(get(XPE), shl(and(get(XR), k(2)), k(4))));
  },
};

const EXTENDED_VALUES: WasmRunValues = {
  mode: 2,
  writer: extendedWriter,
  load: (c, j) => {
    const at = shl(physOf(j), k(4));
    c.set(XSE_SLOT + j, [...at, op.i32Load, 2, ...uleb(WORDS + 8)]);
    c.set(XSIG_SLOT + j, [...at, op.i64Load, 3, ...uleb(WORDS)]);
    // Normal (exponent neither 0 nor all ones, integer bit set) or a zero.
    const e = and(get(XSE_SLOT + j), k(0x7fff));
    const sig = get(XSIG_SLOT + j);
    leave(c, select(eqz(e), [...sig, ...k64(0), op.i64Ne], or(eq(e, k(0x7fff)), [...sig, ...k64(0), op.i64GeS])));
  },
  store: (c, j, w) => {
    const at = shl(physOf(j), k(4));
    c.emit(at, get(sigOf(w)), [op.i64Store, 3, ...uleb(WORDS)]);
    c.emit(at, get(seOf(w)), [op.i32Store, 2, ...uleb(WORDS + 8)]);
    c.set(XZT, or(get(XZT), shl([...get(sigOf(w)), op.i64Eqz], k(2 * j))));
  },
  // The arithmetic's flags of the last instruction: bit 2, "rounded up".
  c1: (last) => (last === null ? k(0) : select(and(get(XR), k(4)), k(C1), k(0))),
};

/** A run as WebAssembly: how many instructions it covers, its integer ones, and its fast piece. */
export interface WasmX87Run<F> {
  n: number;
  integer: Map<number, F>;
  /** Whether it ends with ZF/PF/CF of an FCOMI: the fast piece leaves them in local r too. */
  eflags: boolean;
  /** Writes the fast pieces: local x is 1 when one ran the whole run, 0 when nothing was done. */
  fast: (c: Code) => void;
}

/**
 * A run's fast piece holding values as `values` says (see wasmX87Runs): it sets local x to 1 when
 * it ran the whole run; otherwise nothing has been written.
 */
function fastPiece<F>(c: Code, plan: RunPlan<Line, F>, values: WasmRunValues, fip: number, fop: number): void {
  const { st, eflags, mem } = plan;
  c.open('block', 'stretch');
  c.set(XS, mget(M.x87Status));
  leave(c, or(ne(and(get(XS), k(128)), k(0)), ne(mget(M.x87Fast), k(values.mode))));
  c.set(XT, and(shrU(get(XS), k(11)), k(7)));
  c.set(XTG, mget(M.x87Tag));
  c.set(XPE, and(get(XS), k(32)));
  c.set(XZT, k(0));
  // The tags by slot (two bits each, relative to TOP): the slots read must not be empty
  // (tag 3), the slots pushed into must be.
  let full = 0,
    empty = 0;
  for (const j of st.full) full |= 3 << (2 * j);
  for (const j of st.emptyAtStart) empty |= 3 << (2 * j);
  const by = shl(get(XT), k(1));
  // XP: the tags by slot (rotated by TOP).
  c.set(XP, and(or(shrU(get(XTG), by), shl(get(XTG), sub(k(16), by))), k(0xffff)));
  const read = (): Ex => and(get(XP), k(full));
  leave(c, or(ne(and(get(XP), k(empty)), k(empty)), ne(and(and(read(), shrU(read(), k(1))), k(0x5555 & full)), k(0))));
  for (const j of st.full) values.load(c, j);
  // The last line is the last instruction's when that computes a result (st.error).
  st.lines.forEach((line, n) => line(c, st.error !== null && n === st.lines.length - 1));
  // Nothing can fail from here on. Each written slot gets its last value (a zero: tag "zero",
  // collected by slot in XZT); the tags are set by slot in XP, then rotated back by TOP.
  let slots = 0;
  for (const [j, w] of st.written) {
    slots |= 1 << j;
    values.store(c, j, w);
  }
  c.mset(M.x87Written, or(mget(M.x87Written), rotate(slots)));
  const { valid, emptied } = st.tagMasks();
  c.set(XP, or(or(and(get(XP), k(~(valid | emptied))), k(emptied)), get(XZT)));
  c.mset(M.x87Tag, and(or(shl(get(XP), by), shrU(get(XP), sub(k(16), by))), k(0xffff)));
  c.set(
    XS,
    or(or(and(get(XS), k(~(TOP | C1))), shl(and(add(get(XT), k(st.depth)), k(7)), k(11))), values.c1(st.error)),
  );
  c.if(ne(get(XPE), and(mget(M.x87Status), k(32))));
  c.set(XS, and(or(get(XS), k(32)), k(~SUMMARY)));
  c.close();
  c.mset(M.x87Status, get(XS));
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
 * Each has a fast piece on doubles and one on 80-bit values: the mirror's x87Fast picks the one
 * that applies.
 */
export function wasmX87Runs<F>(
  block: Instr[],
  eips: number[],
  integerStep: (i: Instr) => F | null,
): Map<number, WasmX87Run<F>> {
  const runs = new Map<number, WasmX87Run<F>>();
  for (let p = 0; p < block.length; p++) {
    const plan = planRun(block, p, DOUBLE_VALUES.writer, integerStep, 1);
    if (plan === null) continue;
    const { n, integer, eflags } = plan;
    // The same instructions planned again with the other writer (planning does not depend on it).
    const extended = planRun(block, p, EXTENDED_VALUES.writer, integerStep, 1)!;
    if (plan.st.values > RUN_VALUES) throw new Error('x87 run with more values than locals');
    const last = block[p + n - 1]!;
    const fip = eips[p + n - 1]!,
      fop = ((last.op & 7) << 8) | last.modrm;
    const fast = (c: Code): void => {
      c.set(X, k(0));
      fastPiece(c, plan, DOUBLE_VALUES, fip, fop);
      c.if(eqz(get(X)));
      fastPiece(c, extended, EXTENDED_VALUES, fip, fop);
      c.close();
    };
    runs.set(p, { n, integer, eflags, fast });
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
  const mode = (c.cr0 & 12) !== 0 ? 0 : runsFast(x.control) ? 1 : runsExtended(x.control) ? 2 : 0;
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
