// Hostile guests (hostile-guest.ts) through the `lguest` command on the real host and i386: every
// seed must end with a clean kill message (status 1) or a clean power-off (status 0), each with its
// one "lguest: " line; never an exception, an internal error, or a run that does not end.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NOTHING_CAN_WAKE, runLguest, type CliIo } from './cli';
import { exitTraceOf } from './exit-trace-lines';
import { HOSTILE_GUEST_MB, hostileGuest } from './hostile-guest';
import { defaultHost, launchGuest } from './launch';

const SEEDS = 240;
/** A seed whose run has not ended by then is a failure ("did not end"). */
const SEED_TIMEOUT_MS = 20_000;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-hostile-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Outcome {
  status: number | 'did not end';
  err: string;
}

/** Runs hostile guest `seed` as `lguest --fast 4 IMAGE` with stdin at its end (as from /dev/null). */
async function runSeed(seed: number): Promise<Outcome> {
  const image = join(dir, `hostile-${seed}.elf`);
  writeFileSync(image, hostileGuest(seed));
  let err = '';
  let stop: (() => void) | null = null;
  const io: CliIo = {
    stdout: () => {},
    stderr: (t) => (err += t),
    now: () => performance.now(),
    host: () => hostForRun!,
    listenInput(onData, onEnd) {
      // No keyboard: input ends at once. (Three Ctrl-C are the watchdog, if a run does not end.)
      queueMicrotask(onEnd);
      stop = () => [0, 1, 2].forEach(() => onData(Uint8Array.of(3)));
      return () => {};
    },
  };
  const hostForRun = await defaultHost();
  const watchdog = setTimeout(() => stop?.(), SEED_TIMEOUT_MS);
  try {
    const status = await runLguest(['--fast', String(HOSTILE_GUEST_MB), image], io);
    return { status: status === 2 ? 'did not end' : status, err };
  } finally {
    clearTimeout(watchdog);
  }
}

describe('hostile guests on the lguest command', () => {
  it('generates the same image for the same seed, and different ones for different seeds', () => {
    expect(hostileGuest(7)).toEqual(hostileGuest(7));
    expect(hostileGuest(7)).not.toEqual(hostileGuest(8));
  });

  it('as a process: a guest that halts for good ends with status 1 and the reason, not a silent 13', () => {
    // Seed 36 halts with no timer set; stdin is /dev/null. Node used to exit 13 here, printing nothing.
    const image = join(dir, 'hostile-36.elf');
    writeFileSync(image, hostileGuest(36));
    const bin = fileURLToPath(new URL('../../bin/lguest.js', import.meta.url));
    const r = spawnSync(process.execPath, [bin, '--fast', String(HOSTILE_GUEST_MB), image], {
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `lguest: ${NOTHING_CAN_WAKE}\n` });
  });

  it(`ends every one of ${SEEDS} seeds with a kill message or a power-off`, { timeout: 600_000 }, async () => {
    const bad: string[] = [];
    const reasons = new Map<string, number>();
    for (let seed = 1; seed <= SEEDS; seed++) {
      const { status, err } = await runSeed(seed);
      const lines = err.split('\n').filter((l) => l !== '');
      const clean =
        (status === 0 && err === 'lguest: powered off\n') ||
        (status === 1 && lines.length === 1 && /^lguest: \S/.test(lines[0]!) && !/internal error/.test(err));
      if (!clean) bad.push(`seed ${seed}: status ${status}, stderr ${JSON.stringify(err)}`);
      const kind = lines[0]?.replace(/0x[0-9a-f]+|\d+/g, 'N') ?? '(nothing)';
      reasons.set(kind, (reasons.get(kind) ?? 0) + 1);
    }
    console.log(
      `hostile guest endings over ${SEEDS} seeds:\n` +
        [...reasons]
          .sort((a, b) => b[1] - a[1])
          .map(([k, n]) => `  ${String(n).padStart(3)}  ${k}`)
          .join('\n'),
    );
    expect(bad).toEqual([]);
  });

  it('a kill the Launcher decides (seed 10: a DMA section outside guest memory) marks the SEND_DMA killed in the trace', async () => {
    const image = join(dir, 'hostile-10.elf');
    writeFileSync(image, hostileGuest(10));
    const logs: string[] = [];
    const guest = await launchGuest(
      { name: 'hostile-10', kernel: image, memoryMB: HOSTILE_GUEST_MB },
      { consoleOutput: () => {}, log: (l) => logs.push(l) },
    );
    try {
      let step = guest.step(1_000_000);
      for (let i = 0; i < 100 && step.kind === 'running'; i++) step = guest.step(1_000_000);
      expect(step).toMatchObject({ kind: 'dead', reason: expect.stringMatching(/^Invalid address .* lguest_dma/) });
      expect(logs.some((l) => l.startsWith('guest killed by the Launcher'))).toBe(true);
      const last = exitTraceOf(guest.file)!.last(1)[0]!;
      expect(last).toMatchObject({ vector: 0x1f, decision: 'killed', hypercall: { number: 13 } });
    } finally {
      guest.close();
    }
  });
});
