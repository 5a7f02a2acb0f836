// The demo guest in the workbench (browser mode), used the way a person would: the first start
// seeds a "demo" machine, it boots on the built-in image, commands typed into the xterm console
// answer there, and `crash` leaves a dead machine with the guest's reason in the UI.

import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, openWorkbench, type Workbench } from './helpers';

const BOOT_TIMEOUT = 90_000;
const COMMAND_TIMEOUT = 30_000;

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-demo-');
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

const state = () => page.locator('[data-testid="machine-state"]');
const terminal = () => page.locator('[data-testid="terminal"]');

/** The rows xterm shows (DOM renderer: one div per row), trailing blanks and NBSPs normalised. */
async function screenLines(): Promise<string[]> {
  const rows = await page.locator('[data-testid="terminal"] .xterm-rows > div').allTextContents();
  const lines = rows.map((r) => r.replace(/\u00a0/g, ' ').trimEnd());
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function lastLine(): Promise<string> {
  return (await screenLines()).at(-1) ?? '';
}

/**
 * Types a command at the guest's prompt and returns the lines it printed: those between the echoed
 * `demo$ CMD` line and the next prompt. Types only once the prompt is shown.
 */
async function runCommand(cmd: string): Promise<string[]> {
  await expect.poll(lastLine, { timeout: COMMAND_TIMEOUT }).toBe('demo$');
  await page.keyboard.type(cmd, { delay: 15 });
  await page.keyboard.press('Enter');
  let output: string[] | null = null;
  await expect
    .poll(
      async () => {
        const lines = await screenLines();
        const echo = lines.lastIndexOf(`demo$ ${cmd}`);
        if (echo < 0 || lines.at(-1) !== 'demo$' || lines.length - 1 <= echo) return null;
        output = lines.slice(echo + 1, lines.length - 1);
        return output;
      },
      { timeout: COMMAND_TIMEOUT, message: `output of "${cmd}" followed by a new prompt` },
    )
    .not.toBeNull();
  return output!;
}

describe('the demo guest in the workbench', () => {
  it('is there by default: the first start created a "demo" config on the built-in image', async () => {
    await expect.poll(() => page.locator('[data-machine="demo"]').count(), { timeout: 20_000 }).toBe(1);
    expect(readdirSync(wb.mode.configDir)).toEqual(['demo.json']);
    const config = JSON.parse(readFileSync(join(wb.mode.configDir, 'demo.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ name: 'demo', kernel: 'builtin:demo' });
    expect(config.blockDevices ?? []).toEqual([]);
  });

  it('boots to its prompt in the console', async () => {
    await page.locator('[data-machine="demo"]').locator('button').click();
    await page.getByRole('tab', { name: 'Console' }).click();
    await expect.poll(() => state().textContent()).toBe('stopped');
    const startedAt = performance.now();
    await page.getByRole('button', { name: '▶ Start' }).click();
    await expect
      .poll(async () => (await screenLines()).includes('lguest demo guest ready'), { timeout: BOOT_TIMEOUT })
      .toBe(true);
    console.log(
      `workbench: Start -> "lguest demo guest ready" on screen in ${(performance.now() - startedAt).toFixed(0)} ms`,
    );
    await expect.poll(lastLine, { timeout: COMMAND_TIMEOUT }).toBe('demo$');
    expect(await state().textContent()).toMatch(/^(running|idle|halted)$/);
    const lines = await screenLines();
    expect(lines[0]).toMatch(/^lguest demo guest \S+/);
    expect(lines).toContain('Booting paravirtualized kernel on lguest (guest id 0)');
    expect(lines).toContain('demofs: no block device');
    await terminal().click();
  }, 240_000);

  it('uname', async () => {
    expect(await runCommand('uname')).toEqual([expect.stringMatching(/^lguest-demo \S+ i686$/)]);
  });

  it('ls without a disk says there is nothing to list', async () => {
    expect(await runCommand('ls')).toEqual(['no block device (start the guest with a disk image)']);
  });

  it('trace echo hi: the output, then the hypercalls it caused', async () => {
    const out = await runCommand('trace echo hi');
    expect(out[0]).toBe('hi');
    const total = /^trace: (\d+) hypercalls \((\d+) synchronous, (\d+) through the async ring, \d+ ring-full\)$/.exec(
      out[1] ?? '',
    );
    expect(total, out.join('\n')).not.toBeNull();
    expect(Number(total![1])).toBeGreaterThan(0);
    expect(out[2]).toMatch(/^\s+nr\s+name\s+sync\s+async$/);
    expect(out).toContainEqual(expect.stringMatching(/^\s+13\s+SEND_DMA\s+[1-9]\d*\s+\d+$/));
    expect(out).toContainEqual(expect.stringMatching(/^\s+1 (int |ring) SEND_DMA\(0x0, 0x[0-9a-f]+, 0x[0-9a-f]+\)$/));
    await page.screenshot({ path: artifact('demo-guest-01-commands.png') });
  });

  it('crash e2e-crash: the machine is dead and the UI says why', async () => {
    await expect.poll(lastLine, { timeout: COMMAND_TIMEOUT }).toBe('demo$');
    await page.keyboard.type('crash e2e-crash', { delay: 15 });
    await page.keyboard.press('Enter');
    await expect.poll(() => state().textContent(), { timeout: COMMAND_TIMEOUT }).toBe('dead');
    await expect
      .poll(() => page.locator('.console-note-dead').textContent())
      .toBe('The machine is dead: CRASH: e2e-crash');
    expect(await page.locator('.statusbar .status-reason').textContent()).toBe('— CRASH: e2e-crash');
    expect(await page.locator('[data-machine="demo"] .badge').textContent()).toBe('dead');
    // The console keeps what the guest printed up to its end.
    expect(await screenLines()).toContain('demo$ crash e2e-crash');
    await expect.poll(() => page.getByRole('button', { name: '▶ Start' }).isEnabled()).toBe(true);
    await page.screenshot({ path: artifact('demo-guest-02-crashed.png') });
  });

  it('had no errors in the page', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});
