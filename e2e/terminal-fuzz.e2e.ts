// A guest must never freeze the UI through its console. A test Launcher echoes console input back
// as guest output byte for byte, so this file can put any byte stream on the console of a running
// machine; the real terminal in Chromium shows it while a probe in the page records how long its
// main thread was blocked. Adversarial sequences (huge repeat/insert/scroll counts, sequences split
// by controls, floods) and seeded random escape-sequence streams each have to be shown, with the
// page answering throughout.

import fc from 'fast-check';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tsxWorkerSpec } from '../core/service/service';
import { openWorkbench, type Workbench } from './helpers';

/** Longest the page's main thread may be blocked while it shows one stream. Frozen pages took >100 s. */
const MAX_STALL_MS = 2000;
const INPUT_LIMIT = 65536;

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  const echo = new URL('../core/service/test-fixtures/echo-launcher.ts', import.meta.url).href;
  wb = await openWorkbench('lguest-e2e-term-', {
    worker: { ...tsxWorkerSpec(), extra: { launcherModule: echo } },
  });
  page = wb.page;
  const created = await wb.mode.service.call('configs.create', {
    config: { name: 'echo', kernel: 'test:echo', memoryMB: 8, cmdline: 'raw' },
  });
  expect(created.ok).toBe(true);
  await page.locator('[data-machine="echo"]').click({ timeout: 20_000 });
  expect(await wb.mode.service.call('machines.start', { id: 'echo' })).toMatchObject({ ok: true });
  await page.locator('[data-testid="terminal"]').getByText('hello from echo').waitFor({ timeout: 30_000 });
  // The probe: a 10 ms timer that records the longest gap between its ticks.
  await page.evaluate(() => {
    const w = window as unknown as { stall: { last: number; max: number } };
    w.stall = { last: performance.now(), max: 0 };
    setInterval(() => {
      const now = performance.now();
      w.stall.max = Math.max(w.stall.max, now - w.stall.last);
      w.stall.last = now;
    }, 10);
  });
});

/** The longest stall measured for each stream, printed at the end for the record. */
const stalls: string[] = [];

afterAll(async () => {
  if (stalls.length) console.log(`longest main-thread stall per stream (ms): ${stalls.join(', ')}`);
  await wb?.close();
});

async function screenText(): Promise<string> {
  const rows = await page.locator('[data-testid="terminal"] .xterm-rows > div').allTextContents();
  return rows.join('\n').replace(/\u00a0/g, ' ');
}

/** Resolves with the page's answer, or rejects when the page does not answer within `ms`. */
async function pageAnswers<T>(fn: () => T, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the page did not answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([page.evaluate(fn), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

let shown = 0;

/**
 * Puts `bytes` on the guest console, then a reset and a marker, waits until the terminal shows the
 * marker (so the whole stream was processed), and returns the longest main-thread stall meanwhile.
 */
async function show(bytes: Uint8Array): Promise<number> {
  await pageAnswers(() => {
    const w = window as unknown as { stall: { last: number; max: number } };
    w.stall.max = 0;
    w.stall.last = performance.now();
  }, MAX_STALL_MS);
  const marker = `shown-${++shown}`;
  const all = new Uint8Array([...bytes, ...new TextEncoder().encode(`\x18\x1bc${marker}`)]);
  for (let at = 0; at < all.length; at += INPUT_LIMIT) {
    const r = await wb.mode.service.call('console.input', { id: 'echo', data: all.subarray(at, at + INPUT_LIMIT) });
    expect(r.ok).toBe(true);
  }
  const t0 = Date.now();
  for (;;) {
    // Every look at the page must be answered promptly: a frozen page fails here, not by a timeout.
    const text = await pageAnswers(
      () => Array.from(document.querySelectorAll('[data-testid="terminal"] .xterm-rows > div'), (d) => d.textContent),
      MAX_STALL_MS,
    );
    if (text.join('\n').includes(marker)) break;
    if (Date.now() - t0 > 60_000) throw new Error(`the terminal never showed ${marker}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return pageAnswers(() => (window as unknown as { stall: { max: number } }).stall.max, MAX_STALL_MS);
}

const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);
const repeat = (s: string, times: number): Uint8Array => ascii(s.repeat(times));

const adversarial: [string, Uint8Array][] = [
  ['REP 999999999', ascii('x\x1b[999999999b')],
  ['IL 99999999', ascii('\x1b[99999999L')],
  ['DL, SU, SD 99999999', ascii('\x1b[99999999M\x1b[99999999S\x1b[99999999T')],
  ['ICH, DCH, ECH 99999999', ascii('\x1b[99999999@\x1b[99999999P\x1b[99999999X')],
  ['CHT, CBT 999999999', ascii('\x1b[999999999I\x1b[999999999Z')],
  ['SL, SR, DECIC, DECDC 99999999', ascii("\x1b[99999999 @\x1b[99999999 A\x1b[99999999'}\x1b[99999999'~")],
  ['CUP, DECSTBM 2^31', ascii('\x1b[2147483647;2147483647H\x1b[1;2147483647r')],
  ['U+009B CSI REP', ascii('y\u009b999999999b')],
  ['REP split by a line feed', ascii('z\x1b[9999\n99999b')],
  ['REP split across input messages', ascii(' '.repeat(INPUT_LIMIT - 3) + '\x1b[99999999b')],
  ['64 KiB of screen-sized REPs', repeat('a\x1b[999b', 8000)],
  ['64 KiB of screen-sized IL/DL', repeat('\x1b[999L\x1b[999M', 5000)],
  ['a CSI with 20000 parameters', ascii(`\x1b[${'9;'.repeat(20000)}m`)],
  ['1 MiB OSC title', ascii(`\x1b]0;${'t'.repeat(1 << 20)}\x07`)],
  ['DCS with huge numbers', ascii('\x1bP99999999;99999999q#0;2;0;0;0\x1b\\')],
];

const randomStreams = fc.sample(
  fc.array(
    fc.oneof(
      fc.constantFrom('\x1b[', '\u009b', '\x1b]', '\x1bP', '\x1b\\', '\x07', '\x18', '\n', '\r', ';', '?', ' ', "'"),
      fc.integer({ min: 0, max: 0x7fffffff }).map(String),
      fc.integer({ min: 0x40, max: 0x7e }).map((c) => String.fromCharCode(c)),
      fc.string({ unit: 'binary', maxLength: 8 }),
    ),
    { minLength: 200, maxLength: 2000 },
  ),
  { seed: 15, numRuns: 20 },
);

describe('the terminal under hostile console output', () => {
  for (const [name, bytes] of adversarial) {
    it(`stays responsive: ${name}`, async () => {
      const stall = await show(bytes);
      stalls.push(`${name} ${stall.toFixed(0)}`);
      expect(stall).toBeLessThan(MAX_STALL_MS);
    });
  }

  it('stays responsive under 20 seeded random escape-sequence streams', async () => {
    let worst = 0;
    for (const stream of randomStreams) {
      const stall = await show(ascii(stream.join('')));
      worst = Math.max(worst, stall);
      expect(stall).toBeLessThan(MAX_STALL_MS);
    }
    stalls.push(`random streams ${worst.toFixed(0)}`);
  });

  it('still shows ordinary output correctly afterwards', async () => {
    const text = '\x1b[2J\x1b[H\x1b[1;31mred\x1b[0m plain\r\nnext\x1b[3;1Hthird row';
    expect(await wb.mode.service.call('console.input', { id: 'echo', data: ascii(text) })).toMatchObject({ ok: true });
    await expect.poll(screenText, { timeout: 20_000 }).toMatch(/^red plain\s*\nnext\s*\nthird row/);
  });
});
