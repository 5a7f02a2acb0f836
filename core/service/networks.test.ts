import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ApiEventMessage, MachineConfig, NetworkCapture, NetworkView } from './api';
import { until } from '../launcher/test-terminal';
import { WorkbenchService } from './service';

// Workbench machines on one lguest host: each runs the demo guest in its own worker thread, and
// guests on the same network exchange frames through the host (the sender's thread copies).

let dir: string;
let service: WorkbenchService;
const consoles = new Map<string, string>();

function demo(name: string, networks: string[] = ['lan0']): MachineConfig {
  return { name, kernel: 'builtin:demo', memoryMB: 16, networks };
}

async function call(method: string, params: object): Promise<unknown> {
  const r = await service.call(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.result;
}

/** Starts a demo machine and waits for its shell prompt. */
async function boot(config: MachineConfig): Promise<void> {
  await call('configs.create', { config });
  await call('machines.start', { id: config.name });
  await until(() => consoles.get(config.name)?.includes('demo$ '));
}

/** Types a command and waits until the console shows `expect` after it. */
async function shell(id: string, command: string, expect: RegExp): Promise<string> {
  const from = consoles.get(id)!.length;
  await call('console.input', { id, data: new TextEncoder().encode(command + '\n') });
  return until(() => {
    const out = consoles.get(id)!.slice(from);
    return expect.test(out) && out.includes('demo$ ') ? out : undefined;
  });
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-networks-'));
  consoles.clear();
  service = new WorkbenchService({ configDir: join(dir, 'machines') });
  service.subscribe((m: ApiEventMessage) => {
    if (m.event !== 'console.output') return;
    const { id, data } = m.payload as { id: string; data: Uint8Array };
    consoles.set(id, (consoles.get(id) ?? '') + new TextDecoder().decode(data));
  });
});
afterEach(async () => {
  await service.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('one host for all workbench machines', () => {
  it('two demo machines on lan0: distinct slots and MACs, net ping 3 gets 3 replies; a machine that stops leaves', async () => {
    await Promise.all([boot(demo('a')), boot(demo('b'))]);
    const macs = ['a', 'b'].map((id) => /eth0: slot (\d+), mac ([0-9a-f:]+)/.exec(consoles.get(id)!)!.slice(1));
    expect(new Set(macs.map((m) => m[0])).size).toBe(2);
    expect(new Set(macs.map((m) => m[1])).size).toBe(2);
    expect(await shell('a', 'net ping 3', /ping: .*replies/)).toMatch(/ping: 1 peer\(s\), 3 sent, 3 replies in \d+ ms/);
    expect(await shell('b', 'net', /pings answered/)).toMatch(
      /rx 3 \(dropped 0\)\s+tx 3 \(errors 0\)\s+pings answered 3/,
    );

    // b stops: its guest slot and peer slot are free again, a keeps running; a's frames to b's
    // old slot find no receiver, so the driver counts them as not sent (2.6.23's DMA failure).
    // b stops in the middle of a's pings (frames in flight): nobody hangs or crashes.
    const pinging = shell('a', 'net ping 20', /ping: .*replies/);
    await until(() => consoles.get('a')!.includes('net ping 20\r\n'));
    await call('machines.stop', { id: 'b' });
    expect(await pinging).toMatch(/ping: 1 peer\(s\), 20 sent, \d+ replies/);
    const tables = service.machines.hostTables;
    expect(tables.guestsInUse).toBe(1);
    expect(tables.members(tables.region('sharenet:lan0'))).toHaveLength(1);
    expect(await shell('a', 'net ping 2', /ping: /)).toMatch(/ping: 1 peer\(s\), 2 sent, 0 replies/);
    expect(await shell('a', 'net', /pings answered/)).toMatch(/tx \d+ \(errors [1-9]\d*\)/);
    expect(service.machines.status('a').state).not.toBe('dead');

    // A new machine takes the freed slot and talks to a.
    await boot(demo('c'));
    expect(await shell('c', 'net ping 1', /ping: .*replies/)).toMatch(/1 sent, 1 replies/);
  }, 120_000);

  it('networks.list shows members with slots, MACs and moving counters; a capture of the ping opens in tshark', async () => {
    await call('configs.create', { config: demo('a') });
    await call('configs.create', { config: demo('b') });
    await call('configs.create', { config: demo('c', ['lan1']) });
    const started = (await call('networks.start', { name: 'lan0' })) as { id: string }[];
    expect(started.map((s) => s.id)).toEqual(['a', 'b']);
    await until(() => ['a', 'b'].every((id) => consoles.get(id)?.includes('demo$ ')));

    const capture = (await call('networks.capture.start', { name: 'lan0' })) as NetworkCapture;
    expect(capture.file).toMatch(/captures[/\\]lan0-\d{8}T\d{6}\.pcap$/);
    expect(await shell('a', 'net ping 3', /ping: .*replies/)).toMatch(/3 sent, 3 replies/);
    const list = (await call('networks.list', {})) as NetworkView[];
    expect(list.map((n) => n.name)).toEqual(['lan0', 'lan1']);
    const lan0 = list[0]!;
    expect(lan0.members.map((m) => [m.machine, m.peerSlot, m.mac])).toEqual([
      ['a', 0, '02:00:00:00:00:00'],
      ['b', 1, '02:00:01:00:00:00'],
    ]);
    // 3 echo requests of 60 bytes from a to b, 3 replies back.
    expect(lan0.members.map((m) => [m.txFrames, m.txBytes, m.rxFrames, m.rxBytes])).toEqual([
      [3, 180, 3, 180],
      [3, 180, 3, 180],
    ]);
    expect(lan0.capture).toMatchObject({ file: capture.file, frames: 6, bytes: 360 });
    expect(list[1]!.members).toEqual([expect.objectContaining({ machine: 'c', state: 'stopped', peerSlot: null })]);

    const done = (await call('networks.capture.stop', { name: 'lan0' })) as NetworkCapture;
    expect(done).toEqual({ file: capture.file, frames: 6, bytes: 360 });
    expect(existsSync(capture.file)).toBe(true);
    const types = execFileSync('tshark', ['-r', capture.file, '-T', 'fields', '-e', 'icmp.type'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    expect(types.trim().split('\n').sort()).toEqual(['0', '0', '0', '8', '8', '8']);
    expect(await service.call('networks.capture.stop', { name: 'lan0' })).toMatchObject({
      ok: false,
      error: { code: 'bad-state', message: 'network "lan0" is not being captured' },
    });

    const stopped = (await call('networks.stop', { name: 'lan0' })) as { state: string }[];
    expect(stopped.map((s) => s.state)).toEqual(['stopped', 'stopped']);
    expect(service.machines.hostTables.guestsInUse).toBe(0);
  }, 120_000);

  it('a 17th machine is refused: the host is full', async () => {
    // Workers that only wait for 'stop' are enough: the limit is the host's, before any guest boots.
    const idle =
      "const { parentPort } = require('node:worker_threads');" +
      "parentPort.on('message', (m) => { if (m.type === 'stop') process.exit(0); });";
    const s = new WorkbenchService({ configDir: join(dir, 'idle'), worker: { entry: idle, eval: true } });
    try {
      for (let i = 0; i < 16; i++) {
        await s.call('configs.create', { config: demo(`m${i}`) });
        expect(await s.call('machines.start', { id: `m${i}` })).toMatchObject({ ok: true });
      }
      await s.call('configs.create', { config: demo('m16') });
      const r = await s.call('machines.start', { id: 'm16' });
      expect(r).toMatchObject({ ok: false, error: { code: 'bad-state' } });
      expect(JSON.stringify(r)).toContain('host full: the lguest host holds at most 16 guests');
    } finally {
      await s.close();
    }
  });

  it('an invalid network name is refused with the field named', async () => {
    const r = await service.call('configs.create', { config: demo('bad', ['no spaces']) });
    expect(r).toMatchObject({ ok: false, error: { code: 'invalid-config' } });
    expect(JSON.stringify(r)).toContain('/networks/0');
  });
});
