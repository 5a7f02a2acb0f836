import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { CONTENT_SECURITY_POLICY, startBrowserServer, type BrowserServer } from './browser-server';
import { WorkbenchService } from './service';
import { decodeWire, encodeWire } from './wire-codec';

let dir: string;
let service: WorkbenchService;
let server: BrowserServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-ws-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>');
  service = new WorkbenchService({ configDir: join(dir, 'machines') });
  await service.seedDefaultConfig();
  server = await startBrowserServer({ service, staticDir: dir });
});
afterAll(async () => {
  await server.close();
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Tries a WebSocket upgrade; resolves with the HTTP status of a refusal or 101 when it opens. */
function upgrade(query: string, headers: Record<string, string> = {}): Promise<{ status: number; ws?: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api${query}`, {
      headers: { Origin: `http://127.0.0.1:${server.port}`, ...headers },
    });
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0 }));
    ws.on('open', () => resolve({ status: 101, ws }));
    ws.on('error', () => resolve({ status: -1 }));
  });
}

function get(path: string, host?: string): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, headers: host ? { Host: host } : {} }, (res) => {
      res.resume();
      resolve({ status: res.statusCode ?? 0, headers: res.headers });
    });
    req.on('error', reject);
    req.end();
  });
}

describe('browser-mode server', () => {
  it('listens on 127.0.0.1 only and prints a URL with a long random token', () => {
    expect(server.url).toMatch(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/\\?token=[A-Za-z0-9_-]{32}$`));
  });

  it('refuses a WebSocket without the token, or with a wrong one, with 401', async () => {
    expect((await upgrade('')).status).toBe(401);
    expect((await upgrade('?token=')).status).toBe(401);
    expect((await upgrade('?token=' + 'x'.repeat(server.token.length))).status).toBe(401);
  });

  it('refuses a foreign Origin or Host even with the token', async () => {
    const q = '?token=' + server.token;
    expect((await upgrade(q, { Origin: 'http://evil.example' })).status).toBe(403);
    expect((await upgrade(q, { Host: `evil.example:${server.port}` })).status).toBe(403);
  });

  it('serves the renderer with the CSP and rejects foreign Host headers', async () => {
    const ok = await get('/');
    expect(ok.status).toBe(200);
    expect(ok.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    expect((await get('/', 'attacker.example')).status).toBe(421);
    expect((await get('/../../etc/passwd')).status).not.toBe(200);
  });

  it('speaks the API over frames: replies by id, typed errors for bad frames', async () => {
    const { ws } = await upgrade('?token=' + server.token);
    const replies: unknown[] = [];
    ws!.on('message', (d) => replies.push(decodeWire(String(d))));
    ws!.send(encodeWire({ kind: 'request', id: 7, method: 'configs.list', params: {} }));
    ws!.send('not json');
    ws!.send(
      encodeWire({
        kind: 'request',
        id: 8,
        method: 'console.input',
        params: { id: 'demo', data: new Uint8Array([1]) },
      }),
    );
    await expect.poll(() => replies.length).toBe(3);
    expect(replies).toContainEqual(
      expect.objectContaining({ id: 7, ok: true, result: [expect.objectContaining({ id: 'demo' })] }),
    );
    expect(replies).toContainEqual(
      expect.objectContaining({ id: -1, ok: false, error: expect.objectContaining({ code: 'bad-request' }) }),
    );
    // Bytes arrive as bytes: the params check accepted the Uint8Array; the machine is just not running.
    expect(replies).toContainEqual(
      expect.objectContaining({ id: 8, ok: false, error: expect.objectContaining({ code: 'bad-state' }) }),
    );
    ws!.close();
  });
});
