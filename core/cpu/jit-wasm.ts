// The region compiler's WebAssembly backend: the blocks of a region (as jit.ts finds them)
// become one WebAssembly function, with the same guarantees as the JavaScript regions (the
// state of a faulting instruction, one count per retirement, a stop exactly at the budget).
// WebAssembly reaches guest RAM and the TLB tables directly, so it needs a machine whose RAM
// lives in a WebAssembly memory (memory.ts). x87 escapes run through their handlers, except the
// runs of them that jit-wasm-x87.ts writes as WebAssembly.
//
// Inside the function the registers and the lazy-flag record live in locals as in the
// JavaScript regions (fk, fa, fb, fr: see RECORD_DECLARE in jit-forms.ts). The CPU's own state
// reaches WebAssembly through the mirror, a few words at the start of the memory (M below): the
// region's JavaScript wrapper copies the CPU into it before the call and back after it, and
// around every call out to a handler. A memory access the TLB does not allow at once (a miss, a
// page that holds cached code, an access across a page end) leaves the region at that
// instruction, and the run loop's interpreter runs it: so the hot code makes no calls, and the
// engine keeps the locals in registers. A fault raised by a call out (a handler, a segment
// check) unwinds through the WebAssembly frames: before each such call the state as at the
// start of the instruction is written to the mirror (commit), and the wrapper copies it back
// whatever way the call ends.

import { BoundedCache } from './bounded-cache';
import type { I386 } from './cpu';
import { testCond } from './flags';
import { shiftOp } from './alu';
import type { Instr } from './instr';
import { aluShape, directTarget, fallsThrough, isJcc, recordDead, selfLoop, type RegionBlock } from './jit-forms';
import { backEdges, loopNest, seenFrom, type BlockLoop } from './region-loops';
import { wasmX87Runs, x87Flush, x87FlushFunction, x87ToC, x87ToMirror, type WasmX87Run } from './jit-wasm-x87';
import { EXTENDED_FRAME_LOCALS } from './x87-extended';
import { MIRROR_BYTES, RAM_BASE } from './memory';
import { ROLE_BRANCH, ROLE_PLAIN, ROLE_USES_IP } from './optable';
import {
  A,
  ARITH,
  B,
  BLK,
  CG,
  Code,
  E,
  ENTRY,
  FA,
  FB,
  FK,
  FR,
  IC,
  IN_RAM,
  L,
  LIMIT,
  M,
  P,
  PAST,
  Q,
  R,
  RB,
  SEG_FLAT,
  V,
  W64,
  WB,
  X,
  add,
  and,
  call,
  eaOf,
  eq,
  eqz,
  geS,
  geU,
  get,
  gtS,
  gtU,
  k,
  leS,
  leU,
  loadN,
  ltS,
  ltU,
  mget,
  ne,
  or,
  runLocals,
  select,
  shl,
  shrS,
  shrU,
  sub,
  tlb,
  tlbHit,
  xor,
  type Ex,
} from './wasm-code';
import { I32, encodeModule, op, uleb, wasmApi, type FuncType, type WasmMemory, type WasmModule } from './wasm-module';

// Imported functions, by index.
const IMPORTS: { name: string; type: FuncType }[] = [
  { name: 'handlers', type: { params: [I32, I32], results: [I32] } },
  { name: 'testCond', type: { params: [I32], results: [I32] } },
  { name: 'shift', type: { params: [I32, I32, I32], results: [I32] } },
  { name: 'linR', type: { params: [I32, I32, I32], results: [I32] } },
  { name: 'linW', type: { params: [I32, I32, I32], results: [I32] } },
];
const F_HANDLERS = 0,
  F_TESTCOND = 1,
  F_SHIFT = 2,
  F_LINR = 3,
  F_LINW = 4;
// The module's own functions follow the imports.
const F_RUN = IMPORTS.length,
  F_WREC = F_RUN + 1,
  F_RCF = F_RUN + 2,
  F_FIND = F_RUN + 3;
// ... and in regions with x87 runs the flush function, at F_X87_FLUSH (wasm-code.ts) = F_RUN + 4.

/** Writes the locals' flag record to the mirror, if they hold one (the RECORD_OUT of jit-forms.ts). */
function recordOut(c: Code): void {
  c.if(geS(get(FK), k(0)));
  c.emit(call(F_WREC, get(FK), get(FA), get(FB), get(FR)));
  c.set(FK, k(-1));
  c.close();
}

function spill(c: Code): void {
  for (let r = 0; r < 8; r++) c.mset(r, get(Q(r)));
}
function fill(c: Code): void {
  for (let r = 0; r < 8; r++) c.set(Q(r), mget(r));
}

/** The body of $wrec(fk, fa, fb, fr): writeRecord of jit-forms.ts, on the mirror. */
function wrecBody(): number[] {
  const c = new Code();
  const [fk, fa, fb, fr] = [0, 1, 2, 3];
  const byte = ne(and(get(fk), k(4)), k(0));
  c.mset(M.lop, and(get(fk), k(3)));
  c.mset(M.lres, get(fr));
  c.mset(M.lmask, select(byte, k(0xff), k(-1)));
  c.mset(M.lsign, select(byte, k(0x80), k(-0x80000000)));
  c.mset(M.recordDirty, k(1));
  c.if(eq(shrS(get(fk), k(4)), k(2)));
  c.mset(M.flags, or(and(mget(M.flags), k(~ARITH)), get(fa)));
  c.mset(M.la, k(0));
  c.mset(M.lb, k(0));
  c.mset(M.lazy, k(0xc4));
  c.else();
  c.mset(M.la, get(fa));
  c.mset(M.lb, get(fb));
  c.mset(M.lazy, select(eqz(shrS(get(fk), k(4))), k(ARITH), k(ARITH & ~1)));
  c.close();
  return c.b;
}

/** The body of $rcf(lop, la, lb, lres, lmask): recordCF of flags.ts. */
function rcfBody(): number[] {
  const [lop, la, lb, lres, lmask] = [0, 1, 2, 3, 4];
  const m = (x: number): Ex => and(get(x), get(lmask));
  return [...select(eqz(get(lop)), ltU(m(lres), m(la)), select(eq(get(lop), k(1)), ltU(m(la), m(lb)), k(0)))];
}

/** The body of $find(off): the number of the block at page offset off, or -1 (also for off outside 0..4095). */
function findBody(starts: number[]): number[] {
  const c = new Code();
  const n = starts.length;
  c.open('block', 'none');
  for (let b = n - 1; b >= 0; b--) c.open('block', `b${b}`);
  const targets = new Array<string>(4096).fill('none');
  starts.forEach((o, b) => (targets[o] = `b${b}`));
  c.emit(get(0));
  c.brTable(targets, 'none');
  for (let b = 0; b < n; b++) {
    c.close();
    c.emit(k(b), [op.return]);
  }
  c.close();
  c.emit(k(-1));
  return c.b;
}

// ---- forms ----

/** What a following Jcc/SETcc/CMOVcc may read instead of the record (as FlagSource in jit-forms.ts). */
type Source = 'add32' | 'sub32' | 'logic32' | 'sub8' | 'logic8' | 'zs32' | 'fcomi';

/**
 * An inline form (as Form of jit-forms.ts): `code` writes its effect, calling `commit` before
 * anything that may leave or fault; `record` (if any) writes the lazy-flag record.
 */
interface WForm {
  code: (c: Code, commit: () => void) => void;
  faults: boolean;
  flags?: Source | null;
  record?: (c: Code) => void;
  recordInC?: boolean;
  setsAll?: boolean;
  reads?: boolean;
}

/** `l = ` the linear address of i's memory operand (n bytes), after a commit when a segment check may fault. */
function linear(c: Code, commit: () => void, i: Instr, write: boolean, n: number, ea: Ex = eaOf(i)): void {
  if (SEG_FLAT[i.seg]) return c.set(L, ea);
  commit();
  c.beforeCallOut?.(c);
  c.set(L, call(write ? F_LINW : F_LINR, k(i.seg), ea, k(n)));
}

/**
 * Leaves the region at the instruction when the TLB has no entry for linear l that allows the
 * access (`hit` false): the run loop's interpreter then runs the instruction, which walks the
 * page tables, faults, or writes into cached code. The region has no calls on these paths, so
 * the engine keeps its locals in registers across them.
 */
function missLeaves(c: Code, commit: () => void, hit: Ex): void {
  c.if(eqz(hit));
  commit();
  c.br('exit');
  c.close();
}

/** Reads n bytes at linear l (set by the caller) into local dst. */
function loadAt(c: Code, commit: () => void, n: number, dst: number): void {
  c.set(E, tlb(RB));
  missLeaves(c, commit, tlbHit(n));
  c.set(dst, loadN(n, IN_RAM(), RAM_BASE - 1));
}

/** Writes `val` (must not use l or e) as n (1 or 4) bytes at linear l. */
function storeAt(c: Code, commit: () => void, n: number, val: Ex): void {
  c.set(E, tlb(WB));
  missLeaves(c, commit, tlbHit(n));
  c.store(n, IN_RAM(), val, RAM_BASE - 1);
}

/** Read-modify-write of n (1 or 4) bytes at linear l: `a` gets the old value, `compute` sets `r`, r is stored. */
function rmwAt(c: Code, commit: () => void, n: number, compute: () => void): void {
  c.set(E, tlb(WB));
  missLeaves(c, commit, tlbHit(n));
  c.set(P, IN_RAM());
  c.set(A, loadN(n, get(P), RAM_BASE - 1));
  compute();
  c.store(n, get(P), get(R), RAM_BASE - 1);
}

function regRead(r: number, sz: number): Ex {
  if (sz === 32) return get(Q(r));
  return r < 4 ? and(get(Q(r)), k(255)) : and(shrU(get(Q(r - 4)), k(8)), k(255));
}

function regWrite(c: Code, r: number, sz: number, val: Ex): void {
  if (sz === 32) return c.set(Q(r), val);
  if (r < 4) return c.set(Q(r), or(and(get(Q(r)), k(-256)), and(val, k(255))));
  c.set(Q(r - 4), or(and(get(Q(r - 4)), k(-65281)), shl(and(val, k(255)), k(8))));
}

/** The packed fk of a record (see RECORD_DECLARE in jit-forms.ts). */
function recordKind(lop: number, sz: number, lazy: number): number {
  return lop | (sz === 8 ? 4 : 0) | (lazy << 4);
}

function recordWith(kind: number, withOperands: boolean): (c: Code) => void {
  return (c) => {
    c.set(FK, k(kind));
    if (withOperands) {
      c.set(FA, get(A));
      c.set(FB, get(B));
    }
    c.set(FR, get(R));
  };
}

/** r from a and b for ALU operation op (ADD..CMP but ADC/SBB), its record and flag source. */
function aluCalc(op: number, sz: number): { calc: Ex; record: (c: Code) => void; flags: Source | null } | null {
  const cut = (x: Ex): Ex => (sz === 32 ? x : and(x, k(255)));
  let calc: Ex, kind: number;
  switch (op) {
    case 0:
      calc = cut(add(get(A), get(B)));
      kind = 0;
      break;
    case 5:
    case 7:
      calc = cut(sub(get(A), get(B)));
      kind = 1;
      break;
    case 1:
      calc = or(get(A), get(B));
      kind = 2;
      break;
    case 4:
      calc = and(get(A), get(B));
      kind = 2;
      break;
    case 6:
      calc = xor(get(A), get(B));
      kind = 2;
      break;
    default:
      return null;
  }
  const flags: Source | null =
    sz === 32 ? (['add32', 'sub32', 'logic32'] as const)[kind]! : ([null, 'sub8', 'logic8'] as const)[kind]!;
  return { calc, record: recordWith(recordKind(kind, sz, 0), kind !== 2), flags };
}

function aluGen(
  i: Instr,
  alu: number,
  sz: number,
  first: 'E' | 'G' | 'A',
  second: Ex | 'E',
  write: boolean,
): WForm | null {
  const calc = aluCalc(alu, sz);
  if (calc === null) return null;
  const n = sz >>> 3;
  const base = { flags: calc.flags, record: calc.record, setsAll: true };
  if (first === 'E' && i.mod !== 3) {
    const b = second as Ex;
    if (!write)
      return {
        ...base,
        faults: true,
        code: (c, commit) => {
          linear(c, commit, i, false, n);
          loadAt(c, commit, n, A);
          c.set(B, b);
          c.set(R, calc.calc);
        },
      };
    return {
      ...base,
      faults: true,
      code: (c, commit) => {
        linear(c, commit, i, true, n);
        rmwAt(c, commit, n, () => {
          c.set(B, b);
          c.set(R, calc.calc);
        });
      },
    };
  }
  const loc = first === 'E' ? i.rm : first === 'G' ? i.reg : 0;
  const fromMemory = second === 'E' && i.mod !== 3;
  return {
    ...base,
    faults: fromMemory,
    code: (c, commit) => {
      if (fromMemory) {
        linear(c, commit, i, false, n);
        loadAt(c, commit, n, B);
      }
      c.set(A, regRead(loc, sz));
      if (!fromMemory) c.set(B, second === 'E' ? regRead(i.rm, sz) : second);
      c.set(R, calc.calc);
      if (write) regWrite(c, loc, sz, get(R));
    },
  };
}

const a_ = (): Ex => get(A),
  b_ = (): Ex => get(B),
  r_ = (): Ex => get(R);
const byteSigned = (x: Ex): Ex => shl(x, k(24));
const bit7 = (): Ex => ne(and(r_(), k(128)), k(0));
const bit7clear = (): Ex => eqz(and(r_(), k(128)));
type Cond = (() => Ex) | null;
const cmp =
  (f: (x: Ex, y: Ex) => Ex, t: (x: Ex) => Ex = (x) => x): Cond =>
  () =>
    f(t(a_()), t(b_()));
const zero = (): Ex => eqz(r_());
const nonzero = (): Ex => ne(r_(), k(0));
const negative = (): Ex => ltS(r_(), k(0));
const notNegative = (): Ex => geS(r_(), k(0));
/** cc 2-7 after a compare (B AE E NE BE A): on a and b, unsigned (bytes are 0..255 in a and b). */
const UNSIGNED: Cond[] = [cmp(ltU), cmp(geU), cmp(eq), cmp(ne), cmp(leU), cmp(gtU)];
/** cc 12-15 after a compare (L GE LE G), on a and b as `t` makes them signed. */
const signed = (t?: (x: Ex) => Ex): Cond[] => [cmp(ltS, t), cmp(geS, t), cmp(leS, t), cmp(gtS, t)];
/** cc 0-7 after a logic operation (OF and CF clear). */
const LOGIC: Cond[] = [() => k(0), () => k(1), () => k(0), () => k(1), zero, nonzero, zero, nonzero];
const FUSED: Record<Source, Cond[]> = {
  sub32: [null, null, ...UNSIGNED, negative, notNegative, null, null, ...signed()],
  sub8: [null, null, ...UNSIGNED, bit7, bit7clear, null, null, ...signed(byteSigned)],
  logic32: [
    ...LOGIC,
    negative,
    notNegative,
    null,
    null,
    negative,
    notNegative,
    () => leS(r_(), k(0)),
    () => gtS(r_(), k(0)),
  ],
  logic8: [
    ...LOGIC,
    bit7,
    bit7clear,
    null,
    null,
    bit7,
    bit7clear,
    () => or(zero(), bit7()),
    () => and(nonzero(), bit7clear()),
  ],
  add32: [null, null, () => ltU(r_(), a_()), () => geU(r_(), a_()), zero, nonzero, null, null, negative, notNegative],
  zs32: [null, null, null, null, zero, nonzero, null, null, negative, notNegative],
  // After an x87 run's FCOMI: ZF, PF and CF in r. (OF and SF are clear after the fast piece, but
  // an FCOMI with an unmasked exception in the FPU leaves all flags as they were.)
  fcomi: [
    null,
    null,
    () => ne(and(r_(), k(1)), k(0)),
    () => eqz(and(r_(), k(1))),
    () => ne(and(r_(), k(64)), k(0)),
    () => eqz(and(r_(), k(64))),
    () => ne(and(r_(), k(65)), k(0)),
    () => eqz(and(r_(), k(65))),
    null,
    null,
    () => ne(and(r_(), k(4)), k(0)),
    () => eqz(and(r_(), k(4))),
  ],
};

/** Condition cc from a/b/r when the flags' source allows, else null (testCond decides). */
function fused(cc: number, src: Source | null): Cond {
  return src === null ? null : (FUSED[src][cc] ?? null);
}

/** Condition cc as an expression; testCond's needs the record written out first (recordOut). */
function condition(cc: number, src: Source | null): Ex {
  const f = fused(cc, src);
  return f !== null ? f() : call(F_TESTCOND, k(cc));
}

/** Flags as recordResultWith leaves them: CF/OF/AF in `bits` (set into local x first), ZF/SF/PF from r. */
function resultWith(bits: (c: Code) => void): (c: Code) => void {
  return (c) => {
    bits(c);
    c.set(FK, k(recordKind(2, 32, 2)));
    c.set(FA, get(X));
    c.set(FR, get(R));
  };
}

function shiftConst(alu: number, rm: number, n: number): WForm | null {
  let calc: (c: Code) => void, bits: Ex;
  if (alu === 4) {
    calc = (c) => {
      c.set(R, shl(get(A), k(n)));
      c.set(X, and(shrU(get(A), k(32 - n)), k(1)));
    };
    bits = or(get(X), shl(and(xor(shrU(get(R), k(31)), get(X)), k(1)), k(11)));
  } else if (alu === 5) {
    calc = (c) => c.set(R, shrU(get(A), k(n)));
    bits = or(and(shrU(get(A), k(n - 1)), k(1)), shl(shrU(get(A), k(31)), k(11)));
  } else if (alu === 7) {
    calc = (c) => c.set(R, shrS(get(A), k(n)));
    bits = and(shrS(get(A), k(n - 1)), k(1));
  } else return null;
  return {
    code: (c) => {
      c.set(A, get(Q(rm)));
      calc(c);
      c.set(Q(rm), get(R));
    },
    faults: false,
    flags: 'zs32',
    record: resultWith((c) => c.set(X, bits)),
    setsAll: true,
  };
}

/** Sets CF in the mirror's flags to `cf` (0 or 1). */
function setMirrorCF(c: Code, cf: Ex): void {
  c.mset(M.flags, or(and(mget(M.flags), k(-2)), cf));
  c.mset(M.recordDirty, k(1));
}

/** The record of INC/DEC: CF becomes concrete from the previous record, the rest follows r. */
function incDecRecord(dec: boolean, prev: Source | null): (c: Code) => void {
  return (c) => {
    const fromBits = (): void => {
      c.if(ne(and(get(FK), k(32)), k(0)));
      setMirrorCF(c, and(get(FA), k(1)));
      c.close();
    };
    if (prev === 'zs32') fromBits();
    else {
      c.if(ltS(get(FK), k(0)));
      // The record is in the mirror: getCF of flags.ts.
      c.if(and(mget(M.lazy), k(1)));
      setMirrorCF(c, call(F_RCF, mget(M.lop), mget(M.la), mget(M.lb), mget(M.lres), mget(M.lmask)));
      c.close();
      c.else();
      c.if(eqz(and(get(FK), k(48))));
      const mask = select(ne(and(get(FK), k(4)), k(0)), k(255), k(-1));
      setMirrorCF(c, call(F_RCF, and(get(FK), k(3)), get(FA), get(FB), get(FR), mask));
      c.else();
      fromBits();
      c.close();
      c.close();
    }
    c.set(FK, k(recordKind(dec ? 1 : 0, 32, 1)));
    c.set(FA, get(A));
    c.set(FB, k(1));
    c.set(FR, get(R));
  };
}

function incDec(c: Code, dec: boolean): void {
  c.set(B, k(1));
  c.set(R, (dec ? sub : add)(get(A), k(1)));
}

/** The r/m operand (sz bits) into local dst. */
function readE(i: Instr, sz: number, dst: number): { code: (c: Code, commit: () => void) => void; faults: boolean } {
  if (i.mod === 3) return { code: (c) => c.set(dst, regRead(i.rm, sz)), faults: false };
  return {
    code: (c, commit) => {
      linear(c, commit, i, false, sz >>> 3);
      loadAt(c, commit, sz >>> 3, dst);
    },
    faults: true,
  };
}

const immOf = (i: Instr, sz: number): Ex => k(sz === 32 ? i.imm | 0 : i.imm & 255);

/** MOVS/STOS/LODS without REP (byte or dword, 32-bit addressing), as inlineString of jit-forms.ts. */
function wasmString(i: Instr): WForm | null {
  if (i.rep !== 0 || i.a16 || i.lock || i.sz === 16) return null;
  const n = i.sz >>> 3;
  const step = (c: Code): void => c.set(X, select(ne(and(mget(M.flags), k(1024)), k(0)), k(-n), k(n)));
  const source = (c: Code, commit: () => void): void => {
    linear(c, commit, i, false, n, get(Q(6)));
    loadAt(c, commit, n, V);
  };
  switch (i.op) {
    case 0xa4:
    case 0xa5:
      return {
        code: (c, commit) => {
          source(c, commit);
          c.set(L, get(Q(7)));
          storeAt(c, commit, n, get(V));
          step(c);
          c.set(Q(6), add(get(Q(6)), get(X)));
          c.set(Q(7), add(get(Q(7)), get(X)));
        },
        faults: true,
      };
    case 0xaa:
    case 0xab:
      return {
        code: (c, commit) => {
          c.set(V, get(Q(0)));
          c.set(L, get(Q(7)));
          storeAt(c, commit, n, n === 1 ? and(get(V), k(255)) : get(V));
          step(c);
          c.set(Q(7), add(get(Q(7)), get(X)));
        },
        faults: true,
      };
    case 0xac:
    case 0xad:
      return {
        code: (c, commit) => {
          source(c, commit);
          regWrite(c, 0, i.sz, get(V));
          step(c);
          c.set(Q(6), add(get(Q(6)), get(X)));
        },
        faults: true,
      };
  }
  return null;
}

/** A store form: `val` (computed before the address) goes to i's memory operand. */
function storeForm(i: Instr, n: number, val: Ex): WForm {
  return {
    code: (c, commit) => {
      c.set(V, val);
      linear(c, commit, i, true, n);
      storeAt(c, commit, n, get(V));
    },
    faults: true,
  };
}

const plain = (code: (c: Code) => void): WForm => ({ code, faults: false });

/** The inline form of a PLAIN instruction, or null when it runs through its handler (inlineForm of jit-forms.ts). */
function wasmForm(i: Instr, prev: Source | null): WForm | null {
  if (i.lock || i.a16 || i.rep !== 0) return null;
  const o = i.op;
  const sz = i.sz;
  if (sz === 16) return null;
  const shape = aluShape(i);
  if (shape !== null) {
    const second = shape.second === 'reg' ? regRead(i.reg, sz) : shape.second === 'imm' ? immOf(i, sz) : 'E';
    return aluGen(i, shape.alu, sz, shape.first, second, shape.write);
  }
  if (sz === 32 && o >= 0x40 && o < 0x50) {
    const reg = o & 7;
    return {
      code: (c) => {
        c.set(A, get(Q(reg)));
        incDec(c, o >= 0x48);
        c.set(Q(reg), get(R));
      },
      faults: false,
      flags: 'zs32',
      record: incDecRecord(o >= 0x48, prev),
    };
  }
  if (sz === 32 && o === 0xff && i.reg < 2) {
    const dec = i.reg === 1;
    const record = incDecRecord(dec, prev);
    if (i.mod === 3)
      return {
        code: (c) => {
          c.set(A, get(Q(i.rm)));
          incDec(c, dec);
          c.set(Q(i.rm), get(R));
        },
        faults: false,
        flags: 'zs32',
        record,
      };
    return {
      code: (c, commit) => {
        linear(c, commit, i, true, 4);
        rmwAt(c, commit, 4, () => incDec(c, dec));
      },
      faults: true,
      flags: 'zs32',
      record,
    };
  }
  switch (o) {
    case 0x88:
      if (i.mod === 3) return plain((c) => regWrite(c, i.rm, 8, regRead(i.reg, 8)));
      return storeForm(i, 1, regRead(i.reg, 8));
    case 0x89:
      if (i.mod === 3) return plain((c) => c.set(Q(i.rm), get(Q(i.reg))));
      return storeForm(i, 4, get(Q(i.reg)));
    case 0x8a: {
      const src = readE(i, 8, V);
      return {
        code: (c, commit) => {
          src.code(c, commit);
          regWrite(c, i.reg, 8, get(V));
        },
        faults: src.faults,
      };
    }
    case 0x8b: {
      const src = readE(i, 32, V);
      return {
        code: (c, commit) => {
          src.code(c, commit);
          c.set(Q(i.reg), get(V));
        },
        faults: src.faults,
      };
    }
    case 0x8d:
      return i.mod === 3 ? null : plain((c) => c.set(Q(i.reg), eaOf(i)));
    case 0xa0:
    case 0xa1: {
      const n = sz >>> 3;
      return {
        code: (c, commit) => {
          linear(c, commit, i, false, n, k(i.disp | 0));
          loadAt(c, commit, n, V);
          regWrite(c, 0, sz, get(V));
        },
        faults: true,
      };
    }
    case 0xa2:
    case 0xa3:
      return storeForm(i, sz >>> 3, regRead(0, sz));
    case 0xc6:
    case 0xc7: {
      if (i.reg !== 0) return null;
      if (i.mod === 3) return plain((c) => regWrite(c, i.rm, sz, immOf(i, sz)));
      return storeForm(i, sz >>> 3, immOf(i, sz));
    }
    case 0x1b6:
    case 0x1be:
    case 0x1b7:
    case 0x1bf: {
      // MOVZX/MOVSX from 8 or 16 bits.
      const bits = o & 1 ? 16 : 8;
      const src =
        bits === 16 && i.mod === 3
          ? { code: (c: Code) => c.set(V, and(get(Q(i.rm)), k(65535))), faults: false }
          : readE(i, bits, V);
      const shift = 32 - bits;
      return {
        code: (c, commit) => {
          src.code(c, commit);
          c.set(Q(i.reg), o < 0x1b8 ? get(V) : shrS(shl(get(V), k(shift)), k(shift)));
        },
        faults: src.faults,
      };
    }
    case 0x87:
      if (i.mod !== 3) return null;
      return plain((c) => {
        c.set(V, get(Q(i.rm)));
        c.set(Q(i.rm), get(Q(i.reg)));
        c.set(Q(i.reg), get(V));
      });
    case 0x98:
      return plain((c) => c.set(Q(0), shrS(shl(get(Q(0)), k(16)), k(16))));
    case 0x99:
      return plain((c) => c.set(Q(2), shrS(get(Q(0)), k(31))));
    case 0x68:
    case 0x6a:
      return push(k(i.imm | 0));
    case 0xc1:
    case 0xd1:
    case 0xd3: {
      if (i.mod !== 3) return null;
      if (o === 0xc1 && (i.imm & 31) === 0) return plain(() => {});
      if (o !== 0xd3) {
        const fixed = shiftConst(i.reg, i.rm, o === 0xd1 ? 1 : i.imm & 31);
        if (fixed !== null) return fixed;
      }
      const count = o === 0xc1 ? k(i.imm & 31) : o === 0xd1 ? k(1) : and(get(Q(1)), k(31));
      return {
        code: (c) => {
          c.set(X, count);
          c.if(get(X));
          c.set(Q(i.rm), call(F_SHIFT, k(i.reg), get(Q(i.rm)), get(X)));
          c.close();
        },
        faults: false,
        flags: null,
        recordInC: true,
      };
    }
  }
  if (o === 0x1af || o === 0x69 || o === 0x6b) {
    const src = readE(i, 32, A);
    const b = o === 0x1af ? get(Q(i.reg)) : k(i.imm | 0);
    const wide = (x: Ex): Ex => [...x, op.i64ExtendI32s];
    return {
      code: (c, commit) => {
        src.code(c, commit);
        c.set(B, b);
        c.set(R, [...get(A), ...get(B), op.i32Mul]);
        c.set(Q(i.reg), get(R));
      },
      faults: src.faults,
      flags: 'zs32',
      record: resultWith((c) =>
        c.set(X, select([...wide(get(A)), ...wide(get(B)), op.i64Mul, ...wide(get(R)), op.i64Ne], k(2049), k(0))),
      ),
      setsAll: true,
    };
  }
  if (o === 0xf7 && i.reg === 4 && sz === 32) {
    const src = readE(i, 32, B);
    const wideU = (x: Ex): Ex => [...x, op.i64ExtendI32u];
    return {
      code: (c, commit) => {
        src.code(c, commit);
        c.set(A, get(Q(0)));
        c.emit(wideU(get(A)), wideU(get(B)), [op.i64Mul, op.localSet, ...uleb(W64)]);
        c.set(R, [op.localGet, ...uleb(W64), op.i32WrapI64]);
        c.set(V, [op.localGet, ...uleb(W64), op.i64Const, 32, op.i64ShrU, op.i32WrapI64]);
        c.set(Q(0), get(R));
        c.set(Q(2), get(V));
      },
      faults: src.faults,
      flags: 'zs32',
      record: resultWith((c) => c.set(X, select(ne(get(V), k(0)), k(2049), k(0)))),
      setsAll: true,
    };
  }
  if (o >= 0x90 && o < 0x98 && sz === 32)
    return plain((c) => {
      if (o === 0x90) return;
      c.set(V, get(Q(0)));
      c.set(Q(0), get(Q(o & 7)));
      c.set(Q(o & 7), get(V));
    });
  if (o >= 0xb0 && o < 0xb8) return plain((c) => regWrite(c, o & 7, 8, k(i.imm & 255)));
  if (o >= 0xb8 && o < 0xc0) return plain((c) => c.set(Q(o & 7), k(i.imm | 0)));
  if (o >= 0x50 && o < 0x58) return push(get(Q(o & 7)));
  if (o >= 0x58 && o < 0x60)
    return {
      code: (c, commit) => {
        c.set(L, get(Q(4)));
        loadAt(c, commit, 4, V);
        c.set(Q(4), add(get(Q(4)), k(4)));
        c.set(Q(o & 7), get(V));
      },
      faults: true,
    };
  if (o >= 0x190 && o < 0x1a0) {
    const recordInC = fused(o & 15, prev) === null;
    const value = (): Ex => select(condition(o & 15, prev), k(1), k(0));
    if (i.mod === 3) return { ...plain((c) => regWrite(c, i.rm, 8, value())), reads: true, recordInC };
    return { ...storeForm(i, 1, value()), reads: true, recordInC };
  }
  if (o >= 0x140 && o < 0x150) {
    const src = readE(i, 32, V);
    return {
      code: (c, commit) => {
        src.code(c, commit);
        c.if(condition(o & 15, prev));
        c.set(Q(i.reg), get(V));
        c.close();
      },
      faults: src.faults,
      reads: true,
      recordInC: fused(o & 15, prev) === null,
    };
  }
  return null;
}

/** PUSH of `val` (read before ESP moves). */
function push(val: Ex): WForm {
  return {
    code: (c, commit) => {
      c.set(V, val);
      c.set(L, sub(get(Q(4)), k(4)));
      storeAt(c, commit, 4, get(V));
      c.set(Q(4), get(L));
    },
    faults: true,
  };
}

// ---- the region ----

/** The place of an instruction inside an x87 run in a block's forms (the run's code is written apart). */
const IN_RUN: WForm = { code: () => undefined, faults: true };

/** The form of an integer instruction an x87 run may hold: it neither faults nor reads the flags. */
function runInteger(i: Instr): WForm | null {
  const f = i.role === ROLE_PLAIN ? wasmForm(i, null) : null;
  return f === null || f.faults || f.reads === true || f.recordInC === true ? null : f;
}

type WasmRun = (limit: number, rB: number, wB: number, cg: number, entry: number) => number;

/** A compiled region module, and which of its instructions (in block order) run through handlers. */
interface RegionModule {
  module: WasmModule;
  handlerAt: number[];
  bytes: number;
  /** Whether it has x87 runs (then the wrapper copies the x87 state too). */
  x87: boolean;
}

/**
 * Modules by what they were compiled from: linear base, memory kind and each block's start and
 * instruction bytes (a derived cache shared by all machines, bounded in module bytes).
 */
const MODULES = new BoundedCache<RegionModule>(8 * 1024 * 1024);

function regionKey(blocks: RegionBlock[], base: number, shared: boolean, x87Pieces: number): string {
  let key = `${base}:${shared ? 's' : 'p'}:${x87Pieces}`;
  for (const b of blocks) {
    key += `|${b.start}:`;
    for (const i of b.instrs) key += (i.d32 ? 'D' : 'W') + String.fromCharCode(...i.bytes);
  }
  return key;
}

/**
 * The run function (Region.run) of a WebAssembly region of `blocks` (page offsets from linear
 * `base`; `list` their instructions in block order), for CPUs whose RAM is in `memory`; its x87
 * runs have the fast pieces `x87Pieces` (see wasmX87Runs).
 */
export function compileWasmRegion(
  blocks: RegionBlock[],
  list: Instr[],
  blockEips: number[][],
  base: number,
  memory: WasmMemory,
  x87Pieces: number,
): (c: I386, limit: number) => number {
  const shared = memory.buffer instanceof SharedArrayBuffer;
  const key = regionKey(blocks, base, shared, x87Pieces);
  let compiled = MODULES.get(key);
  if (compiled === undefined) {
    compiled = compileModule(blocks, blockEips, base, shared, x87Pieces);
    MODULES.set(key, compiled, compiled.bytes);
  }
  const instrs = compiled.handlerAt.map((h) => list[h]!);
  return bindRegion(compiled, memory, instrs, blockEips, base);
}

/**
 * Where each x87 run of the region expects its slot 0 among the live slots (see wasmX87Runs), by
 * block and run position: TOP relative to where the state went live, followed along the region's
 * branches from block to block (a block's runs move it by their depths), the first path to reach
 * a block deciding it. A run reached another way at run time still runs right, after going live
 * again.
 */
function runSlots<F>(
  blocks: RegionBlock[],
  blockRuns: Map<number, WasmX87Run<F>>[],
  base: number,
  blockAt: (t: number) => number | undefined,
): Map<number, number>[] {
  const entry: (number | undefined)[] = blocks.map(() => undefined);
  // The block's branches as compileRegion follows them (page offsets).
  const successors = (bn: number): number[] => {
    const { instrs, end } = blocks[bn]!;
    const last = instrs[instrs.length - 1]!;
    const targets: number[] = [];
    if (last.role === ROLE_BRANCH) {
      const t = directTarget(last, (base + end - last.len) >>> 0, base >>> 12);
      if (t >= 0) targets.push(t);
    }
    if (last.role !== ROLE_BRANCH || fallsThrough(last)) targets.push(end);
    return targets.map((t) => blockAt((base + t) >>> 0)).filter((t): t is number => t !== undefined);
  };
  const depth = (bn: number): number => [...blockRuns[bn]!.values()].reduce((d, r) => d + r.depth, 0);
  for (let start = 0; start < blocks.length; start++) {
    if (entry[start] !== undefined) continue;
    entry[start] = 0;
    const work = [start];
    while (work.length > 0) {
      const bn = work.pop()!;
      const out = (entry[bn]! + depth(bn)) & 7;
      for (const t of successors(bn)) {
        if (entry[t] !== undefined) continue;
        entry[t] = out;
        work.push(t);
      }
    }
  }
  return blockRuns.map((runs, bn) => {
    const at = new Map<number, number>();
    let rel = entry[bn]!;
    for (const [p, run] of [...runs].sort((a, b) => a[0] - b[0])) {
      at.set(p, rel);
      rel = (rel + run.depth) & 7;
    }
    return at;
  });
}

/** Compiles the module of a region of `blocks` (see compileWasmRegion). */
function compileModule(
  blocks: RegionBlock[],
  blockEips: number[][],
  base: number,
  shared: boolean,
  x87Pieces: number,
): RegionModule {
  const starts = blocks.map((b) => b.start);
  const index = new Map<number, number>();
  starts.forEach((o, n) => index.set(o, n));
  const blockAt = (t: number): number | undefined => (t >>> 12 === base >>> 12 ? index.get(t & 0xfff) : undefined);
  const handlerAt: number[] = [];
  let first = 0; // index of the block's first instruction in block order
  const c = new Code();
  const n = blocks.length;
  const blockRuns = blocks.map(({ instrs }, bn) => wasmX87Runs(instrs, blockEips[bn]!, runInteger, x87Pieces));
  const x87 = blockRuns.some((runs) => runs.size > 0);
  const runSlot = x87 ? runSlots(blocks, blockRuns, base, blockAt) : [];
  // Calls out of the region see the x87 state in the mirror.
  if (x87) c.beforeCallOut = (c) => x87Flush(c, x87Pieces);

  for (let r = 0; r < 8; r++) c.set(Q(r), mget(r));
  c.set(IC, mget(M.icount));
  // The block that starts at the entry EIP (none: the run returns at once).
  c.set(BLK, call(F_FIND, get(ENTRY)));
  c.set(FK, k(-1));
  c.set(PAST, k(-1));
  // Blocks that a later one jumps back to are WebAssembly loops (region-loops.ts). Each block b
  // starts where its label F{b} ends; a loop's head, where the loop starts after it (its other
  // blocks' labels, and the ones of loops inside it, open at its start). Entering a loop
  // anywhere but at its head sets BLK to the block: the loop's start dispatches on it.
  const innermost = loopNest(n, backEdges(blocks, blockAt, base));
  /** Opens the labels of what `level` holds (its blocks and the loops inside it) after `from`, last first. */
  const openLabels = (level: BlockLoop | null, from: number, to: number): void => {
    for (let b = to; b > from; b--) if (seenFrom(innermost, level, b).first === b) c.open('block', `F${b}`);
  };
  c.open('block', 'exit');
  c.open('loop', 'run');
  openLabels(null, -1, n - 1);
  c.emit(get(BLK));
  c.brTable(
    starts.map((_, b) => `F${seenFrom(innermost, null, b).first}`),
    'exit',
  );

  /** Leaves the region at a known EIP: ip and icount into the mirror. */
  const exitAt = (ip: Ex, ic: Ex): void => {
    c.mset(M.ip, ip);
    c.mset(M.icount, ic);
    c.br('exit');
  };
  /** Continues at an EIP computed at run time (local X). */
  const gotoX = (): void => {
    c.set(BLK, call(F_FIND, sub(get(X), k(base | 0))));
    c.if(geS(get(BLK), k(0)));
    c.br('run');
    c.close();
    exitAt(get(X), get(IC));
  };

  blocks.forEach(({ start, end, instrs: block }, bn) => {
    c.close(); // the end of F{bn}: block bn starts here
    const loop = innermost[bn] ?? null;
    if (loop !== null && loop.head === bn) {
      c.open('loop', `L${bn}`);
      openLabels(loop, bn, loop.tail);
      // Entered at another of its blocks: on to it.
      c.open('block', 'head');
      c.if(ne(get(BLK), k(bn)));
      c.emit(sub(get(BLK), k(bn)));
      c.brTable(
        Array.from({ length: loop.tail - bn + 1 }, (_, j) =>
          j === 0 ? 'head' : `F${seenFrom(innermost, loop, bn + j).first}`,
        ),
        'head',
      );
      c.close();
      c.close();
    }
    const len = block.length;
    const entry = (base + start) >>> 0;
    const budget = (): void => {
      c.if(gtS(add(get(IC), k(len)), get(LIMIT)));
      c.set(PAST, k(bn));
      exitAt(k(entry | 0), get(IC));
      c.close();
    };
    const last = block[len - 1]!;
    const looping = selfLoop(last, (base + end) >>> 0, entry);
    const goto = (t: number): void => {
      if (looping && t === entry) {
        budget();
        c.br('self');
        return;
      }
      const m = blockAt(t);
      if (m === undefined) return exitAt(k(t | 0), get(IC));
      // The innermost loop holding both blocks (null: the region's own).
      let level = innermost[bn] ?? null;
      while (level !== null && (m < level.head || m > level.tail)) level = level.parent;
      const to = seenFrom(innermost, level, m);
      if (to.first > bn) {
        if (to.loop) c.set(BLK, k(m));
        return c.br(`F${to.first}`);
      }
      c.set(BLK, k(m));
      c.br(level !== null ? `L${level.head}` : 'run');
    };
    budget();
    if (looping) c.open('loop', 'self');
    const eips = blockEips[bn]!;
    const runs = blockRuns[bn]!;
    let flags: Source | null = null;
    const forms: (WForm | null)[] = [];
    for (let p = 0; p < len; p++) {
      const run = runs.get(p);
      if (run !== undefined) {
        for (let j = 0; j < run.n; j++) forms.push(IN_RUN);
        p += run.n - 1;
        flags = run.eflags ? 'fcomi' : run.integer.size > 0 ? null : flags;
        continue;
      }
      const i = block[p]!;
      const f: WForm | null =
        i.role === ROLE_PLAIN ? wasmForm(i, flags) : i.role === ROLE_USES_IP ? wasmString(i) : null;
      if (f === null) flags = null;
      else if (f.flags !== undefined) flags = f.flags;
      forms.push(f);
    }
    flags = null;
    /** Writes the state as at the start of instruction p to the mirror. */
    const commitAt = (p: number) => (): void => {
      c.mset(M.ip, k(eips[p]! | 0));
      c.mset(M.icount, add(get(IC), k(p)));
      spill(c);
      recordOut(c);
    };
    /** Emits instruction p with `form` (null: through its handler); `record`: its record always. */
    const one = (p: number, form: WForm | null, record: boolean): void => {
      const i = block[p]!;
      const here = eips[p]!;
      const fall = (here + i.len) >>> 0;
      const commit = commitAt(p);
      const retired = (): Ex => add(get(IC), k(p + 1));
      /** Calls i's handler (the state as at its start written out first); its code generation into X. */
      const viaHandler = (): void => {
        const h = handlerAt.push(first + p) - 1;
        commit();
        c.beforeCallOut?.(c);
        c.set(X, call(F_HANDLERS, k(h), k(1)));
        fill(c);
      };
      if (form !== null) {
        if (form.recordInC === true) recordOut(c);
        form.code(c, commit);
        if (form.record !== undefined && (record || !recordDead(forms, p))) form.record(c);
        if (form.flags !== undefined) flags = form.flags;
      } else if (i.role === ROLE_PLAIN) {
        viaHandler();
        c.if(ne(get(X), get(CG)));
        exitAt(k(fall | 0), retired());
        c.close();
        flags = null;
      } else if (i.role === ROLE_USES_IP) {
        viaHandler();
        c.if(or(ne(mget(M.nextIp), k(fall | 0)), ne(get(X), get(CG))));
        exitAt(mget(M.nextIp), retired());
        c.close();
        flags = null;
      } else {
        branch(i, fall, len, flags, commit, viaHandler);
      }
    };
    for (let p = 0; p < len; p++) {
      const run = runs.get(p);
      if (run === undefined) {
        one(p, forms[p]!, false);
        continue;
      }
      // An x87 run: its fast piece, then its integer instructions; or all of it one by one.
      const before: Source | null = flags;
      run.fast(c, runSlot[bn]!.get(p)!);
      c.if(get(X));
      for (const [j, f] of run.integer) one(p + j, f, true);
      c.else();
      for (let j = 0; j < run.n; ) {
        const f = run.integer.get(j);
        if (f !== undefined) {
          one(p + j, f, true);
          j++;
          continue;
        }
        // Consecutive escapes run through their handlers in one call out: they change neither
        // the general registers, EIP's course nor code.
        let n = 1;
        while (j + n < run.n && !run.integer.has(j + n)) n++;
        commitAt(p + j)();
        c.beforeCallOut?.(c);
        const h = handlerAt.length;
        for (let e = 0; e < n; e++) handlerAt.push(first + p + j + e);
        c.emit(call(F_HANDLERS, k(h), k(n)), [op.drop]);
        j += n;
      }
      if (run.eflags) {
        // CF, ZF and PF as the FPU left them: in the flags when it wrote them (they are not lazy
        // then), else as the record before it gives them (an unmasked exception writes none).
        recordOut(c);
        c.if(eqz(mget(M.lazy)));
        c.set(R, and(mget(M.flags), k(0x45)));
        c.else();
        const bit = (cc: number, b: number): Ex => select(call(F_TESTCOND, k(cc)), k(b), k(0));
        c.set(R, or(or(bit(2, 1), bit(4, 64)), bit(10, 4)));
        c.close();
      }
      c.close();
      flags = run.eflags ? 'fcomi' : run.integer.size > 0 ? null : before;
      p += run.n - 1;
    }
    const ip = (eips[len - 1]! + last.len) >>> 0;
    if (last.role !== ROLE_BRANCH) {
      c.set(IC, add(get(IC), k(len)));
      goto(ip);
    }
    if (looping) c.close();
    c.emit([op.unreachable]);
    for (let l = loop; l !== null && l.tail === bn; l = l.parent) c.close();
    first += len;

    /** The code that ends the block with branch i (see branch() in jit.ts). */
    function branch(
      i: Instr,
      fall: number,
      len: number,
      flags: Source | null,
      commit: () => void,
      viaHandler: () => void,
    ): void {
      const o = i.op;
      const done = (): void => c.set(IC, add(get(IC), k(len)));
      if (!i.o16 && !i.a16) {
        if (isJcc(o)) {
          const t = (fall + i.imm) >>> 0;
          if (fused(o & 15, flags) === null) recordOut(c);
          c.set(X, condition(o & 15, flags));
          done();
          c.if(get(X));
          goto(t);
          c.close();
          goto(fall);
          return;
        }
        if (o === 0xe9 || o === 0xeb) {
          done();
          goto((fall + i.imm) >>> 0);
          return;
        }
        if (o === 0xe8) {
          const t = (fall + i.imm) >>> 0;
          push(k(fall | 0)).code(c, commit);
          done();
          goto(t);
          return;
        }
        if (o === 0xc3 || o === 0xc2) {
          const drop = 4 + (o === 0xc2 ? i.imm : 0);
          c.set(L, get(Q(4)));
          loadAt(c, commit, 4, X);
          c.set(Q(4), add(get(L), k(drop)));
          done();
          gotoX();
          return;
        }
        if (o === 0xff && (i.reg === 2 || i.reg === 4)) {
          if (i.mod === 3) c.set(X, get(Q(i.rm)));
          else {
            linear(c, commit, i, false, 4);
            loadAt(c, commit, 4, X);
          }
          if (i.reg === 2) push(k(fall | 0)).code(c, commit);
          done();
          gotoX();
          return;
        }
      }
      viaHandler();
      done();
      c.set(V, get(X));
      c.set(X, mget(M.nextIp));
      c.if(ne(get(V), get(CG)));
      exitAt(get(X), get(IC));
      c.close();
      gotoX();
    }
  });
  c.close(); // run
  c.close(); // exit
  c.beforeCallOut?.(c);
  spill(c);
  recordOut(c);
  c.emit(get(PAST));

  const bytes = encodeModule({
    imports: IMPORTS,
    memory: { pages: 1, shared },
    funcs: [
      {
        type: { params: [I32, I32, I32, I32, I32], results: [I32] },
        locals: [...runLocals(x87), ...(x87 ? EXTENDED_FRAME_LOCALS : [])],
        body: c.b,
      },
      { type: { params: [I32, I32, I32, I32], results: [] }, locals: [], body: wrecBody() },
      { type: { params: [I32, I32, I32, I32, I32], results: [I32] }, locals: [], body: rcfBody() },
      { type: { params: [I32], results: [I32] }, locals: [], body: findBody(starts) },
      ...(x87 ? [x87FlushFunction(x87Pieces)] : []),
    ],
    exportRun: F_RUN,
  });
  return { module: new wasmApi!.Module(bytes), handlerAt, bytes: bytes.length, x87 };
}

/** Instantiates a region's module for one CPU: the wrapper that copies the CPU to and from the mirror. */
function bindRegion(
  { module: mod, x87 }: RegionModule,
  memory: WasmMemory,
  instrs: Instr[],
  blockEips: number[][],
  base: number,
): (c: I386, limit: number) => number {
  let cpu: I386 | null = null;
  let icBase = 0;
  const m = new Int32Array(memory.buffer, 0, MIRROR_BYTES / 4);
  const doubles = new Float64Array(memory.buffer, M.x87Doubles * 4, 8);
  const recordToMirror = (c: I386): void => {
    m[M.flags] = c.flags;
    m[M.lazy] = c.lazy;
    m[M.lop] = c.lop;
    m[M.la] = c.la;
    m[M.lb] = c.lb;
    m[M.lres] = c.lres;
    m[M.lmask] = c.lmask;
    m[M.lsign] = c.lsign;
    m[M.recordDirty] = 0;
  };
  const toMirror = (c: I386): void => {
    m.set(c.gpr, 0);
    m[M.ip] = c.ip;
    m[M.icount] = c.icount - icBase;
    m[M.nextIp] = c.nextIp;
    recordToMirror(c);
    if (x87) x87ToMirror(c, m, doubles);
  };
  const recordToC = (c: I386): void => {
    if (m[M.recordDirty] === 0) return;
    c.flags = m[M.flags]!;
    c.lazy = m[M.lazy]!;
    c.lop = m[M.lop]!;
    c.la = m[M.la]!;
    c.lb = m[M.lb]!;
    c.lres = m[M.lres]!;
    c.lmask = m[M.lmask]!;
    c.lsign = m[M.lsign]!;
    m[M.recordDirty] = 0;
  };
  const toC = (c: I386): void => {
    const g = c.gpr;
    for (let r = 0; r < 8; r++) g[r] = m[r]!;
    c.ip = m[M.ip]! >>> 0;
    c.icount = icBase + m[M.icount]!;
    c.nextIp = m[M.nextIp]! >>> 0;
    recordToC(c);
    if (x87) x87ToC(c, m, doubles);
  };
  const env = {
    memory,
    // Runs the n handlers of instrs from h on: consecutive instructions from the committed EIP
    // and count, as the interpreter would (n > 1 only for an x87 run's escapes, which change
    // neither the general registers nor EIP's course). The CPU as they leave it goes back to the
    // mirror, also when one faults (a REP string instruction stopped part way keeps its
    // progress): the wrapper copies the mirror back to the CPU.
    handlers: (h: number, n: number): number => {
      const c = cpu!;
      toC(c);
      try {
        for (let e = h; e < h + n; e++) {
          if (e > h) {
            c.ip = c.nextIp;
            c.icount++;
          }
          c.nextIp = (c.ip + instrs[e]!.len) >>> 0;
          instrs[e]!.fn(c, instrs[e]!);
        }
      } finally {
        toMirror(c);
      }
      return c.codeGen;
    },
    testCond: (cc: number): number => {
      recordToC(cpu!);
      return testCond(cpu!, cc) ? 1 : 0;
    },
    shift: (alu: number, val: number, count: number): number => {
      const c = cpu!;
      recordToC(c);
      const r = shiftOp(c, alu, val, count, 32);
      recordToMirror(c);
      return r;
    },
    linR: (s: number, off: number, len: number): number => cpu!.linR(s, off, len),
    linW: (s: number, off: number, len: number): number => cpu!.linW(s, off, len),
  };
  const run = new wasmApi!.Instance(mod, { env }).exports['run'] as WasmRun;
  return (c: I386, limit: number): number => {
    const mmu = c.mmu;
    let past = -1;
    for (;;) {
      cpu = c;
      icBase = c.icount;
      const room = Math.min(limit - icBase, 1 << 30);
      toMirror(c);
      try {
        past = run(room, mmu.r.byteOffset, mmu.w.byteOffset, c.codeGen, c.ip - base);
      } finally {
        toC(c);
      }
      // A budget cut to fit an i32 runs on where the region stopped.
      if (past < 0 || c.icount + blockEips[past]!.length > limit) return past;
    }
  };
}
