// Networks in the workbench (browser mode, Chromium): two demo machines on lan0 run on the one
// lguest host; the Networks view starts them, shows both with counters that move while one pings
// the other, and records the traffic into a pcap file that tshark decodes.

import { execFileSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, consoleOf, createDemoMachinesOn, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-net-');
  page = wb.page;
  await page.locator('[data-machine="demo"]').waitFor();
  await createDemoMachinesOn(page, 'lan0', ['a', 'b']);
});

afterAll(async () => {
  await wb?.close();
});

const terminalText = () => consoleOf(page).terminalText();
const member = (name: string) => page.locator(`[data-network="lan0"] tr[data-member="${name}"]`);
const counter = async (name: string, which: 'txFrames' | 'rxFrames'): Promise<number> =>
  Number(await member(name).locator(`[data-counter="${which}"]`).textContent());

describe('networks between workbench machines', () => {
  it('starts both machines of lan0 from the Networks view; each gets its own slot and MAC', async () => {
    await page.getByRole('tab', { name: 'Networks' }).click();
    await page.locator('[data-network="lan0"]').getByRole('button', { name: '▶ Start all' }).click();
    await expect.poll(() => member('b').locator('td.mono').first().textContent(), { timeout: 30_000 }).toBe('1');
    expect(await member('a').locator('td.mono').first().textContent()).toBe('0');
    expect(await member('a').locator('td.mono').nth(1).textContent()).toBe('02:00:00:00:00:00');
    expect(await member('b').locator('td.mono').nth(1).textContent()).toBe('02:00:01:00:00:00');
  });

  it('net ping 3 in a gets 3 replies; the counters moved and a capture opens in tshark with the ICMP frames', async () => {
    await page.locator('[data-network="lan0"]').getByRole('button', { name: '● Capture' }).click();
    await expect.poll(() => page.locator('[data-testid="capture-status"]').count()).toBe(1);

    await page.locator('[data-machine="a"] button').click();
    await page.getByRole('tab', { name: 'Console' }).click();
    await expect.poll(terminalText, { timeout: 30_000 }).toContain('demo$');
    await page.locator('[data-testid="terminal"]').click();
    await page.keyboard.type('net ping 3\r', { delay: 15 });
    await expect.poll(terminalText, { timeout: 30_000 }).toMatch(/ping: 1 peer\(s\), 3 sent, 3 replies in \d+ ms/);

    await page.getByRole('tab', { name: 'Networks' }).click();
    await expect.poll(() => counter('a', 'txFrames')).toBe(3);
    expect(await counter('a', 'rxFrames')).toBe(3);
    expect(await counter('b', 'rxFrames')).toBe(3);
    expect(await counter('b', 'txFrames')).toBe(3);
    await page.screenshot({ path: artifact('networks-01-counters.png') });

    await page.getByRole('button', { name: 'Stop capture' }).click();
    const note = page.locator('[data-testid="networks"] .snapshots-note');
    await expect.poll(() => note.textContent()).toMatch(/Capture saved: .*\.pcap \(6 frames\)/);
    const file = /Capture saved: (.*\.pcap) \(/.exec((await note.textContent())!)![1]!;
    const rows = execFileSync('tshark', ['-r', file, '-T', 'fields', '-e', 'ip.src', '-e', 'icmp.type'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(rows.trim().split('\n').sort()).toEqual([
      '10.0.0.1\t8',
      '10.0.0.1\t8',
      '10.0.0.1\t8',
      '10.0.0.2\t0',
      '10.0.0.2\t0',
      '10.0.0.2\t0',
    ]);
    expect(wb.pageErrors).toEqual([]);
  });

  it('stops all machines of the network from the view', async () => {
    await page.locator('[data-network="lan0"]').getByRole('button', { name: '■ Stop all' }).click();
    await expect.poll(() => member('a').locator('.badge').textContent(), { timeout: 20_000 }).toBe('stopped');
    expect(await member('b').locator('.badge').textContent()).toBe('stopped');
  });
});
