// Group snapshots in the workbench (browser mode, Chromium): two demo machines on lan0, a snapshot
// of the whole network from the Snapshots view (one entry, both members), a ping after it, then the
// group restored: both consoles as at the snapshot, and the two guests ping each other again.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, consoleOf, createDemoMachinesOn, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-groupsnap-');
  page = wb.page;
  await page.locator('[data-machine="demo"]').waitFor();
  await createDemoMachinesOn(page, 'lan0', ['a', 'b']);
});

afterAll(async () => {
  await wb?.close();
});

const terminalText = () => consoleOf(page).terminalText();

async function console(machine: string): Promise<void> {
  await page.locator(`[data-machine="${machine}"] button`).click();
  await page.getByRole('tab', { name: 'Console' }).click();
  await expect.poll(terminalText, { timeout: 30_000 }).toContain('demo$');
}

async function typeLine(text: string): Promise<void> {
  await page.locator('[data-testid="terminal"]').click();
  await page.keyboard.type(`${text}\r`, { delay: 15 });
}

describe('group snapshots in the workbench', () => {
  let group = '';

  it('snapshots both machines of lan0 from the Snapshots view, listed as one group', async () => {
    await page.getByRole('tab', { name: 'Networks' }).click();
    await page.locator('[data-network="lan0"]').getByRole('button', { name: '▶ Start all' }).click();
    await console('b');
    await typeLine('echo b-before-group');
    await expect.poll(terminalText, { timeout: 20_000 }).toMatch(/b-before-group[^]*b-before-group/);
    await console('a');
    await typeLine('echo a-before-group');
    await expect.poll(terminalText, { timeout: 20_000 }).toMatch(/a-before-group[^]*a-before-group/);

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: '◉ Snapshot network lan0' }).click();
    const row = page.locator('[data-testid="group-snapshots"] tr[data-group]');
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(1);
    group = (await row.getAttribute('data-group'))!;
    expect(group).toMatch(/^lan0-.*\.lggroup$/);
    expect(await row.locator('.badge').textContent()).toBe('verified');
    expect(await row.locator('[data-group-member="a"]').textContent()).toBe('a · slot 0 · 02:00:00:00:00:00');
    expect(await row.locator('[data-group-member="b"]').textContent()).toBe('b · slot 1 · 02:00:01:00:00:00');
    expect(existsSync(join(wb.dataDir, 'group-snapshots', group))).toBe(true);
    // a's own member file is marked as the group's: it is restored and deleted with it.
    const memberRow = page
      .locator('.snapshots-table tr[data-snapshot]')
      .filter({ has: page.locator('[data-member-of]') });
    await expect.poll(() => memberRow.count()).toBe(1);
    expect(await memberRow.getByRole('button', { name: 'Restore…' }).isDisabled()).toBe(true);
    await page.screenshot({ path: artifact('group-snapshots-01-taken.png') });
  });

  it('restores the group after more traffic: both consoles as at the snapshot, and they ping again', async () => {
    await console('a');
    await typeLine('net ping 3');
    await expect.poll(terminalText, { timeout: 30_000 }).toMatch(/3 sent, 3 replies/);

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    const row = page.locator(`[data-group="${group}"]`);
    await row.getByRole('button', { name: 'Restore group…' }).click();
    await row.getByRole('button', { name: 'Restore group', exact: true }).click();
    // The shell shows the console of the restored machine.
    await expect
      .poll(() => page.getByRole('tab', { name: 'Console' }).getAttribute('aria-selected'), {
        timeout: 30_000,
      })
      .toBe('true');
    await expect.poll(terminalText, { timeout: 20_000 }).toContain('a-before-group');
    expect(await terminalText()).not.toContain('3 replies');
    await console('b');
    expect(await terminalText()).toContain('b-before-group');
    await typeLine('net ping 2');
    await expect.poll(terminalText, { timeout: 30_000 }).toMatch(/1 peer\(s\), 2 sent, 2 replies/);
    await page.screenshot({ path: artifact('group-snapshots-02-restored.png') });
    expect(wb.pageErrors).toEqual([]);
  });
});
