// Watching the demo guest work in browser mode: the instructions-per-second plot rises with
// `bench` and falls after it, the profile of that period is led by the bench program's loop (named
// by the program's symbol map), the status bar asks where a quiet guest spins, the plots zoom and
// pause, the Trace tab filters and exports, and a crash shows its reason with the last exits before it.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { resolveGuestFile } from '../core/launcher/kernel-path';
import type { LguestApi } from '../core/service/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { artifact, openWorkbench, type Workbench } from './helpers';

/**
 * Long enough for several 0.5 s rate points and a quiet spell of more than 3 s even on a fast
 * machine: its floating-point loop (the longest, about 7 s in one run here) is 100M iterations.
 */
const BENCH = 'bench 400000000';

let wb: Workbench;
let page: Page;

beforeAll(async () => {
  wb = await openWorkbench('lguest-e2e-observe-', { viewportHeight: 1000 });
  page = wb.page;
});

afterAll(async () => {
  await wb?.close();
});

async function openTab(name: string): Promise<void> {
  await page.getByRole('tab', { name, exact: true }).click();
}

async function screenText(): Promise<string> {
  return (await page.locator('[data-testid="terminal"] .xterm-rows').textContent()) ?? '';
}

/** What the guest printed so far, from the service's console backlog (whichever tab is shown). */
async function consoleText(): Promise<string> {
  return page.evaluate(async () => {
    const api = (window as unknown as { lguest: LguestApi }).lguest;
    const r = await api.invoke('console.backlog', { id: 'demo' });
    return r.ok ? new TextDecoder().decode(r.result.data) : '';
  });
}

async function typeLine(text: string): Promise<void> {
  await openTab('Console');
  await page.locator('[data-testid="terminal"]').click();
  await page.keyboard.type(text, { delay: 15 });
  await page.keyboard.press('Enter');
}

/** "12.3M instr/s now" -> 12.3e6. */
function parseRate(text: string | null): number {
  const m = /([\d.]+)([kM]?) instr\/s/.exec(text ?? '');
  if (!m) return NaN;
  return Number(m[1]) * (m[2] === 'M' ? 1e6 : m[2] === 'k' ? 1e3 : 1);
}

describe('watching the machine work', () => {
  it('boots the demo guest and plots its rates on the Counters tab', async () => {
    await expect.poll(() => page.locator('[data-machine="demo"]').count(), { timeout: 20_000 }).toBe(1);
    await page.getByRole('button', { name: /Start/ }).click();
    await expect.poll(screenText, { timeout: 60_000 }).toContain('demo$');
    await openTab('Counters');
    await expect
      .poll(() => page.locator('[data-testid="plot-instructions"] canvas').count(), { timeout: 20_000 })
      .toBeGreaterThan(0);
    await expect
      .poll(async () => parseRate(await page.locator('[data-testid="ips-now"]').textContent()), { timeout: 20_000 })
      .toBeGreaterThanOrEqual(0);
  });

  it(
    'bench: the instructions-per-second plot rises with it and falls after; the profile names its loop; the status bar asks where it spins',
    { timeout: 300_000 },
    async () => {
      await openTab('Profile');
      await page.getByLabel('Sampling interval').selectOption('5000');
      await page.locator('[data-testid="profile-start"]').click();
      await expect
        .poll(() => page.locator('[data-testid="profile-summary"]').textContent(), { timeout: 10_000 })
        .toMatch(/^sampling/);
      // The idle guest before bench: the rate shown while it waits at its prompt.
      await openTab('Counters');
      const ips = page.locator('[data-testid="ips-now"]');
      await new Promise((r) => setTimeout(r, 1500));
      const before = parseRate(await ips.textContent());
      await openTab('Profile');
      await page.locator('[data-testid="profile-reset"]').click();
      await typeLine(BENCH);
      await openTab('Counters');
      const during: number[] = [];
      let hint = '';
      const t0 = Date.now();
      while (!(await consoleText()).includes('hypercalls meanwhile') && Date.now() - t0 < 200_000) {
        during.push(parseRate(await ips.textContent()));
        const h = page.locator('[data-testid="spinning-hint"]');
        if (!hint && (await h.count()) > 0) hint = (await h.textContent()) ?? '';
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(await consoleText()).toContain('hypercalls meanwhile');
      await page.screenshot({ path: artifact('observe-01-plots.png') });
      // Stop the profile right after bench: its period is the bench run.
      await openTab('Profile');
      await page.locator('[data-testid="profile-stop"]').click();
      await openTab('Counters');
      await new Promise((r) => setTimeout(r, 2500));
      const after = parseRate(await ips.textContent());
      const peak = Math.max(...during.filter((x) => !Number.isNaN(x)));
      console.log(`instr/s: before ${before}, peak during bench ${peak}, after ${after}`);
      expect(peak).toBeGreaterThan(1e6);
      expect(peak).toBeGreaterThan(10 * before);
      expect(peak).toBeGreaterThan(10 * after);
      expect(hint).toMatch(/no output for \d+ s — spinning in user code at main in bench\?/);

      await openTab('Profile');
      // The tab shows what it read when last visible until its next read comes: wait for the stopped profile.
      const summary = page.locator('[data-testid="profile-summary"]');
      await expect.poll(() => summary.textContent(), { timeout: 10_000 }).toMatch(/^not sampling · [\d,]+ samples/);
      const table = page.locator('[data-testid="profile-table"]');
      const firstRow = () => table.locator('tbody tr').first().locator('td').allTextContents();
      await expect
        .poll(async () => (await firstRow())[0], {
          timeout: 10_000,
          message: `top of the profile: ${await summary.textContent()} / ${(await firstRow()).join(' ')}`,
        })
        .toBe('user');
      // mode, where, program, address space, samples, share: the bench program's loop is its main.
      const top = await firstRow();
      expect(top.slice(0, 3)).toEqual(['user', 'main', 'bench']);
      expect(await page.locator('[data-testid="profile-summary"]').textContent()).toMatch(
        /kernel code named by its symbols · user programs named: bench, /,
      );
      expect(await page.locator('[data-testid="flame-graph"] .flame-user').count()).toBeGreaterThan(0);
      const download = page.waitForEvent('download');
      await page.locator('[data-testid="profile-export"]').click();
      const file = JSON.parse(readFileSync((await (await download).path())!, 'utf8')) as {
        $schema: string;
        profiles: unknown[];
      };
      expect(file.$schema).toBe('https://www.speedscope.app/file-format-schema.json');
      expect(file.profiles).toHaveLength(1);
      await page.screenshot({ path: artifact('observe-02-profile.png') });
    },
  );

  it('plots: a dragged range zooms in, Pause freezes them (zooming out too), Resume brings them up to date', async () => {
    await openTab('Counters');
    const plot = page.locator('[data-testid="plot-instructions"]');
    const attr = async (name: string) => Number(await plot.getAttribute(`data-${name}`));
    const zoomed = () => plot.getAttribute('data-zoomed');
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await expect.poll(() => attr('points'), { timeout: 20_000 }).toBeGreaterThan(10);
    const over = plot.locator('.u-over');
    const drag = async (from: number, to: number) => {
      const box = (await over.boundingBox())!;
      const y = box.y + box.height / 2;
      await page.mouse.move(box.x + box.width * from, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * to, y, { steps: 8 });
      await page.mouse.up();
    };

    await page.locator('[data-testid="plots-pause"]').click();
    await expect.poll(() => page.locator('[data-testid="plots-pause"]').textContent()).toMatch(/Resume/);
    const frozen = await attr('last-x');
    const full = [await attr('x-min'), await attr('x-max')] as const;
    await wait(2000); // four rate intervals
    expect(await attr('last-x')).toBe(frozen);

    // Zoom into the middle third of what is shown.
    await drag(0.33, 0.66);
    await expect.poll(zoomed).toBe('true');
    const zoom = [await attr('x-min'), await attr('x-max')] as const;
    const span = full[1] - full[0];
    expect(zoom[0]).toBeGreaterThan(full[0] + 0.2 * span);
    expect(zoom[1]).toBeLessThan(full[1] - 0.2 * span);
    expect(zoom[1] - zoom[0]).toBeGreaterThan(0.2 * span);
    expect(zoom[1] - zoom[0]).toBeLessThan(0.45 * span);
    // Zooming out while paused shows all of the frozen data, and no newer.
    await over.dblclick();
    await expect.poll(zoomed).toBe('false');
    expect([await attr('x-min'), await attr('x-max'), await attr('last-x')]).toEqual([...full, frozen]);

    // Zoom again, then resume: newer points arrive and the zoomed range stays.
    await drag(0.33, 0.66);
    await expect.poll(zoomed).toBe('true');
    const again = [await attr('x-min'), await attr('x-max')] as const;
    await page.locator('[data-testid="plots-pause"]').click();
    await expect.poll(() => attr('last-x'), { timeout: 10_000 }).toBeGreaterThan(frozen);
    expect([await attr('x-min'), await attr('x-max')]).toEqual([...again]);
    await page.screenshot({ path: artifact('observe-05-zoomed.png') });

    // Double-click: all the data again, following new points.
    await over.dblclick();
    await expect.poll(zoomed).toBe('false');
    const last = await attr('last-x');
    await expect.poll(() => attr('last-x'), { timeout: 10_000 }).toBeGreaterThan(last);
    const ends = await plot.evaluate((el) => [el.dataset['xMax'], el.dataset['lastX']]);
    expect(ends[0]).toBe(ends[1]);
  });

  it('Trace: filters by decision and saves JSON lines', async () => {
    await openTab('Trace');
    const rows = page.locator('[data-testid="trace-table"] tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThan(10);
    await page.getByLabel('Filter by decision').selectOption('injected');
    await expect
      .poll(async () => new Set(await rows.locator('td:nth-child(5)').allTextContents()))
      .toEqual(new Set(['injected']));
    const download = page.waitForEvent('download');
    await page.locator('[data-testid="trace-export"]').click();
    const lines = readFileSync((await (await download).path())!, 'utf8')
      .trimEnd()
      .split('\n');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      guest: 'demo',
      decision: 'injected',
      kind: expect.stringMatching(/^IRQ \d+$/) as unknown,
    });
    await page.screenshot({ path: artifact('observe-03-trace.png') });
  });

  it('crash: the UI shows the reason and the last exits before it', async () => {
    await typeLine('crash observed');
    await expect
      .poll(() => page.locator('[data-testid="machine-state"]').textContent(), { timeout: 30_000 })
      .toBe('dead');
    const report = page.locator('[data-testid="death-report"]');
    await expect.poll(() => report.count()).toBe(1);
    expect(await page.locator('[data-testid="death-reason"]').textContent()).toBe('CRASH: observed');
    const last = await page.locator('[data-testid="death-exits"] tbody tr').last().locator('td').allTextContents();
    expect(last[2]).toBe('hypercall CRASH');
    expect(last[4]).toBe('killed');
    expect(await page.locator('[data-testid="death-exits"] tbody tr').count()).toBe(16);
    await page.screenshot({ path: artifact('observe-04-death.png') });
  });

  it('the Profile tab names a user program map it could not use', async () => {
    // The demo kernel beside a user-symbols/ directory holding one malformed map.
    const kernelDir = mkdtempSync(join(tmpdir(), 'lguest-e2e-maps-'));
    mkdirSync(join(kernelDir, 'user-symbols'));
    copyFileSync(resolveGuestFile('builtin:demo'), join(kernelDir, 'kernel.elf'));
    writeFileSync(join(kernelDir, 'user-symbols', 'broken.map'), '08048060 T main\n');
    const kernel = join(kernelDir, 'kernel.elf');
    await page.evaluate(async (k) => {
      const api = (window as unknown as { lguest: LguestApi }).lguest;
      await api.invoke('configs.create', { config: { name: 'maps', kernel: k, memoryMB: 32 } });
      await api.invoke('machines.start', { id: 'maps' });
    }, kernel);
    await page.locator('[data-machine="maps"] button').click();
    await openTab('Profile');
    const problems = page.locator('[data-testid="profile-map-problems"]');
    await expect
      .poll(() => problems.textContent(), { timeout: 20_000 })
      .toBe('user program map broken: no "# signature ADDRESS HEX" line');
    rmSync(kernelDir, { recursive: true, force: true });
  });

  it('a hypercall number first seen while the plots are paused waits for Resume', async () => {
    // The machine of the test before, idle at its prompt: it has run no user program yet.
    await openTab('Counters');
    const plot = page.locator('[data-testid="plot-hypercalls"]');
    const attr = async (name: string) => Number(await plot.getAttribute(`data-${name}`));
    await expect.poll(() => attr('points'), { timeout: 20_000 }).toBeGreaterThan(2);
    await page.locator('[data-testid="plots-pause"]').click();
    await expect.poll(() => page.locator('[data-testid="plots-pause"]').textContent()).toMatch(/Resume/);
    const series = await attr('series');
    const lastX = await attr('last-x');
    // A user program (typed through the API: the Counters tab stays open) makes hypercalls the
    // idle guest does not, LOAD_TLS among them.
    await page.evaluate(async () => {
      const api = (window as unknown as { lguest: LguestApi }).lguest;
      await api.invoke('console.input', { id: 'maps', data: new TextEncoder().encode('run hello\r') });
    });
    await new Promise((r) => setTimeout(r, 2000)); // four rate intervals
    expect([await attr('series'), await attr('last-x')]).toEqual([series, lastX]);
    await page.locator('[data-testid="plots-pause"]').click();
    await expect.poll(() => attr('series'), { timeout: 10_000 }).toBeGreaterThan(series);
    expect(await attr('last-x')).toBeGreaterThan(lastX);
  });

  it('had no errors in the page', () => {
    expect(wb.pageErrors).toEqual([]);
  });
});
