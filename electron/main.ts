// The Electron main process: one window on the workbench renderer (sandboxed, context-isolated,
// strict CSP, no navigation or pop-ups), served from our own app:// protocol, with the API over IPC.

import { app, BrowserWindow, protocol, session } from 'electron';
import { promises as fs } from 'node:fs';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CONTENT_SECURITY_POLICY } from '../core/service/csp';
import { WorkbenchService } from '../core/service/service';
import { exposeServiceOverIpc } from './ipc';

// Defined by Electron Forge's Vite plugin for the renderer named "main_window".
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string;

const here = dirname(fileURLToPath(import.meta.url));
const APP_SCHEME = 'lguest-app';
const APP_ORIGIN = `${APP_SCHEME}://workbench`;
const devServerUrl = typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const rendererDir = join(
  here,
  '..',
  'renderer',
  typeof MAIN_WINDOW_VITE_NAME === 'string' ? MAIN_WINDOW_VITE_NAME : 'main_window',
);

/** Vite's dev server needs its inline React-refresh preamble and its HMR socket; production does not. */
const csp = devServerUrl
  ? CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
      "connect-src 'self'",
      `connect-src 'self' ${devServerUrl.replace(/^http/, 'ws')}`,
    )
  : CONTENT_SECURITY_POLICY;

function isAppUrl(url: string): boolean {
  try {
    const u = new URL(url);
    if (devServerUrl && u.origin === new URL(devServerUrl).origin) return true;
    return u.protocol === `${APP_SCHEME}:` && u.host === 'workbench';
  } catch {
    return false;
  }
}

// A standard, secure scheme gives the renderer a real origin ('self' in the CSP, module workers).
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true, codeCache: true } },
]);

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ttf': 'font/ttf',
  '.woff2': 'font/woff2',
};

async function serveApp(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.host !== 'workbench') return new Response('not found', { status: 404 });
  let rel = normalize(decodeURIComponent(url.pathname)).replace(/^([/\\])+/, '');
  if (rel === '' || rel.endsWith(sep)) rel += 'index.html';
  if (rel.split(sep).includes('..')) return new Response('forbidden', { status: 403 });
  try {
    const body = await fs.readFile(join(rendererDir, rel));
    return new Response(body, {
      headers: {
        'Content-Type': MIME[extname(rel)] ?? 'application/octet-stream',
        'Content-Security-Policy': csp,
        'X-Content-Type-Options': 'nosniff',
      },
    });
  } catch {
    return new Response('not found', { status: 404 });
  }
}

/** The machine worker: the built machine-worker.js next to main.js (unpacked from the asar archive). */
function machineWorkerPath(): string {
  return join(here, 'machine-worker.js').replace(`app.asar${sep}`, `app.asar.unpacked${sep}`);
}

function harden(): void {
  session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
    callback({ responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [csp] } });
  });
  // The workbench asks for no permissions (camera, notifications, ...): refuse them all.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  app.on('web-contents-created', (_event, contents) => {
    contents.on('will-navigate', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-redirect', (event, url) => {
      if (!isAppUrl(url)) event.preventDefault();
    });
    contents.on('will-attach-webview', (event) => event.preventDefault());
    contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  });
}

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1400,
    height: 900,
    minWidth: 900,
    minHeight: 560,
    title: 'lguest workbench',
    backgroundColor: '#0f1318',
    show: false,
    webPreferences: {
      preload: join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(devServerUrl ?? `${APP_ORIGIN}/index.html`);
  return win;
}

async function main(): Promise<void> {
  await app.whenReady();
  harden();
  protocol.handle(APP_SCHEME, serveApp);

  const service = new WorkbenchService({
    // LGUEST_WORKBENCH_DATA (as in browser mode) points tests and portable setups elsewhere.
    configDir: join(process.env.LGUEST_WORKBENCH_DATA ?? app.getPath('userData'), 'machines'),
    worker: { entry: machineWorkerPath() },
  });
  await service.removeStaleTempFiles();
  await service.seedDefaultConfig();
  const unexpose = exposeServiceOverIpc(service, isAppUrl);

  createWindow();
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) createWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing) return;
    closing = true;
    event.preventDefault();
    unexpose();
    void service.close().finally(() => app.quit());
  });
}

void main();
