// The block compiler: a hot straight-line run of decoded instructions inside one physical code
// page becomes one JavaScript function (a "translation block"), so the run loop stops paying a
// dispatch per instruction. Blocks are derived data: they hang off cached instructions, are
// dropped with their page, and always leave the architectural state exactly as the interpreter
// would (EIP and registers of a faulting instruction, one instructionCount per retirement).

import type { I386 } from './cpu';
import { ARITH, testCond } from './flags';
import type { Handler, Instr } from './instr';

/** A compiled block: `run` executes it from its first instruction (TF clear, flat CS). */
export interface Block {
  run: (c: I386) => void;
  /** EIP of the first instruction (the code holds absolute EIPs: one mapping of the page). */
  eip: number;
  /** Instructions in the block: the run-loop enters it only with at least this much budget. */
  n: number;
  /** Run epoch in which `bytes` were last checked against memory. */
  epoch: number;
  /** Offset of the first byte in its physical page, and a copy of all the block's bytes. */
  off: number;
  bytes: Uint8Array;
  /** CS.D the instructions were decoded for. */
  d32: boolean;
}

/** Longest block, in instructions. */
export const MAX_BLOCK = 48;

/**
 * How an opcode may take part in a block: NO ends the block before it; PLAIN neither reads nor
 * writes EIP; IP reads c.ip / c.nextIp and may change nextIp (control transfers, string and x87
 * instructions) and, when nextIp leaves the fall-through, ends the block after it. END always
 * ends the block after it. Everything that can change CS, SS, paging, TF or IF, or leave the run
 * loop other than by a CpuFault, is NO.
 */
const NO = 0,
  PLAIN = 1,
  IP = 2,
  END = 3;
const KIND = new Uint8Array(512);
function mark(kind: number, ...ops: number[]): void {
  for (const op of ops) KIND[op] = kind;
}
function range(a: number, b: number): number[] {
  const r: number[] = [];
  for (let k = a; k <= b; k++) r.push(k);
  return r;
}
for (let op = 0; op < 0x40; op++) if ((op & 7) < 6) KIND[op] = PLAIN;
mark(PLAIN, 0x27, 0x2f, 0x37, 0x3f);
mark(PLAIN, ...range(0x40, 0x61), 0x68, 0x69, 0x6a, 0x6b);
mark(END, ...range(0x70, 0x7f), ...range(0x180, 0x18f), 0xc2, 0xc3, 0xe8, 0xe9, 0xeb, ...range(0xe0, 0xe3));
mark(PLAIN, ...range(0x80, 0x8b), 0x8d, 0x8f, ...range(0x90, 0x99), 0x9c, 0x9e, 0x9f);
mark(PLAIN, ...range(0xa0, 0xa3), 0xa8, 0xa9, ...range(0xb0, 0xbf));
mark(IP, 0xa4, 0xa5, 0xa6, 0xa7, ...range(0xaa, 0xaf), 0x9b, ...range(0xd8, 0xdf));
mark(PLAIN, 0xc0, 0xc1, 0xc6, 0xc7, 0xc8, 0xc9, ...range(0xd0, 0xd5), 0xd7);
mark(PLAIN, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfc, 0xfd, 0xfe);
mark(PLAIN, ...range(0x118, 0x11f), ...range(0x140, 0x14f), ...range(0x190, 0x19f));
mark(PLAIN, 0x1a3, 0x1a4, 0x1a5, 0x1ab, 0x1ac, 0x1ad, 0x1af, 0x1b0, 0x1b1, 0x1b3, 0x1b6, 0x1b7);
mark(PLAIN, ...range(0x1ba, 0x1bf), 0x1c0, 0x1c1, 0x1c7, ...range(0x1c8, 0x1cf));

/** The part a decoded instruction can play in a block. */
function kindOf(i: Instr): number {
  if (i.op === 0xff) {
    // INC/DEC/PUSH r/m are plain, near CALL/JMP r/m end the block, far forms and /7 never enter.
    const r = i.reg;
    return r === 0 || r === 1 || r === 6 ? PLAIN : r === 2 || r === 4 ? END : NO;
  }
  return KIND[i.op]!;
}

type BlockFactory = (...args: unknown[]) => (c: I386) => void;
/** Block factories by source text (a derived, bounded cache shared by all CPUs). */
const FACTORIES = new Map<string, BlockFactory>();
const MAX_FACTORIES = 4096;

const REG = ['g[0]', 'g[1]', 'g[2]', 'g[3]', 'g[4]', 'g[5]', 'g[6]', 'g[7]'];
const MIN = -0x80000000;

/** The effective-address expression of a 32-bit-address memory operand, as int32. */
function eaExpr(i: Instr): string {
  const parts: string[] = [];
  if (i.base >= 0) parts.push(REG[i.base]!);
  if (i.index >= 0) parts.push(i.scale === 0 ? REG[i.index]! : `(${REG[i.index]!} << ${i.scale})`);
  if (i.disp !== 0 || parts.length === 0) parts.push(String(i.disp | 0));
  return parts.length === 1 && i.base >= 0 && i.index < 0 && i.disp === 0 ? parts[0]! : `((${parts.join(' + ')}) | 0)`;
}

/** Records a 32-bit ALU result for the lazy flags (as alu32 in exec-fast.ts does). */
function aluExpr(op: number, a: string, b: string, dest: string | null): string | null {
  let r: string, kind: number;
  switch (op) {
    case 0:
      r = '(a + b) | 0';
      kind = 0;
      break;
    case 1:
      r = 'a | b';
      kind = 2;
      break;
    case 4:
      r = 'a & b';
      kind = 2;
      break;
    case 5:
    case 7:
      r = '(a - b) | 0';
      kind = 1;
      break;
    case 6:
      r = 'a ^ b';
      kind = 2;
      break;
    default:
      return null; // ADC/SBB: the generic handler
  }
  const operands = kind === 2 ? 'c.la = 0; c.lb = 0;' : 'c.la = a; c.lb = b;';
  const store = dest === null || op === 7 ? '' : ` ${dest} = r;`;
  return `{ const a = ${a}, b = ${b}; const r = ${r}; c.lop = ${kind}; ${operands} c.lres = r; c.lmask = -1; c.lsign = ${MIN}; c.lazy = ${ARITH};${store} }`;
}

/** A byte register (AL..BH) as an expression. */
function byteReg(r: number): string {
  return r < 4 ? `(${REG[r]!} & 255)` : `((${REG[r - 4]!} >> 8) & 255)`;
}

/** An 8-bit compare or TEST (no result stored), recording flags as aluOp(…, 8) does. */
function cmpTest8(op: number, a: string, b: string): string {
  const rec =
    op === 7
      ? 'c.lop = 1; c.la = a; c.lb = b; c.lres = (a - b) & 255;'
      : 'c.lop = 2; c.la = 0; c.lb = 0; c.lres = a & b;';
  return `{ const a = ${a}, b = ${b}; ${rec} c.lmask = 255; c.lsign = 128; c.lazy = ${ARITH}; }`;
}

/**
 * Straight-line JavaScript for one instruction when a simple 32-bit form applies (register and
 * plain memory operands), else null. `mem` tells whether it touches memory (may fault/write).
 */
function inlineBody(i: Instr): { code: string; mem: boolean; store: boolean } | null {
  if (i.lock || i.a16 || i.rep !== 0) return null;
  const op = i.op;
  if (i.sz === 8) {
    // The commonest byte forms: compares and tests that only set flags, and byte stores.
    if (op === 0x84 && i.mod === 3)
      return { code: cmpTest8(4, byteReg(i.rm), byteReg(i.reg)), mem: false, store: false };
    if (op === 0x38 && i.mod === 3)
      return { code: cmpTest8(7, byteReg(i.rm), byteReg(i.reg)), mem: false, store: false };
    if (op === 0x3a && i.mod === 3)
      return { code: cmpTest8(7, byteReg(i.reg), byteReg(i.rm)), mem: false, store: false };
    if (op === 0xa8 || op === 0x3c)
      return { code: cmpTest8(op === 0x3c ? 7 : 4, '(g[0] & 255)', String(i.imm & 0xff)), mem: false, store: false };
    if (op === 0x88 && i.mod !== 3)
      return { code: `c.mmu.write8(c.linW(${i.seg}, ${eaExpr(i)}, 1), ${byteReg(i.reg)});`, mem: true, store: true };
    return null;
  }
  if (i.sz !== 32) return null;
  if (op === 0x1b6) {
    if (i.mod === 3) return { code: `${REG[i.reg]!} = ${byteReg(i.rm)};`, mem: false, store: false };
    return { code: `${REG[i.reg]!} = c.mmu.read8(c.linR(${i.seg}, ${eaExpr(i)}, 1));`, mem: true, store: false };
  }
  const reg = REG[i.reg]!,
    rm = REG[i.rm]!;
  const seg = i.seg;
  if (op === 0x89) {
    if (i.mod === 3) return { code: `${rm} = ${reg};`, mem: false, store: false };
    return { code: `c.mmu.write32(c.linW(${seg}, ${eaExpr(i)}, 4), ${reg});`, mem: true, store: true };
  }
  if (op === 0x8b) {
    if (i.mod === 3) return { code: `${reg} = ${rm};`, mem: false, store: false };
    return { code: `${reg} = c.mmu.read32(c.linR(${seg}, ${eaExpr(i)}, 4));`, mem: true, store: false };
  }
  if (op >= 0xb8 && op <= 0xbf) return { code: `${REG[op & 7]!} = ${i.imm | 0};`, mem: false, store: false };
  if (op === 0x8d && i.mod !== 3) return { code: `${reg} = ${eaExpr(i)};`, mem: false, store: false };
  if (op < 0x40 && (op & 7) === 1 && i.mod === 3) {
    const code = aluExpr((op >> 3) & 7, rm, reg, rm);
    return code === null ? null : { code, mem: false, store: false };
  }
  if (op < 0x40 && (op & 7) === 3) {
    const src = i.mod === 3 ? rm : `c.mmu.read32(c.linR(${seg}, ${eaExpr(i)}, 4))`;
    const code = aluExpr((op >> 3) & 7, reg, i.mod === 3 ? rm : 'm', reg);
    if (code === null) return null;
    return i.mod === 3
      ? { code, mem: false, store: false }
      : { code: `{ const m = ${src}; ${code} }`, mem: true, store: false };
  }
  if (op < 0x40 && (op & 7) === 5) {
    const code = aluExpr((op >> 3) & 7, 'g[0]', String(i.imm | 0), 'g[0]');
    return code === null ? null : { code, mem: false, store: false };
  }
  if ((op === 0x81 || op === 0x83) && i.mod === 3) {
    const code = aluExpr(i.reg, rm, String(i.imm | 0), rm);
    return code === null ? null : { code, mem: false, store: false };
  }
  if (op === 0x85 && i.mod === 3) {
    const code = aluExpr(4, rm, reg, null);
    return code === null ? null : { code, mem: false, store: false };
  }
  return null;
}

/**
 * Compiles `list` (consecutive instructions starting at linear EIP `ip0`) into a block function.
 * Each instruction either runs inline or through its own handler; after anything that may write
 * memory the block checks whether cached code was overwritten (c.codeGen) and stops there.
 */
export function compileBlock(list: Instr[], ip0: number): (c: I386) => void {
  const names: string[] = [];
  const values: (Handler | Instr | typeof testCond)[] = [];
  const lines: string[] = [];
  const ips: number[] = [];
  let ip = ip0 >>> 0;
  const n = list.length;
  const exit = (k: number, next: string): string => `{ c.ip = ${next}; c.icount = ic0 + ${k + 1}; return; }`;
  for (let k = 0; k < n; k++) {
    const i = list[k]!;
    ips.push(ip);
    const fall = (ip + i.len) >>> 0;
    const last = k === n - 1;
    const kind = kindOf(i);
    const body = kind === PLAIN ? inlineBody(i) : null;
    if (body !== null) {
      if (body.mem) lines.push(`k = ${k};`);
      lines.push(body.code);
      if (body.store && !last) lines.push(`if (c.codeGen !== cg) ${exit(k, String(fall))}`);
    } else if ((i.op & 0x1f0) === 0x70 || (i.op & 0x1f0) === 0x180) {
      if (!i.o16) {
        lines.push(`c.ip = testCond(c, ${i.op & 0xf}) ? ${(fall + i.imm) >>> 0} : ${fall};`);
        lines.push(`c.icount = ic0 + ${n}; return;`);
        continue;
      }
      names.push(`h${k}`, `i${k}`);
      values.push(i.fn, i);
      lines.push(`k = ${k}; c.ip = ${ip}; c.nextIp = ${fall}; h${k}(c, i${k});`);
      lines.push(`c.ip = c.nextIp; c.icount = ic0 + ${n}; return;`);
      continue;
    } else if ((i.op === 0xe9 || i.op === 0xeb) && !i.o16) {
      lines.push(`c.ip = ${(fall + i.imm) >>> 0}; c.icount = ic0 + ${n}; return;`);
      continue;
    } else {
      names.push(`h${k}`, `i${k}`);
      values.push(i.fn, i);
      if (kind === PLAIN) {
        lines.push(`k = ${k}; h${k}(c, i${k});`);
        if (!last) lines.push(`if (c.codeGen !== cg) ${exit(k, String(fall))}`);
      } else {
        lines.push(`k = ${k}; c.ip = ${ip}; c.nextIp = ${fall}; h${k}(c, i${k});`);
        if (!last) lines.push(`if (c.nextIp !== ${fall} || c.codeGen !== cg) ${exit(k, 'c.nextIp')}`);
        else {
          lines.push(`c.ip = c.nextIp; c.icount = ic0 + ${n}; return;`);
          continue;
        }
      }
    }
    if (last) lines.push(`c.ip = ${fall}; c.icount = ic0 + ${n};`);
    ip = fall;
  }
  names.push('testCond');
  values.push(testCond);
  const src =
    `return function block(c) {\n` +
    `const g = c.gpr; const ic0 = c.icount; const cg = c.codeGen; let k = 0;\n` +
    `try {\n${lines.join('\n')}\n} catch (e) {\n` +
    `c.ip = IPS[k]; c.icount = ic0 + k; throw e;\n}\n};`;
  names.push('IPS');
  // Identical code (the same bytes at the same EIP, e.g. after dropCaches()) reuses its factory,
  // so the JavaScript engine keeps the optimised code it already made for it.
  const key = names.join(',') + '\n' + src;
  let factory = FACTORIES.get(key);
  if (factory === undefined) {
    factory = new Function(...names, src) as BlockFactory;
    if (FACTORIES.size >= MAX_FACTORIES) FACTORIES.clear();
    FACTORIES.set(key, factory);
  }
  return factory(...values, ips);
}

/** True when the block may start with or continue through this instruction. */
export function canEnterBlock(i: Instr): boolean {
  return kindOf(i) !== NO;
}

/** True when the block must end after this instruction. */
export function endsBlock(i: Instr): boolean {
  const k = kindOf(i);
  return k === END;
}
