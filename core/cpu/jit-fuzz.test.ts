// Differential fuzz of the region compiler: random loops of common instruction forms (with
// branches, calls, faults, byte registers, 16-bit and x87 forms, and stores into the code) run
// once by the interpreter alone and once compiled at the first entry, in random budget slices;
// after every slice the exit, the whole architectural state and the touched memory must agree.
// Most programs also run with sample marks (the profiler's): both must note the same positions.

import { beforeAll, describe, expect, test } from 'vitest';
import { CODE, DATA, asm, descriptor, makeMachine, rng } from './test-machine';
import type { TestMachine } from './test-machine';
import type { SampleMarks } from './types';

const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const ALU = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
const SHIFT = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', 'sar'];
/** Registers the random body computes with; EBX and ESI hold data pointers, EDI counts the loop. */
const R = ['eax', 'ecx', 'edx', 'ebp'];
const R8 = ['al', 'cl', 'dl', 'ah', 'ch', 'dh'];
const R16 = ['ax', 'cx', 'dx', 'bp'];
/** A small data segment (DPL 3, byte-granular limit) for FS. */
const FS_SEL = (17 << 3) | 3;

function generator(seed: number): () => string {
  const next = rng(seed);
  const pick = <T>(xs: T[]): T => xs[next() % xs.length]!;
  const imm = (): number => (next() & 1 ? next() | 0 : (next() % 512) - 256);
  const mem = (): string =>
    pick([
      `[ebx + ${(next() % 64) * 4}]`,
      `[esi + ${next() % 253}]`,
      `[ebx + esi*2 + ${next() % 100}]`,
      `[ebx + ${next() % 250}]`,
    ]);
  const forms: (() => string)[] = [
    () => `${pick(ALU)} ${pick(R)}, ${pick(R)}`,
    () => `${pick(ALU)} ${pick(R)}, dword ${mem()}`,
    () => `${pick(ALU)} dword ${mem()}, ${pick(R)}`,
    () => `${pick(ALU)} ${pick(R)}, ${imm()}`,
    () => `${pick(ALU)} dword ${mem()}, ${(next() % 256) - 128}`,
    () => `${pick(ALU)} ${pick(R8)}, ${pick(R8)}`,
    () => `${pick(ALU)} byte ${mem()}, ${next() & 255}`,
    () => `${pick(ALU)} ${pick(R8)}, byte ${mem()}`,
    () => `${pick(ALU)} al, ${next() & 255}`,
    () => `${pick(ALU)} eax, ${imm()}`,
    () => `${pick(ALU)} ${pick(R16)}, ${pick(R16)}`,
    () => `test ${pick(R)}, ${pick(R)}`,
    () => `test dword ${mem()}, ${pick(R)}`,
    () => `test ${pick(R8)}, ${next() & 255}`,
    () => `test ${pick(R)}, ${imm()}`,
    () => `${pick(['inc', 'dec'])} ${pick(R)}`,
    () => `${pick(['inc', 'dec'])} dword ${mem()}`,
    () => `${pick(['neg', 'not'])} ${pick(R)}`,
    () => `mov ${pick(R)}, ${pick(R)}`,
    () => `mov ${pick(R)}, ${mem()}`,
    () => `mov ${mem()}, ${pick(R)}`,
    () => `mov ${pick(R)}, ${imm()}`,
    () => `mov byte ${mem()}, ${pick(R8)}`,
    () => `mov ${pick(R8)}, byte ${mem()}`,
    () => `mov ${pick(R8)}, ${next() & 255}`,
    () => `mov dword ${mem()}, ${imm()}`,
    () => `mov word ${mem()}, ${pick(R16)}`,
    () => `movzx ${pick(R)}, byte ${mem()}`,
    () => `movsx ${pick(R)}, ${pick(R8)}`,
    () => `movzx ${pick(R)}, word ${mem()}`,
    () => `movsx ${pick(R)}, word ${mem()}`,
    () => `lea ${pick(R)}, [${pick(R)} + ${pick(R)}*${pick([1, 2, 4, 8])} + ${imm()}]`,
    () => `${pick(SHIFT)} ${pick(R)}, ${next() % 40}`,
    () => `${pick(SHIFT)} ${pick(R)}, 1`,
    () => `${pick(SHIFT)} ${pick(R)}, cl`,
    () => `${pick(SHIFT)} dword ${mem()}, ${next() % 33}`,
    () => `imul ${pick(R)}, ${pick(R)}`,
    () => `imul ${pick(R)}, ${pick(R)}, ${imm()}`,
    () => `mul ${pick(R)}`,
    () => `mul dword ${mem()}`,
    () => `set${pick(CC)} ${pick(R8)}`,
    () => `set${pick(CC)} byte ${mem()}`,
    () => `cmov${pick(CC)} ${pick(R)}, ${pick(R)}`,
    () => `cmov${pick(CC)} ${pick(R)}, ${mem()}`,
    () => `push ${pick(R)}\n pop ${pick(R)}`,
    () => `push dword ${imm()}\n pop ${pick(R)}`,
    () => `xchg ${pick(R)}, ${pick(R)}`,
    () => pick(['cdq', 'cwde', 'clc', 'stc', 'cmc', 'nop']),
    () => `bt ${pick(R)}, ${pick(R)}`,
    () => `call fn${next() % 2}`,
    () => `fild dword ${mem()}\n fistp dword ${mem()}`,
    () => `mov [smc + 1], ${pick(R)}`,
    // A load that may fault: EAX is random, so [EAX] is often outside the mapped 4 MiB.
    () => `mov ${pick(R)}, [eax]`,
    () => pick(['std', 'cld']),
    () => {
      const str = ['movsb', 'movsd', 'stosb', 'stosd', 'lodsb', 'lodsd'];
      return `push esi\n push edi\n lea esi, [ebx + ${next() % 200}]\n lea edi, [ebx + ${256 + (next() % 200)}]\n ${pick(str)}\n ${pick(str)}\n pop edi\n pop esi`;
    },
    // A string store through its handler that may fault part-way (the page after DATA is absent).
    () => `push edi\n lea edi, [ebx + ${0xff0 + 4 * (next() % 4)}]\n mov ecx, ${next() % 8}\n rep stosd\n pop edi`,
    // Through FS (base DATA, limit 0x3ff): the segment check may raise #GP in the middle of a block.
    () => `mov ${pick(R)}, fs:[esi + ${next() % 1000}]`,
    () => `${pick(ALU)} dword fs:[esi + ${next() % 1000}], ${pick(R)}`,
    () => `mov byte fs:[esi + ${next() % 1000}], ${pick(R8)}`,
    // A scan through its handler that records flags at every step and may fault part-way.
    () => `push edi\n lea edi, [ebx + ${0xfe0 + (next() % 16)}]\n mov ecx, ${next() % 40}\n repne scasb\n pop edi`,
  ];
  return () => pick(forms)();
}

/** Memory for the x87 streams: doubles a fast path can take, at DATA + 0x300 (see machine). */
const DOUBLES = 0x300,
  CONTROL_WORDS = 0x3e0;
/**
 * Control words the x87 streams switch between: the fast paths' (double precision, nearest, all
 * masked), the defaults, other precisions and roundings, and unmasked invalid/precision (which
 * end the program in #MF at the next waiting instruction).
 */
const CONTROL = [0x027f, 0x027f, 0x027f, 0x037f, 0x007f, 0x067f, 0x0a7f, 0x027e, 0x025f];

/** Random x87 forms: loads, stores, arithmetic, exchanges, compares and control words. */
function x87Generator(seed: number): () => string {
  const next = rng(seed);
  const pick = <T>(xs: T[]): T => xs[next() % xs.length]!;
  const st = (): number => next() % 8;
  const size = (): string => pick(['qword', 'qword', 'dword']);
  // Mostly the prepared doubles; sometimes random bytes, a misaligned operand, the last bytes
  // before the absent page (the second half faults) or [EAX] (usually unmapped).
  const mem = (): string =>
    pick([
      `[ebx + ${DOUBLES + 8 * (next() % 24)}]`,
      `[ebx + ${DOUBLES + 8 * (next() % 24)}]`,
      `[ebx + ${DOUBLES + 8 * (next() % 24)}]`,
      `[ebx + ${8 * (next() % 64)}]`,
      `[esi + ${next() % 200}]`,
      '[ebx + 0xffc]',
      '[eax]',
    ]);
  const store = (): string => `[ebx + ${8 * (next() % 96)}]`;
  const ARITH = ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'];
  const prepared = (): string => `${size()} [ebx + ${DOUBLES + 8 * (next() % 24)}]`;
  // A stack-neutral stretch of the forms compiled regions run as one piece: pushes, then
  // arithmetic, exchanges, copies and integer forms, then as many pops.
  const run = (): string => {
    const depth = 1 + (next() % 3);
    const lines: string[] = [];
    for (let j = 0; j < depth; j++)
      lines.push(
        pick([
          `fld ${prepared()}`,
          `fld st${next() % 3}`,
          `fld ${prepared()}`,
          pick([
            'fldz',
            'fld1',
            `fild dword [ebx + ${DOUBLES + 4 * (next() % 48)}]`,
            `fild dword [ebx + ${4 * (next() % 64)}]`,
          ]),
        ]),
      );
    for (let j = next() % 4; j > 0; j--)
      lines.push(
        pick([
          `${pick(ARITH)} st0, st${next() % 4}`,
          `${pick(ARITH)} st${next() % 4}, st0`,
          `${pick(ARITH)} ${prepared()}`,
          `fxch st${1 + (next() % 3)}`,
          `fst st${next() % 4}`,
          `${pick(['fcomi', 'fucomi'])} st0, st${next() % 4}`,
          // Integer forms inside a stretch: its piece holds them when no FCOMI is in it.
          `${pick(ALU)} ${pick(R)}, ${pick(R)}`,
          `${pick(['inc', 'dec', 'not', 'neg'])} ${pick(R)}\n ${pick(['shl', 'sar'])} ${pick(R)}, ${1 + (next() % 31)}`,
        ]),
      );
    for (let j = 0; j < depth; j++)
      lines.push(
        pick([`${pick(['fadd', 'fsub', 'fsubr', 'fmul'])}p st1, st0`, 'fstp st0', 'fstp st1', 'fcomip st0, st1']),
      );
    return lines.join('\n ');
  };
  const forms: (() => string)[] = [
    ...Array<() => string>(8).fill(run),
    () => 'fstp st0',
    () => 'fstp st0',
    () => `fld ${size()} ${mem()}`,
    () => `fld ${size()} ${mem()}`,
    () => `fld st${st()}`,
    () => `fld st${st()}`,
    () => `fxch st${st()}`,
    () => `fstp st${st()}`,
    () => `fstp st0`,
    () => `fst st${st()}`,
    () => `${pick(ARITH)} st0, st${st()}`,
    () => `${pick(ARITH)} st0, st${st()}`,
    () => `${pick(ARITH)} st${st()}, st0`,
    () => `${pick(ARITH)}p st${st()}, st0`,
    () => `${pick(ARITH)}p st${st()}, st0`,
    () => `${pick(ARITH)} ${size()} ${mem()}`,
    () => `${pick(['fcomip', 'fucomip', 'fcomi', 'fucomi'])} st0, st${st()}\n set${pick(CC)} cl`,
    () => `${pick(['fcom', 'fcomp', 'fucom', 'fucomp'])} st${st()}`,
    () => `fst${pick(['', 'p'])} ${size()} ${store()}`,
    () => `fstp ${size()} ${store()}`,
    () => `fnstsw ax`,
    () => pick(['fldz', 'fld1', 'fchs', 'fabs', 'fsqrt', 'fnclex', 'fincstp', 'fdecstp']),
    () => `fild dword ${mem()}`,
    () => `fistp dword ${store()}`,
    () => `fldcw [ebx + ${CONTROL_WORDS + 2 * (next() % CONTROL.length)}]`,
    () => `${pick(ALU)} ${pick(R)}, ${pick(R)}`,
    () => `mov [ebx + ${8 * (next() % 96)}], ${pick(R)}`,
  ];
  // Programs of stretches only (with integer forms between them) keep the stack balanced, so
  // that most stretches run as one piece; some clear the exception flags first and record the
  // status word after them (the stretch's PE, and C1 of its last instruction) in memory.
  if (stretchesOnly(seed))
    return () => {
      const k = next() % 4;
      if (k === 0) return `${pick(ALU)} ${pick(R)}, ${pick(R)}`;
      return k === 1 ? `fnclex\n ${run()}\n fnstsw ax\n mov [ebx + ${8 * (next() % 96)}], eax` : run();
    };
  return () => pick(forms)();
}

const stretchesOnly = (seed: number): boolean => seed % 3 === 0;

/**
 * A random inner loop (label `name`): EDI counts it down from 1..40 (saved around it), its body is
 * a few random forms and ends in the branch back, so it is usually a block that loops on itself.
 * Sometimes the body also walks ESI in big steps, loading or storing through it (it reaches the
 * absent page after DATA part-way through: a #PF in the middle of the loop, in compiled code), or
 * rewrites an instruction of itself.
 */
function innerLoop(name: string, form: () => string, next: () => number): string {
  const smc = next() % 4 === 0;
  // A loop that rewrites itself runs only inline forms, so no handler call notices the write first.
  const body = Array.from({ length: 1 + (next() % 5) }, smc ? () => inlineOnly(next) : form);
  if (next() % 4 === 0)
    body.push(
      next() & 1 ? `mov ${pickR(next)}, [esi + 8]` : `mov [esi + 8], ${pickR(next)}`,
      `add esi, ${128 + (next() % 128)}`,
    );
  if (smc) body.push(`${name}_smc: mov edx, 0x12345678`, `mov [${name}_smc + 1], ${pickR(next)}`);
  const close = ['dec edi\n jnz', 'sub edi, 1\n ja', 'add edi, -1\n jg', 'dec edi\n cmp edi, 0\n jne'][next() % 4]!;
  return `push esi\n push edi\n mov edi, ${1 + (next() % 40)}\n${name}:\n ${body.join('\n ')}\n ${close} ${name}\n pop edi\n pop esi`;
}

const pickR = (next: () => number): string => R[next() % R.length]!;

/** A random form that compiled regions run inline (no handler call). */
function inlineOnly(next: () => number): string {
  const alu = ['add', 'sub', 'and', 'or', 'xor', 'cmp'][next() % 6]!;
  return [
    `${alu} ${pickR(next)}, ${pickR(next)}`,
    `${alu} ${pickR(next)}, ${(next() % 512) - 256}`,
    `mov ${pickR(next)}, ${pickR(next)}`,
    `inc ${pickR(next)}`,
    `mov [ebx + ${(next() % 64) * 4}], ${pickR(next)}`,
    `mov ${pickR(next)}, [ebx + ${(next() % 64) * 4}]`,
  ][next() % 6]!;
}

/**
 * A random loop: a body of random forms with forward conditional skips, run `iterations` times;
 * with `loops`, some of the forms are inner loops, and the first iteration may end by setting TF.
 */
function program(seed: number, iterations: number, x87 = false, loops = false): Uint8Array {
  const form = x87 ? x87Generator(seed) : generator(seed);
  const next = rng(seed ^ 0x5a5a);
  const body: string[] = [];
  let pending = -1;
  // Loops multiply the chances of a fault: shorter bodies let some programs run to the end.
  const length = loops ? 12 : 40;
  for (let n = 0; n < length; n++) {
    if (pending < 0 && next() % 6 === 0) {
      body.push(`j${CC[next() % 16]} skip${n}`);
      pending = n;
    }
    if (loops && next() % 3 === 0) body.push(innerLoop(`inner${n}`, form, next));
    else if (loops && n === length - 1 && next() % 2 === 0)
      // TF set after the loops of the first iteration have run (compiled): a single-step trap.
      body.push('pushfd\n or dword [esp], 0x100\n popfd');
    else body.push(form());
    if (pending >= 0 && next() % 3 === 0) {
      body.push(`skip${pending}:`);
      pending = -1;
    }
    if (n === length >> 1) body.push('smc: mov edx, 0x12345678');
  }
  if (pending >= 0) body.push(`skip${pending}:`);
  // Programs of stretches start at the fast paths' control word or at a Linux process's (0x037f,
  // whose stretches compiled regions run on 80-bit values); others mostly at the former.
  const first = stretchesOnly(seed) ? (seed & 4 ? 3 : 0) : next() & 1 ? 0 : next() % CONTROL.length;
  const start = x87
    ? `fninit\n fldcw [ebx + ${CONTROL_WORDS + 2 * first}]\n fld qword [ebx + ${DOUBLES}]\n fld qword [ebx + ${DOUBLES + 8}]`
    : '';
  return asm(`
    push eax
    mov eax, ${FS_SEL}
    mov fs, eax
    pop eax
    ${start}
    mov edi, ${iterations}
  top:
    ${body.join('\n    ')}
    dec edi
    jnz top
    int 0x1f
  fn0:
    add eax, ecx
    ret
  fn1:
    xor edx, eax
    rol edx, 3
    ret 0`);
}

/** The backend the compiling machine of runBoth uses (each describe below runs with both). */
let backend: 'wasm' | 'js' = 'wasm';

function machine(bytes: Uint8Array, regs: number[], cpl: 1 | 3, threshold: number): TestMachine {
  const m = makeMachine({ cpl });
  m.cpu.regionBackend = backend;
  m.setGdt(FS_SEL >> 3, descriptor(DATA, 0x3ff, 0xf3, 0x4));
  m.load(CODE, bytes);
  for (let k = 0; k < 1024; k++) m.mem.ram[DATA + k] = (k * 37 + 11) & 0xff;
  // Normal doubles, then +0 and -0.
  for (let k = 0; k < 24; k++) {
    const v = k === 22 ? 0 : k === 23 ? -0 : ((k % 3) - 1 || 0.5) * (1 + k / 7);
    m.mem.ramView.setFloat64(DATA + DOUBLES + 8 * k, v, true);
  }
  CONTROL.forEach((cw, k) => m.mem.ramView.setUint16(DATA + CONTROL_WORDS + 2 * k, cw, true));
  regs.forEach((v, r) => r !== 4 && m.cpu.setReg(r as 0, v));
  m.cpu.setReg(3, DATA);
  m.cpu.setReg(6, DATA + 0x80);
  m.setPte(DATA + 0x1000, 0);
  m.cpu.blockThreshold = threshold;
  return m;
}

/** Records what the CPU notes at every `interval` instructions: [count, EIP, CPL] each. */
class Notes implements SampleMarks {
  next: number;
  readonly taken: number[][] = [];
  private noted: number[] = [];
  constructor(readonly interval: number) {
    this.next = interval;
  }
  after(count: number): number {
    return (Math.floor(count / this.interval) + 1) * this.interval;
  }
  note(eip: number, cpl: number): void {
    this.noted = [this.next, eip, cpl];
  }
  confirm(): void {
    this.taken.push(this.noted);
    this.next = this.after(this.next);
  }
}

/** Mark intervals: 0 none; small ones put several marks in one block, or one next to a budget's end. */
const INTERVALS = [0, 1, 2, 3, 5, 8, 13, 50, 333];

/**
 * Runs the program on an interpreting and a compiling machine in the same random budget slices
 * (setup applied to both) and checks exits, state, memory and the notes at sample marks after
 * every slice. Returns the regions compiled, the exit vector (0x1f: the end of the program; -1:
 * none within the slices) and the marks noted.
 */
function runBoth(
  bytes: Uint8Array,
  regs: number[],
  cpl: 1 | 3,
  next: () => number,
  setup: (m: TestMachine) => void = () => {},
): { compiled: number; wasm: number; vector: number; marks: number } {
  const a = machine(bytes, regs, cpl, Infinity);
  const b = machine(bytes, regs, cpl, 1);
  setup(a);
  setup(b);
  const interval = INTERVALS[next() % INTERVALS.length]!;
  const notesA = new Notes(interval),
    notesB = new Notes(interval);
  if (interval > 0) {
    a.cpu.marks = notesA;
    b.cpu.marks = notesB;
  }
  let vector = -1;
  for (let slice = 0; slice < 400; slice++) {
    const budget = 1 + (next() % (slice % 3 === 0 ? 400 : 40));
    const ea = a.cpu.run(budget),
      eb = b.cpu.run(budget);
    expect(eb, `slice ${slice}`).toEqual(ea);
    expect(b.cpu.exportState(), `slice ${slice}`).toEqual(a.cpu.exportState());
    expect(
      Buffer.from(b.mem.ram.subarray(DATA, DATA + 0x400)).equals(Buffer.from(a.mem.ram.subarray(DATA, DATA + 0x400))),
    ).toBe(true);
    expect(
      Buffer.from(b.mem.ram.subarray(CODE, CODE + 0x1000)).equals(Buffer.from(a.mem.ram.subarray(CODE, CODE + 0x1000))),
    ).toBe(true);
    expect(notesB.taken, `slice ${slice}`).toEqual(notesA.taken);
    if (ea.kind === 'exit') {
      vector = ea.vector;
      break;
    }
  }
  expect(Buffer.from(b.mem.ram).equals(Buffer.from(a.mem.ram))).toBe(true);
  expect(a.cpu.blockCount).toBe(0);
  // Every mark the run passed was noted, once, in order.
  if (interval > 0) expect(notesA.taken.map((t) => t[0])).toEqual(notesA.taken.map((_, k) => (k + 1) * interval));
  expect(notesA.taken.length).toBe(interval > 0 ? Math.floor(a.cpu.icount / interval) : 0);
  // WebAssembly regions when that backend runs (every region JavaScript when the other does).
  if (backend === 'js') expect(b.cpu.wasmBlockCount).toBe(0);
  return { compiled: b.cpu.blockCount, wasm: b.cpu.wasmBlockCount, vector, marks: notesA.taken.length };
}

const randomRegs = (next: () => number): number[] =>
  Array.from({ length: 8 }, () => (next() & 1 ? next() : next() & 0x3ffff));

for (const kind of ['wasm', 'js'] as const) {
  describe(`${kind} regions against the interpreter (random programs)`, () => {
    beforeAll(() => {
      backend = kind;
    });
    for (const cpl of [1, 3] as const) {
      test(`CPL ${cpl}: same exits, state and memory after every slice`, () => {
        const next = rng(0x7e57 + cpl);
        let compiled = 0,
          wasm = 0,
          faults = 0,
          marks = 0;
        for (let n = 0; n < 60; n++) {
          const bytes = program(next(), 2 + (next() % 12));
          const run = runBoth(bytes, randomRegs(next), cpl, next);
          if (run.vector >= 0 && run.vector !== 0x1f) faults++;
          compiled += run.compiled;
          wasm += run.wasm;
          marks += run.marks;
        }
        expect(compiled).toBeGreaterThan(60);
        expect(wasm).toBeGreaterThan(kind === 'wasm' ? 60 : -1);
        expect(faults).toBeGreaterThan(5);
        expect(marks).toBeGreaterThan(200);
      });
    }
  });

  describe(`${kind} regions against the interpreter (random programs with inner loops)`, () => {
    beforeAll(() => {
      backend = kind;
    });
    for (const cpl of [1, 3] as const) {
      test(`CPL ${cpl}: same exits, state and memory after every slice`, () => {
        const next = rng(0x100b + cpl);
        const vectors = new Map<number, number>();
        let compiled = 0,
          wasm = 0;
        for (let n = 0; n < 40; n++) {
          const run = runBoth(program(next(), 1 + (next() % 6), false, true), randomRegs(next), cpl, next);
          vectors.set(run.vector, (vectors.get(run.vector) ?? 0) + 1);
          compiled += run.compiled;
          wasm += run.wasm;
        }
        expect(compiled).toBeGreaterThan(40);
        expect(wasm).toBeGreaterThan(kind === 'wasm' ? 40 : -1);
        // Programs that ran to the end (INT 0x1f, #GP at CPL 3), ended in a page fault (as in a
        // walk off DATA) and in a single-step trap.
        for (const v of [cpl === 1 ? 0x1f : 13, 14, 1])
          expect(vectors.get(v) ?? 0, `exits with vector ${v}`).toBeGreaterThan(0);
      });
    }
  });

  describe(`${kind} regions against the interpreter (random x87 programs)`, () => {
    beforeAll(() => {
      backend = kind;
    });
    for (const cpl of [1, 3] as const) {
      test(`CPL ${cpl}: same exits, FPU state and memory after every slice`, () => {
        const next = rng(0x87f0 + cpl);
        let compiled = 0,
          wasm = 0;
        const vectors = new Map<number, number>();
        for (let n = 0; n < 60; n++) {
          const bytes = program(next(), 2 + (next() % 12), true);
          // One program in eight starts with CR0.TS set: its first escape raises #NM.
          const ts = next() % 8 === 0;
          const run = runBoth(bytes, randomRegs(next), cpl, next, (m) => {
            if (ts) m.cpu.cr0 = m.cpu.cr0 | 8;
          });
          vectors.set(run.vector, (vectors.get(run.vector) ?? 0) + 1);
          compiled += run.compiled;
          wasm += run.wasm;
        }
        expect(compiled).toBeGreaterThan(60);
        expect(wasm).toBeGreaterThan(kind === 'wasm' ? 60 : -1);
        // Programs that ran to the end (INT 0x1f, #GP at CPL 3), and ones stopped by #MF, #PF and #NM.
        for (const v of [cpl === 1 ? 0x1f : 13, 16, 14, 7])
          expect(vectors.get(v) ?? 0, `exits with vector ${v}`).toBeGreaterThan(0);
      });
    }
  });
}
