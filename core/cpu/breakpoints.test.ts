// Instruction breakpoints in the CPU: run() stops before the instruction at a breakpoint exactly
// where single-stepping would first see that EIP, with the region compiler on (eager) or off, when
// breakpoints come and go while regions of their page exist; and the program's result and budget
// accounting are those of a run without breakpoints.

import { describe, expect, test } from 'vitest';
import { CODE, asm, makeMachine, type TestMachine } from './test-machine';

const PROGRAM = `
    mov ecx, 400
    xor eax, eax
  l:
    add eax, ecx
    test ecx, 1
    jz even
    call fn
    jmp next
  even:
    xor eax, 0x55
  mid:
    mov edx, eax
    shr edx, 3
  next:
    dec ecx
    jnz l
    int 0x1f
  fn:
    rol eax, 3
    ret
    dd fn, even, mid`;
const code = asm(PROGRAM);
/** The addresses of fn, even (a block leader) and mid (inside a block), from the table at the end. */
const [FN, EVEN, MID] = [12, 8, 4].map((back) => new DataView(code.buffer).getUint32(code.length - back, true));

function fresh(threshold: number): TestMachine {
  const m = makeMachine();
  m.load(CODE, code);
  m.cpu.blockThreshold = threshold;
  return m;
}

/** Instruction counts at which the instruction at one of `eips` is about to run (single-stepped). */
function stepHits(eips: number[]): number[] {
  const m = fresh(Infinity);
  const out: number[] = [];
  for (;;) {
    if (eips.includes(m.cpu.eip)) out.push(m.cpu.icount);
    const e = m.cpu.run(1);
    if (e.kind === 'exit') return out;
  }
}

/** Runs with breakpoints in slices of `slice`, returning the counts and EIPs of the stops. */
function stops(m: TestMachine, slice: number): { count: number; eip: number }[] {
  const out: { count: number; eip: number }[] = [];
  for (;;) {
    m.cpu.breakUnspent = 0;
    const before = m.cpu.icount;
    const e = m.cpu.run(slice);
    if (e.kind === 'exit') return out;
    const used = slice - m.cpu.breakUnspent;
    // Only retired instructions use budget here (no exception is delivered).
    expect(m.cpu.icount - before).toBe(used);
    if (m.cpu.breakUnspent > 0) out.push({ count: m.cpu.icount, eip: m.cpu.eip });
  }
}

describe('instruction breakpoints in the CPU', () => {
  const reference = fresh(Infinity);
  const finalExit = reference.cpu.run(1_000_000);
  const finalState = reference.cpu.exportState();

  for (const [mode, threshold] of [
    ['eager', 1],
    ['off', Infinity],
  ] as const) {
    for (const slice of [1_000_000, 37]) {
      test(`stop where single-stepping first reaches them (compiler ${mode}, slices of ${slice})`, () => {
        const bps = [FN, MID];
        const expected = stepHits(bps);
        expect(expected.length).toBe(400);
        const m = fresh(threshold);
        m.cpu.setBreakpoints(bps);
        const got = stops(m, slice);
        // A stop whose slice ended exactly there is not told apart from the budget's end.
        expect(got.map((s) => s.count)).toEqual(expected.filter((c) => got.some((s) => s.count === c)));
        if (slice > 1000) expect(got.map((s) => s.count)).toEqual(expected);
        for (const s of got) expect(bps).toContain(s.eip);
        expect(m.cpu.exportState()).toEqual(finalState);
        if (threshold === 1) expect(m.cpu.regionRuns).toBeGreaterThan(0);
      });
    }

    test(`added and removed while regions of their page exist (compiler ${mode})`, () => {
      const m = fresh(threshold);
      expect(m.cpu.run(1500)).toEqual({ kind: 'budget' });
      const regionsBefore = m.cpu.blockCount;
      if (threshold === 1) expect(regionsBefore).toBeGreaterThan(0);
      const at = m.cpu.icount;
      m.cpu.setBreakpoints([MID]);
      const next = stepHits([MID]).find((c) => c > at)!;
      m.cpu.breakUnspent = 0;
      expect(m.cpu.run(1_000_000)).toEqual({ kind: 'budget' });
      expect(m.cpu.breakUnspent).toBeGreaterThan(0);
      expect({ count: m.cpu.icount, eip: m.cpu.eip }).toEqual({ count: next, eip: MID });
      // Resuming at the breakpoint runs its instruction; the next pass stops again.
      m.cpu.breakUnspent = 0;
      m.cpu.run(1_000_000);
      expect(m.cpu.eip).toBe(MID);
      expect(m.cpu.icount).toBe(stepHits([MID]).find((c) => c > next));
      // Removed: the rest runs to the end without stopping, through regions compiled again.
      m.cpu.setBreakpoints([]);
      m.cpu.breakUnspent = 0;
      expect(m.cpu.run(1_000_000)).toEqual(finalExit);
      expect(m.cpu.breakUnspent).toBe(0);
      expect(m.cpu.exportState()).toEqual(finalState);
      if (threshold === 1) expect(m.cpu.blockCount).toBeGreaterThan(regionsBefore);
    });
  }

  test('a breakpoint at a block leader inside a running region stops its entry from a branch', () => {
    const m = fresh(1);
    m.cpu.run(300);
    m.cpu.setBreakpoints([EVEN]);
    const at = m.cpu.icount;
    m.cpu.run(1_000_000);
    expect({ count: m.cpu.icount, eip: m.cpu.eip }).toEqual({ count: stepHits([EVEN]).find((c) => c > at), eip: EVEN });
  });
});
