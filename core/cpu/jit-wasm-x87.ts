// x87 runs in WebAssembly regions: the runs of jit-x87.ts (consecutive escapes that only move
// and compute doubles, maybe with integer instructions between them) as WebAssembly, on f64
// locals. A run's fast piece applies under the same conditions as in JavaScript (no pending
// exception, CR0.EM/TS clear, precision "double", round to nearest, all exceptions masked, every
// operand a known double or a zero, every load a TLB hit, every result normal or zero) and
// leaves the same state; when any of them fails, nothing has been written and the run's
// instructions run one by one through their handlers (jit-wasm.ts emits that part).
//
// The x87 state a run needs is in the mirror (wasm-code.ts): status, tags, FIP/FOP/FDP, and each
// register as a double (the float64 cache of x87-stack.ts, with zeros filled in from the words;
// NaN where the value is not known as a double). The region's wrapper copies it in and out with
// x87ToMirror and x87ToC, as it does the general registers.

import type { I386 } from './cpu';
import type { Instr } from './instr';
import { planRun, runsFast, type RunWriter } from './jit-x87';
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
  add,
  and,
  bin,
  eaOf,
  eq,
  eqz,
  get,
  k,
  mget,
  ne,
  or,
  select,
  shl,
  shrU,
  sub,
  tlb,
  tlbHit,
  type Ex,
} from './wasm-code';
import { f64Bytes, op, uleb } from './wasm-module';
import { bindShadow, shadowCache } from './x87-stack';

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
 * A step's code: `last` when it is the run's last instruction, whose result's error gives C1
 * (other results' errors only matter while PE is clear).
 */
type Line = (c: Code, last: boolean) => void;

/** The WebAssembly writer of a run's computing steps (an arithmetic one leaves its error in FERR). */
const writer: RunWriter<Line> = {
  load: (v, i, single) => (c) => {
    c.set(L, eaOf(i));
    c.set(E, tlb(RB));
    leave(c, eqz(tlbHit(single ? 4 : 8)));
    const at = IN_RAM();
    c.set(
      local(v),
      single
        ? [...at, op.f32Load, 2, ...uleb(RAM_BASE - 1), op.f64PromoteF32]
        : [...at, op.f64Load, 3, ...uleb(RAM_BASE - 1)],
    );
    leave(c, eqz(normalOrZero(get(local(v)), single ? MIN_SINGLE : MIN_NORMAL)));
    c.set(XFDP, get(L));
  },
  loadInt: (v, i) => (c) => {
    c.set(L, eaOf(i));
    c.set(E, tlb(RB));
    leave(c, eqz(tlbHit(4)));
    c.set(local(v), [...IN_RAM(), op.i32Load, 2, ...uleb(RAM_BASE - 1), op.f64ConvertI32s]);
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

/** A run as WebAssembly: how many instructions it covers, its integer ones, and its fast piece. */
export interface WasmX87Run<F> {
  n: number;
  integer: Map<number, F>;
  /** Whether it ends with ZF/PF/CF of an FCOMI: the fast piece leaves them in local r too. */
  eflags: boolean;
  /** Writes the fast piece: local x is 1 when it ran the whole run, 0 when nothing was done. */
  fast: (c: Code) => void;
}

/**
 * The runs of a basic block (instructions `block` at `eips`), by the position they start at. A
 * single escape of the kinds a run holds is a run too (WebAssembly has no other inline x87 code).
 */
export function wasmX87Runs<F>(
  block: Instr[],
  eips: number[],
  integerStep: (i: Instr) => F | null,
): Map<number, WasmX87Run<F>> {
  const runs = new Map<number, WasmX87Run<F>>();
  for (let p = 0; p < block.length; p++) {
    const plan = planRun(block, p, writer, integerStep, 1);
    if (plan === null) continue;
    const { st, n, integer, eflags, mem } = plan;
    if (st.values > RUN_VALUES) throw new Error('x87 run with more values than locals');
    const last = block[p + n - 1]!;
    const fip = eips[p + n - 1]!,
      fop = ((last.op & 7) << 8) | last.modrm;
    const fast = (c: Code): void => {
      c.set(X, k(0));
      c.open('block', 'stretch');
      c.set(XS, mget(M.x87Status));
      leave(c, or(ne(and(get(XS), k(128)), k(0)), eqz(mget(M.x87Fast))));
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
      leave(
        c,
        or(ne(and(get(XP), k(empty)), k(empty)), ne(and(and(read(), shrU(read(), k(1))), k(0x5555 & full)), k(0))),
      );
      for (const j of st.full) {
        c.set(FSLOT + j, double(physOf(j)));
        leave(c, fne(get(FSLOT + j), get(FSLOT + j)));
      }
      // The last line is the last instruction's when that computes a result (st.error).
      st.lines.forEach((line, n) => line(c, st.error !== null && n === st.lines.length - 1));
      // Nothing can fail from here on. Each written slot gets its last value (a zero: tag "zero",
      // collected by slot in XZT); the tags are set by slot in XP, then rotated back by TOP.
      let slots = 0;
      for (const [j, w] of st.written) {
        slots |= 1 << j;
        c.emit(shl(physOf(j), k(3)), get(local(w)), [op.f64Store, 3, ...uleb(DOUBLES)]);
        c.set(XZT, or(get(XZT), shl(feq(get(local(w)), f(0)), k(2 * j))));
      }
      c.mset(M.x87Written, or(mget(M.x87Written), rotate(slots)));
      const { valid, emptied } = st.tagMasks();
      c.set(XP, or(or(and(get(XP), k(~(valid | emptied))), k(emptied)), get(XZT)));
      c.mset(M.x87Tag, and(or(shl(get(XP), by), shrU(get(XP), sub(k(16), by))), k(0xffff)));
      // C1 of the last instruction: "rounded up" (the error of a result is zero or has its sign).
      const c1 =
        st.error === null
          ? k(0)
          : select(and(fne(get(FERR), f(0)), eq(fgt(get(local(st.error)), f(0)), flt(get(FERR), f(0)))), k(C1), k(0));
      c.set(XS, or(or(and(get(XS), k(~(TOP | C1))), shl(and(add(get(XT), k(st.depth)), k(7)), k(11))), c1));
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
    };
    runs.set(p, { n, integer, eflags, fast });
    p += n - 1;
  }
  return runs;
}

/** Copies the x87 state a run reads into the mirror (`doubles`: its registers as doubles), when runs can take their fast pieces. */
export function x87ToMirror(c: I386, m: Int32Array, doubles: Float64Array): void {
  const x = c.x87;
  const fast = (c.cr0 & 12) === 0 && runsFast(x.control);
  m[M.x87Fast] = fast ? 1 : 0;
  // Otherwise every fast piece leaves at once, and nothing else reads the x87 state here.
  if (!fast) return;
  bindShadow(x);
  m[M.x87Status] = x.status;
  m[M.x87Tag] = x.tag;
  m[M.fip] = x.fip;
  m[M.fop] = x.fop;
  m[M.fdp] = x.fdp;
  m[M.x87Written] = 0;
  const cached = shadowCache.values;
  for (let p = 0; p < 8; p++) {
    let v = cached[p]!;
    // A register tagged "zero" is not in the cache: its words are current and give the sign.
    if (v !== v && ((x.tag >>> (p * 2)) & 3) === 1) v = (x.regs[p * 3 + 2]! & 0x8000) !== 0 ? -0 : 0;
    doubles[p] = v;
  }
}

/** Copies what runs changed back: registers into the cache (zeros into their words), status, tags, FIP/FOP/FDP. */
export function x87ToC(c: I386, m: Int32Array, doubles: Float64Array): void {
  if (m[M.x87Fast] === 0) return;
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
