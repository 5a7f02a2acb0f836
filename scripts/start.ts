// `npm start`: Electron when its runtime binary is installed; otherwise browser mode (the same UI
// and API over a local WebSocket), opened in Chromium's app mode when Chromium is there.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { ensureRendererBuilt, REPO_ROOT, startBrowserMode } from './browser-server';

function electronBinary(): string | null {
  try {
    const path: unknown = createRequire(import.meta.url)('electron');
    return typeof path === 'string' && existsSync(path) ? path : null;
  } catch {
    return null; // node_modules/electron throws when its binary was never downloaded
  }
}

async function runElectron(): Promise<void> {
  const forge = join(REPO_ROOT, 'node_modules', '@electron-forge', 'cli', 'dist', 'electron-forge.js');
  const child = spawn(process.execPath, [forge, 'start'], { stdio: 'inherit', cwd: REPO_ROOT });
  const forward = (sig: NodeJS.Signals): void => void child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  child.on('exit', (code) => process.exit(code ?? 0));
}

async function runBrowserMode(): Promise<void> {
  console.log('Electron runtime not installed (its download is not reachable here); starting browser mode.');
  await ensureRendererBuilt();
  const mode = await startBrowserMode();
  console.log(`\nlguest workbench (browser mode)\n  configs: ${mode.configDir}\n  open:    ${mode.server.url}\n`);

  let browser: ChildProcess | null = null;
  const chromium = '/usr/bin/chromium';
  const hasDisplay = Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY);
  if (existsSync(chromium) && hasDisplay) {
    const profile = join(mode.configDir, '..', 'chromium-profile');
    mkdirSync(profile, { recursive: true });
    const args = [
      `--app=${mode.server.url}`,
      `--user-data-dir=${profile}`,
      '--no-first-run',
      '--no-default-browser-check',
    ];
    if (process.getuid?.() === 0) args.push('--no-sandbox'); // Chromium refuses to run as root otherwise
    browser = spawn(chromium, args, { stdio: 'ignore' });
    browser.on('error', (err) => console.log(`(could not open Chromium: ${err.message}; open the URL above yourself)`));
    browser.on('exit', () => {
      browser = null;
      console.log('Chromium window closed; the server keeps running until Ctrl-C.');
    });
  } else {
    console.log(
      existsSync(chromium)
        ? '(no display: open the URL above in a browser)'
        : '(Chromium not found: open the URL above in a browser)',
    );
  }

  let stopping = false;
  const stop = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log('\nstopping…');
    browser?.kill('SIGTERM');
    await mode.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop());
  process.on('SIGTERM', () => void stop());
}

const electron = electronBinary();
if (electron) await runElectron();
else await runBrowserMode();
