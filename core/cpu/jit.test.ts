// The region compiler must be invisible: the same program run with regions compiled at once and
// with the compiler off gives the same exits, state and memory after every slice, including
// faults inside regions, budgets ending inside them, self-modifying code and x87 instructions.

import { describe, expect, test, vi } from 'vitest';
import { I386 } from './cpu';
import { MAX_REGION } from './jit';
import { X87_RUNTIME } from './jit-x87';
import { OPS } from './optable';
import { CODE, asm, makeMachine } from './test-machine';
import type { TestMachine } from './test-machine';

const PROGRAM = `
    mov ecx, 3000
    mov esi, 0x200000
    xor ebx, ebx
    finit
  l:
    mov eax, ecx
    imul eax, eax, 13
    add [esi + ecx*4], eax
    mov edx, [esi + ecx*4]
    xor ebx, edx
    sub ebx, ecx
    lea edi, [ebx + ecx*2 + 5]
    cmp edi, ebx
    adc ebx, 0
    push edi
    pop edx
    lea ebp, [ecx + 3]
    shr ebp, 10
    and ebp, 3
    shl ebp, 12
    add ebp, 0x300000
    mov [ebp + 8], ecx
    mov [esi], ecx
    fild dword [esi]
    fmul st0, st0
    fistp dword [esi + 4]
    add ebx, [esi + 4]
    call fn
    test ecx, 7
    jnz skip
    mov byte [patch + 1], cl
    add ebx, 1
  patch:
    mov eax, 0x11223344
    add ebx, eax
    movzx edx, bl
    or ebx, edx
    movzx eax, byte [esi + ecx + 16]
    mov [esi + ecx + 64], dl
    cmp al, 7
    adc ebx, 0
    cmp al, 200
    sets dl
    setz dh
    add ebx, edx
    test bl, dh
    sete al
    cmp bh, al
    adc ebx, eax
    cmp al, bh
    sbb ebx, 0
  skip:
    dec ecx
    jnz l
    int 0x1f
  fn:
    add ebx, 3
    rol ebx, 5
    ret`;

function fresh(threshold: number): TestMachine {
  const m = makeMachine();
  m.load(CODE, asm(PROGRAM));
  m.cpu.blockThreshold = threshold;
  // Only the page used while ECX + 3 >= 2048 is mapped: the later ones fault inside the loop.
  m.setPte(0x300000, 0);
  m.setPte(0x301000, 0);
  return m;
}

/** Runs to the final INT 0x1F in slices of `slice`, mapping pages on #PF; returns the trace. */
function trace(m: TestMachine, slice: number): unknown[] {
  const out: unknown[] = [];
  for (let k = 0; k < 100000; k++) {
    const e = m.cpu.run(slice);
    out.push(e, m.cpu.exportState());
    if (e.kind === 'exit') {
      if (e.vector !== 14) break;
      m.setPte(e.cr2, (e.cr2 & ~0xfff) | 7);
      m.cpu.invalidatePage(e.cr2);
    }
  }
  return out;
}

describe('compiled regions', () => {
  for (const slice of [1_000_000, 777, 13]) {
    test(`behave exactly like the interpreter (slices of ${slice})`, () => {
      const a = fresh(Infinity),
        b = fresh(1);
      const ta = trace(a, slice),
        tb = trace(b, slice);
      expect(b.cpu.blockCount).toBeGreaterThan(0);
      expect(a.cpu.blockCount).toBe(0);
      expect(tb.length).toBe(ta.length);
      expect(tb).toEqual(ta);
      expect(Buffer.from(b.mem.ram).equals(Buffer.from(a.mem.ram))).toBe(true);
      const exits = ta.filter((x) => (x as { kind?: string }).kind === 'exit') as { vector: number }[];
      expect(exits.map((x) => x.vector)).toEqual([14, 14, 0x1f]);
      const last = ta[ta.length - 2] as { kind: string; vector?: number };
      expect(last).toMatchObject({ kind: 'exit', vector: 0x1f });
    });
  }

  test('a 16-bit-operand Jcc ending a block runs through its handler', () => {
    const program = `
    mov ecx, 100
  l:
    mov eax, ecx
    add ebx, eax
    cmp eax, eax
    db 0x66, 0x75, 0x10 ; o16 jnz (never taken)
    xor edx, ebx
    dec ecx
    jnz l
    int 0x1f`;
    const run = (threshold: number): unknown[] => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.cpu.blockThreshold = threshold;
      return [m.cpu.run(100_000), m.cpu.exportState(), m.cpu.blockCount > 0];
    };
    expect(run(1)).toEqual([...run(Infinity).slice(0, 2), true]);
  });

  test('dropCaches drops blocks and execution continues identically', () => {
    const a = fresh(Infinity),
      b = fresh(1);
    const ra = [a.cpu.run(5000), a.cpu.exportState(), a.cpu.run(50_000), a.cpu.exportState()];
    const rb = [b.cpu.run(5000), b.cpu.exportState()];
    const before = b.cpu.blockCount;
    b.cpu.dropCaches();
    rb.push(b.cpu.run(50_000), b.cpu.exportState());
    expect(rb).toEqual(ra);
    expect(b.cpu.blockCount).toBeGreaterThan(before);
  });

  test('a loop with branches, calls and returns in one page stays inside its region', () => {
    const program = `
    mov ecx, 20000
    xor eax, eax
  l:
    add eax, ecx
    test ecx, 1
    jz even
    call fn
    jmp next
  even:
    xor eax, 0x55
  next:
    dec ecx
    jnz l
    int 0x1f
  fn:
    rol eax, 3
    ret`;
    const run = (threshold: number): [unknown, unknown, number] => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.cpu.blockThreshold = threshold;
      return [m.cpu.run(1_000_000), m.cpu.exportState(), m.cpu.regionRuns];
    };
    const [exitA, stateA, runsA] = run(Infinity);
    const [exitB, stateB, runsB] = run(1);
    expect(exitB).toEqual(exitA);
    expect(stateB).toEqual(stateA);
    expect(runsA).toBe(0);
    // 20000 iterations of 8-9 instructions: entered a few times while the region grows, then the
    // whole loop (both arms, the call and the return) runs inside it.
    expect(runsB).toBeGreaterThan(0);
    expect(runsB).toBeLessThan(20);
  });
  test('where a run ran out of budget is not an entry: the loop stays one block', () => {
    // Slices of 7 instructions end all over the five-instruction loop; counting those points as
    // entries would grow the region with block starts in the middle of the loop.
    const m = makeMachine();
    m.load(CODE, asm('mov ecx, 100000\n  l:\n add eax, ecx\n xor ebx, eax\n rol eax, 3\n dec ecx\n jnz l\n int 0x1f'));
    m.cpu.blockThreshold = 100;
    let exit = m.cpu.run(7);
    for (let k = 0; k < 100_000 && exit.kind === 'budget'; k++) exit = m.cpu.run(7);
    expect(exit).toMatchObject({ kind: 'exit', vector: 0x1f });
    expect(m.cpu.regionRuns).toBeGreaterThan(50_000);
    expect(m.cpu.blockCount).toBe(1);
  });
  test('x87 code is compiled after fewer entries than integer code', () => {
    const loop = (body: string): number => {
      const m = makeMachine();
      m.load(
        CODE,
        asm(`push 0x027f\n fldcw [esp]\n fld1\n fld1\n mov ecx, 200\n l:\n ${body}\n dec ecx\n jnz l\n int 0x1f`),
      );
      m.cpu.blockThreshold = 1000;
      expect(m.cpu.run(1_000_000)).toMatchObject({ kind: 'exit', vector: 0x1f });
      return m.cpu.blockCount;
    };
    // 200 entries into the loop: below the threshold, unless its escapes count for more.
    expect(loop('add eax, ecx\n xor ebx, eax\n sub edx, eax\n rol ebx, 1')).toBe(0);
    expect(loop('fadd st0, st1\n fmul st0, st1\n fsub st0, st1\n fxch st1')).toBe(1);
  });
  test('a page with a region grows to take in code entered far fewer times than a new page needs', () => {
    // Loop `a` makes the page's region (at the default threshold); loop `b` then runs 10,000 times.
    const program = (loops: string): string => `
    ${loops}
    int 0x1f
  a:
    mov ecx, 60000
  la:
    dec ecx
    jnz la
    ret
  b:
    mov ecx, 10000
  lb:
    add eax, ecx
    dec ecx
    jnz lb
    ret`;
    const compiles = (loops: string): number => {
      const m = makeMachine();
      m.load(CODE, asm(program(loops)));
      m.cpu.blockThreshold = 50_000;
      expect(m.cpu.run(10_000_000)).toMatchObject({ kind: 'exit', vector: 0x1f });
      return m.cpu.blockCount;
    };
    expect(compiles('call b')).toBe(0); // alone, b's loop stays interpreted
    expect(compiles('call a')).toBe(1);
    expect(compiles('call a\n    call b')).toBe(2); // the region grew to take in b's loop
    // With the compiler turned off after a's region exists, nothing more is compiled.
    const m = makeMachine();
    m.load(CODE, asm(program('call a\n    int 0x1f\n    call b')));
    m.cpu.blockThreshold = 50_000;
    expect(m.cpu.run(10_000_000)).toMatchObject({ kind: 'exit', vector: 0x1f });
    m.cpu.blockThreshold = Infinity;
    expect(m.cpu.run(10_000_000)).toMatchObject({ kind: 'exit', vector: 0x1f });
    expect(m.cpu.blockCount).toBe(1);
  });
  test('a loop entered in a page whose region is full still gets into it', () => {
    // Loop a's body of short blocks makes a region of MAX_REGION instructions exactly; the blocks
    // of a region are entries of the next one. Loop b then runs 100,000 times in the same page and
    // must be compiled, a's code taking what room is left.
    const reps = (MAX_REGION - 2) / 4;
    const body = Array.from(
      { length: reps },
      (_, k) => `add eax, ecx\n    test eax, 1\n    jz s${k}\n    add edx, 1\n  s${k}:`,
    ).join('\n    ');
    const program = `
    call a
    call b
    int 0x1f
  a:
    mov ecx, 2000
  la:
    ${body}
    dec ecx
    jnz la
    ret
  b:
    mov ecx, 100000
  lb:
    add ebx, ecx
    dec ecx
    jnz lb
    ret`;
    const run = (threshold: number): { exit: unknown; state: unknown; compiled: number } => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.cpu.blockThreshold = threshold;
      return { exit: m.cpu.run(10_000_000), state: m.cpu.exportState(), compiled: m.cpu.blockCount };
    };
    const a = run(Infinity),
      b = run(1000);
    expect(b.exit).toMatchObject({ kind: 'exit', vector: 0x1f });
    expect(b.state).toEqual(a.state);
    // a's region, then that region regrown from b's loop.
    expect(b.compiled).toBe(2);
  });
});

/** Counts the FPU's runs of escapes through their handlers (the interpreter's and WebAssembly's way). */
function countEscapeHandlers(): { calls: number; restore: () => void } {
  const counter = { calls: 0, restore: () => {} };
  const saved = [0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf].map((o) => {
    const spec = OPS[o]!,
      fn = spec.fn;
    spec.fn = (c, i) => {
      counter.calls++;
      fn!(c, i);
    };
    return () => (spec.fn = fn);
  });
  counter.restore = () => saved.forEach((r) => r());
  return counter;
}

for (const backend of ['wasm', 'js'] as const)
  describe(`x87 code in ${backend === 'wasm' ? 'WebAssembly' : 'JavaScript'} regions`, () => {
    // Escape-time iterations of z = z^2 + c along a line of the plane, in double precision: the
    // stack holds zr, zi, cr, ci; EAX counts one point's iterations, EDX sums them.
    const DATA = 0x200000;
    const program = `
    xor edx, edx
    xor ebx, ebx
  point:
    fninit
    fldcw [${DATA}]
    fld qword [${DATA + 8}]
    mov [${DATA + 4}], ebx
    fild dword [${DATA + 4}]
    fmul qword [${DATA + 16}]
    fadd qword [${DATA + 24}]
    fldz
    fldz
    xor eax, eax
  iterate:
    fld st0
    fmul st0, st0
    fld st2
    fmul st0, st0
    fld st1
    fadd st0, st1
    fld dword [${DATA + 32}]
    fcomip st0, st1
    fstp st0
    jb escaped
    fsubp st1, st0
    fadd st0, st3
    fxch st1
    fadd st0, st0
    fmulp st2, st0
    fxch st1
    fadd st0, st3
    fxch st1
    inc eax
    cmp eax, 64
    jne iterate
  escaped:
    add edx, eax
    fstp qword [${DATA + 40}]
    inc ebx
    cmp ebx, 100
    jne point
    int 0x1f`;
    const run = (
      threshold: number,
    ): { exit: unknown; state: ReturnType<I386['exportState']>; steps: number; wasm: number } => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      const dv = m.mem.ramView;
      dv.setUint16(DATA, 0x027f, true); // double precision, round to nearest, all masked
      dv.setFloat64(DATA + 8, 0.3, true);
      dv.setFloat64(DATA + 16, 2.5 / 100, true);
      dv.setFloat64(DATA + 24, -2, true);
      dv.setFloat32(DATA + 32, 4, true);
      m.cpu.blockThreshold = threshold;
      m.cpu.regionBackend = backend;
      const step = vi.spyOn(X87_RUNTIME, 'step');
      const handlers = countEscapeHandlers();
      try {
        const exit = m.cpu.run(10_000_000);
        return {
          exit,
          state: m.cpu.exportState(),
          steps: step.mock.calls.length + handlers.calls,
          wasm: m.cpu.wasmBlockCount,
        };
      } finally {
        step.mockRestore();
        handlers.restore();
      }
    };

    /**
     * `program` (its machine prepared by `setup`) interpreted, then compiled from the start. The
     * control word at the start lets runs take their fast pieces, so the regions (compiled before
     * the program's first instruction) are WebAssembly ones with that backend, whatever control
     * word the program loads later.
     */
    const bothWays = (program: string, setup: (m: TestMachine) => void) =>
      [Infinity, 1].map((threshold) => {
        const m = makeMachine();
        m.load(CODE, asm(program));
        setup(m);
        m.cpu.x87.control = 0x027f;
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        return {
          exit: m.cpu.run(100_000),
          state: m.cpu.exportState(),
          regions: m.cpu.regionRuns,
          wasm: m.cpu.wasmBlockCount,
        };
      });

    test('a LOCK-prefixed escape raises #UD in compiled code too', () => {
      const locked = `
      finit
      fld1
      fld1
      mov ecx, 50
    l:
      fadd st0, st1
      dec ecx
      jnz l
      db 0xf0, 0xd8, 0xc1 ; lock fadd st0, st1
      fadd st0, st1
      int 0x1f`;
      const runs = bothWays(locked, () => {});
      expect(runs[1]!.exit).toEqual(runs[0]!.exit);
      expect(runs[1]!.state).toEqual(runs[0]!.state);
      expect(runs[0]!.exit).toMatchObject({ kind: 'exit', vector: 6 });
    });

    /** Both ran into #MF and stopped in the same state, the compiled one with regions. */
    const expectSameMF = (runs: ReturnType<typeof bothWays>): void => {
      expect(runs[0]!.exit).toMatchObject({ kind: 'exit', vector: 16 });
      expect(runs[1]!.exit).toEqual(runs[0]!.exit);
      expect(runs[1]!.state).toEqual(runs[0]!.state);
      expect(runs[1]!.regions).toBeGreaterThan(0);
      expect(runs[1]!.wasm > 0).toBe(backend === 'wasm');
    };

    /**
     * Precision exceptions unmasked from ECX = 95 on (the regions are compiled before, under a
     * control word that lets runs take their fast pieces): the runs go through the FPU one by
     * one. 2^53 - 40 grows by one an iteration until a sum is inexact (the 41st, at ECX = 60);
     * the FLD after it raises #MF. `between` goes between the FADD and the FLD.
     */
    const inexactSums = (between: string) =>
      bothWays(
        `
      finit
      fldcw [${DATA + 2}]
      fld1
      fld qword [${DATA + 8}]
      xor eax, eax
      mov ecx, 100
    l:
      cmp ecx, 95
      jne go
      fldcw [${DATA}]
    go:
      fadd st0, st1
      ${between}
      fld st0
      fstp st0
      dec ecx
      jnz l
      int 0x1f`,
        (m) => {
          m.mem.ramView.setUint16(DATA, 0x025f, true);
          m.mem.ramView.setUint16(DATA + 2, 0x027f, true);
          m.mem.ramView.setFloat64(DATA + 8, 2 ** 53 - 40, true);
          m.cpu.gpr[2] = 0x12345;
        },
      );

    test('#MF at an escape after integer instructions of the same run leaves their results', () => {
      const runs = inexactSums('add eax, ecx\n shl edx, 1');
      expectSameMF(runs);
      // 41 iterations added ECX = 100 down to 60.
      expect(runs[0]!.state.gpr[0]).toBe((41 * (100 + 60)) / 2);
    });

    test('#MF at an escape in the middle of a run stops there, with the escapes before it done', () => {
      // FADD, FLD and FSTP run one by one in one go; EIP and the count stop at the FLD.
      const runs = inexactSums('');
      expectSameMF(runs);
      expect(runs[0]!.state.gpr[1]).toBe(60);
    });

    test('a branch after an FCOMI that stopped on an unmasked exception reads the flags before it', () => {
      // Invalid operation unmasked from ECX = 30 on (the regions are compiled before, under a
      // control word that lets runs take their fast pieces): the NaN at ECX = 10 leaves EFLAGS
      // as CMP set them (JB taken), then FSTP raises #MF. EDX counts the branches not taken.
      const runs = bothWays(
        `
      finit
      fldcw [${DATA + 2}]
      mov ebx, ${DATA + 8}
      mov ecx, 50
      xor edx, edx
    l:
      cmp ecx, 30
      jne go
      fldcw [${DATA}]
    go:
      fld qword [ebx + ecx*8]
      fld1
      cmp ecx, 20
      fcomip st0, st1
      jb low
      add edx, 1
    low:
      fstp st0
      dec ecx
      jnz l
      int 0x1f`,
        (m) => {
          const dv = m.mem.ramView;
          dv.setUint16(DATA, 0x027e, true);
          dv.setUint16(DATA + 2, 0x027f, true);
          for (let k = 0; k <= 50; k++) dv.setFloat64(DATA + 8 + 8 * k, k === 10 ? NaN : 1, true);
        },
      );
      expectSameMF(runs);
      expect(runs[0]!.state.gpr[2]).toBe(40); // ECX = 50..11: 1.0 < 1.0 is false, JB not taken
    });

    test('products at the ends of the double range, with PE clear or set, as the interpreter computes them', () => {
      const DATA = 0x200000,
        OUT = DATA + 0x1000;
      const pairs = [
        [2 ** -600, 2 ** -500], // below the double range: a normal extended value
        [2 ** 600, 2 ** 500], // above it
        [2 ** 500, 2 ** -450], // operands past 2^400, product exact
        [1 + 2 ** -52, 1 + 2 ** -52], // inexact
        [-(2 ** -511), 2 ** -511], // just below 2^-1021
        [6361 * 2 ** -537, 1416003655831 * 2 ** -538], // 2^-1022 - 2^-1075: a double rounds it to 2^-1022
        [0, -(2 ** -1000)], // a signed zero
        [3, 2 ** 700 + 2 ** 648], // a large inexact product
        // Operands past 2^±400 with a product a double holds: where the product is the run's
        // last instruction, its C1 needs an error term that would not be exact (the first rounds
        // up, the others down).
        [1.9 * 2 ** 1010, 1.6 * 2 ** -990],
        [1.7 * 2 ** -900, 1.9 * 2 ** 850],
        [1.2345678901234567 * 2 ** 1000, 1.7654321098765433 * 2 ** -700],
      ];
      // Each pair with PE clear or set, and its product followed by a sum (the status read after
      // the store) or last in its run (the status read before the store, which sets C1 itself).
      const variants = pairs.flatMap((_, i) =>
        [false, true].flatMap((peSet) =>
          [false, true].map((productLast) => {
            const k = 4 * i + (productLast ? 2 : 0) + (peSet ? 1 : 0);
            return `
    fnclex
    ${peSet ? `fld1\n    fidiv dword [${DATA + 4}]\n    fstp st0` : ''}
    fldz
    fld qword [${DATA + 16 + 16 * i}]
    fld qword [${DATA + 24 + 16 * i}]
    fmul st0, st1
    ${productLast ? `fnstsw ax\n    fstp qword [${OUT + 8 * k}]` : `fadd st0, st2\n    fstp qword [${OUT + 8 * k}]\n    fnstsw ax`}
    mov [${OUT + 0x800 + 4 * k}], eax
    fstp st0
    fstp st0`;
          }),
        ),
      );
      const once = (
        threshold: number,
      ): { exit: unknown; state: unknown; out: Uint8Array; wasm: number; handled: number } => {
        const m = makeMachine();
        // The region is compiled at body, under the double precision control word.
        m.load(CODE, asm(`fninit\n    fldcw [${DATA}]\n    jmp body\n  body:${variants.join('')}\n    int 0x1f`));
        const dv = m.mem.ramView;
        dv.setUint16(DATA, 0x027f, true);
        dv.setInt32(DATA + 4, 3, true);
        pairs.forEach(([a, b], i) => {
          dv.setFloat64(DATA + 16 + 16 * i, a!, true);
          dv.setFloat64(DATA + 24 + 16 * i, b!, true);
        });
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        const handlers = countEscapeHandlers();
        const exit = m.cpu.run(1_000_000);
        handlers.restore();
        return {
          exit,
          state: m.cpu.exportState(),
          out: m.mem.ram.slice(OUT, OUT + 0x1000),
          wasm: m.cpu.wasmBlockCount,
          handled: handlers.calls,
        };
      };
      const a = once(Infinity),
        b = once(1);
      expect(a.exit).toMatchObject({ kind: 'exit', vector: 0x1f });
      expect(b.exit).toEqual(a.exit);
      expect(b.state).toEqual(a.state);
      expect(Buffer.from(b.out).equals(Buffer.from(a.out))).toBe(true);
      expect(b.wasm > 0).toBe(backend === 'wasm');
      // Runs took their fast pieces where they apply: at least the runs (FLDZ, FLD, FLD, FMUL,
      // FADD) of the four pairs whose products a double holds, in both variants of each.
      expect(a.handled - b.handled).toBeGreaterThanOrEqual(4 * 2 * 5);
    });

    test('sums and loads at the ends of the double range, as the interpreter computes them', () => {
      const DATA = 0x200000,
        OUT = DATA + 0x1000;
      // Each case: a, b as m64; a + b, then that times c, stored, with the status and the tag
      // word (FNSTENV) after each step.
      const cases = [
        [Number.MAX_VALUE, Number.MAX_VALUE, 0.5], // a sum past the double range, and back
        [1.5 * 2 ** -1022, -(2 ** -1022), 1 + 2 ** -52], // a sum below the normal range: x87 keeps 53 bits
        [2 ** -1074, 1, 1], // a denormal operand (DE)
        [Infinity, 1, 2], // an infinity (tag "special")
        [NaN, 1, 2], // a NaN
        [1 + 2 ** -52, 2 ** -53, 3], // ordinary, inexact
      ];
      const steps = cases
        .map((_, i) => {
          const at = DATA + 16 + 32 * i,
            out = OUT + 128 * i;
          return `
    fnclex
    fld qword [${at}]
    fld qword [${at + 8}]
    fadd st0, st1
    fnstenv [${out}]
    fldenv [${out}]
    fmul qword [${at + 16}]
    fnstenv [${out + 32}]
    fldenv [${out + 32}]
    fstp qword [${out + 64}]
    fstp st0
    fnstsw ax
    mov [${out + 72}], eax`;
        })
        .join('');
      const once = (threshold: number): { state: unknown; out: Uint8Array; handled: number } => {
        const m = makeMachine();
        m.load(CODE, asm(`fninit\n    fldcw [${DATA}]\n    jmp body\n  body:${steps}\n    int 0x1f`));
        const dv = m.mem.ramView;
        dv.setUint16(DATA, 0x027f, true);
        cases.forEach((c, i) => c.forEach((v, j) => dv.setFloat64(DATA + 16 + 32 * i + 8 * j, v!, true)));
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        const handlers = countEscapeHandlers();
        const exit = m.cpu.run(1_000_000);
        handlers.restore();
        expect(exit).toMatchObject({ kind: 'exit', vector: 0x1f });
        return { state: m.cpu.exportState(), out: m.mem.ram.slice(OUT, OUT + 0x1000), handled: handlers.calls };
      };
      const a = once(Infinity),
        b = once(1);
      expect(b.state).toEqual(a.state);
      expect(Buffer.from(b.out).equals(Buffer.from(a.out))).toBe(true);
      // The ordinary case's loads and sum took a fast piece.
      expect(a.handled - b.handled).toBeGreaterThanOrEqual(3);
    });

    test('a run that faults after the FPU changed C1 outside runs leaves C1 as the FPU left it', () => {
      const A = DATA + 16,
        B = DATA + 24,
        UNMAPPED = 0x300000;
      // The product rounds up (C1 1, owed by its run); FXAM, outside runs, sets C1 to ST0's sign
      // (0); the load faults (#PF) in a run that went live, and a fault leaves the FPU as it was.
      const program = `
    fninit
    fldcw [${DATA}]
    fld qword [${A}]
    fld qword [${B}]
    fmul st0, st1
    fxam
    fld qword [${UNMAPPED}]
    int 0x1f`;
      const once = (threshold: number): { exit: unknown; status: number; state: unknown } => {
        const m = makeMachine();
        m.load(CODE, asm(program));
        const dv = m.mem.ramView;
        dv.setUint16(DATA, 0x027f, true);
        dv.setFloat64(A, 1.9 * 2 ** 10, true);
        dv.setFloat64(B, 1.6 * 2 ** -10, true);
        m.setPte(UNMAPPED, 0);
        m.cpu.x87.control = 0x027f;
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        const exit = m.cpu.run(100_000);
        return { exit, status: m.cpu.x87.status, state: m.cpu.exportState() };
      };
      const a = once(Infinity),
        b = once(1);
      expect(a.exit).toMatchObject({ kind: 'exit', vector: 14, cr2: UNMAPPED });
      expect(a.status & 0x200).toBe(0);
      expect(b.exit).toEqual(a.exit);
      expect(b.state).toEqual(a.state);
    });

    test('runs meeting TOP where they did not expect it, as the interpreter runs them', () => {
      const OUT = DATA + 16;
      const once = (program: string, threshold: number): { state: unknown; out: DataView; wasm: number } => {
        const m = makeMachine();
        m.load(CODE, asm(program));
        m.mem.ramView.setUint16(DATA, 0x027f, true);
        // The region is compiled before the first instruction: under a control word runs take.
        m.cpu.x87.control = 0x027f;
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        expect(m.cpu.run(100_000)).toMatchObject({ kind: 'exit', vector: 0x1f });
        const out = m.mem.ram.slice(OUT, OUT + 128);
        return { state: m.cpu.exportState(), out: new DataView(out.buffer), wasm: m.cpu.wasmBlockCount };
      };
      const bothWays = (program: string): DataView => {
        const a = once(program, Infinity),
          b = once(program, 1);
        expect(b.wasm > 0).toBe(backend === 'wasm');
        expect(b.state).toEqual(a.state);
        expect(Buffer.from(b.out.buffer).equals(Buffer.from(a.out.buffer))).toBe(true);
        return a.out;
      };
      // Each iteration pushes one more value, so the loop's run meets TOP one place lower each
      // time round; the first loop also stores the status word (TOP included) and the value
      // through the FPU's own code in each iteration.
      const pushing = (body: string): string => `
    fninit
    fldcw [${DATA}]
    fld1
    xor ebx, ebx
  again:
    fld1
    fadd st0, st0
    fmul st0, st1${body}
    inc ebx
    cmp ebx, 6
    jne again
    fnstsw ax
    mov [${OUT + 24}], eax
    fstp qword [${OUT + 112}]
    int 0x1f`;
      const stored = bothWays(
        pushing(`
    fnstsw ax
    mov [ebx*4 + ${OUT}], eax
    fst qword [ebx*8 + ${OUT + 32}]`),
      );
      expect([0, 1, 2, 3, 4, 5].map((n) => (stored.getUint16(4 * n, true) >> 11) & 7)).toEqual([6, 5, 4, 3, 2, 1]);
      for (const out of [stored, bothWays(pushing(''))]) {
        expect((out.getUint16(24, true) >> 11) & 7).toBe(1);
        expect(out.getFloat64(112, true)).toBe(64);
      }
      // The run at "sum" is reached with one value more on the stack in odd iterations: every
      // slot it reads is full either way, so only TOP tells where its operands are.
      const joined = bothWays(`
    fninit
    fldcw [${DATA}]
    fld1
    fld1
    fadd st0, st0
    fld st0
    fadd st0, st2
    fld st0
    fadd st0, st2
    xor ebx, ebx
  again:
    test ebx, 1
    jz sum
    fld1
  sum:
    fadd st0, st1
    inc ebx
    cmp ebx, 3
    jne again
    fstp qword [${OUT}]
    fstp qword [${OUT + 8}]
    int 0x1f`);
      expect([joined.getFloat64(0, true), joined.getFloat64(8, true)]).toEqual([17, 8]);
    });

    test('a region compiled under one control word takes the fast piece of the one its runs meet later', () => {
      // Three times 2000 additions, twice at double precision, then at extended precision; run
      // in slices as the Launcher runs a guest. The region is compiled with the double piece,
      // then again with both when it is entered under the other control word.
      const OUT = DATA + 16;
      const once = (threshold: number): { state: unknown; out: number[]; handled: number } => {
        const m = makeMachine();
        m.load(
          CODE,
          asm(`
    xor ebx, ebx
  phase:
    fldcw [ebx*2 + ${DATA}]
    mov ecx, 2000
    fldz
  body:
    fld1
    faddp st1, st0
    dec ecx
    jnz body
    fstp qword [ebx*8 + ${OUT}]
    inc ebx
    cmp ebx, 3
    jne phase
    int 0x1f`),
        );
        const dv = m.mem.ramView;
        dv.setUint16(DATA, 0x027f, true);
        dv.setUint16(DATA + 2, 0x027f, true);
        dv.setUint16(DATA + 4, 0x037f, true);
        // The control word the regions are first compiled under (FNINIT would load 0x037f).
        m.cpu.x87.control = 0x027f;
        m.cpu.blockThreshold = threshold;
        m.cpu.regionBackend = backend;
        const handlers = countEscapeHandlers();
        try {
          let exit = m.cpu.run(1000);
          while (exit.kind === 'budget') exit = m.cpu.run(1000);
          expect(exit).toMatchObject({ kind: 'exit', vector: 0x1f });
          return {
            state: m.cpu.exportState(),
            out: [0, 1, 2].map((n) => dv.getFloat64(OUT + 8 * n, true)),
            handled: handlers.calls,
          };
        } finally {
          handlers.restore();
        }
      };
      const a = once(Infinity),
        b = once(1);
      expect(b.state).toEqual(a.state);
      expect(b.out).toEqual([2000, 2000, 2000]);
      expect(a.handled).toBeGreaterThan(12000);
      // Only the code around the loop and the iterations before a region is compiled (again) go
      // through the escapes' handlers, not the third phase's loop (4000 escapes; the WebAssembly
      // region runs about 250 iterations under the new control word before it is entered again).
      expect(b.handled).toBeLessThan(1000);
    });

    test('double arithmetic runs inline, exactly as the interpreter runs it', () => {
      const a = run(Infinity);
      const b = run(1);
      expect(b.exit).toEqual(a.exit);
      expect(b.state).toEqual(a.state);
      expect(b.wasm > 0).toBe(backend === 'wasm');
      // 17 escapes per iteration: the FPU itself runs only the setup of each point and the
      // iterations with zero operands or results (the first of each point).
      const iterations = a.state.gpr[2]!;
      expect(iterations).toBeGreaterThan(1000);
      expect(b.steps).toBeLessThan((17 * iterations) / 8);
    });
  });

describe('writes into RAM from outside the CPU', () => {
  const program = `
  l:
    mov eax, 0x11111111
    add ebx, eax
    int 0x1f
    jmp l`;
  // The host (or a device's DMA) rewrites the immediate of the MOV, by itself or inside a larger
  // multi-page copy, and reports it with PhysicalMemory.written(): the next run sees the new bytes.
  for (const threshold of [Infinity, 1]) {
    for (const span of [4, 3 * 4096]) {
      test(`are seen by the next run (compiler ${threshold === 1 ? 'eager' : 'off'}, ${span}-byte write)`, () => {
        const m = makeMachine();
        m.load(CODE, asm(program));
        m.cpu.blockThreshold = threshold;
        for (let k = 0; k < 50; k++) expect(m.cpu.run(1000)).toMatchObject({ kind: 'exit', vector: 0x1f });
        expect(m.cpu.gpr[0]! >>> 0).toBe(0x11111111);
        const start = CODE + 1 - (span > 4 ? 4096 : 0);
        const bytes = m.mem.ram.slice(start, start + span);
        bytes.set([0x44, 0x33, 0x22, 0x11], CODE + 1 - start);
        m.mem.ram.set(bytes, start);
        m.mem.written(start, span);
        expect(m.cpu.run(1000)).toMatchObject({ kind: 'exit', vector: 0x1f });
        expect(m.cpu.gpr[0]! >>> 0).toBe(0x11223344);
      });
    }
  }
});

describe('code written through write entries made before it ran', () => {
  // The buffer's page gets write entries at two linear pages (its own and an alias) while it
  // holds data; once code is cached there, stores through either must re-decode it.
  const program = `
    mov dword [0x200000], 0x111111b8
    mov dword [0x200004], 0xc311
    mov byte [0x201010], 0x90
    call 0x200000
    mov ebx, eax
    mov dword [0x200001], 0x22222222
    call 0x200000
    add ebx, eax
    mov dword [0x201001], 0x33333333
    call 0x200000
    add ebx, eax
    int 0x1f`;
  for (const threshold of [Infinity, 1]) {
    test(`is re-decoded after each store (compiler ${threshold === 1 ? 'eager' : 'off'})`, () => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.setPte(0x201000, 0x200007);
      m.cpu.blockThreshold = threshold;
      expect(m.cpu.run(1000)).toMatchObject({ kind: 'exit', vector: 0x1f });
      expect(m.cpu.gpr[0]! >>> 0).toBe(0x33333333);
      expect(m.cpu.gpr[3]! >>> 0).toBe(0x66666666);
    });
  }
});

describe('an instruction that runs into the next page', () => {
  // MOV EAX, imm32 starts 3 bytes before a page end: its last two immediate bytes are in the
  // next page, which the test remaps to another frame and then unmaps.
  const program = `
    jmp l
    times 0xffd - ($ - $$) db 0x90
  l:
    mov eax, 0x11223344
    add ebx, eax
    int 0x1f
    jmp l`;
  const next = CODE + 0x1000;
  for (const threshold of [Infinity, 1]) {
    test(`is cached, follows the next page's mapping and faults there (compiler ${threshold === 1 ? 'eager' : 'off'})`, () => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.cpu.blockThreshold = threshold;
      for (let k = 0; k < 50; k++) expect(m.cpu.run(1000)).toMatchObject({ kind: 'exit', vector: 0x1f });
      expect(m.cpu.gpr[0]! >>> 0).toBe(0x11223344);
      // Decoded once, not at each of the 50 passes.
      expect(m.cpu.decodeCount).toBeLessThan(10);
      const frame = 0x200000;
      m.load(frame, m.mem.ram.slice(next, next + 4096));
      m.load(frame, [0x66, 0x55]);
      m.setPte(next, frame | 7);
      m.cpu.invalidatePage(next);
      expect(m.cpu.run(1000)).toMatchObject({ kind: 'exit', vector: 0x1f });
      expect(m.cpu.gpr[0]! >>> 0).toBe(0x55663344);
      m.setPte(next, 0);
      m.cpu.invalidatePage(next);
      m.cpu.eip = CODE + 0xffd; // (the run would resume at the JMP, itself in the next page)
      expect(m.cpu.run(1000)).toEqual({ kind: 'exit', vector: 14, errorCode: expect.any(Number), cr2: next });
      expect(m.cpu.eip).toBe(CODE + 0xffd);
    });
  }
});

describe('WebAssembly regions', () => {
  // PROGRAM without its x87 instructions: a region holding an escape stays JavaScript.
  const INTEGER = PROGRAM.replace(/^\s*(finit|fild|fmul|fistp)\b.*$/gm, '');
  const machineWith = (program: string, threshold: number): TestMachine => {
    const m = fresh(threshold);
    m.load(CODE, asm(program));
    return m;
  };

  for (const slice of [777, 13]) {
    test(`behave exactly like the interpreter (slices of ${slice})`, () => {
      const a = machineWith(INTEGER, Infinity),
        b = machineWith(INTEGER, 1);
      const ta = trace(a, slice),
        tb = trace(b, slice);
      expect(b.cpu.wasmBlockCount).toBeGreaterThan(0);
      expect(b.cpu.wasmBlockCount).toBe(b.cpu.blockCount);
      expect(tb).toEqual(ta);
      expect(Buffer.from(b.mem.ram).equals(Buffer.from(a.mem.ram))).toBe(true);
    });
  }

  test('loops of several blocks: entered in the middle, nested, left and entered again at any block', () => {
    // An outer loop whose inner loop is entered at its second block (as compilers rotate
    // loops), with forward jumps inside both; slices of a few instructions leave the region at
    // every block, and the next slice enters it there.
    const loops = `
    mov esi, 40
    xor eax, eax
  outer:
    mov ecx, esi
    jmp inner_test
  inner:
    add eax, ecx
    test ecx, 3
    jz inner_skip
    xor eax, 0x5a5a
  inner_skip:
    rol eax, 3
  inner_test:
    dec ecx
    jnz inner
    test esi, 1
    jz outer_skip
    add eax, esi
  outer_skip:
    dec esi
    jnz outer
    mov [0x200000], eax
    int 0x1f`;
    for (const slice of [1_000_000, 13, 5, 3]) {
      const a = machineWith(loops, Infinity),
        b = machineWith(loops, 1);
      const ta = trace(a, slice),
        tb = trace(b, slice);
      expect(b.cpu.wasmBlockCount).toBeGreaterThan(0);
      expect(tb).toEqual(ta);
      expect(ta[ta.length - 2]).toMatchObject({ kind: 'exit', vector: 0x1f });
    }
  });

  test('run on RAM shared between threads (as a networked guest has) exactly like the interpreter', () => {
    const on = (threshold: number): TestMachine => {
      const m = makeMachine({ sharedRam: true });
      m.load(CODE, asm(INTEGER));
      m.cpu.blockThreshold = threshold;
      m.setPte(0x300000, 0);
      m.setPte(0x301000, 0);
      return m;
    };
    const a = on(Infinity),
      b = on(1);
    expect(b.mem.ram.buffer).toBeInstanceOf(SharedArrayBuffer);
    const ta = trace(a, 777),
      tb = trace(b, 777);
    expect(b.cpu.wasmBlockCount).toBeGreaterThan(0);
    expect(tb).toEqual(ta);
    expect(Buffer.from(b.mem.ram).equals(Buffer.from(a.mem.ram))).toBe(true);
  });

  test('count on exactly past 2^32 instructions (the WebAssembly code counts from its entry)', () => {
    const a = machineWith(INTEGER, Infinity),
      b = machineWith(INTEGER, 1);
    for (const m of [a, b]) m.cpu.importState({ ...m.cpu.exportState(), instructionCount: 2 ** 32 - 5000 });
    const ta = trace(a, 777),
      tb = trace(b, 777);
    expect(b.cpu.wasmBlockCount).toBeGreaterThan(0);
    expect(tb).toEqual(ta);
    expect(b.cpu.instructionCount).toBeGreaterThan(2 ** 32);
  });

  test('the JavaScript backend and a second CPU on the same RAM keep regions JavaScript', () => {
    const js = machineWith(INTEGER, 1);
    js.cpu.regionBackend = 'js';
    trace(js, 777);
    expect(js.cpu.blockCount).toBeGreaterThan(0);
    expect(js.cpu.wasmBlockCount).toBe(0);
    // The first CPU made on a memory holds its TLB area; another one keeps tables of its own.
    const m = machineWith(INTEGER, Infinity);
    const second = new I386(m.mem, { readTsc: () => 0 });
    second.importState(m.cpu.exportState());
    second.blockThreshold = 1;
    expect(second.run(20_000)).toEqual({ kind: 'budget' });
    expect(second.blockCount).toBeGreaterThan(0);
    expect(second.wasmBlockCount).toBe(0);
  });

  test('a REP STOSD that faults part way keeps its progress, as the interpreter leaves it', () => {
    const program = `
    mov ebx, 300
  l:
    mov edi, 0x201ff8
    mov ecx, 5
    mov eax, ebx
    rep stosd
    dec ebx
    jnz l
    int 0x1f`;
    const run = (threshold: number): unknown[] => {
      const m = makeMachine();
      m.load(CODE, asm(program));
      m.setPte(0x202000, 0);
      m.cpu.blockThreshold = threshold;
      const out: unknown[] = [];
      for (let k = 0; k < 400; k++) {
        const e = m.cpu.run(500);
        out.push(e, m.cpu.exportState());
        // The fault leaves EDI at the unmapped page with 3 dwords to go: skip them.
        if (e.kind === 'exit' && e.vector === 14) m.cpu.eip = m.cpu.eip + 2;
        if (e.kind === 'exit' && e.vector === 0x1f) break;
      }
      out.push(m.cpu.wasmBlockCount > 0);
      return out;
    };
    const compiled = run(1);
    expect(compiled[compiled.length - 1]).toBe(true);
    expect(compiled).toEqual([...run(Infinity).slice(0, -1), true]);
  });
});
