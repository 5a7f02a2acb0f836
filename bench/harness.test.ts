// The benchmark harness kernel on this project's emulator through the real Launcher: a small
// program runs as a CPL-3 process to the checksum the same image gives natively, and a program
// that touches kernel memory stops the run with the harness's fault report.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeWorkspace } from '../core/cpu/difftest/native';
import { buildHarness, buildProgram } from './build';
import { runOnLguest } from './lguest-run';
import { MarkerClock } from './markers';

const dir = mkdtempSync(join(tmpdir(), 'bench-harness-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function program(name: string, body: string) {
  const source = join(dir, `${name}.c`);
  writeFileSync(source, `#include "bench.h"\nu32 bench_main(void) {\n${body}\n}\n`);
  return buildProgram(dir, name, source);
}

describe('bench harness on lguest', () => {
  it('runs programs at CPL 3 to their native checksums, each from a zeroed region', async () => {
    // Sum of squares plus x87, then a static that must read as zero on each fresh run.
    const squares = program(
      'squares',
      `static u32 once; u32 s = once; once = 7;
       for (u32 i = 0; i < 5000; i++) s += i * i;
       double d = 0; for (int i = 1; i <= 100; i++) d += 1.0 / i;
       return s ^ (u32)(d * 1e6);`,
    );
    let expected = 0;
    for (let i = 0; i < 5000; i++) expected = (expected + i * i) >>> 0;
    let d = 0;
    for (let i = 1; i <= 100; i++) d += 1 / i;
    expected = (expected ^ Math.trunc(d * 1e6)) >>> 0;
    const ws = new NativeWorkspace();
    try {
      expect(ws.runBench(squares.image, 1)[0]![0]).toBe(expected);
    } finally {
      ws.dispose();
    }
    const kernels = buildHarness(dir, [squares, { ...squares, name: 'again' }]);
    const run = await runOnLguest(kernels.lguest);
    expect(run.programs.map((p) => [p.name, p.checksum])).toEqual([
      ['squares', expected],
      ['again', expected],
    ]);
    for (const p of run.programs) expect(p.ms).toBeGreaterThan(0);
  });

  it('reports a program that touches kernel memory as a page fault and fails the run', async () => {
    const bad = program('bad', 'return *(volatile u32 *)0xc0100000;');
    const kernels = buildHarness(dir, [bad]);
    await expect(runOnLguest(kernels.lguest)).rejects.toThrow(/bench: fault 0000000e 00000005 /);
  });
});

describe('MarkerClock', () => {
  it('times each program between its start and end lines and needs "bench: done"', () => {
    let now = 0;
    const clock = new MarkerClock(() => now);
    now = 5;
    clock.feed('bench: ready\r\nbench: start a\n');
    now = 12;
    clock.feed('bench: end a 0000002a\nbench: do');
    expect(() => clock.result('test')).toThrow(/did not finish/);
    clock.feed('ne\n');
    expect(clock.result('test')).toEqual({ bootMs: 5, programs: [{ name: 'a', checksum: 42, ms: 7 }] });
  });
});
