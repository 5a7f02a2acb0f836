// Browser mode's transport: an HTTP server for the built renderer and a WebSocket speaking the API,
// bound to 127.0.0.1 and guarded by a per-launch token, the Host header and the page's Origin.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { extname, join, normalize, sep } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiEventMessage } from './api';
import { CONTENT_SECURITY_POLICY } from './csp';
import { decodeWire, encodeWire } from './wire-codec';

export { CONTENT_SECURITY_POLICY };

/** The part of the service the transport needs. */
export interface ApiEndpoint {
  handleMessage(msg: unknown): Promise<unknown>;
  subscribe(listener: (msg: ApiEventMessage) => void): () => void;
}

export interface BrowserServerOptions {
  service: ApiEndpoint;
  /** The built renderer (index.html and assets). */
  staticDir: string;
  port?: number;
  /** Defaults to a fresh random token. */
  token?: string;
}

export interface BrowserServer {
  readonly port: number;
  readonly token: string;
  /** The page URL including the token. */
  readonly url: string;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const API_PATH = '/api';
const MAX_FRAME = 4 * 1024 * 1024;

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.ttf': 'font/ttf',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
};

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export async function startBrowserServer(opts: BrowserServerOptions): Promise<BrowserServer> {
  const token = opts.token ?? newToken();
  const http: Server = createServer();
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME });
  let port = 0;

  const allowedHosts = (): Set<string> => new Set([`${HOST}:${port}`, `localhost:${port}`]);

  http.on('request', (req, res) => {
    if (!allowedHosts().has(req.headers.host ?? '')) {
      // A foreign Host header means DNS rebinding or a proxy: neither may reach the workbench.
      return plain(res, 421, 'misdirected request');
    }
    void serveStatic(opts.staticDir, req, res);
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const refuse = (status: number, text: string): void => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = new URL(req.url ?? '/', `http://${HOST}`);
    if (url.pathname !== API_PATH) return refuse(404, 'Not Found');
    if (!tokenMatches(url.searchParams.get('token'), token)) return refuse(401, 'Unauthorized');
    const host = req.headers.host ?? '';
    if (!allowedHosts().has(host)) return refuse(403, 'Forbidden');
    // Browsers always send Origin on WebSocket upgrades; it must be our own page.
    const origin = req.headers.origin;
    if (origin !== undefined && origin !== `http://${host}`) return refuse(403, 'Forbidden');
    wss.handleUpgrade(req, socket, head, (ws) => attach(ws, opts.service));
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, HOST, () => {
      http.off('error', reject);
      resolve();
    });
  });
  port = (http.address() as AddressInfo).port;

  return {
    port,
    token,
    url: `http://${HOST}:${port}/?token=${encodeURIComponent(token)}`,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      wss.close();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

function tokenMatches(given: string | null, token: string): boolean {
  if (given === null) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** One connection: requests in, replies and every service event out. */
function attach(ws: WebSocket, service: ApiEndpoint): void {
  const send = (value: unknown): void => {
    if (ws.readyState === ws.OPEN) ws.send(encodeWire(value));
  };
  const unsubscribe = service.subscribe(send);
  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      send({ kind: 'reply', id: -1, ok: false, error: { code: 'bad-request', message: 'frames must be text (JSON)' } });
      return;
    }
    let msg: unknown;
    try {
      msg = decodeWire(data.toString());
    } catch {
      send({ kind: 'reply', id: -1, ok: false, error: { code: 'bad-request', message: 'frame is not JSON' } });
      return;
    }
    void service.handleMessage(msg).then(send);
  });
  ws.on('close', unsubscribe);
  ws.on('error', () => ws.terminate());
}

function securityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function plain(res: ServerResponse, status: number, text: string): void {
  securityHeaders(res);
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end(text + '\n');
}

async function serveStatic(root: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'method not allowed');
  let pathname: string;
  try {
    pathname = decodeURIComponent(new URL(req.url ?? '/', `http://${HOST}`).pathname);
  } catch {
    return plain(res, 400, 'bad path');
  }
  if (pathname.endsWith('/')) pathname += 'index.html';
  const rel = normalize(pathname).replace(/^([/\\])+/, '');
  if (rel.split(sep).includes('..') || rel.includes('\0')) return plain(res, 403, 'forbidden');
  const file = join(root, rel);
  try {
    const body = await fs.readFile(file);
    securityHeaders(res);
    res.writeHead(200, {
      'Content-Type': MIME[extname(file)] ?? 'application/octet-stream',
      'Cache-Control': rel === 'index.html' ? 'no-store' : 'max-age=3600',
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  } catch {
    if (rel === 'index.html') return plain(res, 503, 'the renderer is not built yet: run npm run build:renderer');
    plain(res, 404, 'not found');
  }
}
