// Machine snapshots in the workbench (browser mode, Chromium): boot the demo guest, type, take a
// snapshot, change the guest, restore it (paused, console as it was), resume and keep working.

import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, consoleOf, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-snap-');
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

const machineState = () => consoleOf(page).machineState();
const terminalText = () => consoleOf(page).terminalText();
const occurrences = (needle: string) => consoleOf(page).occurrences(needle);
const typeLine = (text: string) => consoleOf(page).typeLine(text);

describe('machine snapshots in the workbench', () => {
  it('boots the demo guest and takes a command', async () => {
    await page.locator('[data-machine="demo"] button').click();
    await page.getByRole('tab', { name: 'Console' }).click();
    await page.getByRole('button', { name: '▶ Start' }).click();
    await expect.poll(terminalText, { timeout: 30_000 }).toContain('demo$');
    await typeLine('echo before-snap');
    await expect.poll(() => occurrences('before-snap'), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
  });

  it('takes a snapshot that is listed as verified and lands in the data directory', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: /Take snapshot/ }).click();
    const row = page.locator('.snapshots-table tbody tr');
    await expect.poll(() => row.count(), { timeout: 20_000 }).toBe(1);
    expect(await row.locator('.badge').textContent()).toBe('verified');
    expect(await page.locator('.snapshots-note').textContent()).toMatch(/Saved and verified .*\.lgsnap/);
    const folder = join(wb.dataDir, 'snapshots', 'demo');
    expect(readdirSync(folder).filter((f) => f.endsWith('.lgsnap'))).toHaveLength(1);
    await page.screenshot({ path: artifact('snapshots-01-taken.png') });
  });

  it('restores the snapshot: the machine comes back paused with the console as it was', async () => {
    await page.getByRole('tab', { name: 'Console' }).click();
    await typeLine('echo after-snap');
    await expect.poll(() => occurrences('after-snap'), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: 'Restore…' }).click();
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    // The shell switches to the console of the restored machine.
    await expect.poll(machineState, { timeout: 30_000 }).toBe('paused');
    await expect.poll(() => page.getByRole('tab', { name: 'Console' }).getAttribute('aria-selected')).toBe('true');
    await expect.poll(() => occurrences('before-snap'), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    expect(await terminalText()).not.toContain('after-snap');
    await page.screenshot({ path: artifact('snapshots-02-restored-paused.png') });
  });

  it('resumes the restored guest, which answers commands', async () => {
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(machineState).not.toBe('paused');
    await typeLine('echo resumed-ok');
    await expect.poll(() => occurrences('resumed-ok'), { timeout: 20_000 }).toBeGreaterThanOrEqual(2);
    expect(await terminalText()).not.toContain('after-snap');
    await new Promise((r) => setTimeout(r, 300));
    await page.screenshot({ path: artifact('snapshots-03-resumed.png') });
  });

  it('lists a corrupt snapshot file with its error, cannot restore it, and leaves it on disk until deleted', async () => {
    const folder = join(wb.dataDir, 'snapshots', 'demo');
    const [good] = readdirSync(folder).filter((f) => f.endsWith('.lgsnap'));
    const bytes = readFileSync(join(folder, good!));
    bytes[bytes.length >> 1]! ^= 0x10;
    writeFileSync(join(folder, 'zz-damaged.lgsnap'), bytes);
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: '↻ Refresh' }).click();
    const bad = page.locator('tr[data-snapshot="zz-damaged.lgsnap"]');
    await expect.poll(() => bad.count()).toBe(1);
    expect(await bad.locator('.badge').textContent()).toBe('unusable');
    expect(await bad.locator('.snapshots-error').textContent()).toMatch(/checksum at offset \d+ does not match/);
    expect(await bad.getByRole('button', { name: 'Restore…' }).isDisabled()).toBe(true);
    expect(existsSync(join(folder, 'zz-damaged.lgsnap'))).toBe(true);
    // The confirmation step, on the good snapshot.
    await page.locator(`tr[data-snapshot="${good}"]`).getByRole('button', { name: 'Restore…' }).click();
    expect(await page.locator('.snapshots-actions .muted').textContent()).toBe(
      'Replace the machine with this snapshot?',
    );
    await page.screenshot({ path: artifact('snapshots-04-corrupt-and-confirm.png') });
    await page.getByRole('button', { name: 'Cancel' }).click();
    await bad.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => bad.count()).toBe(0);
    expect(existsSync(join(folder, 'zz-damaged.lgsnap'))).toBe(false);
  });

  it('deletes the snapshot after confirmation', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: 'Delete…' }).click();
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await expect.poll(() => page.locator('.snapshots-table tbody tr').count()).toBe(0);
    const folder = join(wb.dataDir, 'snapshots', 'demo');
    expect(existsSync(folder) ? readdirSync(folder).filter((f) => f.endsWith('.lgsnap')) : []).toEqual([]);
    await page.getByRole('button', { name: '■ Stop' }).click();
    await expect.poll(machineState).toBe('stopped');
  });

  it('had no errors in the page', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});
