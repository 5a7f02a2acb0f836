// The region compiler: the hot code of one code page becomes one JavaScript function whose
// basic blocks sit in a `switch` inside a loop, so jumps, loops, calls and returns that stay in
// the page stay in compiled code; a block that branches back to its own start (a tight loop) is
// a JavaScript loop of its own inside its case, and so are the blocks from any earlier block to
// one that jumps back to it (chainLoops). Regions are derived data: they hang off cached
// instructions, die with their page, and always leave the architectural state exactly as the
// interpreter would (EIP and registers of a faulting instruction, one instruction count per
// retirement, a stop exactly where the budget runs out).
//
// What each instruction may do in compiled code comes from its row of the opcode map (the
// ROLE_* of optable.ts); jit-forms.ts generates the inline code of the common forms, and every
// other form runs through its ordinary handler (Instr.fn); jit-x87.ts calls the FPU directly.

import { BoundedCache } from './bounded-cache';
import type { I386 } from './cpu';
import { getCF, recordCF, testCond } from './flags';
import { shiftOp } from './alu';
import type { Handler, Instr } from './instr';
import { ROLE_BRANCH, ROLE_NEVER, ROLE_PLAIN, ROLE_USES_IP } from './optable';
import {
  COMMIT,
  FILL,
  RECORD_DECLARE,
  RECORD_OUT,
  SPILL,
  condition,
  directTarget,
  eaOf,
  fallsThrough,
  fusedCondition,
  inlineForm,
  inlineString,
  isJcc,
  load,
  recordDead,
  selfLoop,
  writeRecord,
  store,
  type FlagSource,
  type RegionBlock,
} from './jit-forms';
import { X87_RUNTIME, isEscape, planX87 } from './jit-x87';
import { compileWasmRegion } from './jit-wasm';
import { backEdges } from './region-loops';
import type { WasmMemory } from './wasm-module';

/** A compiled region: all blocks reachable from its entry points inside one linear code page. */
export interface Region {
  /**
   * Runs from c.ip (one of the region's block starts) until an exit, a fault or `limit`. Returns
   * the number of the block it stopped at because that block would run past the limit (c.ip is
   * its start), else -1.
   */
  run: (c: I386, limit: number) => number;
  /** Per block, the EIP of each of its instructions. */
  blockEips: number[][];
  /** Linear page, CS base and CS.D the code was compiled for (it holds absolute EIPs). */
  linPage: number;
  csBase: number;
  d32: boolean;
  /** Page offsets of its block starts (kept when the region grows). */
  entries: number[];
  /** Every compiled instruction and its page offset (bytes re-verified once per run). */
  list: Instr[];
  offs: number[];
  /** Block starts: where the run loop may enter. */
  leaders: Instr[];
  /** Run epoch in which the bytes were last checked against memory. */
  epoch: number;
  /** Replaced by a larger region or invalidated: no longer entered. */
  dead: boolean;
  /** Compiled to WebAssembly (jit-wasm.ts), not to JavaScript. */
  wasm: boolean;
  /**
   * The fast pieces (bits of fastPieceOf) its WebAssembly x87 runs have; 0 without runs. Under a
   * control word whose piece it lacks its runs go through their handlers: the run loop compiles
   * it again with both (cpu.ts).
   */
  x87Pieces: number;
}

// Inside a region the general registers live in the locals q0..q7: they are written back to
// c.gpr (SPILL) whenever the region is left and before every handler call, and read again after
// it (FILL). The flag record lives in locals too (RECORD_OUT of jit-forms.ts). The region
// function has no try/catch (around the hot loop it measurably slowed the engine's optimised
// code down): before anything that may raise a fault (a handler, a TLB-miss path: COMMIT in
// jit-forms.ts) the state as at the start of the instruction is written to c, so a fault leaves
// the region with it; every other exit leaves through the end of the loop (`break run`).

/** Most instructions in one region (bounds the size of the generated function). */
export const MAX_REGION = 150;

type RegionFactory = (...args: unknown[]) => (c: I386, limit: number) => number;
/** Region factories by source text (a derived cache shared by all CPUs, bounded in characters). */
const FACTORIES = new BoundedCache<RegionFactory>(8 * 1024 * 1024);

/**
 * Compiles the region of the code page at linear `linBase` reachable from `entries` (page
 * offsets) through blocks that have already run (`visited`): a block never run has no type
 * feedback in the JavaScript engine and would only make the optimised region deoptimise when
 * it first runs; a branch to it leaves the region, and the region grows when it becomes hot.
 * `at(off)` gives the cached instruction at an offset of the page (undefined when none can be
 * cached there). With `wasm` (the memory that holds the CPU's RAM and TLB tables: see memory.ts)
 * the region becomes WebAssembly, its x87 runs with the fast pieces `x87Pieces` (bits of
 * fastPieceOf), unless it has x87 escapes and no pieces: JavaScript regions then call the FPU
 * directly. Returns null when no entry starts a compilable block.
 */
export function compileRegion(
  at: (off: number) => Instr | undefined,
  visited: (off: number) => boolean,
  linBase: number,
  csBase: number,
  d32: boolean,
  entries: number[],
  wasm: WasmMemory | null,
  x87Pieces: number,
): Region | null {
  const linPage = linBase >>> 12;
  // Pass 1: every instruction reachable from the entries without leaving the page, and the
  // block starts (entries, branch targets, fall-throughs of branches).
  const seen = new Map<number, Instr>();
  const leaders = new Set<number>();
  const work: number[] = [];
  const lead = (off: number): void => {
    if (off >= 0 && off < 4096 && !leaders.has(off) && (visited(off) || entries.includes(off))) {
      leaders.add(off);
      work.push(off);
    }
  };
  for (const e of entries) lead(e);
  while (work.length > 0 && seen.size < MAX_REGION) {
    let off = work.shift()!;
    while (off < 4096 && !seen.has(off) && seen.size < MAX_REGION) {
      const i = at(off);
      if (i === undefined || i.role === ROLE_NEVER) break;
      seen.set(off, i);
      if (i.role === ROLE_BRANCH) {
        lead(directTarget(i, (linBase + off) >>> 0, linPage));
        if (fallsThrough(i)) lead(off + i.len);
        break;
      }
      off += i.len;
    }
  }
  const starts = [...leaders].filter((o) => seen.has(o)).sort((x, y) => x - y);
  if (starts.length === 0) return null;
  const index = new Map<number, number>();
  starts.forEach((o, n) => index.set(o, n));
  /** The number of the block that starts at EIP t, if any. */
  const blockAt = (t: number): number | undefined => (t >>> 12 === linPage ? index.get(t & 0xfff) : undefined);

  // Pass 2: the blocks, and which of them head a loop of several blocks.
  const base = linBase >>> 0;
  const blocks = starts.map((start) => {
    const block: Instr[] = [];
    let off = start;
    for (;;) {
      const i = seen.get(off)!;
      block.push(i);
      off += i.len;
      if (i.role === ROLE_BRANCH || !seen.has(off) || index.has(off)) break;
    }
    return { start, end: off, instrs: block };
  });

  // Pass 3: one `case` per block, except that a loop of several blocks (see chainLoops) is one
  // JavaScript loop holding them all, under one case for each of its blocks.
  const handlers: Handler[] = [];
  const instrs: Instr[] = [];
  const blockEips: number[][] = [];
  const list: Instr[] = [];
  const offs: number[] = [];
  for (const { start, instrs: block } of blocks) {
    let ip = (base + start) >>> 0;
    const eips: number[] = [];
    for (const i of block) {
      eips.push(ip);
      list.push(i);
      offs.push(ip - base);
      ip = (ip + i.len) >>> 0;
    }
    blockEips.push(eips);
  }
  const region = {
    linPage,
    csBase,
    d32,
    entries: starts,
    list,
    offs,
    leaders: starts.map((o) => seen.get(o)!),
    blockEips,
    epoch: -1,
    dead: false,
  };
  const escapes = blocks.some((b) => b.instrs.some(isEscape));
  if (wasm !== null && (x87Pieces !== 0 || !escapes)) {
    const pieces = escapes ? x87Pieces : 0;
    return {
      ...region,
      run: compileWasmRegion(blocks, list, blockEips, base, wasm, pieces),
      wasm: true,
      x87Pieces: pieces,
    };
  }
  const loops = chainLoops(blocks, blockAt, base);
  /** Continues at an EIP computed at run time. */
  const gotoAny = (expr: string): string =>
    `x = ${expr} >>> 0; blk = x - ${base} >>> 0 < 4096 ? find(x - ${base}) : -1; if (blk >= 0) continue run; c.ip = x; c.icount = ic; break run;`;
  /** The code of block n; inside the loop `loop` (its head and last block) when that is given. */
  const blockCode = (n: number, loop: { head: number; tail: number } | null): string[] => {
    const { start, end, instrs: block } = blocks[n]!;
    const len = block.length;
    const entry = (base + start) >>> 0;
    let ip = entry;
    // A block that would run past the limit returns its number (see Region.run).
    const budget = `if (ic + ${len} > limit) { c.ip = ${entry}; c.icount = ic; past = ${n}; break run; }`;
    // A block that jumps back to its own start is a loop of its own: a JavaScript loop inside its
    // case, so each iteration skips the trip through the switch (the budget is checked as on entry).
    const looping = selfLoop(block[len - 1]!, (base + end) >>> 0, entry);
    /**
     * Continues at a known EIP: the block that starts there, or an exit to the run loop. The
     * next block (the next case, or the next block of a loop) is reached by falling through
     * into it (FALL_THROUGH; out of this block's own loop first), not through the switch; a
     * loop's head by continuing its loop.
     */
    const goto = (t: number): string => {
      if (looping && t === entry) return `${budget} continue;`;
      const m = blockAt(t);
      if (loop !== null && m === loop.head) return `continue L${m};`;
      if (m === n + 1 && (loop === null || n < loop.tail)) return looping ? `break; ${FALL_THROUGH}` : FALL_THROUGH;
      if (loop !== null && m !== undefined && m > loop.head && m <= loop.tail)
        return m > n ? `break ${forward(loop.head, m)};` : `blk = ${m}; continue L${loop.head};`;
      return m !== undefined ? `blk = ${m}; continue run;` : `c.ip = ${t >>> 0}; c.icount = ic; break run;`;
    };
    const lines: string[] = [budget];
    if (looping) lines.push('for (;;) {');
    // The inline code of each instruction, and which flag records are dead (see Form.record).
    let flags: FlagSource | null = null;
    const x87 = planX87(block, blockEips[n]!);
    const forms = block.map((i, p) => {
      const planned = x87[p];
      const f =
        planned !== undefined
          ? planned
          : i.role === ROLE_PLAIN
            ? inlineForm(i, flags)
            : i.role === ROLE_USES_IP
              ? inlineString(i)
              : null;
      if (f === null) flags = null;
      else if (f.flags !== undefined) flags = f.flags;
      return f;
    });
    flags = null;
    // Whether the record in c is known to be the current one (fk = -1: RECORD_OUT has nothing to do).
    let synced = false;
    const recordOut = (): string => {
      const out = synced ? '' : RECORD_OUT;
      synced = true;
      return out;
    };
    block.forEach((i, p) => {
      const fall = (ip + i.len) >>> 0;
      const retire = `c.icount = ic + ${p + 1};`;
      const codeCheck = `if (c.codeGen !== cg) { c.ip = ${fall}; ${retire} break run; }`;
      const storeCheck = `if (gen !== cg) { c.ip = ${fall}; ${retire} break run; }`;
      // The state at the start of this instruction, written to c before it may fault.
      const commit = `c.ip = ${ip}; c.icount = ic + ${p}; ${SPILL} ${RECORD_OUT}`;
      const viaHandler = (): string => {
        const h = handlers.push(i.fn) - 1;
        instrs.push(i);
        return `c.ip = ${ip}; c.icount = ic + ${p}; ${recordOut()} ${SPILL} h${h}(c, i${h}); ${FILL}`;
      };
      const form = forms[p]!;
      if (form !== null) {
        if (form.recordInC === true) lines.push(recordOut());
        lines.push(form.code.split(COMMIT).join(commit));
        if (form.record !== undefined && !recordDead(forms, p)) {
          lines.push(form.record);
          synced = false;
        }
        if (form.stores) lines.push(storeCheck);
        if (form.flags !== undefined) flags = form.flags;
      } else if (i.role === ROLE_PLAIN) {
        lines.push(viaHandler(), codeCheck);
        flags = null;
      } else if (i.role === ROLE_USES_IP) {
        lines.push(`c.ip = ${ip}; c.nextIp = ${fall};`, viaHandler());
        lines.push(`if (c.nextIp !== ${fall} || c.codeGen !== cg) { c.ip = c.nextIp; ${retire} break run; }`);
        flags = null;
      } else {
        if (isJcc(i.op) && fusedCondition(i.op & 15, flags) === '') lines.push(recordOut());
        lines.push(branch(i, ip, fall, len, flags, goto, gotoAny, viaHandler).split(COMMIT).join(commit));
      }
      ip = fall;
    });
    if (block[len - 1]!.role !== ROLE_BRANCH) lines.push(`ic += ${len};`, goto(ip));
    if (looping) lines.push('}');
    return lines;
  };
  const inLoop = new Set<number>();
  for (const [head, tail] of loops) for (let k = head + 1; k <= tail; k++) inLoop.add(k);
  const cases = blocks.map((_, n) => {
    const tail = loops.get(n);
    if (inLoop.has(n)) return '';
    if (tail === undefined) return [`case ${n}: {`, ...blockCode(n, null), '}'].join('\n');
    // The loop's last block ends in a jump (its fall-through included), so nothing leaves the
    // JavaScript loop except through `continue run` and `break run`. Block k's code
    // follows the end of the labeled statement forward(n, k), so that a jump from an earlier
    // block of the loop to block k is a `break` out of it (nested: the last block's outermost),
    // and a jump back to it sets blk to k and starts the loop over, where it is a break again.
    // The loop's blocks have no cases of their own: theirs lead here, with blk naming the block.
    // Inside the loop blk names the head, as it does (or an earlier block) when the block
    // before the head falls through into it.
    const labels: string[] = [];
    const dispatch: string[] = [];
    for (let k = tail; k > n; k--) labels.push(`${forward(n, k)}: {`);
    for (let k = n + 1; k <= tail; k++) dispatch.push(`case ${k}: break ${forward(n, k)};`);
    const body = [...labels, `if (blk !== ${n}) { x = blk; blk = ${n}; switch (x) { ${dispatch.join(' ')} } }`];
    for (let k = n; k <= tail; k++) body.push('{', ...blockCode(k, { head: n, tail }), '}', k < tail ? '}' : '');
    const entries = Array.from({ length: tail - n + 1 }, (_, k) => `case ${n + k}:`).join(' ');
    return [`${entries} L${n}: for (;;) {`, ...body, '}'].join('\n');
  });

  const finder = starts.map((o, n) => `case ${o}: return ${n};`).join(' ');
  const prelude = handlers.map((_, h) => `const h${h} = H[${h}], i${h} = I[${h}];`).join('\n');
  const src =
    `${prelude}\nfunction find(o) { switch (o) { ${finder} } return -1; }\n` +
    `return function region(c, limit) {\n` +
    `const g = c.gpr, mmu = c.mmu, R = mmu.r, W = mmu.w, dv = mmu.dv, ram = mmu.ram, cg = c.codeGen;\n` +
    `let ic = c.icount, gen = cg, a = 0, b = 0, r = 0, l = 0, e = 0, p = 0, s = 0, v = 0, x = 0;\n` +
    `let blk = find(c.ip - ${base}), past = -1;\nif (blk < 0) return -1;\n` +
    `let q0 = g[0], q1 = g[1], q2 = g[2], q3 = g[3], q4 = g[4], q5 = g[5], q6 = g[6], q7 = g[7];\n` +
    `${RECORD_DECLARE}\n` +
    `run: for (;;) {\nswitch (blk) {\n${cases.join('\n')}\n}\n}\n${SPILL} ${RECORD_OUT}\nreturn past;\n};`;
  // Identical code (the same bytes at the same EIP, e.g. after dropCaches()) reuses its factory,
  // so the JavaScript engine keeps the optimised code it already made for it.
  let factory = FACTORIES.get(src);
  if (factory === undefined) {
    factory = new Function(
      'H',
      'I',
      'testCond',
      'getCF',
      'recordCF',
      'shiftOp',
      'writeRecord',
      'x87',
      src,
    ) as RegionFactory;
    FACTORIES.set(src, factory, src.length);
  }
  return {
    ...region,
    run: factory(handlers, instrs, testCond, getCF, recordCF, shiftOp, writeRecord, X87_RUNTIME),
    wasm: false,
    x87Pieces: 0,
  };
}

/** The label whose end is the start of block k in the loop headed by block `head`. */
const forward = (head: number, k: number): string => `F${head}_${k}`;

/**
 * What a block's last line is when it continues in the next block: nothing, so that the code
 * runs on into the next `case` (blocks are in address order, so this is the usual fall-through).
 */
const FALL_THROUGH = '/* into the next block */';

/**
 * The loops of several blocks in `blocks` (address order, page offsets from `base`; `blockAt`
 * numbers them by start EIP), as head => last block: block n's last instruction jumps back to an
 * earlier block m. Compiled, blocks m..n are one JavaScript loop, so that neither an iteration
 * nor a jump between its blocks goes through the switch (a block in it that is never reached
 * from the others costs nothing; the last one never runs on into the loop's start, as it ends
 * in a jump). Loops that overlap are merged into one.
 */
function chainLoops(
  blocks: RegionBlock[],
  blockAt: (eip: number) => number | undefined,
  base: number,
): Map<number, number> {
  const found = backEdges(blocks, blockAt, base).sort((x, y) => x[0] - y[0]);
  const loops = new Map<number, number>();
  let head = -1;
  for (const [m, n] of found) {
    if (head >= 0 && m <= loops.get(head)!) loops.set(head, Math.max(n, loops.get(head)!));
    else loops.set((head = m), n);
  }
  return loops;
}

/** The code that ends a block of len instructions with branch i. */
function branch(
  i: Instr,
  ip: number,
  fall: number,
  len: number,
  flags: FlagSource | null,
  goto: (t: number) => string,
  gotoAny: (expr: string) => string,
  viaHandler: () => string,
): string {
  const op = i.op;
  const done = `ic += ${len};`;
  const codeCheck = (t: string): string => `if (c.codeGen !== cg) { c.ip = ${t} >>> 0; c.icount = ic; break run; }`;
  // After a push through store() (see STORED).
  const storeCheck = (t: string): string => `if (gen !== cg) { c.ip = ${t}; c.icount = ic; break run; }`;
  if (!i.o16 && !i.a16) {
    if (isJcc(op)) {
      const t = (fall + i.imm) >>> 0;
      const cond = condition(op & 15, flags);
      const taken = goto(t);
      // A branch taken into the next block tests the other way, so that falling through comes last.
      if (taken.endsWith(FALL_THROUGH)) return `${done} if (!(${cond})) { ${goto(fall)} } ${taken}`;
      return `${done} if (${cond}) { ${taken} } ${goto(fall)}`;
    }
    if (op === 0xe9 || op === 0xeb) return `${done} ${goto((fall + i.imm) >>> 0)}`;
    if (op === 0xe8) {
      const t = (fall + i.imm) >>> 0;
      return `s = (q4 - 4) | 0; ${store(4, 's', String(fall | 0))} q4 = s; ${done} ${storeCheck(String(t))} ${goto(t)}`;
    }
    if (op === 0xc3 || op === 0xc2) {
      const drop = 4 + (op === 0xc2 ? i.imm : 0);
      return `s = q4; ${load(4, 's', 'v')} q4 = (s + ${drop}) | 0; ${done} ${gotoAny('v')}`;
    }
    if (op === 0xff && (i.reg === 2 || i.reg === 4)) {
      const src = i.mod === 3 ? `v = q${i.rm};` : load(4, segLinear(i), 'v');
      if (i.reg === 4) return `${src} ${done} ${gotoAny('v')}`;
      return `${src} s = (q4 - 4) | 0; ${store(4, 's', String(fall | 0))} q4 = s; ${done} ${storeCheck('v >>> 0')} ${gotoAny('v')}`;
    }
  }
  return `c.ip = ${ip}; c.nextIp = ${fall}; ${viaHandler()} ${done} ${codeCheck('c.nextIp')} ${gotoAny('c.nextIp')}`;
}

/** Linear address of a branch's memory operand (read). */
function segLinear(i: Instr): string {
  return i.seg === 0 || i.seg === 2 || i.seg === 3 ? eaOf(i) : `c.linR(${i.seg}, ${eaOf(i)}, 4)`;
}
