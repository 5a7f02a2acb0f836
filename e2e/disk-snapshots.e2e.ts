// Snapshots that include disks (browser mode, Chromium): the demo guest writes a file to its disk,
// a snapshot is taken, the guest writes more and deletes the file; the restore brings the file back
// and the later writes are gone. A disposable run leaves its disk image byte-identical.

import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, consoleOf, openWorkbench, type Workbench } from './helpers';

const MKFS = fileURLToPath(new URL('../assets/guests/demo/mkfs.ts', import.meta.url));
let wb: Workbench;
let page: Page;
let disk: string;
let diskSha: string;

const sha = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-disksnap-');
  page = wb.page;
  disk = join(wb.dataDir, 'demo-disk.img');
  execFileSync(process.execPath, ['--import', 'tsx', MKFS, disk]);
  diskSha = sha(disk);
  const service = wb.mode.service;
  await service.call('configs.create', {
    config: { name: 'diskdemo', kernel: 'builtin:demo', memoryMB: 32, blockDevices: [{ path: disk }] },
  });
  await service.call('configs.create', {
    config: {
      name: 'throwaway',
      kernel: 'builtin:demo',
      memoryMB: 32,
      blockDevices: [{ path: disk }],
      disposable: true,
    },
  });
});

afterAll(async () => {
  await wb?.close();
});

const machineState = () => consoleOf(page).machineState();
const terminalText = () => consoleOf(page).terminalText();
const occurrences = (needle: string) => consoleOf(page).occurrences(needle);
const typeLine = (text: string) => consoleOf(page).typeLine(text, 10);

/** Types a command and waits until `answer` shows up once more (in the echo or the reply). */
async function run(command: string, answer: string): Promise<void> {
  const before = await occurrences(answer);
  await typeLine(command);
  await expect.poll(() => occurrences(answer), { timeout: 20_000 }).toBeGreaterThanOrEqual(before + 1);
}

async function boot(machine: string): Promise<void> {
  await page.locator(`[data-machine="${machine}"] button`).first().click();
  await page.getByRole('tab', { name: 'Console' }).click();
  // The console shows this machine's (empty) output before it starts, not the last machine's.
  await expect.poll(terminalText, { timeout: 10_000 }).not.toContain('demo$');
  await page.getByRole('button', { name: '▶ Start' }).click();
  await expect.poll(terminalText, { timeout: 30_000 }).toContain('demo$');
}

async function stop(): Promise<void> {
  await page.getByRole('button', { name: '■ Stop' }).click();
  await expect.poll(machineState, { timeout: 20_000 }).toBe('stopped');
}

describe('snapshots that include disks', () => {
  it('restores the disk with the machine: the deleted file is back, later writes are gone', async () => {
    await boot('diskdemo');
    // "write" shows the text in its echoed command line; "cat" prints it once more.
    await run('write keep first-content', 'wrote 14 bytes to keep');
    await run('cat keep', 'first-content');

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: /Take snapshot/ }).click();
    await expect.poll(() => page.locator('.snapshots-table tbody tr').count(), { timeout: 20_000 }).toBe(1);

    await page.getByRole('tab', { name: 'Console' }).click();
    await run('write later second-content', 'second-content');
    await run('rm keep', 'rm keep');
    await run('cat keep', 'keep: ');
    await page.screenshot({ path: artifact('disk-snapshots-01-deleted.png') });

    // What changed since the snapshot: guest pages, registers, and the disk blocks of the writes.
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: 'Diff…' }).click();
    await page.getByRole('button', { name: 'Compare', exact: true }).click();
    const diff = page.getByTestId('snapshot-diff');
    await expect.poll(() => diff.count(), { timeout: 20_000 }).toBe(1);
    expect(Number(await diff.getByTestId('diff-pages').textContent())).toBeGreaterThan(0);
    expect(Number(await diff.getByTestId('diff-disk-blocks').textContent())).toBeGreaterThan(0);
    expect(await diff.locator('tr[data-register="instructions"]').count()).toBe(1);
    await page.screenshot({ path: artifact('disk-snapshots-02-diff.png') });
    await page.getByRole('button', { name: 'Close', exact: true }).click();

    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: 'Restore…' }).click();
    await page.getByRole('button', { name: 'Restore', exact: true }).click();
    await expect.poll(machineState, { timeout: 30_000 }).toBe('paused');
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(machineState).not.toBe('paused');
    expect(await terminalText()).not.toContain('second-content');

    // What the last "ls" listed: the file is back, the later one is not there.
    const lastLs = async (): Promise<string> => {
      const t = await terminalText();
      return t.slice(t.lastIndexOf('demo$ ls'));
    };
    await typeLine('ls');
    await expect.poll(lastLs, { timeout: 20_000 }).toMatch(/keep[\s\S]*demo\$/);
    expect(await lastLs()).not.toContain('later');
    const before = await occurrences('first-content');
    await typeLine('cat keep');
    await expect.poll(() => occurrences('first-content'), { timeout: 20_000 }).toBeGreaterThanOrEqual(before + 1);
    await page.screenshot({ path: artifact('disk-snapshots-03-restored.png') });

    // A snapshot after the restore is a child of the restored one in the tree.
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    await page.getByRole('button', { name: /Take snapshot/ }).click();
    const rowsOf = page.locator('.snapshots-table tbody tr');
    await expect.poll(() => rowsOf.count(), { timeout: 20_000 }).toBe(2);
    expect(await rowsOf.nth(0).getAttribute('data-depth')).toBe('0');
    expect(await rowsOf.nth(1).getAttribute('data-depth')).toBe('1');
    expect(await rowsOf.nth(1).locator('.snapshots-lines').textContent()).toContain('first-content');

    // Names and notes are the user's, kept beside the files.
    await rowsOf.nth(0).getByRole('button', { name: 'Label…' }).click();
    await page.getByLabel('Snapshot name').fill('with keep');
    await page.getByLabel('Snapshot note').fill('before the rm');
    await page.getByRole('button', { name: 'Save', exact: true }).click();
    await expect.poll(() => rowsOf.nth(0).locator('.snapshots-name').textContent()).toBe('with keep');
    expect(await rowsOf.nth(0).locator('.snapshots-note-text').textContent()).toBe('before the rm');
    await page.screenshot({ path: artifact('disk-snapshots-04-tree.png') });
    await stop();

    // Every write went to overlays beside the snapshots; the image itself was never written.
    expect(sha(disk)).toBe(diskSha);
    const overlays = readdirSync(join(wb.dataDir, 'snapshots', 'diskdemo', 'disks')).filter((f) => f.endsWith('.lgov'));
    expect(overlays.length).toBeGreaterThanOrEqual(3);
  });

  it('commits the disk to its image only when asked and confirmed; an export then refuses the new image', async () => {
    await page.getByRole('tab', { name: 'Snapshots' }).click();
    // Export the first snapshot (its overlays and the image's identity) before the commit.
    const exported = join(wb.dataDir, 'with-keep.lgexport');
    await page.locator('.snapshots-table tbody tr').nth(0).getByRole('button', { name: 'Export…' }).click();
    await page.getByLabel('Export to').fill(exported);
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await expect
      .poll(() => page.locator('.snapshots-note').textContent(), { timeout: 20_000 })
      .toContain(`to ${exported}`);

    await page.getByRole('button', { name: 'Commit disks to base…' }).click();
    await page.getByRole('button', { name: 'Cancel' }).first().click();
    expect(sha(disk)).toBe(diskSha);
    await page.getByRole('button', { name: 'Commit disks to base…' }).click();
    await page.getByRole('button', { name: 'Commit', exact: true }).click();
    await expect
      .poll(() => page.locator('.snapshots-note').textContent(), { timeout: 20_000 })
      .toMatch(/Committed \d+ blocks to /);
    const image = readFileSync(disk);
    expect(image.includes('first-content')).toBe(true);
    expect(image.includes('second-content')).toBe(false);
    const before = diskSha;
    diskSha = sha(disk);

    // The image is not the one the export was taken on: the import says so with both hashes.
    await page.getByRole('button', { name: 'Import…' }).click();
    await page.getByLabel('Import from').fill(exported);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    await expect
      .poll(() => page.locator('.snapshots-note').textContent(), { timeout: 20_000 })
      .toContain(
        `${exported}: disk 0 needs base image ${disk} with sha256 ${before}, but that file has sha256 ${diskSha}`,
      );
    await page.screenshot({ path: artifact('disk-snapshots-05-import-refused.png') });
  });

  it('a disposable run writes to its disk and leaves the image byte-identical', async () => {
    await boot('throwaway');
    await run('write scratch disposable-content', 'wrote 19 bytes to scratch');
    await run('cat scratch', 'disposable-content');
    await page.screenshot({ path: artifact('disk-snapshots-06-disposable.png') });
    await stop();
    expect(sha(disk)).toBe(diskSha);
  });

  it('had no errors in the page', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});
