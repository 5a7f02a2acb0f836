// x87 escapes (D8..DF) in compiled regions. Every escape calls the FPU directly with its operand's
// linear address and its EIP (no handler call: the general registers stay in the region's
// locals). The common forms of double arithmetic also have inline code that works on the float64
// cache of the registers (x87-stack.ts) and does exactly what the interpreter's fast path does
// (x87.ts, x87-fast.ts) when its conditions hold: no pending exception, the cache bound to this
// CPU's registers, the operands' tags and doubles known, precision "double" and round-to-nearest
// for arithmetic, a normal result, a TLB hit for memory. Otherwise the inline code does nothing
// and the FPU runs the instruction, so results, status word (C1, PE, ES), tags, TOP and
// FIP/FOP/FDP always come out as the interpreter's. Consecutive escapes of a basic block that
// all have such code (with maybe simple integer instructions between them) compile to one piece
// ("runs", below), which also have a piece on 80-bit words for the control word a Linux process
// starts with (precision extended: x87-extended.ts).
//
// Generated code runs in a region (jit.ts) and sees its locals: c, g, q0..q7, ic, the flag
// record's fk (jit-forms.ts), R/W/dv (TLB tables, RAM) and `x87`, the X87_RUNTIME
// object below. Only the FPU calls may fault; each is preceded by COMMIT (the instruction's state
// written to the CPU).

import { x87Compiled } from './exec-system';
import type { Instr } from './instr';
import { COMMIT, RECORD_OUT, SPILL, STORED, eaOf, inlineForm, type Form } from './jit-forms';
import { ROLE_PLAIN } from './optable';
import { DOUBLE_NEAREST, EXTENDED_NEAREST, PRECISION_ROUNDING, productError } from './x87-fast';
import { extendedArith, extendedCompare, extendedOfDouble, extendedResult } from './x87-extended';
import { flags } from './x87-format';
import { copyST, exchange, pop, shadowCache, syncRegisters } from './x87-stack';

/** What generated x87 code calls and reads. */
export const X87_RUNTIME = {
  step: x87Compiled,
  cache: shadowCache,
  F: shadowCache.values,
  copyST,
  exchange,
  pop,
  productError,
  sync: syncRegisters,
  flags,
  E: extendedResult,
  arith: extendedArith,
  compare: extendedCompare,
  fromDouble: extendedOfDouble,
};

/** Segments a region knows are flat (ES, SS, DS); other memory operands go through the handler. */
const FLAT = [true, false, true, true, false, false];
const ARITH_FLAGS = 0x8d5;
/** Status word: ES|BUSY, C1, TOP. */
const SUMMARY = 0x8080,
  C1 = 0x200,
  TOP = 0x3800;
const MIN_NORMAL = '2.2250738585072014e-308',
  MIN_SINGLE = '1.1754943508222875e-38';

/**
 * The x87 code of a basic block being compiled (its instructions at `eips`), by position: for an
 * escape its inline code, or null when it runs through its handler; undefined for any other
 * instruction, which the region compiler does itself. The first instruction of a run carries the
 * whole run's code and the others (integer instructions inside it too) an empty form.
 */
export function planX87(block: Instr[], eips: number[]): (Form | null | undefined)[] {
  const plan: (Form | null | undefined)[] = [];
  while (plan.length < block.length) {
    const p = plan.length;
    const i = block[p]!;
    if (!isEscape(i)) {
      plan.push(undefined);
      continue;
    }
    const run = runAt(block, p, eips);
    if (run === null) {
      plan.push(escapeForm(i, eips[p]!));
      continue;
    }
    // A run holding integer instructions writes their flag records itself (record ''), and leaves
    // the flags to be read from the record.
    const records = run.integer ? { flags: null, record: '' } : {};
    plan.push({ code: run.code, faults: true, stores: false, ...(run.eflags ? { flags: 'eflags' } : {}), ...records });
    for (let j = 1; j < run.n; j++) plan.push({ code: '', faults: false, stores: false });
  }
  return plan;
}

/** Whether i is an x87 escape (D8..DF). */
export const isEscape = (i: Instr): boolean => i.op >= 0xd8 && i.op <= 0xdf;

/** The control word's precision, rounding and exception mask bits, as runs' fast pieces need them. */
const ALL_MASKED = 0x3f,
  FAST_CONTROL_BITS = PRECISION_ROUNDING | ALL_MASKED,
  FAST_CONTROL = DOUBLE_NEAREST | ALL_MASKED;
/**
 * Whether runs take their fast pieces on doubles under this control word (precision "double",
 * round to nearest, every exception masked). WebAssembly regions run escapes through their
 * handlers only under a control word that neither this nor runsExtended takes, where JavaScript
 * regions call the FPU directly: jit.ts then prefers those.
 */
export const runsFast = (control: number): boolean => (control & FAST_CONTROL_BITS) === FAST_CONTROL;
/** Precision extended, round to nearest, every exception masked: what a Linux process starts with. */
const EXTENDED_CONTROL = EXTENDED_NEAREST | ALL_MASKED;
/** Whether runs take their fast pieces on 80-bit values (see extendedValues) under this control word. */
export const runsExtended = (control: number): boolean => (control & FAST_CONTROL_BITS) === EXTENDED_CONTROL;
/**
 * The fast piece WebAssembly runs take under this control word, as a bit of a region's pieces:
 * 1 on doubles (runsFast), 2 on 80-bit values (runsExtended), 0 neither.
 */
export const fastPieceOf = (control: number): number => (runsFast(control) ? 1 : runsExtended(control) ? 2 : 0);

/** The escape at `eip` run by the FPU itself (flat segments: the linear address is the offset). */
function fpuCall(i: Instr, eip: number): string {
  const lin = i.mod !== 3 ? `${eaOf(i)} >>> 0` : '-1';
  return `x87.step(c, ${i.op}, ${i.modrm}, ${lin}, ${!i.o16}, ${eip});`;
}

/** Inline code for one x87 escape, or null when it runs through its handler. */
function escapeForm(i: Instr, eip: number): Form | null {
  // With LOCK an escape is #UD: its handler raises it.
  if (i.a16 || i.lock) return null;
  const mem = i.mod !== 3;
  if (mem && !FLAT[i.seg]) return null;
  const stores = mem && (i.op & 1) === 1;
  // The FPU's own stores (its fast path's check that no code is in the page) end like store()'s slow path.
  const step = `{ ${COMMIT} ${fpuCall(i, eip)}${stores ? ` ${STORED}` : ''} }`;
  if (i.op === 0xdf && i.modrm === 0xe0) {
    // FNSTSW AX (no wait, no FIP): only CR0.EM/TS can stop it, and the FPU then raises #NM.
    return {
      code: `if ((c.cr0 & 12) !== 0) ${step} q0 = (q0 & -65536) | (c.x87.status & 65535);`,
      faults: true,
      stores: false,
    };
  }
  const fast = mem ? memoryForm(i) : registerForm(i);
  const code = fast === null ? step : guarded(i, eip, fast.body, step, mem);
  const flags = fast?.eflags === true ? { flags: 'eflags' as const } : {};
  return { code, faults: true, stores, ...flags };
}

interface Fast {
  /** Runs with X (the state), s (status), t (TOP), tg (tag word), F (cached doubles); sets done. */
  body: string;
  /** Writes ZF, PF and CF (FCOMI): a following Jcc reads them from the CPU. */
  eflags?: boolean;
}

/** The inline body under the common conditions, falling back to the FPU (`step`). */
function guarded(i: Instr, eip: number, body: string, step: string, mem: boolean): string {
  const fop = ((i.op & 7) << 8) | i.modrm;
  const where = `X.fip = ${eip}; X.fop = ${fop};${mem ? ` X.fdp = ${eaOf(i)} >>> 0;` : ''}`;
  return (
    `{ const X = c.x87, s = X.status; let done = false; ` +
    `if ((s & 128) === 0 && (c.cr0 & 12) === 0 && x87.cache.of === X.regs) { ` +
    `const t = (s >>> 11) & 7, tg = X.tag, F = x87.F; ${body.replace('DONE;', `${where} done = true;`)} } ` +
    `if (!done) ${step} }`
  );
}

const phys = (rel: number): string => (rel === 0 ? 't' : `((t + ${rel}) & 7)`);
const full = (rel: number): string => `((tg >>> (${phys(rel)} << 1)) & 3) !== 3`;
const empty = (rel: number): string => `((tg >>> (${phys(rel)} << 1)) & 3) === 3`;
/** The status word `v` with ES/BUSY following the exception flags and masks (updateSummary). */
const summary = (v: string): string => `((${v} & ~X.control & 63) !== 0 ? ${v} | ${SUMMARY} : ${v} & ${~SUMMARY})`;
/** Pops the stack in the locals s2 (status) and tg2 (tags). */
const POP = `tg2 |= 3 << (t << 1); s2 = (s2 & ${~TOP}) | (((t + 1) & 7) << 11);`;

function registerForm(i: Instr): Fast | null {
  const r = i.rm;
  const reg = i.reg;
  switch (i.op) {
    case 0xd8:
      return arith(0, r, reg, false);
    case 0xdc:
      return arith(r, 0, reg >= 4 ? reg ^ 1 : reg, false);
    case 0xde:
      return arith(r, 0, reg >= 4 ? reg ^ 1 : reg, true);
    case 0xd9:
      if (reg === 0)
        // FLD ST(i) (the old ST(i) is ST(i+1) after the push): a cached double is pushed as such.
        return {
          body:
            `if (${empty(7)} && ${full(r)}) { const p = (t + 7) & 7, v = F[${phys(r)}]; X.status = (s & ${~(TOP | C1)}) | (p << 11); ` +
            `if (v === v) { F[p] = v; x87.cache.stale |= 1 << p; X.tag = tg & ~(3 << (p << 1)); } else x87.copyST(X, 0, ${r + 1}); DONE; }`,
        };
      if (reg === 1)
        // FXCH ST(i): two cached doubles trade places (their tags are both "valid").
        return {
          body:
            `if (${full(0)} && ${full(r)}) { const p = ${phys(r)}, y = F[t], z = F[p]; X.status = s & ${~C1}; ` +
            `if (y === y && z === z) { F[t] = z; F[p] = y; x87.cache.stale |= (1 << t) | (1 << p); } else x87.exchange(X, ${r}); DONE; }`,
        };
      return null;
    case 0xdd:
      if (reg !== 2 && reg !== 3) return null;
      // FST/FSTP ST(i)
      return {
        body:
          `if (${full(0)}) { const p = ${phys(r)}, v = F[t]; X.status = s & ${~C1}; ` +
          `if (v === v) { F[p] = v; x87.cache.stale |= 1 << p; X.tag = tg & ~(3 << (p << 1)); } else x87.copyST(X, ${r}, 0); ` +
          `${reg === 3 ? 'x87.pop(X); ' : ''}DONE; }`,
      };
    case 0xdb:
    case 0xdf:
      if (reg !== 5 && reg !== 6) return null;
      return compareEflags(r, i.op === 0xdf);
  }
  return null;
}

/**
 * ST(dest) = ST(dest) op ST(src) for the /digit op (0 add, 1 mul, 4 sub, 5 subr; division runs in
 * the FPU), then pop: fastDouble's arithmetic and commitDouble's status, for results it keeps as
 * doubles (a zero result is left to the FPU).
 */
function arith(dest: number, src: number, op: number, popAfter: boolean): Fast | null {
  let calc: string;
  if (op === 0 || op === 4 || op === 5) {
    const [u, w] = op === 0 ? ['y', 'z'] : op === 4 ? ['y', '-z'] : ['z', '-y'];
    // The exact error of the sum (TwoSum).
    calc = `const u = ${u}, w = ${w}, r = u + w, h = r - u, er = u - (r - h) + (w - h);`;
  } else if (op === 1) {
    // Operands within 2^±400 keep the product and its error term normal.
    const safe = (v: string): string => `Math.abs(${v}) >= 2 ** -400 && Math.abs(${v}) <= 2 ** 400`;
    calc = `const r = ${safe('y')} && ${safe('z')} ? y * z : NaN, er = x87.productError(y, z, r);`;
  } else return null;
  const pd = phys(dest);
  return {
    body:
      `if (${full(dest)} && ${full(src)} && (X.control & ${PRECISION_ROUNDING}) === ${DOUBLE_NEAREST}) { ` +
      `const y = F[${pd}], z = F[${phys(src)}]; ${calc} const m = Math.abs(r); ` +
      `if (m >= ${MIN_NORMAL} && m <= 1.7976931348623157e308) { let s2 = s, tg2 = tg & ~(3 << (${pd} << 1)); ` +
      `if (er !== 0) { if ((s2 & 32) === 0) { s2 |= 32; s2 = ${summary('s2')}; } ` +
      `s2 = (r > 0) === (er < 0) ? s2 | ${C1} : s2 & ${~C1}; } else s2 &= ${~C1}; ` +
      `F[${pd}] = r; x87.cache.stale |= 1 << ${pd}; ${popAfter ? POP : ''} X.status = s2; X.tag = tg2; DONE; } }`,
  };
}

/** FCOMI/FUCOMI ST(0), ST(i) (and the popping forms) of two cached doubles: no exceptions. */
function compareEflags(r: number, popAfter: boolean): Fast {
  return {
    body:
      `if (${full(0)} && ${full(r)}) { const y = F[t], z = F[${phys(r)}]; if (y === y && z === z) { ` +
      `let s2 = s & ${~C1}, tg2 = tg; ${popAfter ? POP : ''} X.status = s2; X.tag = tg2; ` +
      `c.flags = (c.flags & ${~ARITH_FLAGS}) | (y < z ? 1 : y > z ? 0 : 64); c.lazy = 0; fk = -1; DONE; } }`,
    eflags: true,
  };
}

function memoryForm(i: Instr): Fast | null {
  const lin = eaOf(i);
  if ((i.op === 0xd9 || i.op === 0xdd) && i.reg === 0) {
    // FLD m32/m64 of a normal value: pushed as its double.
    const single = i.op === 0xd9;
    return {
      body:
        `const l2 = ${lin}, e2 = R[l2 >>> 12]; ` +
        `if (e2 !== 0 && (l2 & 4095) <= ${single ? 4092 : 4088} && ${empty(7)}) { ` +
        `const v = dv.${single ? 'getFloat32' : 'getFloat64'}(e2 - 1 + (l2 & 4095), true), m = Math.abs(v); ` +
        `if (m >= ${single ? MIN_SINGLE : MIN_NORMAL} && m < Infinity) { const p = (t + 7) & 7; ` +
        `F[p] = v; x87.cache.stale |= 1 << p; X.tag = tg & ~(3 << (p << 1)); X.status = (s & ${~(TOP | C1)}) | (p << 11); DONE; } }`,
    };
  }
  if (i.op === 0xdd && (i.reg === 2 || i.reg === 3)) {
    // FST/FSTP m64 of a cached double: stored exactly, no exceptions.
    return {
      body:
        `const v = F[t]; if (${full(0)} && v === v) { const l2 = ${lin}, e2 = W[l2 >>> 12]; ` +
        `if (e2 !== 0 && (l2 & 4095) <= 4088) { dv.setFloat64(e2 - 1 + (l2 & 4095), v, true); ` +
        `let s2 = s & ${~C1}, tg2 = tg; s2 = ${summary('s2')}; ${i.reg === 3 ? POP : ''} X.status = s2; X.tag = tg2; DONE; } }`,
    };
  }
  return null;
}

// ---------------------------------------------------------------------------------------------
// Runs: consecutive escapes of a block that only move and compute values (FLD/FXCH/FST(P)
// ST(i), FLDZ, FLD1, FADD/FSUB(R)/FMUL/FDIV(R) in register forms and with a float operand, FLD
// m32/m64, FILD m32, FCOMI/FUCOMI(P)), and integer instructions between them that touch nothing
// but registers and flags (integerStep), run as one piece of code on locals: the stack positions
// are resolved while compiling, the conditions are checked once, and the state is written once
// at the end, as the last instruction of the run leaves it (the integer instructions run after
// that: they cannot fault). Nothing is written before every value has proved to be normal or a
// zero (and every load a TLB hit); otherwise the FPU runs the run's instructions one by one. A
// run has a fast piece on doubles (precision "double") and one on 80-bit words (precision
// extended): see RunValues. Both backends write runs: this file's JavaScript, jit-wasm-x87.ts's
// WebAssembly.

/** One instruction of a run, as the run code sees it. */
interface Step {
  kind: 'arith' | 'arithMem' | 'fld' | 'fxch' | 'fst' | 'fcomi' | 'load' | 'fild' | 'const';
  /** ST(i) operand (register forms); for a load or an arithmetic memory operand, its size in bytes; a constant's value. */
  i: number;
  /** Arithmetic /digit after DC/DE's SUB/DIV reversal (0, 1, 4-7); 0 otherwise. */
  op: number;
  /** Arithmetic into ST(i) rather than ST(0) (DC, DE). */
  intoI: boolean;
  pop: boolean;
}

/** What a run does per instruction, or null when the instruction cannot be part of one. */
function stepOf(i: Instr): Step | null {
  if (!isEscape(i) || i.a16 || i.lock) return null;
  const s = { i: i.rm, op: 0, intoI: false, pop: false };
  const reg = i.reg;
  if (i.mod !== 3) {
    if (!FLAT[i.seg]) return null;
    if (reg === 0 && (i.op === 0xd9 || i.op === 0xdd)) return { ...s, kind: 'load', i: i.op === 0xd9 ? 4 : 8 };
    if (reg === 0 && i.op === 0xdb) return { ...s, kind: 'fild', i: 4 };
    // FADD/FMUL/FSUB(R)/FDIV(R) of ST(0) and a float operand.
    if ((i.op === 0xd8 || i.op === 0xdc) && reg !== 2 && reg !== 3)
      return { ...s, kind: 'arithMem', i: i.op === 0xd8 ? 4 : 8, op: reg };
    return null;
  }
  switch (i.op) {
    case 0xd8:
    case 0xdc:
    case 0xde: {
      if (reg === 2 || reg === 3) return null;
      const op = i.op === 0xd8 || reg < 4 ? reg : reg ^ 1;
      return { ...s, kind: 'arith', op, intoI: i.op !== 0xd8, pop: i.op === 0xde };
    }
    case 0xd9:
      // FLD1 (D9 E8), FLDZ (D9 EE): constants that no rounding changes.
      if (reg === 5 && (i.rm === 0 || i.rm === 6)) return { ...s, kind: 'const', i: i.rm === 0 ? 1 : 0 };
      return reg === 0 ? { ...s, kind: 'fld' } : reg === 1 ? { ...s, kind: 'fxch' } : null;
    case 0xdd:
      return reg === 2 || reg === 3 ? { ...s, kind: 'fst', pop: reg === 3 } : null;
    case 0xdb:
    case 0xdf:
      return reg === 5 || reg === 6 ? { ...s, kind: 'fcomi', pop: i.op === 0xdf } : null;
  }
  return null;
}

/**
 * The code a backend writes for the steps of a run that compute (the others only move values
 * between stack slots). Each gets the names of its values (see RunStack) and returns its code;
 * the code leaves the run's fast piece when its conditions fail.
 */
export interface RunWriter<L> {
  /** The double at i's memory operand (`single`: 4 bytes, else 8) into v; its address is the FDP. */
  load(v: string, i: Instr, single: boolean): L;
  /** The 32-bit integer at i's memory operand into v (as FILD converts it); its address is the FDP. */
  loadInt(v: string, i: Instr): L;
  /** The constant `value` (0 or 1) into v. */
  constant(v: string, value: number): L;
  /**
   * r = y op z for the /digit op (0 add, 1 mul, 4 sub, 5 subr, 6 div, 7 divr), normal or zero,
   * exactly as the FPU computes it; sets PE on an error.
   */
  arith(r: string, op: number, y: string, z: string): L;
  /** ZF/PF/CF of comparing a with b. */
  compare(a: string, b: string): L;
}

/**
 * The stack as a run sees it while it is compiled: slots are relative to TOP at the start of the
 * run; each holds a value's name (`e<slot>` read at the start, `v<n>` computed), 'in' (untouched:
 * as at the start) or 'empty' (popped in the run).
 */
export class RunStack<L> {
  depth = 0;
  slots: string[] = Array<string>(8).fill('in');
  /** Slot -> the last value written there (it goes to the register at the end). */
  written = new Map<number, string>();
  /** Slots that must hold a cached double at the start (read before written) or be empty. */
  full = new Set<number>();
  emptyAtStart = new Set<number>();
  lines: L[] = [];
  /** The result of the last instruction when it computed one (its error gives C1). */
  error: string | null = null;
  /** How many values the run computes. */
  values = 0;

  fresh(): string {
    return `v${this.values++}`;
  }
  /** Undoes everything done after `mark` was taken. */
  mark(): () => void {
    const depth = this.depth,
      slots = [...this.slots],
      written = new Map(this.written),
      full = new Set(this.full),
      empty = new Set(this.emptyAtStart),
      lines = this.lines.length,
      error = this.error;
    return () => {
      Object.assign(this, { depth, slots, written, full, emptyAtStart: empty, error });
      this.lines.length = lines;
    };
  }
  /** ST(i) as a value's name, or null on a stack underflow. */
  read(i: number): string | null {
    const j = (this.depth + i) & 7;
    const v = this.slots[j]!;
    if (v === 'empty') return null;
    if (v !== 'in') return v;
    const name = `e${j}`;
    this.full.add(j);
    this.slots[j] = name;
    return name;
  }
  write(i: number, name: string): void {
    const j = (this.depth + i) & 7;
    this.slots[j] = name;
    this.written.set(j, name);
  }
  /** Pushes the value `name`; false on a stack overflow. */
  push(name: string): boolean {
    const j = (this.depth + 7) & 7;
    const v = this.slots[j]!;
    if (v !== 'in' && v !== 'empty') return false;
    if (v === 'in') this.emptyAtStart.add(j);
    this.depth = (this.depth + 7) & 7;
    this.write(0, name);
    return true;
  }
  pop(): void {
    this.slots[this.depth] = 'empty';
    this.depth = (this.depth + 1) & 7;
  }
  /**
   * The tag word's bits (two per slot, relative to TOP at the start) that the run sets: slots
   * holding a written value at the end (`valid`: their tag comes from the value) and popped ones.
   */
  tagMasks(): { valid: number; emptied: number } {
    let valid = 0,
      emptied = 0;
    for (let j = 0; j < 8; j++) {
      if (this.slots[j] === 'empty') emptied |= 3 << (2 * j);
      else if (this.written.has(j)) valid |= 3 << (2 * j);
    }
    return { valid, emptied };
  }
}

/** Run code for one instruction on the RunStack (lines appended); false if it cannot be one. */
function runStep<L>(st: RunStack<L>, s: Step, i: Instr, w: RunWriter<L>): boolean {
  st.error = null;
  switch (s.kind) {
    case 'load': {
      const v = st.fresh();
      st.lines.push(w.load(v, i, s.i === 4));
      return st.push(v);
    }
    case 'fild':
    case 'const': {
      const v = st.fresh();
      st.lines.push(s.kind === 'fild' ? w.loadInt(v, i) : w.constant(v, s.i));
      return st.push(v);
    }
    case 'fld': {
      const v = st.read(s.i);
      return v !== null && st.push(v);
    }
    case 'arithMem': {
      const y = st.read(0);
      if (y === null) return false;
      const z = st.fresh();
      st.lines.push(w.load(z, i, s.i === 4));
      const r = st.fresh();
      st.lines.push(w.arith(r, s.op, y, z));
      st.error = r;
      st.write(0, r);
      return true;
    }
    case 'fxch': {
      const a = st.read(0),
        b = st.read(s.i);
      if (a === null || b === null) return false;
      st.write(0, b);
      st.write(s.i, a);
      return true;
    }
    case 'fst': {
      const a = st.read(0);
      if (a === null) return false;
      st.write(s.i, a);
      if (s.pop) st.pop();
      return true;
    }
    case 'fcomi': {
      const a = st.read(0),
        b = st.read(s.i);
      if (a === null || b === null) return false;
      st.lines.push(w.compare(a, b));
      if (s.pop) st.pop();
      return true;
    }
    case 'arith': {
      const dest = s.intoI ? s.i : 0,
        src = s.intoI ? 0 : s.i;
      const y = st.read(dest),
        z = st.read(src);
      if (y === null || z === null) return false;
      const r = st.fresh();
      st.lines.push(w.arith(r, s.op, y, z));
      st.error = r;
      st.write(dest, r);
      if (s.pop) st.pop();
      return true;
    }
  }
}

/** A run of escapes as planned: its stack and code, and which of its instructions are integer ones. */
export interface RunPlan<L, F> {
  st: RunStack<L>;
  /** How many instructions it covers. */
  n: number;
  /** The integer instructions among them, by position in the run, with their forms. */
  integer: Map<number, F>;
  /** Whether it writes ZF/PF/CF (an FCOMI). */
  eflags: boolean;
  /** Whether it loads from memory (then it sets FDP). */
  mem: boolean;
}

/**
 * The run of escapes starting at block[p] (at least `min`, maybe with integer instructions
 * between them, which `integerStep` gives forms for, when none is an FCOMI), written by `w`; null
 * when no run starts here. At most 16 instructions.
 */
export function planRun<L, F>(
  block: Instr[],
  p: number,
  w: RunWriter<L>,
  integerStep: (i: Instr) => F | null,
  min: number,
): RunPlan<L, F> | null {
  const st = new RunStack<L>();
  const integer = new Map<number, F>();
  let n = 0,
    eflags = false,
    mem = false;
  for (; p + n < block.length && n < 16; n++) {
    const i = block[p + n]!;
    const s = stepOf(i);
    if (s === null) {
      const f = eflags ? null : integerStep(i);
      if (f === null) break;
      integer.set(n, f);
      continue;
    }
    if (s.kind === 'fcomi' && integer.size > 0) break;
    const undo = st.mark();
    if (!runStep(st, s, i, w)) {
      undo();
      break;
    }
    if (s.kind === 'fcomi') eflags = true;
    if (s.kind === 'load' || s.kind === 'fild' || s.kind === 'arithMem') mem = true;
  }
  while (integer.has(n - 1)) integer.delete(--n);
  return n - integer.size < min ? null : { st, n, integer, eflags, mem };
}

/** Rotates an 8-slot mask (bits per slot, `bits` wide each) by TOP at run time. */
const rotate = (mask: number, bits: number): string =>
  mask === 0
    ? '0'
    : `((${mask} << (t * ${bits})) | (${mask} >>> (${8 * bits} - t * ${bits}))) & ${(1 << (8 * bits)) - 1}`;

/**
 * An integer instruction that a run may hold (between two of its escapes): inline code that
 * neither faults, stores nor reads the flags, so that it may run after the run's fast piece, or
 * in its place among the escapes when the FPU runs them one by one.
 */
function integerStep(i: Instr): Form | null {
  const f = i.role === ROLE_PLAIN ? inlineForm(i, null) : null;
  return f === null || f.faults || f.stores || f.reads === true || f.recordInC === true ? null : f;
}

/**
 * How a run holds its values, by the precision it serves: the control word its fast piece
 * needs, the writer of its computing steps, and how a value comes from and goes to a register.
 */
interface RunValues {
  /** The control word (FAST_CONTROL_BITS of it) under which the fast piece runs. */
  control: number;
  writer: RunWriter<string>;
  /** Code at the start of the fast piece, after its checks. */
  start: string;
  /** ST slot j's value at the start from physical register p, or a jump out of the fast piece. */
  load(j: number): string;
  /** Value w into physical register p, with its stale bit in sb and a zero's tag in zt. */
  store(w: string): string;
  /** Code before the commit that completes pe (32 when a result was inexact). */
  finish: string;
  /** The last instruction's C1 ("rounded up") when its result is `last` (null: no result). */
  c1(last: string | null): string;
}

const flatLoad = (v: string, i: Instr, bytes: number): string =>
  `const l${v} = ${eaOf(i)}, e${v} = R[l${v} >>> 12]; if (e${v} === 0 || (l${v} & 4095) > ${4096 - bytes}) break stretch; `;
const floatValue = (v: string, single: boolean): string =>
  `dv.${single ? 'getFloat32' : 'getFloat64'}(e${v} - 1 + (l${v} & 4095), true)`;
const normalOrZeroFloat = (v: string, single: boolean): string =>
  `((Math.abs(${v}) >= ${single ? MIN_SINGLE : MIN_NORMAL} && Math.abs(${v}) < Infinity) || ${v} === 0)`;

/** Values as doubles (precision "double"): fastDouble's arithmetic on the float64 cache. */
function doubleValues(): RunValues {
  // Each result's error (its expression), for PE and the last instruction's C1.
  const errors = new Map<string, string>();
  const writer: RunWriter<string> = {
    load: (v, i, single) =>
      `${flatLoad(v, i, single ? 4 : 8)}const ${v} = ${floatValue(v, single)}; ` +
      `if (!${normalOrZeroFloat(v, single)}) break stretch; fdp = l${v} >>> 0;`,
    loadInt: (v, i) =>
      `${flatLoad(v, i, 4)}const ${v} = dv.getInt32(e${v} - 1 + (l${v} & 4095), true); fdp = l${v} >>> 0;`,
    constant: (v, value) => `const ${v} = ${value};`,
    compare: (a, b) => `fl = ${a} < ${b} ? 1 : ${a} > ${b} ? 0 : 64;`,
    arith: (r, op, y, z) => {
      let code: string;
      if (op >= 6) {
        // fastDouble's division: operands and quotient within 2^±400 (no zeros); the error has
        // the sign of the remainder over the divisor.
        const [x, d] = op === 6 ? [y, z] : [z, y];
        const safe = (v: string): string => `(Math.abs(${v}) >= 2 ** -400 && Math.abs(${v}) <= 2 ** 400)`;
        code = `if (!(${safe(x)} && ${safe(d)})) break stretch; const ${r} = ${x} / ${d}; if (!${safe(r)}) break stretch;`;
        errors.set(r, `(${d} > 0 ? 1 : -1) * (${x} - ${r} * ${d} - x87.productError(${r}, ${d}, ${r} * ${d}))`);
      } else if (op === 1) {
        // A zero operand gives a zero of the right sign exactly.
        const safe = (v: string): string =>
          `(${v} === 0 || (Math.abs(${v}) >= 2 ** -400 && Math.abs(${v}) <= 2 ** 400))`;
        code = `if (!(${safe(y)} && ${safe(z)})) break stretch; const ${r} = ${y} * ${z};`;
        errors.set(r, `x87.productError(${y}, ${z}, ${r})`);
      } else {
        const [u, w] = op === 0 ? [y, z] : op === 4 ? [y, `-${z}`] : [z, `-${y}`];
        code = `const u${r} = ${u}, w${r} = ${w}, ${r} = u${r} + w${r}, h${r} = ${r} - u${r};`;
        errors.set(r, `u${r} - (${r} - h${r}) + (w${r} - h${r})`);
      }
      // The error decides PE while it is clear.
      return (
        `${code} if (!((Math.abs(${r}) >= ${MIN_NORMAL} && Math.abs(${r}) <= 1.7976931348623157e308) || ${r} === 0)) break stretch; ` +
        `if (pe === 0 && ${errors.get(r)!} !== 0) pe = 32;`
      );
    },
  };
  return {
    control: FAST_CONTROL,
    writer,
    start: '',
    // A register tagged "zero" is not in the cache: its words are current and give the sign.
    load: (j) =>
      `let e${j} = F[p]; if (e${j} !== e${j}) { if (((tg >>> (p << 1)) & 3) !== 1) break stretch; ` +
      `e${j} = (X.regs[p * 3 + 2] & 32768) !== 0 ? -0 : 0; }`,
    // A nonzero double into the cache, stale in the register words; a zero into the words themselves.
    store: (w) =>
      `if (${w} !== 0) { F[p] = ${w}; sb |= 1 << p; } else { F[p] = NaN; sb &= ~(1 << p); ` +
      `zt |= 1 << (p << 1); X.regs[p * 3] = 0; X.regs[p * 3 + 1] = 0; X.regs[p * 3 + 2] = 1 / ${w} < 0 ? 32768 : 0; }`,
    finish: '',
    // The error of a result is zero or has its sign when it was rounded up.
    c1: (r) => {
      if (r === null) return '0';
      const e = errors.get(r)!;
      return `((${e}) !== 0 && ${r} > 0 === (${e}) < 0 ? ${C1} : 0)`;
    },
  };
}

/**
 * Values as 80-bit words (precision extended: the control word a Linux process starts with),
 * three locals each (<v>s sign/exponent, <v>h, <v>l the significand as int32), always normal or zero:
 * the arithmetic of x87-extended.ts, which raises PE and C1 in the FPU's flags.
 */
function extendedValues(): RunValues {
  const words = (v: string): string => `${v}s, ${v}h, ${v}l`;
  const result = (v: string): string => `const ${v}s = x87.E.se, ${v}h = x87.E.hi, ${v}l = x87.E.lo;`;
  const writer: RunWriter<string> = {
    load: (v, i, single) =>
      `${flatLoad(v, i, single ? 4 : 8)}const d${v} = ${floatValue(v, single)}; ` +
      `if (!${normalOrZeroFloat(`d${v}`, single)}) break stretch; x87.fromDouble(d${v}); ${result(v)} fdp = l${v} >>> 0;`,
    loadInt: (v, i) =>
      `${flatLoad(v, i, 4)}x87.fromDouble(dv.getInt32(e${v} - 1 + (l${v} & 4095), true)); ${result(v)} fdp = l${v} >>> 0;`,
    constant: (v, value) =>
      `const ${v}s = ${value === 0 ? 0 : 16383}, ${v}h = ${value === 0 ? 0 : 0x80000000}, ${v}l = 0;`,
    compare: (a, b) => `fl = x87.compare(${words(a)}, ${words(b)}); if (fl < 0) break stretch;`,
    arith: (r, op, y, z) => `if (!x87.arith(${op}, ${words(y)}, ${words(z)}, ${y === z})) break stretch; ${result(r)}`,
  };
  return {
    control: EXTENDED_CONTROL,
    writer,
    // The words of registers whose double is ahead of them are brought up to date.
    start: 'x87.flags.exc = 0; if (x87.cache.stale !== 0) x87.sync(X);',
    load: (j) =>
      `const e${j}s = X.regs[p * 3 + 2], e${j}h = X.regs[p * 3 + 1] | 0, e${j}l = X.regs[p * 3] | 0, e${j}e = e${j}s & 32767; ` +
      `if (e${j}e === 0 ? (e${j}h | e${j}l) !== 0 : e${j}e === 32767 || e${j}h >= 0) break stretch;`,
    store: (w) =>
      `X.regs[p * 3] = ${w}l; X.regs[p * 3 + 1] = ${w}h; X.regs[p * 3 + 2] = ${w}s; F[p] = NaN; sb &= ~(1 << p); ` +
      `if (${w}h === 0) zt |= 1 << (p << 1);`,
    finish: 'pe |= x87.flags.exc & 32;',
    c1: (r) => (r === null ? '0' : `(x87.flags.up !== 0 ? ${C1} : 0)`),
  };
}

/**
 * A run's fast piece holding values as `values` says, for the run planned from block[p] (see
 * runAt): code that sets `done` when it ran the whole run, and otherwise has written nothing.
 */
function fastPiece(block: Instr[], p: number, eips: number[], plan: RunPlan<string, Form>, values: RunValues): string {
  const { st, n, eflags, mem } = plan;
  const lastI = block[p + n - 1]!;
  const fop = ((lastI.op & 7) << 8) | lastI.modrm;
  // Tags: slots holding a value at the end become "valid" (or "zero", zt), popped ones "empty";
  // every slot written in the run gets its last value.
  const { valid, emptied } = st.tagMasks();
  const stores = [...st.written].map(([j, w]) => `p = (t + ${j}) & 7; ${values.store(w)}`);
  const checks = [
    ...[...st.full].map((j) => `((tg >>> (((t + ${j}) & 7) << 1)) & 3) !== 3`),
    ...[...st.emptyAtStart].map((j) => `((tg >>> (((t + ${j}) & 7) << 1)) & 3) === 3`),
  ];
  const loads = [...st.full].map((j) => `p = (t + ${j}) & 7; ${values.load(j)}`);
  const commit =
    `${values.finish} let sb = x87.cache.stale, zt = 0; ${stores.join(' ')} x87.cache.stale = sb; ` +
    `X.tag = (tg & ~(${rotate(valid | emptied, 2)})) | (${rotate(emptied, 2)}) | zt; ` +
    `let s2 = (s & ${~(TOP | C1)}) | (((t + ${st.depth}) & 7) << 11) | ${values.c1(st.error)}; ` +
    `if (pe !== (s & 32)) s2 = (s2 | 32) & ${~SUMMARY}; X.status = s2; ` +
    `X.fip = ${eips[p + n - 1]!}; X.fop = ${fop};${mem ? ' X.fdp = fdp;' : ''}` +
    `${eflags ? ` c.flags = (c.flags & ${~ARITH_FLAGS}) | fl; c.lazy = 0; fk = -1;` : ''} done = true;`;
  return (
    `stretch: if (!done && (s & 128) === 0 && (c.cr0 & 12) === 0 && x87.cache.of === X.regs && (X.control & ${FAST_CONTROL_BITS}) === ${values.control}) { ` +
    `const t = (s >>> 11) & 7, tg = X.tag, F = x87.F; let pe = s & 32, fl = 0, fdp = 0; ` +
    `if (!(${checks.length > 0 ? checks.join(' && ') : 'true'})) break stretch; ${values.start} ${loads.join(' ')}\n${st.lines.join('\n')}\n${commit} }\n`
  );
}

/**
 * The run of escapes starting at block[p] (at least two, maybe with integer instructions between
 * them when none is an FCOMI: see integerStep), as code: a fast piece on doubles, one on 80-bit
 * values (the control word picks the piece that applies), and the run's instructions one by one
 * (the escapes through the FPU) for when neither does. Returns the code, how many instructions it
 * covers and whether integer ones are among them, or null when no run starts here.
 */
function runAt(
  block: Instr[],
  p: number,
  eips: number[],
): { code: string; n: number; eflags: boolean; integer: boolean } | null {
  const double = doubleValues();
  const plan = planRun(block, p, double.writer, integerStep, 2);
  if (plan === null) return null;
  const { n, integer, eflags } = plan;
  // The same instructions planned again with the other writer (planning does not depend on it).
  const extended = extendedValues();
  const pieces = [
    fastPiece(block, p, eips, plan, double),
    fastPiece(block, p, eips, planRun(block, p, extended.writer, integerStep, 2)!, extended),
  ];
  // One by one: an escape after an integer instruction writes the registers and the record
  // (changed since the first COMMIT) before the FPU runs it.
  const slow = block
    .slice(p, p + n)
    .map((i, j) => {
      const f = integer.get(j);
      if (f !== undefined) return `${f.code} ${f.record ?? ''}`;
      const at = `c.ip = ${eips[p + j]!}; c.icount = ic + ${p + j};`;
      return `${j === 0 ? COMMIT : integer.has(j - 1) ? `${at} ${SPILL} ${RECORD_OUT}` : at} ${fpuCall(i, eips[p + j]!)}`;
    })
    .join('\n');
  const fast = [...integer.values()].map((f) => `${f.code} ${f.record ?? ''}`);
  // x (a region scratch local) carries `done` out of the block, whose `s` hides the region's.
  const code =
    `{ const X = c.x87, s = X.status; let done = false; ${pieces.join('')}` +
    `x = done ? 1 : 0; }\nif (x === 0) {\n${slow}\n}${fast.length > 0 ? ` else { ${fast.join(' ')} }` : ''}`;
  return { code, n, eflags, integer: integer.size > 0 };
}
