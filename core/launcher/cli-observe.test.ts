// `lguest --stats`, `--trace=FILE` and the exits printed with a death (-v), on the real host running
// the demo guest: it boots, the keyboard sends `crash boom`, and the guest dies of LHCALL_CRASH.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLguest, type CliIo } from './cli';
import { parseLguestArgs, UsageError } from './cli-args';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-observe-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * A terminal that types `line` once the demo guest's prompt appeared, with a clock that moves
 * 100 ms at every look (with --fast only --stats reads it), so the intervals do not hang on speed.
 */
function terminal(line: string): CliIo & { out: string; err: string } {
  let onData: ((b: Uint8Array) => void) | null = null;
  let typed = false;
  let clock = 0;
  const t = {
    out: '',
    err: '',
    stdout(b: Uint8Array) {
      t.out += new TextDecoder().decode(b);
      if (!typed && t.out.includes('demo$ ')) {
        typed = true;
        onData?.(new TextEncoder().encode(line));
      }
    },
    stderr: (s: string) => (t.err += s),
    now: () => (clock += 100),
    listenInput(d: (b: Uint8Array) => void) {
      onData = d;
      return () => (onData = null);
    },
  };
  return t;
}

describe('lguest --stats and --trace', () => {
  it('parses the options and refuses a bad interval', () => {
    expect(parseLguestArgs(['--stats', '4', 'k'])).toMatchObject({ statsSeconds: 1 });
    expect(parseLguestArgs(['--stats=0.5', '--trace=t.jsonl', '4', 'k'])).toMatchObject({
      statsSeconds: 0.5,
      trace: 't.jsonl',
    });
    expect(() => parseLguestArgs(['--stats=0', '4', 'k'])).toThrow(UsageError);
    expect(() => parseLguestArgs(['--stats=often', '4', 'k'])).toThrow(/--stats=often: the interval/);
    expect(() => parseLguestArgs(['--trace', '4', 'k'])).toThrow(/--trace needs a value/);
  });

  it('prints rate lines, writes every exit as JSON lines, and with -v the exits before the death', async () => {
    const file = join(dir, 'trace.jsonl');
    const t = terminal('crash boom\r');
    const status = await runLguest(['-v', '--fast', '--stats=0.1', `--trace=${file}`, '32', 'builtin:demo'], t);
    expect(status).toBe(1);
    expect(t.err).toMatch(/lguest: CRASH: boom\n {2}last 16 exits before it:\n/);
    // The exit lines right under the reason (--verbose goes on with its own lines after them).
    const after = t.err.split('last 16 exits before it:\n')[1]!.split('\n');
    const deathLines = after.slice(
      0,
      after.findIndex((l) => !l.startsWith('    @')),
    );
    expect(deathLines).toHaveLength(16);
    expect(deathLines[15]).toMatch(/^ {4}@\d+ eip 0x[0-9a-f]+ hypercall CRASH\(0x[0-9a-f]+, 0x0, 0x0\) -> killed$/);
    expect(t.err).toMatch(
      /lguest: stats: [\d.]+[kM]? instr\/s; exits\/s: .*#PF [\d.]+[kM]?.*; hypercalls\/s: [\d.]+[kM]? sync \+ [\d.]+[kM]? ring/,
    );
    expect(existsSync(`${file}.${process.pid}.tmp`)).toBe(false);
    const lines = readFileSync(file, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.length).toBeGreaterThan(100);
    // The ring holds 4096 events and is drained every slice: nothing was lost on this boot.
    expect(lines.some((l) => 'lost' in l)).toBe(false);
    const kinds = new Set(lines.map((l) => l.decision));
    for (const k of ['demand-paged', 'hypercall', 'ring-hypercall', 'dma', 'injected', 'killed'])
      expect(kinds).toContain(k);
    const last = lines[lines.length - 1]!;
    expect(last).toMatchObject({ guest: 'builtin-demo', vector: 31, decision: 'killed', kind: 'hypercall CRASH' });
    const counts = lines.map((l) => l.instruction as number);
    expect(counts.every((n, i) => i === 0 || n >= counts[i - 1]!)).toBe(true);
  });
});
