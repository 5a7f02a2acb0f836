// Shared pieces of the end-to-end tests: the Chromium to drive, where screenshots go, and the
// workbench in browser mode opened in it.

import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { MachineWorkerSpec } from '../core/service/machines';
import { ensureRendererBuilt, startBrowserMode, type BrowserMode } from '../scripts/browser-server';

export const CHROMIUM = '/usr/bin/chromium';
export const ARTIFACTS = fileURLToPath(new URL('./artifacts/', import.meta.url));

export function artifact(name: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS + name;
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: sudo apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking'],
  });
}

export interface WorkbenchOptions {
  /** Height of the 1400-wide viewport (860 unless told). */
  viewportHeight?: number;
  /** Grant the page clipboard read and write (for pasting into Monaco). */
  clipboard?: boolean;
  /** How the service starts machine workers (a test Launcher in place of the real one). */
  worker?: MachineWorkerSpec;
}

export interface Workbench {
  page: Page;
  mode: BrowserMode;
  browser: Browser;
  /** The temporary data directory; machine configs live in its machines/ folder. */
  dataDir: string;
  /** Uncaught page errors and console errors, in the order they happened. */
  pageErrors: string[];
  /** Closes the browser and the server and removes the data directory. */
  close(): Promise<void>;
}

/**
 * Starts the workbench in browser mode on a fresh data directory (`prefix` names it in the temp
 * folder) and opens it in Chromium, collecting page and console errors. If opening fails, what was
 * started is closed again before the error is rethrown.
 */
export async function openWorkbench(prefix: string, options: WorkbenchOptions = {}): Promise<Workbench> {
  let dataDir: string | undefined;
  let mode: BrowserMode | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await mode?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await ensureRendererBuilt({ quiet: true });
    dataDir = mkdtempSync(join(tmpdir(), prefix));
    mode = await startBrowserMode({ configDir: join(dataDir, 'machines'), worker: options.worker });
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1400, height: options.viewportHeight ?? 860 } });
    if (options.clipboard) {
      await context.grantPermissions(['clipboard-read', 'clipboard-write'], {
        origin: new URL(mode.server.url).origin,
      });
    }
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.stack ?? err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') pageErrors.push(msg.text());
    });
    await page.goto(mode.server.url);
    return { page, mode, browser, dataDir, pageErrors, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The selected machine's console and state in the workbench page, and typing into its terminal. */
export function consoleOf(page: Page) {
  const rows = () => page.locator('[data-testid="terminal"] .xterm-rows');
  const terminalText = async (): Promise<string> => (await rows().textContent()) ?? '';
  return {
    machineState: () => page.locator('[data-testid="machine-state"]').textContent(),
    terminalText,
    occurrences: async (needle: string): Promise<number> => (await terminalText()).split(needle).length - 1,
    typeLine: async (text: string, delayMs = 15): Promise<void> => {
      await page.locator('[data-testid="terminal"]').click();
      await page.keyboard.type(`${text}\r`, { delay: delayMs });
    },
  };
}

/**
 * Creates demo machines (16 MB) on one network through the page's own API, as the config form
 * does, and checks that each was accepted.
 */
export async function createDemoMachinesOn(page: Page, network: string, names: string[]): Promise<void> {
  for (const name of names) {
    const reply = await page.evaluate(
      (config) =>
        (window as unknown as { lguest: { invoke(m: string, p: object): Promise<{ ok: boolean }> } }).lguest.invoke(
          'configs.create',
          { config },
        ),
      { name, kernel: 'builtin:demo', memoryMB: 16, networks: [network] },
    );
    if (!reply.ok) throw new Error(`configs.create of machine "${name}" on ${network} was refused`);
  }
}
