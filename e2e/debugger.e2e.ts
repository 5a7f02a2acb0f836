// The Debugger tab in browser mode: attach to the running demo guest, break by symbol, hit the
// breakpoint by typing, step (F11), step back, watch registers and memory (following ESP), step
// back over, switch to AT&T syntax, continue, enter a breakpoint condition, drag the timeline.

import { spawnSync } from 'node:child_process';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, openWorkbench, type Workbench } from './helpers';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-debugger-', { viewportHeight: 900 });
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

const status = () => page.locator('[data-testid="debug-status"]').textContent();
const currentLine = () => page.locator('[data-testid="disassembly"] tr.current').textContent();
const count = async () => Number(/instruction (\d+)/.exec((await status()) ?? '')?.[1]);

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
}

describe('the Debugger tab', () => {
  it('attaches to the running demo guest', async () => {
    await expect.poll(() => page.locator('[data-machine="demo"]').count(), { timeout: 20_000 }).toBe(1);
    await page.getByRole('button', { name: /Start/ }).click();
    const rows = page.locator('[data-testid="terminal"] .xterm-rows');
    await expect.poll(() => rows.textContent(), { timeout: 60_000 }).toContain('demo$');
    await openTab('Debugger');
    await page.getByRole('button', { name: 'Attach debugger' }).click();
    await expect.poll(status, { timeout: 10_000 }).toMatch(/stopped: paused/);
  });

  it('breaks by symbol: typing at the prompt makes the console driver stop there', async () => {
    await page.getByLabel('Break at').fill('console_write');
    await page.getByRole('button', { name: 'Add breakpoint' }).click();
    await expect.poll(() => page.locator('[data-testid="breakpoints"]').textContent()).toContain('console_write');
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect.poll(status).toMatch(/running/);
    await openTab('Console');
    await page.locator('[data-testid="terminal"]').click();
    await page.keyboard.type('x');
    await openTab('Debugger');
    await expect.poll(status, { timeout: 20_000 }).toMatch(/stopped: breakpoint at console_write/);
    expect(await currentLine()).toMatch(/0xc0102900console_write(?!\+)/);
    await page.screenshot({ path: artifact('debugger-01-breakpoint.png') });
  });

  it('steps with F11 and steps back to the same instruction and registers', async () => {
    const at = await count();
    const regs = await page.locator('[data-testid="debug-registers"]').textContent();
    await page.keyboard.press('F11');
    await expect.poll(status).toMatch(/stopped: stepped/);
    expect(await count()).toBe(at + 1);
    expect(await currentLine()).toMatch(/console_write\+0x1/);
    // The step changed ESP and EIP: they are highlighted.
    await expect.poll(() => page.locator('[data-testid="debug-registers"] tr.changed[data-reg="eip"]').count()).toBe(1);
    await page.getByRole('button', { name: 'Step back', exact: true }).click();
    await expect.poll(count, { timeout: 20_000 }).toBe(at);
    expect(await currentLine()).toMatch(/0xc0102900console_write(?!\+)/);
    expect(await page.locator('[data-testid="debug-registers"]').textContent()).toBe(regs);
  });

  it('watches a register and a variable, shows memory following ESP, and steps back over', async () => {
    const at = await count();
    const reg = (name: string) =>
      page.locator(`[data-testid="debug-registers"] tr[data-reg="${name}"] td`).nth(1).textContent();
    const watch = (expr: string) => page.locator(`[data-testid="watches"] [data-watch="${expr}"] .value`).textContent();
    const memoryStart = () => page.locator('[data-testid="memory"] tr td.addr').first().textContent();
    for (const expr of ['esp', 'jiffies']) {
      await page.getByLabel('Watch').fill(expr);
      await page.getByRole('button', { name: 'Add watch' }).click();
    }
    await expect.poll(() => watch('jiffies')).toMatch(/^0x[0-9a-f]{8}$/);
    const esp = (await reg('esp'))!;
    expect(await watch('esp')).toBe(esp);
    await page.getByLabel('Memory at').fill('esp');
    await page.getByRole('button', { name: 'Show memory' }).click();
    await expect.poll(memoryStart).toBe(esp);
    // The first instruction pushes EBP: the watch and the memory viewer follow ESP down.
    await page.keyboard.press('F11');
    const below = '0x' + (parseInt(esp, 16) - 4).toString(16).padStart(8, '0');
    await expect.poll(memoryStart).toBe(below);
    expect(await watch('esp')).toBe(below);
    await page.screenshot({ path: artifact('debugger-02-watch-memory.png') });
    await page.getByRole('button', { name: 'Step back over' }).click();
    await expect.poll(count, { timeout: 20_000 }).toBe(at);
    await expect.poll(memoryStart).toBe(esp);
  });

  it('shows AT&T syntax on request, then continues to the prompt', async () => {
    await page.getByLabel('Syntax').selectOption('att');
    await expect.poll(currentLine).toMatch(/%ebp/);
    await page.locator('[data-testid="breakpoints"]').getByRole('button', { name: 'remove' }).click();
    await expect.poll(() => page.locator('[data-testid="breakpoints"] li').count()).toBe(0);
    await page.keyboard.press('F5');
    await expect.poll(status).toMatch(/running/);
    await openTab('Console');
    const rows = page.locator('[data-testid="terminal"] .xterm-rows');
    await expect.poll(() => rows.textContent(), { timeout: 20_000 }).toMatch(/demo\$ x/);
  });

  it('starts the gdb server from the tab and shows the line a real gdb connects with', async () => {
    await openTab('Debugger');
    await page.getByLabel('gdb server').click();
    const line = page.locator('[data-testid="gdb-line"]');
    await expect.poll(() => line.textContent(), { timeout: 10_000 }).toMatch(/^target remote 127\.0\.0\.1:\d+$/);
    const gdb = spawnSync(
      'gdb',
      ['-batch', '-nx', '-ex', (await line.textContent())!, '-ex', 'info registers eip', '-ex', 'detach'],
      {
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(gdb.stdout).toMatch(/eip\s+0x[0-9a-f]+/);
    expect(gdb.stdout).toContain('[Inferior 1 (Remote target) detached]');
    // gdb attached (the machine stopped for it) and left: the machine runs on.
    await expect.poll(status, { timeout: 10_000 }).toMatch(/running/);
  });

  it('takes a breakpoint condition and shows it', async () => {
    await page.getByLabel('Break at').fill('console_write');
    await page.getByLabel('Condition').fill('eax == 0x12345');
    await page.getByRole('button', { name: 'Add breakpoint' }).click();
    const bps = page.locator('[data-testid="breakpoints"]');
    await expect.poll(() => bps.textContent()).toContain('console_write if eax == 0x12345');
    await page.getByLabel('Condition').fill('eax = 1');
    await page.getByRole('button', { name: 'Add breakpoint' }).click();
    await expect.poll(() => page.locator('.debugger .field-error').textContent()).toMatch(/not a comparison/);
    await bps.getByRole('button', { name: 'remove' }).click();
    await expect.poll(() => bps.locator('li').count()).toBe(0);
  });

  it('drags the timeline back to an earlier instruction of the recorded window', async () => {
    await page.locator('.debugger-toolbar').getByRole('button', { name: 'Pause' }).click();
    await expect.poll(status).toMatch(/stopped: paused/);
    const at = await count();
    const slider = page.getByLabel('Timeline');
    const box = (await slider.boundingBox())!;
    const [min, max] = [Number(await slider.getAttribute('min')), Number(await slider.getAttribute('max'))];
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(count, { timeout: 30_000 }).toBeLessThan(at);
    const middle = min + (max - min) / 2;
    expect(Math.abs((await count()) - middle)).toBeLessThan((max - min) / 10);
    await page.screenshot({ path: artifact('debugger-03-timeline.png') });
  });
});
