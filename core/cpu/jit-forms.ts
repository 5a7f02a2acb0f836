// Code generators for the fall-through instruction forms the region compiler (jit.ts) inlines:
// JavaScript statements that do exactly what the form's handler does, with the TLB hit path
// inlined as typed-array lookups. Anything not covered here runs through its handler.
//
// The statements run inside a region function with these locals: g (the general registers), c
// (the CPU), mmu, R/W (the current TLB tables: no write entry maps a page holding cached code),
// dv/ram (guest RAM), the lazy-flag record (fk, fa, fb, fr: see RECORD_DECLARE), and scratch
// variables a, b, r (ALU operands and result: kept for a following Jcc), and l, e, p, s, v, x. A region is only
// entered with ES, SS and DS flat (base 0, full limit, readable and writable) and a 32-bit
// stack, so those segments need no checks here.

import type { FlagState } from './flags';
import type { Instr } from './instr';
import { ROLE_BRANCH } from './optable';

const ARITH = 0x8d5,
  PF = 0x4,
  ZF = 0x40,
  SF = 0x80;

/**
 * While a region runs, the lazy-flag record of flags.ts lives in its locals, so recording an
 * ALU result costs no stores to the CPU object: fa, fb, fr (operands and result) and fk, which
 * packs the rest: bits 0-1 the operation (lop), bit 2 set for 8 bits (else 32), bits 4-5 the
 * lazy flags (0: all six, 1: all but CF, which is in c.flags, 2: ZF, SF and PF, with CF, OF and
 * AF as bits in fa). fk = -1 means the record in c is the current one: so it is at entry and
 * after RECORD_OUT, which writes the locals' record to c (before a handler, testCond or the code
 * after the region sees it).
 */
export const RECORD_DECLARE = 'let fk = -1, fa = 0, fb = 0, fr = 0;';
export const RECORD_OUT = 'if (fk >= 0) fk = writeRecord(c, fk, fa, fb, fr);';

/**
 * Inside a region the general registers live in the locals q0..q7: SPILL writes them to c.gpr
 * (g), FILL reads them back.
 */
export const SPILL = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => `g[${r}] = q${r};`).join(' ');
export const FILL = [0, 1, 2, 3, 4, 5, 6, 7].map((r) => `q${r} = g[${r}];`).join(' ');

/** Writes the packed record (fk >= 0, fa, fb, fr: see RECORD_DECLARE) to c; returns -1, the new fk. */
export function writeRecord(c: FlagState, fk: number, fa: number, fb: number, fr: number): number {
  const lazy = fk >> 4;
  c.lop = fk & 3;
  c.lres = fr;
  c.lmask = (fk & 4) !== 0 ? 0xff : -1;
  c.lsign = (fk & 4) !== 0 ? 0x80 : -0x80000000;
  if (lazy === 2) {
    c.flags = (c.flags & ~ARITH) | fa;
    c.la = 0;
    c.lb = 0;
    c.lazy = ZF | SF | PF;
  } else {
    c.la = fa;
    c.lb = fb;
    c.lazy = lazy === 0 ? ARITH : ARITH & ~1;
  }
  return -1;
}

/** The packed fk of a record: operation `lop`, `sz` 8 or 32, `lazy` 0, 1 or 2 as above. */
function recordKind(lop: number, sz: number, lazy: number): number {
  return lop | (sz === 8 ? 4 : 0) | (lazy << 4);
}

/**
 * What a following Jcc/SETcc/CMOVcc may read instead of the flag record: the operands and result
 * of an instruction in the locals a, b, r, or ('eflags') the flags in c itself, the record
 * locals written out (fk = -1), as FCOMI leaves them.
 */
export type FlagSource = 'add32' | 'sub32' | 'logic32' | 'sub8' | 'logic8' | 'zs32' | 'eflags';

export interface Form {
  code: string;
  /** May raise a fault (each call that may is preceded by COMMIT in the code). */
  faults: boolean;
  /** May write memory: the region checks for overwritten code after it. */
  stores: boolean;
  /** Flags left in a/b/r; undefined: flags and a/b/r untouched; null: unknown. */
  flags?: FlagSource | null;
  /**
   * The lazy-flag record, run after `code` (it reads a, b, r, the record locals and c.flags); the
   * region leaves it out when a later instruction of the block replaces every status flag first
   * and nothing in between can fault or read them. '' when `code` writes the record locals
   * itself (an x87 run holding integer instructions: see jit-x87.ts).
   */
  record?: string;
  /** Calls something that reads or writes the flag record in c (RECORD_OUT must run before it). */
  recordInC?: boolean;
  /** Replaces all six status flags without reading them (a record that makes earlier ones dead). */
  setsAll?: boolean;
  /** Reads the status flags (SETcc, CMOVcc). */
  reads?: boolean;
}

const SEG_FLAT = [true, false, true, true, false, false];

/** Effective address (segment offset, int32) of a 32-bit-address memory operand. */
export function eaOf(i: Instr): string {
  const parts: string[] = [];
  if (i.base >= 0) parts.push(`q${i.base}`);
  if (i.index >= 0) parts.push(i.scale === 0 ? `q${i.index}` : `(q${i.index} << ${i.scale})`);
  if (i.disp !== 0 || parts.length === 0) parts.push(String(i.disp | 0));
  return parts.length === 1 && i.base >= 0 && i.index < 0 ? parts[0]! : `((${parts.join(' + ')}) | 0)`;
}

/**
 * Stands for the code that writes the state as at the start of the instruction to c (the region
 * compiler substitutes it): it runs before each call that may raise a fault, so the forms make
 * no change to registers or flags before their last such call.
 */
export const COMMIT = '/*commit*/';

/**
 * Ends the slow path of a store (a call that may land on a page with cached code): gen, a local
 * of the region equal to cg (c.codeGen at entry) until then, takes the CPU's code generation, so
 * the region's check after the instruction compares two locals; a store on the fast path cannot
 * have changed code (no write entry maps a page that holds code).
 */
export const STORED = 'gen = c.codeGen;';

/** Linear address of the memory operand for an access of n bytes. */
function linear(i: Instr, write: boolean, n: number): string {
  if (SEG_FLAT[i.seg]) return eaOf(i);
  return `c.${write ? 'linW' : 'linR'}(${i.seg}, ${eaOf(i)}, ${n})`;
}

/** `l = lin;`, after a COMMIT when computing `lin` checks a segment (and may fault). */
function linearTo(lin: string): string {
  return lin.startsWith('c.lin') ? `${COMMIT} l = ${lin};` : `l = ${lin};`;
}

/**
 * Offset in RAM of linear l on a TLB hit (e: 1 + the page's RAM offset). Truncated to int32, so
 * the engine adds without overflow checks (it cannot overflow: RAM is far below 2 GiB).
 */
const IN_RAM = '(e - 1 + (l & 4095)) | 0';

/** Reads n bytes at linear `lin` into `dst` (a local or register lvalue). */
export function load(n: number, lin: string, dst: string): string {
  const get = n === 4 ? `dv.getInt32(${IN_RAM}, true)` : n === 2 ? `dv.getUint16(${IN_RAM}, true)` : `ram[${IN_RAM}]`;
  const inPage = n === 1 ? '' : ` && (l & 4095) <= ${4096 - n}`;
  return `${linearTo(lin)} e = R[l >>> 12]; if (e !== 0${inPage}) ${dst} = ${get}; else { ${COMMIT} ${dst} = mmu.read${n * 8}(l); }`;
}

/** Writes `val` (an expression that must not use l or e) as n bytes at linear `lin`. */
export function store(n: number, lin: string, val: string): string {
  if (n === 4)
    return `${linearTo(lin)} e = W[l >>> 12]; if (e !== 0 && (l & 4095) <= 4092) dv.setInt32(${IN_RAM}, ${val}, true); else { ${COMMIT} mmu.write32(l, ${val}); ${STORED} }`;
  return `${linearTo(lin)} e = W[l >>> 12]; if (e !== 0) ram[${IN_RAM}] = ${val}; else { ${COMMIT} mmu.write8(l, ${val}); ${STORED} }`;
}

/** Read-modify-write of n (1 or 4) bytes: `a` gets the old value, `compute` sets `r`, r is stored. */
function rmw(n: number, lin: string, compute: string): string {
  const fast = n === 4 ? ' && (l & 4095) <= 4092' : '';
  const get = n === 4 ? 'dv.getInt32(p, true)' : 'ram[p]';
  const put = n === 4 ? 'dv.setInt32(p, r, true)' : 'ram[p] = r';
  // After probeWrite the write cannot fault, so one COMMIT covers the whole slow path.
  return (
    `${linearTo(lin)} e = W[l >>> 12]; ` +
    `if (e !== 0${fast}) { p = ${IN_RAM}; a = ${get}; } ` +
    `else { ${COMMIT} mmu.probeWrite(l, ${n}); p = -1; a = mmu.read${n * 8}(l); } ` +
    `${compute} if (p >= 0) ${put}; else { mmu.write${n * 8}(l, r); ${STORED} }`
  );
}

function regRead(r: number, sz: number): string {
  if (sz === 32) return `q${r}`;
  return r < 4 ? `(q${r} & 255)` : `((q${r - 4} >> 8) & 255)`;
}

function regWrite(r: number, sz: number, val: string): string {
  if (sz === 32) return `q${r} = ${val};`;
  return r < 4
    ? `q${r} = (q${r} & -256) | (${val} & 255);`
    : `q${r - 4} = (q${r - 4} & -65281) | ((${val} & 255) << 8);`;
}

/** r from a and b for ALU operation op (ADD..CMP but ADC/SBB), and its lazy-flag record. */
function aluCalc(op: number, sz: number): { code: string; record: string; flags: FlagSource | null } | null {
  const cut = sz === 32 ? ' | 0' : ' & 255';
  let r: string, kind: number;
  switch (op) {
    case 0:
      r = `(a + b)${cut}`;
      kind = 0;
      break;
    case 5:
    case 7:
      r = `(a - b)${cut}`;
      kind = 1;
      break;
    case 1:
      r = 'a | b';
      kind = 2;
      break;
    case 4:
      r = 'a & b';
      kind = 2;
      break;
    case 6:
      r = 'a ^ b';
      kind = 2;
      break;
    default:
      return null;
  }
  const operands = kind === 2 ? '' : ' fa = a; fb = b;';
  const code = `r = ${r};`;
  const record = `fk = ${recordKind(kind, sz, 0)};${operands} fr = r;`;
  const flags: FlagSource | null =
    sz === 32
      ? kind === 0
        ? 'add32'
        : kind === 1
          ? 'sub32'
          : 'logic32'
      : kind === 0
        ? null
        : kind === 1
          ? 'sub8'
          : 'logic8';
  return { code, record, flags };
}

/**
 * An ALU operation whose first operand (also the destination when `write`) is the r/m operand
 * ('E'), the reg operand ('G') or the accumulator ('A'); `second` is an expression or 'E'.
 */
function aluGen(i: Instr, op: number, sz: number, first: 'E' | 'G' | 'A', second: string, write: boolean): Form | null {
  const calc = aluCalc(op, sz);
  if (calc === null) return null;
  const n = sz >>> 3;
  if (first === 'E' && i.mod !== 3) {
    if (!write)
      return {
        code: `${load(n, linear(i, false, n), 'a')} b = ${second}; ${calc.code}`,
        faults: true,
        stores: false,
        flags: calc.flags,
        record: calc.record,
        setsAll: true,
      };
    return {
      code: rmw(n, linear(i, true, n), `b = ${second}; ${calc.code}`),
      faults: true,
      stores: true,
      flags: calc.flags,
      record: calc.record,
      setsAll: true,
    };
  }
  let pre = '';
  let bset = `b = ${second};`;
  if (second === 'E') {
    if (i.mod === 3) bset = `b = ${regRead(i.rm, sz)};`;
    else {
      pre = load(n, linear(i, false, n), 'b');
      bset = '';
    }
  }
  const loc = first === 'E' ? i.rm : first === 'G' ? i.reg : 0;
  const code = `${pre} a = ${regRead(loc, sz)}; ${bset} ${calc.code}${write ? ' ' + regWrite(loc, sz, 'r') : ''}`;
  return { code, faults: pre !== '', stores: false, flags: calc.flags, record: calc.record, setsAll: true };
}

const COND_SUB32 = [
  '',
  '',
  'a >>> 0 < b >>> 0',
  'a >>> 0 >= b >>> 0',
  'a === b',
  'a !== b',
  'a >>> 0 <= b >>> 0',
  'a >>> 0 > b >>> 0',
  'r < 0',
  'r >= 0',
  '',
  '',
  'a < b',
  'a >= b',
  'a <= b',
  'a > b',
];
const COND_SUB8 = [
  '',
  '',
  'a < b',
  'a >= b',
  'a === b',
  'a !== b',
  'a <= b',
  'a > b',
  '(r & 128) !== 0',
  '(r & 128) === 0',
  '',
  '',
  '(a << 24) < (b << 24)',
  '(a << 24) >= (b << 24)',
  '(a << 24) <= (b << 24)',
  '(a << 24) > (b << 24)',
];
const COND_LOGIC32 = [
  'false',
  'true',
  'false',
  'true',
  'r === 0',
  'r !== 0',
  'r === 0',
  'r !== 0',
  'r < 0',
  'r >= 0',
  '',
  '',
  'r < 0',
  'r >= 0',
  'r <= 0',
  'r > 0',
];
const COND_LOGIC8 = [
  'false',
  'true',
  'false',
  'true',
  'r === 0',
  'r !== 0',
  'r === 0',
  'r !== 0',
  '(r & 128) !== 0',
  '(r & 128) === 0',
  '',
  '',
  '(r & 128) !== 0',
  '(r & 128) === 0',
  '(r === 0 || (r & 128) !== 0)',
  '(r !== 0 && (r & 128) === 0)',
];
const COND_ADD32 = [
  '',
  '',
  'r >>> 0 < a >>> 0',
  'r >>> 0 >= a >>> 0',
  'r === 0',
  'r !== 0',
  '',
  '',
  'r < 0',
  'r >= 0',
  '',
  '',
  '',
  '',
  '',
  '',
];
const COND_ZS32 = ['', '', '', '', 'r === 0', 'r !== 0', '', '', 'r < 0', 'r >= 0', '', '', '', '', '', ''];
/** Conditions on concrete EFLAGS (OF 11, SF 7, ZF 6, PF 2, CF 0), when no flag is lazy. */
const COND_EFLAGS = [
  '(f & 2048) !== 0',
  '(f & 2048) === 0',
  '(f & 1) !== 0',
  '(f & 1) === 0',
  '(f & 64) !== 0',
  '(f & 64) === 0',
  '(f & 65) !== 0',
  '(f & 65) === 0',
  '(f & 128) !== 0',
  '(f & 128) === 0',
  '(f & 4) !== 0',
  '(f & 4) === 0',
  '(((f >> 7) ^ (f >> 11)) & 1) !== 0',
  '(((f >> 7) ^ (f >> 11)) & 1) === 0',
  '((f & 64) !== 0 || (((f >> 7) ^ (f >> 11)) & 1) !== 0)',
  '((f & 64) === 0 && (((f >> 7) ^ (f >> 11)) & 1) === 0)',
].map((e, cc) => `(c.lazy === 0 ? ${e.replaceAll('f', 'c.flags')} : testCond(c, ${cc}))`);
const FUSED: Record<FlagSource, string[]> = {
  eflags: COND_EFLAGS,
  sub32: COND_SUB32,
  sub8: COND_SUB8,
  logic32: COND_LOGIC32,
  logic8: COND_LOGIC8,
  add32: COND_ADD32,
  zs32: COND_ZS32,
};

/** Condition cc (0..15) from a/b/r when the flags' source is known, else '' (testCond decides). */
export function fusedCondition(cc: number, src: FlagSource | null): string {
  return src === null ? '' : FUSED[src][cc]!;
}

/** Condition cc (0..15) as an expression (testCond reads the record in c: see RECORD_OUT). */
export function condition(cc: number, src: FlagSource | null): string {
  const fused = fusedCondition(cc, src);
  return fused !== '' ? fused : `testCond(c, ${cc})`;
}

/**
 * Flags as recordResultWith(c, bits, r, 32) leaves them: CF/OF/AF from `bits` (an expression),
 * ZF/SF/PF following r.
 */
function resultWith(bits: string): string {
  return `fk = ${recordKind(2, 32, 2)}; fa = ${bits}; fr = r;`;
}

/** SHL (4), SHR (5) or SAR (7) of register rm by a constant count n (1..31), as shiftOp does. */
function shiftConst(op: number, rm: number, n: number): Form | null {
  let calc: string, bits: string;
  if (op === 4) {
    calc = `r = a << ${n}; x = (a >>> ${32 - n}) & 1;`;
    bits = `x | ((((r >>> 31) ^ x) & 1) << 11)`;
  } else if (op === 5) {
    calc = `r = (a >>> ${n}) | 0;`;
    bits = `((a >>> ${n - 1}) & 1) | ((a >>> 31) << 11)`;
  } else if (op === 7) {
    calc = `r = a >> ${n};`;
    bits = `((a >> ${n - 1}) & 1)`;
  } else return null;
  const code = `a = q${rm}; ${calc} q${rm} = r;`;
  return { code, faults: false, stores: false, flags: 'zs32', record: resultWith(bits), setsAll: true };
}

/** INC (dec false) or DEC of the 32-bit value in a: r, and b = 1 as the flag record's operand. */
function incDec32(dec: boolean): string {
  return `b = 1; r = (a ${dec ? '-' : '+'} 1) | 0;`;
}

/**
 * The flag record of INC/DEC: CF becomes concrete (from the previous record, still in the
 * locals; nothing to do when `prev` left it concrete already), the others follow r lazily.
 */
function incDecRecord(dec: boolean, prev: FlagSource | null): string {
  // After INC/DEC (CF in c.flags) or a shift/multiply (CF in fa): prev 'zs32' leaves no other case.
  const fromBits = 'if ((fk & 32) !== 0) c.flags = (c.flags & -2) | (fa & 1); ';
  const keepCF =
    prev === 'zs32'
      ? fromBits
      : 'if (fk < 0) c.flags = (c.flags & -2) | getCF(c); ' +
        'else if ((fk & 48) === 0) c.flags = (c.flags & -2) | recordCF(fk & 3, fa, fb, fr, (fk & 4) !== 0 ? 255 : -1); ' +
        `else ${fromBits}`;
  return `${keepCF}fk = ${recordKind(dec ? 1 : 0, 32, 1)}; fa = a; fb = 1; fr = r;`;
}

/** The r/m operand as a value in `dst` (a register expression, or a load). */
function readE(i: Instr, sz: number, dst: string): { code: string; faults: boolean } {
  if (i.mod === 3) return { code: `${dst} = ${regRead(i.rm, sz)};`, faults: false };
  return { code: load(sz >>> 3, linear(i, false, sz >>> 3), dst), faults: true };
}

/**
 * Inline JavaScript for a MOVS/STOS/LODS without REP (byte or dword, 32-bit addressing): one
 * element, ESI/EDI stepping by DF. Null for other string forms (they run through handlers).
 */
export function inlineString(i: Instr): Form | null {
  if (i.rep !== 0 || i.a16 || i.lock || i.sz === 16) return null;
  const n = i.sz >>> 3;
  const src = SEG_FLAT[i.seg] ? 'q6' : `c.linR(${i.seg}, q6, ${n})`;
  const step = `x = (c.flags & 1024) !== 0 ? ${-n} : ${n};`;
  switch (i.op) {
    case 0xa4:
    case 0xa5:
      return {
        code: `${load(n, src, 'v')} ${store(n, 'q7', 'v')} ${step} q6 = (q6 + x) | 0; q7 = (q7 + x) | 0;`,
        faults: true,
        stores: true,
      };
    case 0xaa:
    case 0xab:
      return { code: `v = q0; ${store(n, 'q7', 'v')} ${step} q7 = (q7 + x) | 0;`, faults: true, stores: true };
    case 0xac:
    case 0xad:
      return {
        code: `${load(n, src, 'v')} ${regWrite(0, i.sz, 'v')} ${step} q6 = (q6 + x) | 0;`,
        faults: true,
        stores: false,
      };
  }
  return null;
}

/**
 * The ALU forms both backends inline (ADD..CMP but ADC/SBB, TEST): operation `alu` (the /reg
 * numbering of group 1; TEST as AND), whose first operand (the destination when `write`) is the
 * r/m operand ('E'), the reg operand ('G') or the accumulator ('A'), and whose second is the reg
 * operand, the r/m operand or the immediate. Null for any other instruction.
 */
export function aluShape(
  i: Instr,
): { alu: number; first: 'E' | 'G' | 'A'; second: 'reg' | 'E' | 'imm'; write: boolean } | null {
  const op = i.op;
  if (op < 0x40 && (op & 7) < 6) {
    const alu = (op >> 3) & 7;
    const write = alu !== 7;
    if ((op & 7) < 2) return { alu, first: 'E', second: 'reg', write };
    if ((op & 7) < 4) return { alu, first: 'G', second: 'E', write };
    return { alu, first: 'A', second: 'imm', write };
  }
  if (op >= 0x80 && op <= 0x83) return { alu: i.reg, first: 'E', second: 'imm', write: i.reg !== 7 };
  if (op === 0x84 || op === 0x85) return { alu: 4, first: 'E', second: 'reg', write: false };
  if (op === 0xa8 || op === 0xa9) return { alu: 4, first: 'A', second: 'imm', write: false };
  if ((op === 0xf6 || op === 0xf7) && i.reg === 0) return { alu: 4, first: 'E', second: 'imm', write: false };
  return null;
}

export function isJcc(op: number): boolean {
  return (op & 0x1f0) === 0x70 || (op & 0x1f0) === 0x180;
}

/** A block of a region as compileRegion finds it: page offsets of its start and end, its instructions. */
export interface RegionBlock {
  start: number;
  end: number;
  instrs: Instr[];
}

const RELATIVE = new Set([0xe8, 0xe9, 0xeb]);

/** The in-page offset the branch i at `ip` goes to directly, or -1 (indirect, another page, 16-bit). */
export function directTarget(i: Instr, ip: number, linPage: number): number {
  if (i.o16 || !(isJcc(i.op) || RELATIVE.has(i.op) || (i.op >= 0xe0 && i.op <= 0xe3))) return -1;
  const t = (ip + i.len + i.imm) >>> 0;
  return t >>> 12 === linPage ? t & 0xfff : -1;
}

/** Whether execution may go on after the branch at its fall-through. */
export function fallsThrough(i: Instr): boolean {
  const op = i.op;
  if (op === 0xe9 || op === 0xeb || op === 0xc2 || op === 0xc3) return false;
  return !(op === 0xff && i.reg === 4);
}

/** Whether i is a JMP or Jcc to fall-through + imm (no operand- or address-size prefix). */
export function directJump(i: Instr): boolean {
  return i.role === ROLE_BRANCH && !i.o16 && !i.a16 && (isJcc(i.op) || i.op === 0xe9 || i.op === 0xeb);
}

/** Whether branch i, the last instruction of the block at `entry` (fall-through `fall`), jumps to `entry`. */
export function selfLoop(i: Instr, fall: number, entry: number): boolean {
  return directJump(i) && (fall + i.imm) >>> 0 === entry;
}

/** What recordDead needs to know of a form (JavaScript or WebAssembly). */
export interface RecordUse {
  faults: boolean;
  flags?: unknown;
  recordInC?: boolean;
  setsAll?: boolean;
  reads?: boolean;
}

/** True when the record of forms[p] is replaced before anything can observe it. */
export function recordDead(forms: (RecordUse | null)[], p: number): boolean {
  for (let q = p + 1; q < forms.length; q++) {
    const f = forms[q]!;
    if (f === null || f.faults || f.reads === true || f.recordInC === true) return false;
    if (f.setsAll === true) return true;
    if (f.flags !== undefined) return false;
  }
  return false;
}

/**
 * Inline JavaScript for a PLAIN fall-through form, or null when it runs through its handler.
 * `prev` is the flag source left by the instruction before it in the same basic block.
 */
export function inlineForm(i: Instr, prev: FlagSource | null): Form | null {
  if (i.lock || i.a16 || i.rep !== 0) return null;
  const op = i.op;
  const sz = i.sz;
  if (sz === 16) return null;
  const shape = aluShape(i);
  if (shape !== null) {
    const imm = String(sz === 32 ? i.imm | 0 : i.imm & 255);
    const second = shape.second === 'reg' ? regRead(i.reg, sz) : shape.second === 'imm' ? imm : 'E';
    return aluGen(i, shape.alu, sz, shape.first, second, shape.write);
  }
  if (sz === 32 && op >= 0x40 && op < 0x50) {
    const reg = op & 7;
    return {
      code: `a = q${reg}; ${incDec32(op >= 0x48)} q${reg} = r;`,
      faults: false,
      stores: false,
      flags: 'zs32',
      record: incDecRecord(op >= 0x48, prev),
    };
  }
  if (sz === 32 && op === 0xff && i.reg < 2) {
    const record = incDecRecord(i.reg === 1, prev);
    if (i.mod === 3)
      return {
        code: `a = q${i.rm}; ${incDec32(i.reg === 1)} q${i.rm} = r;`,
        faults: false,
        stores: false,
        flags: 'zs32',
        record,
      };
    return {
      code: rmw(4, linear(i, true, 4), incDec32(i.reg === 1)),
      faults: true,
      stores: true,
      flags: 'zs32',
      record,
    };
  }
  switch (op) {
    case 0x88:
      if (i.mod === 3) return { code: regWrite(i.rm, 8, regRead(i.reg, 8)), faults: false, stores: false };
      return { code: store(1, linear(i, true, 1), regRead(i.reg, 8)), faults: true, stores: true };
    case 0x89:
      if (i.mod === 3) return { code: `q${i.rm} = q${i.reg};`, faults: false, stores: false };
      return { code: store(4, linear(i, true, 4), `q${i.reg}`), faults: true, stores: true };
    case 0x8a: {
      const src = readE(i, 8, 'v');
      return { code: `${src.code} ${regWrite(i.reg, 8, 'v')}`, faults: src.faults, stores: false };
    }
    case 0x8b: {
      const src = readE(i, 32, `q${i.reg}`);
      return { code: src.code, faults: src.faults, stores: false };
    }
    case 0x8d:
      return i.mod === 3 ? null : { code: `q${i.reg} = ${eaOf(i)};`, faults: false, stores: false };
    case 0xa0:
    case 0xa1: {
      const n = sz >>> 3;
      return { code: `${load(n, linear(i, false, n), 'v')} ${regWrite(0, sz, 'v')}`, faults: true, stores: false };
    }
    case 0xa2:
    case 0xa3: {
      const n = sz >>> 3;
      return { code: store(n, linear(i, true, n), regRead(0, sz)), faults: true, stores: true };
    }
    case 0xc6:
    case 0xc7: {
      if (i.reg !== 0) return null;
      const imm = String(sz === 32 ? i.imm | 0 : i.imm & 255);
      if (i.mod === 3) return { code: regWrite(i.rm, sz, imm), faults: false, stores: false };
      return { code: store(sz >>> 3, linear(i, true, sz >>> 3), imm), faults: true, stores: true };
    }
    case 0x1b6:
    case 0x1be: {
      const src = readE(i, 8, 'v');
      const val = op === 0x1b6 ? 'v' : '(v << 24) >> 24';
      return { code: `${src.code} q${i.reg} = ${val};`, faults: src.faults, stores: false };
    }
    case 0x1b7:
    case 0x1bf: {
      const src = i.mod === 3 ? { code: `v = q${i.rm} & 65535;`, faults: false } : readE(i, 16, 'v');
      const val = op === 0x1b7 ? 'v' : '(v << 16) >> 16';
      return { code: `${src.code} q${i.reg} = ${val};`, faults: src.faults, stores: false };
    }
    case 0x87:
      if (i.mod !== 3) return null;
      return { code: `v = q${i.rm}; q${i.rm} = q${i.reg}; q${i.reg} = v;`, faults: false, stores: false };
    case 0x98:
      return { code: 'q0 = (q0 << 16) >> 16;', faults: false, stores: false };
    case 0x99:
      return { code: 'q2 = q0 >> 31;', faults: false, stores: false };
    case 0x68:
    case 0x6a:
      return { code: `s = (q4 - 4) | 0; ${store(4, 's', String(i.imm | 0))} q4 = s;`, faults: true, stores: true };
    case 0xc1:
    case 0xd1:
    case 0xd3: {
      if (i.mod !== 3) return null;
      const count = op === 0xc1 ? String(i.imm & 31) : op === 0xd1 ? '1' : 'q1 & 31';
      if (count === '0') return { code: '', faults: false, stores: false };
      const fixed = op === 0xd3 ? null : shiftConst(i.reg, i.rm, op === 0xd1 ? 1 : i.imm & 31);
      if (fixed !== null) return fixed;
      return {
        code: `x = ${count}; if (x !== 0) q${i.rm} = shiftOp(c, ${i.reg}, q${i.rm}, x, 32);`,
        faults: false,
        stores: false,
        flags: null,
        recordInC: true,
      };
    }
  }
  if (op === 0x1af || op === 0x69 || op === 0x6b) {
    const src = readE(i, 32, 'a');
    const b = op === 0x1af ? `q${i.reg}` : String(i.imm | 0);
    const calc = `b = ${b}; r = Math.imul(a, b); q${i.reg} = r;`;
    return {
      code: `${src.code} ${calc}`,
      faults: src.faults,
      stores: false,
      flags: 'zs32',
      record: resultWith('(a * b !== r ? 2049 : 0)'),
      setsAll: true,
    };
  }
  if (op === 0xf7 && i.reg === 4 && sz === 32) {
    // MUL r/m32 (compilers divide by constants with it): EDX:EAX = EAX * operand, unsigned. The
    // high half from the exact products of EAX's halves and the operand (each below 2^48).
    const src = readE(i, 32, 'b');
    const high =
      'x = (a >>> 16) * (b >>> 0); ' +
      'v = (Math.floor(x / 65536) + Math.floor(((x % 65536) * 65536 + (a & 65535) * (b >>> 0)) / 4294967296)) | 0;';
    return {
      code: `${src.code} a = q0; r = Math.imul(a, b); ${high} q0 = r; q2 = v;`,
      faults: src.faults,
      stores: false,
      flags: 'zs32',
      record: resultWith('(v !== 0 ? 2049 : 0)'),
      setsAll: true,
    };
  }
  if (op >= 0x90 && op < 0x98 && sz === 32)
    return {
      code: op === 0x90 ? '' : `v = q0; q0 = q${op & 7}; q${op & 7} = v;`,
      faults: false,
      stores: false,
    };
  if (op >= 0xb0 && op < 0xb8) return { code: regWrite(op & 7, 8, String(i.imm & 255)), faults: false, stores: false };
  if (op >= 0xb8 && op < 0xc0) return { code: `q${op & 7} = ${i.imm | 0};`, faults: false, stores: false };
  if (op >= 0x50 && op < 0x58)
    return {
      code: `v = q${op & 7}; s = (q4 - 4) | 0; ${store(4, 's', 'v')} q4 = s;`,
      faults: true,
      stores: true,
    };
  if (op >= 0x58 && op < 0x60)
    return {
      code: `s = q4; ${load(4, 's', 'v')} q4 = (s + 4) | 0; q${op & 7} = v;`,
      faults: true,
      stores: false,
    };
  if (op >= 0x190 && op < 0x1a0) {
    const set = `v = ${condition(op & 15, prev)} ? 1 : 0;`;
    const recordInC = fusedCondition(op & 15, prev) === '';
    if (i.mod === 3)
      return { code: `${set} ${regWrite(i.rm, 8, 'v')}`, faults: false, stores: false, reads: true, recordInC };
    return { code: `${set} ${store(1, linear(i, true, 1), 'v')}`, faults: true, stores: true, reads: true, recordInC };
  }
  if (op >= 0x140 && op < 0x150) {
    const src = readE(i, 32, 'v');
    const code = `${src.code} if (${condition(op & 15, prev)}) q${i.reg} = v;`;
    return { code, faults: src.faults, stores: false, reads: true, recordInC: fusedCondition(op & 15, prev) === '' };
  }
  return null;
}
