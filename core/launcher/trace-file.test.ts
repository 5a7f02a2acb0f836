// --trace files: JSON lines drained from a guest's exit trace, a "lost" line when the ring
// overflowed between drains, and nothing at FILE until it is complete.

import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DECISION_REFLECTED, ExitTrace } from '../host/exit-trace';
import { TraceFile } from './trace-file';

const dir = mkdtempSync(join(tmpdir(), 'lguest-tracefile-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('TraceFile', () => {
  it('writes each event once, says how many the ring lost, and appears only when closed', () => {
    const path = join(dir, 'exits.jsonl');
    const file = new TraceFile(path);
    const trace = new ExitTrace(4);
    trace.record(1, 13, 0x100, 0, DECISION_REFLECTED);
    trace.record(2, 13, 0x102, 0, DECISION_REFLECTED);
    file.drain('g', trace);
    file.drain('g', trace); // nothing new
    for (let i = 3; i <= 9; i++) trace.record(i, 6, 0x200 + i, 0, DECISION_REFLECTED);
    file.drain('g', trace);
    expect(existsSync(path)).toBe(false);
    file.close();
    const lines = readFileSync(path, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.instruction ?? `lost ${String(l.lost)}`)).toEqual([1, 2, 'lost 3', 6, 7, 8, 9]);
    expect(lines[0]).toEqual({
      guest: 'g',
      instruction: 1,
      vector: 13,
      eip: 0x100,
      code: 0,
      hypercall: null,
      decision: 'reflected',
      kind: '#GP',
    });
  });
});
