import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEventMessage, MachineStatus } from './api';
import { tsxWorkerSpec, WorkbenchService } from './service';
import { until } from '../launcher/test-terminal';

let dir: string;
let service: WorkbenchService;
let events: ApiEventMessage[];

function fixture(name: string): string {
  return new URL(`./test-fixtures/${name}`, import.meta.url).href;
}

function makeService(launcher: string): WorkbenchService {
  const s = new WorkbenchService({
    configDir: dir,
    worker: { ...tsxWorkerSpec(), extra: { launcherModule: fixture(launcher), paced: true } },
  });
  s.subscribe((m) => events.push(m));
  return s;
}

function lastStatus(id: string): MachineStatus | undefined {
  const s = events.filter((e) => e.event === 'machine.status' && (e.payload as MachineStatus).id === id);
  return s.length ? (s[s.length - 1]!.payload as MachineStatus) : undefined;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-service-'));
  events = [];
});
afterEach(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('API boundary', () => {
  beforeEach(() => {
    service = makeService('echo-launcher.ts');
  });

  it('answers bad messages with typed errors instead of throwing', async () => {
    expect(await service.call('machines.explode', {})).toMatchObject({ ok: false, error: { code: 'unknown-method' } });
    expect(await service.call(42, {})).toMatchObject({ ok: false, error: { code: 'unknown-method' } });
    const r = await service.call('machines.start', { id: 42 });
    expect(r).toMatchObject({ ok: false, error: { code: 'bad-request', fields: [{ pointer: '/id' }] } });
    expect(await service.call('configs.read', { id: 'x', extra: 1 })).toMatchObject({
      ok: false,
      error: { code: 'bad-request', fields: [{ pointer: '/extra' }] },
    });
    expect(await service.call('configs.read', null)).toMatchObject({ ok: false, error: { code: 'bad-request' } });
    expect(await service.call('configs.read', { id: '../secrets' })).toMatchObject({
      ok: false,
      error: { code: 'bad-request' },
    });
    expect(await service.call('console.input', { id: 'demo', data: [104, 105] })).toMatchObject({
      ok: false,
      error: { code: 'bad-request', fields: [{ pointer: '/data', message: 'must be bytes (Uint8Array)' }] },
    });
    expect(await service.handleMessage('garbage')).toMatchObject({ kind: 'reply', id: -1, ok: false });
    expect(await service.handleMessage({ kind: 'request', id: 'x', method: 'configs.list', params: {} })).toMatchObject(
      {
        id: -1,
        ok: false,
      },
    );
  });

  it('reports config problems as invalid-config with JSON pointers', async () => {
    const r = await service.call('configs.create', { config: { name: 'a', kernel: 'k', memoryMB: 9999 } });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-config', fields: [{ pointer: '/memoryMB' }] } });
    const v = await service.call('configs.validate', {
      text: '{"name":"a","kernel":"k","memoryMB":8,"blockDevices":[{"readOnly":1}]}',
    });
    expect(v).toMatchObject({ ok: true, result: { ok: false } });
    const pointers = (v as { result: { errors: { pointer: string }[] } }).result.errors.map((e) => e.pointer).sort();
    expect(pointers).toEqual(['/blockDevices/0/path', '/blockDevices/0/readOnly']);
  });

  it('flags a name clash when validating a new config', async () => {
    await service.seedDefaultConfig();
    const text = JSON.stringify({ name: 'demo', kernel: 'k', memoryMB: 8 });
    expect(await service.call('configs.validate', { text, forId: null })).toMatchObject({
      result: { ok: false, errors: [{ pointer: '/name' }] },
    });
    expect(await service.call('configs.validate', { text, forId: 'demo' })).toMatchObject({ result: { ok: true } });
  });

  it('answers ten racing configs.save renames of one config with one ok and nine conflicts', async () => {
    const config = { name: 'a', kernel: 'k', memoryMB: 8 };
    await service.call('configs.create', { config });
    const replies = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        service.call('configs.save', { id: 'a', config: { ...config, name: `b${i}` } }),
      ),
    );
    expect(replies.filter((r) => r.ok)).toHaveLength(1);
    expect(replies.filter((r) => !r.ok).map((r) => !r.ok && r.error.code)).toEqual(Array(9).fill('conflict'));
    expect(readdirSync(dir)).toHaveLength(1);
  });

  it('seeds the demo config on first start only', async () => {
    await service.seedDefaultConfig();
    await service.call('configs.delete', { id: 'demo' });
    await service.call('configs.create', { config: { name: 'other', kernel: 'k', memoryMB: 8 } });
    await service.seedDefaultConfig();
    expect(await service.call('configs.list', {})).toMatchObject({ result: [{ id: 'other' }] });
  });
});

describe('machine files that cannot be read', () => {
  it('kills a machine whose kernel is a FIFO or /dev/zero at once, naming the file', async () => {
    const fifo = join(dir, 'kernel.fifo');
    execFileSync('mkfifo', [fifo]);
    service = new WorkbenchService({ configDir: join(dir, 'machines'), worker: tsxWorkerSpec() });
    service.subscribe((m) => events.push(m));
    await service.call('configs.create', { config: { name: 'fifo', kernel: fifo, memoryMB: 8 } });
    await service.call('configs.create', { config: { name: 'zero', kernel: '/dev/zero', memoryMB: 8 } });
    await service.call('machines.start', { id: 'fifo' });
    await service.call('machines.start', { id: 'zero' });
    const dead = (id: string) => until(() => (lastStatus(id)?.state === 'dead' ? lastStatus(id) : undefined));
    expect((await dead('fifo')).reason).toBe(
      `launch failed: cannot read kernel ${fifo}: it is a FIFO, not a regular file`,
    );
    expect((await dead('zero')).reason).toBe(
      'launch failed: cannot read kernel /dev/zero: it is a character device, not a regular file',
    );
  });
});

describe('machines in workers', () => {
  it('streams console output, takes input, pauses, resumes and stops', async () => {
    service = makeService('echo-launcher.ts');
    await service.seedDefaultConfig();
    expect(await service.call('machines.start', { id: 'demo' })).toMatchObject({
      ok: true,
      result: { state: 'starting' },
    });
    const text = (): string =>
      events
        .filter((e) => e.event === 'console.output')
        .map((e) => new TextDecoder().decode((e.payload as { data: Uint8Array }).data))
        .join('');
    await until(() => text().includes('hello from demo'));
    await until(() => lastStatus('demo')?.state === 'idle');
    await service.call('console.input', { id: 'demo', data: new TextEncoder().encode('ls\r') });
    await until(() => text().includes('LS'));
    const backlog = await service.call('console.backlog', { id: 'demo' });
    expect(new TextDecoder().decode((backlog as { result: { data: Uint8Array } }).result.data)).toContain(
      'hello from demo',
    );
    await service.call('machines.pause', { id: 'demo' });
    await until(() => lastStatus('demo')?.state === 'paused');
    expect(await service.call('machines.resume', { id: 'demo' })).toMatchObject({ ok: true });
    await until(() => lastStatus('demo')?.state !== 'paused');
    const stopped = await service.call('machines.stop', { id: 'demo' });
    expect(stopped).toMatchObject({ ok: true, result: { state: 'stopped' } });
    expect(await service.call('machines.pause', { id: 'demo' })).toMatchObject({
      ok: false,
      error: { code: 'bad-state' },
    });
  });

  it.each([
    ['throw', /host error: emulator bug at eip 0xc0100000/],
    ['exit', /exited unexpectedly \(exit code 3\)/],
    ['async', /machine worker failed: late failure/],
    ['dead', /^Bad address 0xdeadbeef$/],
  ])('reports a machine whose worker breaks (%s) as dead, and the service stays up', async (how, reason) => {
    service = makeService('crashing-launcher.ts');
    await service.call('configs.create', { config: { name: 'victim', kernel: 'k', memoryMB: 8, cmdline: how } });
    await service.call('machines.start', { id: 'victim' });
    const dead = await until(() => (lastStatus('victim')?.state === 'dead' ? lastStatus('victim') : undefined));
    expect(dead.reason).toMatch(reason);
    expect(await service.call('machines.list', {})).toMatchObject({
      ok: true,
      result: [{ id: 'victim', state: 'dead' }],
    });
    // It can be started again after dying.
    expect(await service.call('machines.start', { id: 'victim' })).toMatchObject({ ok: true });
  });

  it('stops a machine whose launch never returns within a second, and it can start again', async () => {
    service = makeService('crashing-launcher.ts');
    await service.call('configs.create', { config: { name: 'stuck', kernel: 'k', memoryMB: 8, cmdline: 'hang' } });
    await service.call('machines.start', { id: 'stuck' });
    await new Promise((r) => setTimeout(r, 300));
    expect(lastStatus('stuck')?.state).toBe('starting');
    const t0 = performance.now();
    const stopped = await service.call('machines.stop', { id: 'stuck' });
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(stopped).toMatchObject({ ok: true, result: { state: 'stopped' } });
    expect(await service.call('machines.start', { id: 'stuck' })).toMatchObject({ ok: true });
    expect(await service.call('machines.stop', { id: 'stuck' })).toMatchObject({ ok: true });
  });

  it('reports a missing launcher honestly instead of inventing output', async () => {
    service = makeService('no-such-launcher.ts');
    await service.seedDefaultConfig();
    await service.call('machines.start', { id: 'demo' });
    const dead = await until(() => (lastStatus('demo')?.state === 'dead' ? lastStatus('demo') : undefined));
    expect(dead.reason).toMatch(/^no runnable guest yet: /);
    expect(events.some((e) => e.event === 'console.output')).toBe(false);
  });
});
