// Browser mode: the workbench service plus its HTTP/WebSocket transport on 127.0.0.1, serving the
// built renderer. Used by `npm start` when Electron's runtime is missing, and by the e2e tests.

import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startBrowserServer, type BrowserServer } from '../core/service/browser-server';
import type { MachineWorkerSpec } from '../core/service/machines';
import { defaultBrowserConfigDir, tsxWorkerSpec, WorkbenchService } from '../core/service/service';
import { currentBundle, sourceBundle } from '../bin/source-bundle.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const RENDERER_DIR = fileURLToPath(new URL('../.vite/renderer/main_window', import.meta.url));

export interface BrowserMode {
  service: WorkbenchService;
  server: BrowserServer;
  configDir: string;
  close(): Promise<void>;
}

/** The newest modification time under a directory (or of a file). */
function newestMtime(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  return readdirSync(path).reduce((m, name) => Math.max(m, newestMtime(join(path, name))), st.mtimeMs);
}

/** True when there is a renderer build at least as new as the renderer's sources. */
export function rendererBuildIsCurrent(): boolean {
  const built = join(RENDERER_DIR, 'index.html');
  if (!existsSync(built)) return false;
  return statSync(built).mtimeMs >= newestMtime(join(REPO_ROOT, 'renderer'));
}

/** Builds the renderer with Vite (a production build, in its own process) unless a current one is there. */
export async function ensureRendererBuilt(opts: { force?: boolean; quiet?: boolean } = {}): Promise<void> {
  if (!opts.force && rendererBuildIsCurrent()) return;
  // Run Vite's CLI with this Node (not through the .bin shim's /usr/bin/env lookup).
  const vite = join(REPO_ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
  const args = [
    'build',
    '--config',
    join(REPO_ROOT, 'renderer', 'vite.config.ts'),
    ...(opts.quiet ? ['--logLevel', 'warn'] : []),
  ];
  // NODE_ENV must not leak in from a test runner: it would select React's development build.
  const env = { ...process.env, NODE_ENV: 'production' };
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [vite, ...args], { cwd: REPO_ROOT, env, stdio: 'inherit' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`renderer build failed (exit code ${code})`)),
    );
  });
}

/**
 * Browser mode's machine workers start from one bundle of core/service/machine-worker.ts
 * (bin/source-bundle.js), rebuilt when a source changed: a worker loading its modules through
 * tsx takes about a second before its guest runs. Without a bundle they run through tsx.
 */
export async function machineWorkerSpec(): Promise<MachineWorkerSpec> {
  const b = sourceBundle({
    entry: join(REPO_ROOT, 'core/service/machine-worker.ts'),
    cache: join(REPO_ROOT, 'node_modules/.cache/lguest-worker'),
    settings: [
      join(REPO_ROOT, 'tsconfig.base.json'),
      join(REPO_ROOT, 'core/service/tsconfig.json'),
      join(REPO_ROOT, 'package.json'),
    ],
  });
  try {
    return { entry: await currentBundle(b) };
  } catch {
    return tsxWorkerSpec();
  }
}

export async function startBrowserMode(
  opts: { configDir?: string; port?: number; token?: string; worker?: MachineWorkerSpec } = {},
): Promise<BrowserMode> {
  const configDir = opts.configDir ?? defaultBrowserConfigDir();
  const service = new WorkbenchService({ configDir, worker: opts.worker ?? (await machineWorkerSpec()) });
  await service.removeStaleTempFiles();
  await service.seedDefaultConfig();
  const server = await startBrowserServer({ service, staticDir: RENDERER_DIR, port: opts.port, token: opts.token });
  return {
    service,
    server,
    configDir,
    close: async () => {
      await server.close();
      await service.close();
    },
  };
}
