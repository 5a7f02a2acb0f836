// Disks of workbench machines: kill -9 of the process running the service (and so the machine's
// worker) right after the guest's block write completes keeps the data the guest was told is
// written; a writable disk belongs to one machine at a time; a read-only one may be shared.

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { machineDiskOpener } from '../launcher/machine-disks';
import type { ApiEventMessage, MachineStatus } from './api';
import { tsxWorkerSpec, WorkbenchService } from './service';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-disks-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = 'demo$ ';
const FIXTURE = fileURLToPath(new URL('./test-fixtures/serve-machine.ts', import.meta.url));

describe('workbench disks', () => {
  it('kill -9 of the service right after the guest hears its write is done: the data is in the disk', async () => {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(256 * 1024));
    const config = { name: 'writer', kernel: 'builtin:demo', memoryMB: 16, blockDevices: [{ path: disk }] };
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE, join(dir, 'machines'), JSON.stringify(config)], {
      stdio: 'pipe',
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, signal) => resolve(signal)));
    let out = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    /** Resolves once `text` shows up in the console after `from`; runs `then` synchronously first. */
    const seen = (text: string, from: number, then?: () => void): Promise<number> =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no "${text}" in 90 s:\n${out}\n${err}`)), 90_000);
        const look = (): void => {
          const at = out.indexOf(text, from);
          if (at < 0) return;
          then?.();
          child.stdout.off('data', look);
          clearTimeout(timer);
          resolve(at + text.length);
        };
        child.stdout.on('data', look);
        look();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    let at = await seen(PROMPT, 0);
    child.stdin.write('format t\r');
    at = await seen('format: ok', at);
    at = await seen(PROMPT, at);
    child.stdin.write('write f hello-kill\r');
    await seen('wrote 11 bytes to f', at, () => child.kill('SIGKILL'));
    expect(await exited).toBe('SIGKILL');
    // The write is in the machine's disk overlay (the image itself is never written by a machine).
    const seenByGuest = machineDiskOpener(join(dir, 'snapshots', 'writer', 'disks'))(disk, false);
    const contents = new Uint8Array(seenByGuest.size);
    seenByGuest.read(contents, 0);
    seenByGuest.close();
    expect(Buffer.from(contents).includes('hello-kill')).toBe(true);
    expect(readFileSync(disk).includes('hello-kill')).toBe(false);
  });

  it('refuses a second machine on a writable disk in use, naming it; read-only it may share', async () => {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(256 * 1024));
    const events: ApiEventMessage[] = [];
    const service = new WorkbenchService({
      configDir: join(dir, 'machines'),
      worker: { ...tsxWorkerSpec(), extra: { paced: false } },
    });
    service.subscribe((m) => events.push(m));
    const last = (id: string): MachineStatus | undefined =>
      events
        .filter((e) => e.event === 'machine.status' && (e.payload as MachineStatus).id === id)
        .map((e) => e.payload as MachineStatus)
        .at(-1);
    const until = async (id: string, state: MachineStatus['state']): Promise<MachineStatus> => {
      for (const t0 = Date.now(); Date.now() - t0 < 60_000; await new Promise((r) => setTimeout(r, 25))) {
        const s = last(id);
        if (s?.state === state) return s;
      }
      throw new Error(`${id} never ${state}; last ${JSON.stringify(last(id))}`);
    };
    try {
      const machine = (name: string, readOnly: boolean) => ({
        name,
        kernel: 'builtin:demo',
        memoryMB: 16,
        blockDevices: [{ path: disk, readOnly }],
      });
      for (const [name, ro] of [
        ['a', false],
        ['b', false],
        ['c', true],
      ] as const) {
        await service.call('configs.create', { config: machine(name, ro) });
      }
      await service.call('machines.start', { id: 'a' });
      await until('a', 'running');
      await service.call('machines.start', { id: 'b' });
      expect((await until('b', 'dead')).reason).toMatch(
        new RegExp(`^launch failed: disk ${disk} is in use by another machine of this process`),
      );
      await service.call('machines.start', { id: 'c' });
      await until('c', 'running');
      expect(await service.call('machines.stop', { id: 'a' })).toMatchObject({
        ok: true,
        result: { state: 'stopped' },
      });
      await service.call('machines.start', { id: 'b' });
      await until('b', 'running');
    } finally {
      await service.close();
    }
  });
});
