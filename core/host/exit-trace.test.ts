// The exit trace on real test guests: what each exit was and what the Host decided, the kill
// marked on the event that caused it, and the ring buffer keeping only the newest events.

import { describe, expect, it } from 'vitest';
import { ExitTrace, DECISION_EMULATED, DECISION_REFLECTED } from './exit-trace';
import { guestImage, loadRealCpu } from './testing/real-cpu';
import { launchTestGuest, type TestGuest } from './test-launcher';
import type { RunResult } from './api';

const real = await loadRealCpu();

function runToEvent(g: TestGuest): RunResult {
  for (let i = 0; i < 100; i++) {
    const r = g.file.run({ budget: 100_000 });
    if (typeof r === 'number') throw new Error(`run() = ${r}`);
    if (r.kind !== 'slice') return r;
  }
  throw new Error('guest still running');
}

describe('ExitTrace ring buffer', () => {
  it('keeps the newest events oldest first, and decide() reaches only events still held', () => {
    const t = new ExitTrace(3);
    for (let i = 0; i < 5; i++) t.record(i * 10, 13, 0x1000 + i, 0, DECISION_REFLECTED);
    expect(t.recorded).toBe(5);
    expect(t.last().map((e) => e.instruction)).toEqual([20, 30, 40]);
    expect(t.last(2).map((e) => e.eip)).toEqual([0x1003, 0x1004]);
    t.decide(1, DECISION_EMULATED); // overwritten long ago: no effect on the slot now holding #4
    t.decide(4, DECISION_EMULATED);
    expect(t.last().map((e) => e.decision)).toEqual(['reflected', 'reflected', 'emulated']);
  });

  it('a hypercall slot reused by an exit carries no stale arguments', () => {
    const t = new ExitTrace(1);
    t.recordHypercall(5, 0x2000, 13, 1, 2, 3, DECISION_REFLECTED);
    expect(t.last()[0]!.hypercall).toEqual({ number: 13, args: [1, 2, 3] });
    t.record(6, 14, 0x2002, 0xdead000, DECISION_REFLECTED);
    expect(t.last()[0]).toMatchObject({ vector: 14, code: 0xdead000, hypercall: null });
  });
});

describe.skipIf(!real.factory)(`exit trace on the i386 ${real.error}`, () => {
  const boot = (name: string): TestGuest => launchTestGuest({ createCpu: real.factory!, image: guestImage(name) });

  it('io: five #GP(0) exits emulated, then the CRASH hypercall that killed it', () => {
    const g = boot('io');
    expect(runToEvent(g)).toMatchObject({ kind: 'dead', reason: 'CRASH: io done' });
    const events = g.lg.trace.last();
    const gps = events.filter((e) => e.vector === 13);
    expect(gps).toHaveLength(5);
    expect(gps.every((e) => e.decision === 'emulated' && e.code === 0)).toBe(true);
    const last = events[events.length - 1]!;
    expect(last).toMatchObject({ vector: 0x1f, decision: 'killed' });
    expect(last.hypercall?.number).toBe(2); // LHCALL_CRASH
    // Instruction counts never go backwards.
    for (let i = 1; i < events.length; i++)
      expect(events[i]!.instruction).toBeGreaterThanOrEqual(events[i - 1]!.instruction);
    // Shadow misses were fixed without the guest seeing them.
    expect(events.some((e) => e.vector === 14 && e.decision === 'demand-paged')).toBe(true);
  });

  it('unhandled: the #UD with no gate is the killed event, at the EIP of the kill message', () => {
    const g = boot('unhandled');
    const r = runToEvent(g);
    const last = g.lg.trace.last(1)[0]!;
    expect(last).toMatchObject({ vector: 6, decision: 'killed', hypercall: null });
    expect(r).toMatchObject({ reason: `unhandled trap 6 at 0x${last.eip.toString(16)} (0x0)` });
  });

  it('all-hcalls: ring hypercalls are counted apart from int $0x1f ones, and traced with arguments', () => {
    const g = boot('all-hcalls');
    const r = runToEvent(g);
    expect(r).toMatchObject({ kind: 'dma', key: 0x100 });
    expect(g.lg.trace.last().filter((e) => e.decision === 'dma')).toHaveLength(1);
    runToEvent(g);
    expect(g.lg.ringHypercalls.reduce((a, b) => a + b, 0)).toBe(2);
    const ring = g.lg.trace.last().filter((e) => e.decision === 'ring-hypercall');
    expect(ring).toHaveLength(2);
    expect(ring.map((e) => g.lg.ringHypercalls[e.hypercall!.number]! > 0)).toEqual([true, true]);
  });

  it('timer-spin: each injected timer interrupt is traced as vector 32', () => {
    const g = boot('timer-spin');
    expect(runToEvent(g)).toMatchObject({ kind: 'dead', reason: 'CRASH: spun' });
    const injected = g.lg.trace.last().filter((e) => e.decision === 'injected');
    expect(injected.map((e) => e.vector)).toEqual([32, 32, 32]);
  });
});

describe('ExitTrace.since', () => {
  it('continues a stream from a sequence number and counts what was overwritten meanwhile', () => {
    const t = new ExitTrace(4);
    for (let i = 0; i < 3; i++) t.record(i, 6, 0, 0, DECISION_REFLECTED);
    const a = t.since(0);
    expect([a.lost, a.records.length]).toEqual([0, 3]);
    for (let i = 3; i < 10; i++) t.record(i, 6, 0, 0, DECISION_REFLECTED);
    const b = t.since(3);
    expect(b.lost).toBe(3);
    expect(b.records.map((e) => e.instruction)).toEqual([6, 7, 8, 9]);
    expect(t.since(t.recorded)).toEqual({ lost: 0, records: [] });
  });
});
