// The pieces WebAssembly region code is written with (jit-wasm.ts, jit-wasm-x87.ts): the
// mirror's slots, the region function's locals, expressions and statements as byte arrays, and
// the TLB lookup of a memory operand.

import type { Instr } from './instr';
import { F64, I32, I64, VOID, op, sleb, uleb } from './wasm-module';

/** Word slots of the mirror (at address 0 of the memory). */
export const M = {
  ip: 8,
  icount: 9,
  flags: 10,
  lazy: 11,
  lop: 12,
  la: 13,
  lb: 14,
  lres: 15,
  lmask: 16,
  lsign: 17,
  nextIp: 18,
  /** Nonzero when the mirror's flags and record (slots 10-17) are newer than the CPU's. */
  recordDirty: 19,
  // The x87 state, for regions with x87 escapes (see jit-wasm-x87.ts).
  x87Status: 20,
  x87Tag: 21,
  /**
   * Which runs may take their fast pieces (CR0.EM/TS clear, nearest, all exceptions masked): 1
   * the float64 ones (precision "double"), 2 the 80-bit ones (precision extended), 0 none.
   */
  x87Fast: 22,
  fip: 23,
  fop: 24,
  fdp: 25,
  /** Bit p set when the region wrote physical register p's double (slot x87Doubles + p). */
  x87Written: 26,
  /** The registers as doubles, by physical number (8 bytes each from this slot on; NaN: unknown). */
  x87Doubles: 32,
  /**
   * The registers' words for the 80-bit runs, by physical number, 16 bytes each from this slot
   * on: the significand (low word first: an i64) and the sign/exponent.
   */
  x87Words: 48,
} as const;

export const ARITH = 0x8d5;
export const SEG_FLAT = [true, false, true, true, false, false];

// Locals: the parameters (the budget, the current TLB tables' byte addresses, the CPU's code
// generation at entry, the entry EIP's page offset), then the region's own.
export const LIMIT = 0,
  RB = 1,
  WB = 2,
  CG = 3,
  ENTRY = 4;
export const Q = (r: number): number => 5 + r;
export const IC = 13,
  A = 14,
  B = 15,
  R = 16,
  L = 17,
  E = 18,
  P = 19,
  V = 20,
  X = 21,
  FK = 22,
  FA = 23,
  FB = 24,
  FR = 25,
  BLK = 26,
  PAST = 27,
  W64 = 28;
// The x87 runs' locals: i32 (status, PE, EFLAGS bits, FDP), then f64: the stack
// slots read at the start of a run, the run's values, and scratch.
export const XS = 29,
  XPE = 30,
  XFL = 31,
  XFDP = 32,
  /**
   * f64: 8 slots read at the start, then RUN_VALUES values (a run of at most 16 instructions
   * computes two values each at most, and its planner may name one more it then drops).
   */
  FSLOT = 33,
  RUN_VALUES = 34,
  FVAL = FSLOT + 8,
  FU = FVAL + RUN_VALUES,
  FW = FU + 1,
  FH = FU + 2,
  FERR = FU + 3,
  FAH = FU + 4,
  FAL = FU + 5,
  FBH = FU + 6,
  FBL = FU + 7,
  FC = FU + 8;
/**
 * The 80-bit runs' values (see FSLOT): i32 sign/exponents of the slots read at the start and of
 * the run's values, then the i64 significands of the same, and XG, the guard bits of every
 * result or'ed together (nonzero: one was inexact).
 */
export const XSE_SLOT = FC + 1,
  XSE_VAL = XSE_SLOT + 8,
  XSIG_SLOT = XSE_VAL + RUN_VALUES,
  XSIG_VAL = XSIG_SLOT + 8,
  XG = XSIG_VAL + RUN_VALUES,
  X87_LAST = XG;
/**
 * The x87 state runs keep in locals across one call of the region (jit-wasm-x87.ts, "live"): i32
 * LV (0: not live, else the x87Fast mode it went live in), LB (TOP when it went live: the base
 * of the slots below), LT (TOP now), LTAG (the tag word by slot from LB; a register written
 * since is "valid" there even when it holds a zero, which the flush tells by its value), LOK
 * (slots holding a value a run can take), LWR (slots written since), LS (the status word, its TOP
 * field stale); then by slot from LB the registers as doubles (f64, mode 1), or sign/exponents
 * (i32) and significands (i64, mode 2).
 */
export const LV = X87_LAST + 1,
  LB = LV + 1,
  LT = LV + 2,
  LTAG = LV + 3,
  LOK = LV + 4,
  LWR = LV + 5,
  LS = LV + 6,
  LD = LV + 7,
  LSE = LD + 8,
  LSIG = LSE + 8,
  /**
   * The C1 a double run owes the status (jit-wasm-x87.ts): CK its arithmetic's kind (0: none
   * owed), CA and CB the operands, CR the result (f64).
   */
  CK = LSIG + 8,
  CA = CK + 1,
  CB = CK + 2,
  CR = CK + 3;
/** The index of jit-wasm-x87.ts's flush function in a region module with x87 runs (jit-wasm.ts puts it there). */
export const F_X87_FLUSH = 9;
/** Where runs inline the 80-bit arithmetic: x87-extended.ts's frame, after the locals above. */
export const XFRAME = CR + 1;
const RUN_PARAMS = 5;
/** The region function's locals after its parameters; the x87 runs' only when it has runs. */
export const runLocals = (x87: boolean): number[] => [
  ...Array<number>(W64 - RUN_PARAMS).fill(I32),
  I64,
  ...(x87
    ? [
        ...Array<number>(FSLOT - XS).fill(I32),
        ...Array<number>(XSE_SLOT - FSLOT).fill(F64),
        ...Array<number>(XSIG_SLOT - XSE_SLOT).fill(I32),
        ...Array<number>(X87_LAST + 1 - XSIG_SLOT).fill(I64),
        ...Array<number>(LD - LV).fill(I32),
        ...Array<number>(8).fill(F64),
        ...Array<number>(8).fill(I32),
        ...Array<number>(8).fill(I64),
        I32,
        F64,
        F64,
        F64,
      ]
    : []),
];
/** The type of the region function's local x (with x87 runs). */
export const localType = (x: number): number => runLocals(true)[x - RUN_PARAMS]!;

// ---- expressions (byte arrays that leave one i32 on the stack) ----

export type Ex = number[];
export const get = (x: number): Ex => [op.localGet, ...uleb(x)];
export const k = (n: number): Ex => [op.i32Const, ...sleb(n)];
export const bin =
  (o: number) =>
  (x: Ex, y: Ex): Ex => [...x, ...y, o];
export const add = bin(op.i32Add),
  sub = bin(op.i32Sub),
  and = bin(op.i32And),
  or = bin(op.i32Or),
  xor = bin(op.i32Xor),
  shl = bin(op.i32Shl),
  shrU = bin(op.i32ShrU),
  shrS = bin(op.i32ShrS),
  eq = bin(op.i32Eq),
  ne = bin(op.i32Ne),
  ltS = bin(op.i32LtS),
  ltU = bin(op.i32LtU),
  gtS = bin(op.i32GtS),
  gtU = bin(op.i32GtU),
  leS = bin(op.i32LeS),
  leU = bin(op.i32LeU),
  geS = bin(op.i32GeS),
  geU = bin(op.i32GeU);
export const eqz = (x: Ex): Ex => [...x, op.i32Eqz];
// i64 expressions (x87-extended.ts and the 80-bit runs).
export const k64 = (n: number): Ex => [op.i64Const, ...sleb(n)];
export const add64 = bin(op.i64Add),
  sub64 = bin(op.i64Sub),
  mul64 = bin(op.i64Mul),
  and64 = bin(op.i64And),
  or64 = bin(op.i64Or),
  shl64 = bin(op.i64Shl),
  shr64 = bin(op.i64ShrU);
/** The i32 x as an unsigned i64, and the low half of the i64 x as an i32. */
export const u64 = (x: Ex): Ex => [...x, op.i64ExtendI32u];
export const wrap = (x: Ex): Ex => [...x, op.i32WrapI64];
export const call = (f: number, ...args: Ex[]): Ex => [...args.flat(), op.call, ...uleb(f)];
const LOAD = [0, op.i32Load8u, op.i32Load16u, 0, op.i32Load];
const ALIGN = [0, 0, 1, 0, 2];
export const loadN = (n: number, addr: Ex, offset: number): Ex => [...addr, LOAD[n]!, ALIGN[n]!, ...uleb(offset)];
export const mget = (slot: number): Ex => loadN(4, k(0), slot * 4);
/** ?: on i32 values (both arms are evaluated). */
export const select = (cond: Ex, yes: Ex, no: Ex): Ex => [...yes, ...no, ...cond, op.select];

// ---- statements ----

/** A function body under construction, with the labels of its open blocks. */
export class Code {
  readonly b: number[] = [];
  private readonly labels: (string | null)[] = [];
  /** Code that puts state kept in locals back before a call out of the region (or its return). */
  beforeCallOut: ((c: Code) => void) | null = null;

  emit(...parts: number[][]): void {
    for (const p of parts) for (let k = 0; k < p.length; k++) this.b.push(p[k]!);
  }
  set(x: number, e: Ex): void {
    this.emit(e, [op.localSet, ...uleb(x)]);
  }
  store(n: number, addr: Ex, val: Ex, offset: number): void {
    const o = n === 4 ? op.i32Store : op.i32Store8;
    this.emit(addr, val, [o, ALIGN[n]!, ...uleb(offset)]);
  }
  mset(slot: number, e: Ex): void {
    this.store(4, k(0), e, slot * 4);
  }
  open(kind: 'block' | 'loop', label: string): void {
    this.b.push(kind === 'block' ? op.block : op.loop, VOID);
    this.labels.push(label);
  }
  if(cond: Ex): void {
    this.emit(cond, [op.if, VOID]);
    this.labels.push(null);
  }
  else(): void {
    this.b.push(op.else);
  }
  close(): void {
    this.b.push(op.end);
    this.labels.pop();
  }
  private depth(label: string): number {
    const at = this.labels.lastIndexOf(label);
    if (at < 0) throw new Error(`no open label ${label}`);
    return this.labels.length - 1 - at;
  }
  br(label: string): void {
    this.emit(this.brFrom(label, 0));
  }
  /** A br to `label` for code `inner` blocks deeper than here (inside code emitted as a whole). */
  brFrom(label: string, inner: number): Ex {
    return [op.br, ...uleb(this.depth(label) + inner)];
  }
  brTable(targets: string[], fallback: string): void {
    const depths = new Map<string, number[]>();
    const at = (t: string): number[] => {
      let d = depths.get(t);
      if (d === undefined) depths.set(t, (d = uleb(this.depth(t))));
      return d;
    };
    this.emit([op.brTable, ...uleb(targets.length)]);
    for (const t of targets) this.emit(at(t));
    this.emit(at(fallback));
  }
}

/** The effective address of i's memory operand (the offset in its segment), from the register locals. */
export function eaOf(i: Instr): Ex {
  const parts: Ex[] = [];
  if (i.base >= 0) parts.push(get(Q(i.base)));
  if (i.index >= 0) parts.push(i.scale === 0 ? get(Q(i.index)) : shl(get(Q(i.index)), k(i.scale)));
  if (i.disp !== 0 || parts.length === 0) parts.push(k(i.disp | 0));
  return parts.reduce((x, y) => add(x, y));
}

/** Where in the memory the byte at linear l lies, given its TLB entry in local e. */
export const IN_RAM = (): Ex => add(get(E), and(get(L), k(4095)));
/** The TLB entry (of the table whose byte address is in local `table`) for linear l. */
export const tlb = (table: number): Ex => loadN(4, add(get(table), shl(shrU(get(L), k(12)), k(2))), 0);
/** The TLB test of an n-byte access at l whose entry is in local e. */
export const tlbHit = (n: number): Ex =>
  n === 1 ? get(E) : and(ne(get(E), k(0)), leU(and(get(L), k(4095)), k(4096 - n)));
