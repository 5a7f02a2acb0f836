// The inspector panels in browser mode, as a user meets them: boot the demo guest to its prompt,
// pause it, and read its registers, memory, GDT/IDT, shadow page tables and counters.

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-inspect-', { viewportHeight: 900 });
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

const state = () => page.locator('[data-testid="machine-state"]');

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
}

describe('inspectors in browser mode', () => {
  it('shows a plain note, not numbers, while the machine is stopped', async () => {
    await expect.poll(() => page.locator('[data-machine="demo"]').count(), { timeout: 20_000 }).toBe(1);
    await openTab('Registers');
    await expect
      .poll(() => page.locator('[data-testid="inspector-registers"] .empty').textContent())
      .toMatch(/The machine is stopped\. Start it to look inside/);
  });

  it('boots the demo guest to its prompt and pauses it', async () => {
    await page.getByRole('button', { name: /Start/ }).click();
    await openTab('Console');
    const rows = page.locator('[data-testid="terminal"] .xterm-rows');
    await expect.poll(() => rows.textContent(), { timeout: 60_000 }).toContain('demo$');
    await page.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => state().textContent()).toBe('paused');
  });

  it('Registers: segment selectors, decoded caches, control registers', async () => {
    await openTab('Registers');
    const panel = page.locator('[data-testid="inspector-registers"]');
    const cs = panel.locator('tr[data-seg="cs"]');
    await expect.poll(() => cs.textContent(), { timeout: 10_000 }).toMatch(/0x00(61|73)/);
    expect(await cs.textContent()).toMatch(/code RX/);
    expect(await panel.locator('tr[data-seg="ss"]').textContent()).toMatch(/data RW/);
    expect(await panel.textContent()).toContain('0xffc02000'); // GDTR: the Switcher's state page
    expect(await panel.locator('[data-testid="cpl"]').textContent()).toMatch(/CPL [13]/);
    expect(await panel.locator('.live-note').textContent()).toMatch(/paused/);
    await page.screenshot({ path: artifact('inspect-01-registers.png') });
  });

  it('Memory: the kernel bytes at 0x100000 and the virtual translation of 0xC0100000', async () => {
    await openTab('Memory');
    const panel = page.locator('[data-testid="inspector-memory"]');
    const dump = panel.locator('[data-testid="hex-dump"]').first();
    await expect.poll(() => dump.textContent(), { timeout: 10_000 }).toContain('0x00100000');
    await page.getByLabel('Address space').selectOption('guest-virtual');
    await page.getByLabel('Address', { exact: true }).fill('c0100000');
    await page.getByRole('button', { name: 'Go' }).click();
    const head = panel.locator('[data-testid="page-head"]').first();
    await expect.poll(() => head.textContent(), { timeout: 10_000 }).toContain('→ physical 0x00100000');
    expect(await head.textContent()).toMatch(/guest tables.*PDE\[0x300\]/);
    expect(await head.textContent()).toMatch(/shadow tables/);
    await page.screenshot({ path: artifact('inspect-02-memory.png') });
    // A user page nobody mapped: the page says so and shows no bytes.
    await page.getByLabel('Address', { exact: true }).fill('0x1000');
    await page.getByRole('button', { name: 'Go' }).click();
    await expect.poll(() => panel.locator('.dump-absent').first().textContent()).toMatch(/not mapped/);
    await page.getByLabel('Address', { exact: true }).fill('xyz');
    await page.getByRole('button', { name: 'Go' }).click();
    expect(await panel.locator('.field-error').textContent()).toMatch(/hex address/);
  });

  it('Descriptors: GDT entry 12 and the system-call gate, guest copy and effective', async () => {
    await openTab('Descriptors');
    const panel = page.locator('[data-testid="inspector-descriptors"]');
    const gdt12 = panel.locator('tr[data-gdt="12"]');
    await expect.poll(() => gdt12.textContent(), { timeout: 10_000 }).toMatch(/0x0060.*code RX/);
    // Unused guest entries are "not present" and hidden by default; the TLS slots 6..8 among them.
    expect(await panel.locator('tr[data-gdt="1"]').count()).toBe(0);
    const idt80 = panel.locator('tr[data-idt="128"]');
    expect(await idt80.textContent()).toMatch(/system call.*32-bit trap gate3/);
    await page.getByRole('radio', { name: 'Effective (installed)' }).click();
    await expect.poll(() => idt80.textContent()).toMatch(/direct to guest/);
    expect(await panel.locator('tr[data-idt="14"]').textContent()).toMatch(/exit to host/);
    expect(await panel.locator('tr[data-gdt="10"]').textContent()).toMatch(/host/);
    await page.screenshot({ path: artifact('inspect-03-descriptors.png') });
  });

  it('Page tables: the current slot, the kernel PDE and its PTEs side by side', async () => {
    await openTab('Page tables');
    const panel = page.locator('[data-testid="inspector-page-tables"]');
    await expect.poll(() => panel.locator('.slot.selected').textContent(), { timeout: 10_000 }).toMatch(/current/);
    const kernel = panel.locator('tr[data-pde="768"]');
    expect(await kernel.textContent()).toMatch(/0xc0000000/);
    expect(await panel.locator('tr[data-pde="1023"]').textContent()).toMatch(/Switcher/);
    await kernel.click();
    const ptes = panel.locator('[data-testid="pte-table"]');
    await expect.poll(() => ptes.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(10);
    expect(await ptes.textContent()).toMatch(/0xc0100000/);
    const all = await ptes.locator('tbody tr').count();
    await panel.getByRole('radio', { name: /^shadowed \d+$/ }).click();
    await expect.poll(() => ptes.locator('tbody tr').count()).toBeLessThan(all);
    const notes = await ptes.locator('tbody tr td:last-child').allTextContents();
    expect(notes.length).toBeGreaterThan(0);
    expect(new Set(notes)).toEqual(new Set(['shadowed']));
    await page.screenshot({ path: artifact('inspect-04-pagetables.png') });
  });

  it('Counters: LGUEST_INIT and page-fault exits', async () => {
    await openTab('Counters');
    const panel = page.locator('[data-testid="inspector-counters"]');
    await expect
      .poll(() => panel.locator('[data-testid="hypercalls-table"]').textContent(), { timeout: 10_000 })
      .toMatch(/LGUEST_INIT1/);
    expect(await panel.locator('[data-testid="exits-table"]').textContent()).toMatch(/#PF page fault/);
    await page.screenshot({ path: artifact('inspect-05-counters.png') });
  });

  it('keeps polling while the guest runs, and stops when the machine stops', async () => {
    await page.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => state().textContent()).not.toBe('paused');
    const panel = page.locator('[data-testid="inspector-counters"]');
    await expect.poll(() => panel.locator('.live-note').textContent()).toMatch(/live/);
    // The visible panel keeps asking while the guest runs: its timer ticks move the instruction count.
    const instructions = panel.locator('.kv', { hasText: 'instructions' }).locator('.kv-value');
    const first = await instructions.textContent();
    await expect.poll(() => instructions.textContent(), { timeout: 10_000 }).not.toBe(first);
    await page.getByRole('button', { name: '■ Stop' }).click();
    await expect.poll(() => state().textContent(), { timeout: 10_000 }).toBe('stopped');
    await expect.poll(() => panel.locator('.empty').textContent()).toMatch(/stopped/);
  });

  it('had no errors in the page', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});
