// The Electron app itself (where its runtime binary is installed): the window loads the renderer,
// window.lguest is the typed API and nothing of Node leaks into the page. Skips, saying why, elsewhere.

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt, REPO_ROOT } from '../scripts/browser-server';
import { artifact } from './helpers';

function electronBinary(): { path: string | null; why: string } {
  try {
    const path: unknown = createRequire(import.meta.url)('electron');
    if (typeof path === 'string' && existsSync(path)) return { path, why: '' };
    return { path: null, why: `the Electron binary ${String(path)} does not exist` };
  } catch (err) {
    return { path: null, why: `the Electron runtime is not installed (${(err as Error).message})` };
  }
}

const electron = electronBinary();
if (!electron.path) console.log(`electron.e2e: skipped — ${electron.why}; browser mode is covered by workbench.e2e.ts`);

describe.skipIf(!electron.path)('Electron app', () => {
  let app: ElectronApplication;
  let dataDir: string;

  beforeAll(async () => {
    await ensureRendererBuilt({ quiet: true });
    // The same bundles Forge's Vite plugin makes (main, preload, machine worker) into .vite/build.
    for (const [config, ssr] of [
      ['electron/vite.main.config.ts', true],
      ['electron/vite.worker.config.ts', true],
      ['electron/vite.preload.config.ts', false],
    ] as const) {
      const args = [
        'build',
        '--config',
        config,
        '--outDir',
        '.vite/build',
        '--emptyOutDir',
        'false',
        ...(ssr ? ['--ssr'] : []),
      ];
      const r = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), ...args], {
        cwd: REPO_ROOT,
        stdio: 'inherit',
      });
      if (r.status !== 0) throw new Error(`vite build ${config} failed`);
    }
    dataDir = mkdtempSync(join(tmpdir(), 'lguest-electron-'));
    app = await _electron.launch({
      executablePath: electron.path!,
      args: [join(REPO_ROOT, '.vite/build/main.js')],
      env: { ...process.env, LGUEST_WORKBENCH_DATA: dataDir },
    });
  });

  afterAll(async () => {
    await app?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('shows the workbench with the demo machine, API exposed and Node hidden', async () => {
    const page = await app.firstWindow();
    await page.waitForSelector('[data-machine="demo"]', { timeout: 30_000 });
    const probe = await page.evaluate(async () => {
      const w = window as unknown as Record<string, unknown>;
      const api = w.lguest as { invoke(m: string, p: unknown): Promise<{ ok: boolean }> };
      return {
        keys: Object.keys(w.lguest as object).sort(),
        require: typeof w.require,
        process: typeof w.process,
        list: await api.invoke('configs.list', {}),
        bad: await api.invoke('machines.start', { id: 7 }),
      };
    });
    expect(probe.keys).toEqual(['invoke', 'on']);
    expect(probe.require).toBe('undefined');
    expect(probe.process).toBe('undefined');
    expect(probe.list.ok).toBe(true);
    expect(probe.bad).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    await page.screenshot({ path: artifact('electron-01-shell.png') });
  });

  it('does not navigate away or open windows', async () => {
    const page = await app.firstWindow();
    const before = page.url();
    await page.evaluate(() => {
      window.open('https://example.com');
      location.href = 'https://example.com';
    });
    await new Promise((r) => setTimeout(r, 500));
    expect(page.url()).toBe(before);
    expect(app.windows()).toHaveLength(1);
  });
});
