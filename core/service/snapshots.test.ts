// Snapshots through the service API with real machine workers running the demo guest: take (written
// atomically, verified), list (corrupt files listed, never deleted), restore (paused, console
// replaced by the snapshot's scrollback), refused restores that lose nothing, delete.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEventMessage, ApiMethod, ApiParams, ApiResult, MachineStatus, SnapshotListing } from './api';
import { decodeMachineSnapshot, encodeMachineState } from '../snapshot/machine-snapshot';
import { folderLoader, withFullRam } from '../snapshot/ram-chain';
import { tsxWorkerSpec, WorkbenchService } from './service';
import { SnapshotStore } from './snapshots';
import { boot, folder, run, take } from '../launcher/test-snapshots';

let dir: string;
let service: WorkbenchService;
let events: ApiEventMessage[] = [];

async function call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
  const r = await service.call(method, params);
  if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
  return r.result as ApiResult<M>;
}

async function callError(method: ApiMethod, params: unknown): Promise<{ code: string; message: string }> {
  const r = await service.call(method, params);
  if (r.ok) throw new Error(`${method} should have failed`);
  return r.error;
}

async function until<T>(what: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function consoleText(id: string): Promise<string> {
  return new TextDecoder().decode((await call('console.backlog', { id })).data);
}

async function type(id: string, text: string): Promise<void> {
  await call('console.input', { id, data: new TextEncoder().encode(text) });
}

function count(hay: string, needle: string): number {
  return hay.split(needle).length - 1;
}

function state(id: string): Promise<MachineStatus['state']> {
  return call('machines.list', {}).then((l) => l.find((m) => m.id === id)!.state);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-snapsvc-'));
  service = new WorkbenchService({ configDir: join(dir, 'machines'), worker: tsxWorkerSpec() });
  service.subscribe((m) => events.push(m));
  await call('configs.create', { config: { name: 'demo', kernel: 'builtin:demo', memoryMB: 16 } });
});

afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('snapshots through the service', () => {
  let taken: SnapshotListing;

  it('refuses to snapshot a machine that is not running', async () => {
    expect(await callError('snapshots.take', { id: 'demo' })).toMatchObject({ code: 'bad-state' });
  });

  it('takes a verified snapshot of a running machine into <data>/snapshots/<machine>/', async () => {
    await call('machines.start', { id: 'demo' });
    await until(async () => (await consoleText('demo')).includes('demo$ '));
    await type('demo', 'echo first-line\r');
    await until(async () => count(await consoleText('demo'), 'first-line') >= 2);
    events = [];
    const t0 = performance.now();
    taken = await call('snapshots.take', { id: 'demo' });
    console.log(`snapshots.take of a running 16 MiB demo: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(taken).toMatchObject({ machine: 'demo', verified: true, disks: [] });
    expect(taken.file).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-\d+\.lgsnap$/);
    expect(taken.instructionCount).toBeGreaterThan(500_000);
    expect(taken.file.endsWith(`-${taken.instructionCount}.lgsnap`)).toBe(true);
    const path = join(dir, 'snapshots', 'demo', taken.file);
    expect(readFileSync(path).length).toBe(taken.sizeBytes);
    // Only the finished file: no temp file left behind.
    expect(readdirSync(join(dir, 'snapshots', 'demo'))).toEqual([taken.file]);
    expect(events.some((e) => e.event === 'snapshots.changed')).toBe(true);
  });

  it('lists snapshots, with a corrupt file listed with its error and left on disk', async () => {
    const folder = join(dir, 'snapshots', 'demo');
    const good = readFileSync(join(folder, taken.file));
    const bad = good.slice();
    bad[bad.length >> 1]! ^= 0x40;
    writeFileSync(join(folder, 'zz-corrupt.lgsnap'), bad);
    const list = await call('snapshots.list', { id: 'demo' });
    expect(list.map((l) => [l.file, l.verified])).toEqual([
      [taken.file, true],
      ['zz-corrupt.lgsnap', false],
    ]);
    expect(list[1]!.error).toMatch(/checksum at offset \d+ does not match/);
    expect(existsSync(join(folder, 'zz-corrupt.lgsnap'))).toBe(true);
    expect(await callError('snapshots.restore', { id: 'demo', file: 'zz-corrupt.lgsnap' })).toMatchObject({
      code: 'invalid-snapshot',
    });
    // The refused restore did not touch the running machine.
    expect(await state('demo')).not.toMatch(/stopped|dead/);
  });

  it('validates params', async () => {
    expect(await callError('snapshots.restore', { id: 'demo', file: '../machines/demo.json' })).toMatchObject({
      code: 'bad-request',
    });
    expect(await callError('snapshots.delete', { id: 'demo' })).toMatchObject({ code: 'bad-request' });
    expect(await callError('snapshots.list', { id: 'nobody' })).toMatchObject({ code: 'not-found' });
  });

  it('restores into the machine: paused, console replaced by the snapshot scrollback, then runs on', async () => {
    await type('demo', 'echo after-snap\r');
    await until(async () => count(await consoleText('demo'), 'after-snap') >= 2);
    events = [];
    const t0 = performance.now();
    await call('snapshots.restore', { id: 'demo', file: taken.file });
    await until(async () => (await state('demo')) === 'paused');
    console.log(`snapshots.restore until paused (in the running worker): ${(performance.now() - t0).toFixed(0)} ms`);
    // The running machine took the snapshot in place: its worker did not start again.
    const states = events.flatMap((e) => (e.event === 'machine.status' ? [(e.payload as MachineStatus).state] : []));
    expect(states).not.toContain('starting');
    expect(states).not.toContain('stopped');
    const restored = events.find((e) => e.event === 'console.restored');
    expect(restored).toBeTruthy();
    const scrollback = new TextDecoder().decode((restored!.payload as { data: Uint8Array }).data);
    expect(scrollback).toContain('first-line');
    expect(scrollback).not.toContain('after-snap');
    expect(await consoleText('demo')).toBe(scrollback);
    const paused = (await call('machines.list', {})).find((m) => m.id === 'demo')!;
    // The restored guest's clock is where the snapshot's was.
    expect(paused.virtualTimeNs).toBe(taken.virtualTimeNs);

    // A snapshot of the paused, restored machine is the same machine state, byte for byte.
    const again = await call('snapshots.take', { id: 'demo' });
    expect(again.instructionCount).toBe(taken.instructionCount);
    // Twice in a row while paused: a second file, never an overwrite.
    const third = await call('snapshots.take', { id: 'demo' });
    expect(third.file).not.toBe(again.file);
    await call('snapshots.delete', { id: 'demo', file: third.file });
    const folder = join(dir, 'snapshots', 'demo');
    const first = decodeMachineSnapshot(readFileSync(join(folder, taken.file)));
    // The second stores its RAM as the (no) pages written since the first: read through its chain.
    const stored = decodeMachineSnapshot(readFileSync(join(folder, again.file)));
    expect(stored.state.memory.ram).toMatchObject({ base: taken.file, depth: 1 });
    expect(stored.state.memory.ram.present.length).toBe(0);
    const second = withFullRam(stored, again.file, folderLoader(folder));
    expect(Buffer.compare(encodeMachineState(first.state), encodeMachineState(second.state))).toBe(0);
    await call('snapshots.delete', { id: 'demo', file: again.file });

    await call('machines.resume', { id: 'demo' });
    await type('demo', 'echo third-line\r');
    await until(async () => count(await consoleText('demo'), 'third-line') >= 2);
    expect(await consoleText('demo')).not.toContain('after-snap');
  });

  it('highlights in the memory viewer the bytes that changed since a chosen snapshot', async () => {
    const since = await call('snapshots.take', { id: 'demo' });
    await type('demo', 'echo highlight-me\r');
    await until(async () => count(await consoleText('demo'), 'highlight-me') >= 2);
    await call('machines.pause', { id: 'demo' });
    await until(async () => (await state('demo')) === 'paused');
    const diff = await call('snapshots.diff', { id: 'demo', from: since.file });
    expect(diff.pages.changed).toBeGreaterThan(0);
    const folder = join(dir, 'snapshots', 'demo');
    const then = withFullRam(
      decodeMachineSnapshot(readFileSync(join(folder, since.file))),
      since.file,
      folderLoader(folder),
    ).state.memory.ram;
    const thenByte = (a: number): number => {
      const i = then.present.indexOf(Math.floor(a / 4096));
      return i < 0 ? 0 : then.data[i * 4096 + (a % 4096)]!;
    };
    const at = diff.pages.ranges[0]!.start;
    const view = await call('inspect.memory', {
      id: 'demo',
      space: 'physical',
      address: at,
      length: 4096,
      since: since.file,
    });
    const page = view.pages[0]!;
    const expected = Array.from(page.bytes!, (b, i) => (b === thenByte(at + i) ? 0 : 1));
    expect([...page.changed!]).toEqual(expected);
    expect(expected.some((c) => c === 1)).toBe(true);
    // Without `since`, nothing is marked.
    const plain = await call('inspect.memory', { id: 'demo', space: 'physical', address: at, length: 4096 });
    expect(plain.pages[0]!.changed).toBeUndefined();
    expect(
      await callError('inspect.memory', {
        id: 'demo',
        space: 'physical',
        address: at,
        length: 16,
        since: 'nope.lgsnap',
      }),
    ).toMatchObject({ code: 'not-found' });
    await call('machines.resume', { id: 'demo' });
    await call('snapshots.delete', { id: 'demo', file: since.file });
  });

  it('refuses a restore when a disk changed (naming it), keeps the machine, and accepts the override', async () => {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(128 * 1024));
    await call('configs.create', {
      config: { name: 'disky', kernel: 'builtin:demo', memoryMB: 16, blockDevices: [{ path: disk }] },
    });
    await call('machines.start', { id: 'disky' });
    await until(async () => (await consoleText('disky')).includes('demo$ '));
    const snap = await call('snapshots.take', { id: 'disky' });
    expect(snap.disks).toEqual([{ path: disk, readOnly: false }]);
    writeFileSync(disk, new Uint8Array(128 * 1024).fill(1));
    const err = await callError('snapshots.restore', { id: 'disky', file: snap.file });
    expect(err.code).toBe('disk-changed');
    expect(err.message).toContain(`disk ${disk} changed contents`);
    expect(await state('disky')).not.toMatch(/stopped|dead|paused/);
    await call('snapshots.restore', { id: 'disky', file: snap.file, allowChangedDisks: true });
    await until(async () => (await state('disky')) === 'paused');
    await call('machines.stop', { id: 'disky' });
  });

  it('deletes a snapshot', async () => {
    expect(await call('snapshots.delete', { id: 'demo', file: taken.file })).toEqual({ deleted: taken.file });
    expect(existsSync(join(dir, 'snapshots', 'demo', taken.file))).toBe(false);
    expect((await call('snapshots.list', { id: 'demo' })).map((l) => l.file)).toEqual(['zz-corrupt.lgsnap']);
    expect(await callError('snapshots.delete', { id: 'demo', file: taken.file })).toMatchObject({ code: 'not-found' });
  });
});

describe('the snapshot folder as the API sees it', () => {
  it("lists only files the API can restore and delete, and start-up removes killed writes' temp files", async () => {
    const root = mkdtempSync(join(tmpdir(), 'lguest-snapdir-'));
    const store = new WorkbenchService({ configDir: join(root, 'machines'), worker: tsxWorkerSpec() });
    try {
      const folder = join(root, 'snapshots', 'demo');
      mkdirSync(folder, { recursive: true });
      const good = '2026-12-02T10-00-00.000Z-5.lgsnap';
      const unusable = ['my snap.lgsnap', '_x.lgsnap', 'ü.lgsnap', `${'a'.repeat(200)}.lgsnap`];
      const stale = `.${good}.999999999.0badf00d.tmp`;
      for (const f of [good, ...unusable, stale]) writeFileSync(join(folder, f), 'not a snapshot');
      const listed = await store.call('snapshots.list', { id: 'demo' });
      expect(listed.ok && (listed.result as SnapshotListing[]).map((l) => l.file)).toEqual([good]);
      // What is listed, the API can act on.
      expect(await store.call('snapshots.delete', { id: 'demo', file: good })).toMatchObject({ ok: true });
      expect(await store.removeStaleTempFiles()).toEqual([join(folder, stale)]);
      expect(readdirSync(folder).sort()).toEqual([...unusable].sort());
    } finally {
      await store.close();
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('commit to base', () => {
  it('runs off the service thread: other requests are answered while the image is copied', async () => {
    const image = join(dir, 'big.img');
    writeFileSync(image, new Uint8Array(128 << 20).fill(0x5a));
    await call('configs.create', {
      config: { name: 'bigdisk', kernel: 'builtin:demo', memoryMB: 16, blockDevices: [{ path: image }] },
    });
    await call('machines.start', { id: 'bigdisk' });
    await until(async () => (await consoleText('bigdisk')).includes('demo$ '));
    await call('machines.stop', { id: 'bigdisk' });
    const order: string[] = [];
    const commit = call('disks.commit', { id: 'bigdisk' }).then((r) => (order.push('commit'), r));
    const list = call('configs.list', {}).then(() => order.push('list'));
    const [committed] = await Promise.all([commit, list]);
    expect(committed).toEqual({ committed: [{ path: image, blocks: 0 }] });
    expect(order).toEqual(['list', 'commit']);
    expect(readFileSync(image).every((b) => b === 0x5a)).toBe(true);
  }, 60_000);
});

describe('snapshots whose RAM builds on another', () => {
  it('lists a corrupt one with its error, and the ones above it as unusable, deleting nothing', async () => {
    const root = mkdtempSync(join(tmpdir(), 'lguest-chainlist-'));
    try {
      const f = folder(root, 'm');
      const guest = await boot(f);
      take(guest, f, 's0.lgsnap');
      run(guest, 300_000, 'echo two\r');
      take(guest, f, 's1.lgsnap');
      run(guest, 300_000, 'echo three\r');
      take(guest, f, 's2.lgsnap');
      guest.close();
      const store = new SnapshotStore(root);
      const before = await store.list('m');
      expect(before.map((l) => [l.file, l.verified, l.ramBase])).toEqual([
        ['s0.lgsnap', true, null],
        ['s1.lgsnap', true, 's0.lgsnap'],
        ['s2.lgsnap', true, 's1.lgsnap'],
      ]);
      const bytes = readFileSync(join(f.dir, 's1.lgsnap'));
      bytes[bytes.length - 100] ^= 0xff;
      writeFileSync(join(f.dir, 's1.lgsnap'), bytes);
      // s2 itself is unchanged (its listing is kept), but what it builds on is checked again.
      const listing = new Map((await store.list('m')).map((l) => [l.file, l]));
      expect(listing.get('s0.lgsnap')!.verified).toBe(true);
      expect(listing.get('s1.lgsnap')!.error).toMatch(/checksum/);
      expect(listing.get('s2.lgsnap')).toMatchObject({ verified: false });
      expect(listing.get('s2.lgsnap')!.error).toMatch(/its RAM builds on s1\.lgsnap, which cannot be used: .*checksum/);
      expect(
        readdirSync(f.dir)
          .filter((n) => n.endsWith('.lgsnap'))
          .sort(),
      ).toEqual(['s0.lgsnap', 's1.lgsnap', 's2.lgsnap']);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('machines that cannot be snapshotted', () => {
  it('answers "unsupported" for a guest whose Launcher cannot export its state, and lists nothing', async () => {
    const other = new WorkbenchService({
      configDir: join(dir, 'other', 'machines'),
      worker: {
        ...tsxWorkerSpec(),
        extra: { launcherModule: new URL('./test-fixtures/echo-launcher.ts', import.meta.url).href },
      },
    });
    try {
      await other.call('configs.create', { config: { name: 'echo', kernel: 'none', memoryMB: 8 } });
      await other.call('machines.start', { id: 'echo' });
      await until(async () => {
        const r = await other.call('console.backlog', { id: 'echo' });
        return r.ok && (r.result as { data: Uint8Array }).data.length > 0;
      });
      const r = await other.call('snapshots.take', { id: 'echo' });
      expect(r).toMatchObject({ ok: false, error: { code: 'unsupported' } });
      expect(existsSync(join(dir, 'other', 'snapshots', 'echo'))).toBe(false);
    } finally {
      await other.close();
    }
  });

  it('answers "unsupported" for a machine on a shared network', async () => {
    await call('configs.create', {
      config: { name: 'netted', kernel: 'builtin:demo', memoryMB: 16, networks: ['lan0'] },
    });
    await call('machines.start', { id: 'netted' });
    await until(async () => (await consoleText('netted')).includes('demo$ '));
    const err = await callError('snapshots.take', { id: 'netted' });
    expect(err.code).toBe('unsupported');
    expect(err.message).toMatch(/shared network \(lan0\): snapshots cover single machines only/);
    await call('machines.stop', { id: 'netted' });
  });
});
