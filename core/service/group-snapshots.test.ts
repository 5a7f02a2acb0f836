// Group snapshots through the service API with real machine workers: two demo machines on lan0
// snapshotted together, more traffic, the group restored on the shared host (same guest and peer
// slots, same consoles, byte-identical machine states), pinging each other again; one member alone
// refused naming the group; broken groups (changed member, missing member, bad manifest) listed
// with the reason, never deleted, never restored.

import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiMethod, ApiParams, ApiResult, GroupSnapshotListing, MachineConfig } from './api';
import { decodeMachineSnapshot, encodeMachineState } from '../snapshot/machine-snapshot';
import { until } from '../launcher/test-terminal';
import { WorkbenchService } from './service';

let dir: string;
let service: WorkbenchService;

async function call<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiResult<M>> {
  const r = await service.call(method, params);
  if (!r.ok) throw new Error(`${method}: ${r.error.message}`);
  return r.result as ApiResult<M>;
}

async function callError(method: ApiMethod, params: unknown): Promise<{ code: string; message: string }> {
  const r = await service.call(method, params);
  if (r.ok) throw new Error(`${method} should have failed`);
  return r.error;
}

async function consoleText(id: string): Promise<string> {
  return new TextDecoder().decode((await call('console.backlog', { id })).data);
}

/** Types a command and waits until the console shows `expect` after it, and the prompt. */
async function shell(id: string, command: string, expect: RegExp): Promise<string> {
  const from = (await consoleText(id)).length;
  await call('console.input', { id, data: new TextEncoder().encode(command + '\n') });
  return until(async () => {
    const out = (await consoleText(id)).slice(from);
    return expect.test(out) && out.includes('demo$ ') ? out : undefined;
  });
}

function demo(name: string): MachineConfig {
  return { name, kernel: 'builtin:demo', memoryMB: 16, networks: ['lan0'] };
}

/** Each member's machine state as bytes (metadata left out): equal bytes, equal machines. */
function memberStates(group: GroupSnapshotListing): Map<string, Buffer> {
  return new Map(
    group.members.map((m) => [
      m.machine,
      Buffer.from(
        encodeMachineState(decodeMachineSnapshot(readFileSync(join(dir, 'snapshots', m.machine, m.file))).state),
      ),
    ]),
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-groupsnap-'));
  service = new WorkbenchService({ configDir: join(dir, 'machines') });
  await call('configs.create', { config: demo('a') });
  await call('configs.create', { config: demo('b') });
  await call('networks.start', { name: 'lan0' });
  await until(async () => (await consoleText('a')).includes('demo$ ') && (await consoleText('b')).includes('demo$ '));
});

afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('group snapshots of a network', () => {
  let group: GroupSnapshotListing;

  it('group snapshot -> more traffic -> restore: consoles and machine states as at the snapshot, the network works', async () => {
    expect(await shell('a', 'net ping 3', /ping: .*replies/)).toMatch(/3 sent, 3 replies/);

    let t0 = performance.now();
    group = await call('snapshots.group.take', { network: 'lan0' });
    console.log(`snapshots.group.take, 2 members of 16 MiB: ${(performance.now() - t0).toFixed(0)} ms`);
    expect(group).toMatchObject({ verified: true, network: 'lan0' });
    expect(group.file).toMatch(/^lan0-.*\.lggroup$/);
    expect(group.members.map((m) => [m.machine, m.guestId, m.peerSlot, m.mac, m.verified])).toEqual([
      ['a', 0, 0, '02:00:00:00:00:00', true],
      ['b', 1, 1, '02:00:01:00:00:00', true],
    ]);
    expect(existsSync(join(dir, 'group-snapshots', group.file))).toBe(true);
    expect(await call('snapshots.group.list', {})).toEqual([group]);
    // The machines run on after the snapshot (they were running before it).
    await until(async () => (await call('machines.list', {})).every((m) => m.state !== 'paused'));
    const consoles = { a: await consoleText('a'), b: await consoleText('b') };

    // More traffic and output after the snapshot.
    expect(await shell('b', 'net ping 4', /ping: .*replies/)).toMatch(/4 sent, 4 replies/);
    expect(await shell('a', 'net', /pings answered/)).toMatch(/pings answered 4/);

    t0 = performance.now();
    const restored = await call('snapshots.group.restore', { file: group.file, paused: true });
    console.log(`snapshots.group.restore (stop, 2 new workers, paused): ${(performance.now() - t0).toFixed(0)} ms`);
    expect(restored.map((s) => [s.id, s.state])).toEqual([
      ['a', 'paused'],
      ['b', 'paused'],
    ]);
    expect(await consoleText('a')).toBe(consoles.a);
    expect(await consoleText('b')).toBe(consoles.b);
    // Back in the same guest and peer slots of lan0 on the workbench's one host.
    const tables = service.machines.hostTables;
    expect(tables.guestsInUse).toBe(2);
    const lan0 = (await call('networks.list', {})).find((n) => n.name === 'lan0')!;
    expect(lan0.members.map((m) => [m.machine, m.peerSlot, m.mac])).toEqual([
      ['a', 0, '02:00:00:00:00:00'],
      ['b', 1, '02:00:01:00:00:00'],
    ]);

    // A snapshot of the restored, paused group is the same machines, byte for byte.
    const again = await call('snapshots.group.take', { network: 'lan0' });
    const before = memberStates(group);
    const after = memberStates(again);
    for (const id of ['a', 'b']) expect(Buffer.compare(after.get(id)!, before.get(id)!), id).toBe(0);
    // Taken while paused, the group stays paused; deleting it takes its member files too.
    expect((await call('machines.list', {})).map((m) => m.state)).toEqual(['paused', 'paused']);
    await call('snapshots.group.delete', { file: again.file });
    for (const m of again.members) expect(existsSync(join(dir, 'snapshots', m.machine, m.file))).toBe(false);

    for (const id of ['a', 'b']) await call('machines.resume', { id });
    // The restored guests see the pings before the snapshot only, and reach each other again.
    expect(await shell('a', 'net', /pings answered/)).toMatch(/pings answered 0/);
    expect(await shell('b', 'net ping 2', /ping: .*replies/)).toMatch(/1 peer\(s\), 2 sent, 2 replies/);
  }, 180_000);

  it('a restore resumes the group together, unless asked to keep it paused', async () => {
    const statuses = await call('snapshots.group.restore', { file: group.file });
    expect(statuses.map((s) => s.id)).toEqual(['a', 'b']);
    await until(async () => (await call('machines.list', {})).every((m) => m.state !== 'paused'));
    expect(await shell('a', 'net ping 1', /ping: .*replies/)).toMatch(/1 sent, 1 replies/);
  }, 120_000);

  it("frames in flight at the snapshot (in the receiver's RAM, its interrupt still in the host tables) arrive after the restore", async () => {
    await call('machines.pause', { id: 'b' });
    await until(() => service.machines.status('b').state === 'paused');
    const from = (await consoleText('a')).length;
    await call('console.input', { id: 'a', data: new TextEncoder().encode('net ping 3\n') });
    await until(async () => (await consoleText('a')).slice(from).includes('net ping 3\r\n'));
    // a's requests are copied into paused b's RAM, their interrupt raised in the tables; a waits
    // up to 2 s for the replies.
    await new Promise((r) => setTimeout(r, 200));
    const inFlight = await call('snapshots.group.take', { network: 'lan0' });
    expect(service.machines.status('b').state).toBe('paused');
    expect(await shell('a', '', /ping: .*replies/)).toMatch(/3 sent, 0 replies/);

    await call('snapshots.group.restore', { file: inFlight.file });
    const after = await until(async () => {
      const text = await consoleText('a');
      return /ping: .*replies/.test(text.slice(text.lastIndexOf('net ping 3'))) ? text : undefined;
    });
    expect(after.slice(after.lastIndexOf('net ping 3'))).toMatch(/ping: 1 peer\(s\), 3 sent, 3 replies/);
    await call('snapshots.group.delete', { file: inFlight.file });
  }, 120_000);

  it('refuses to restore or delete one member alone, naming the group', async () => {
    const member = group.members.find((m) => m.machine === 'b')!;
    const err = await callError('snapshots.restore', { id: 'b', file: member.file });
    expect(err.code).toBe('unsupported');
    expect(err.message).toContain(`is one member of group snapshot ${group.file} of network "lan0", with "a"`);
    expect(err.message).toContain('restore the group');
    const del = await callError('snapshots.delete', { id: 'b', file: member.file });
    expect(del).toMatchObject({ code: 'bad-state' });
    expect(del.message).toContain(group.file);
    expect(existsSync(join(dir, 'snapshots', 'b', member.file))).toBe(true);
    expect(service.machines.status('b').state).not.toBe('stopped');
  });

  it('refuses a restore while a machine outside the group is on the network, changing nothing', async () => {
    await call('configs.create', { config: { ...demo('c'), networks: ['lan0', 'lan1'] } });
    await call('machines.start', { id: 'c' });
    await until(async () => (await consoleText('c')).includes('demo$ '));
    const vt = service.machines.status('a').virtualTimeNs;
    const err = await callError('snapshots.group.restore', { file: group.file });
    expect(err).toMatchObject({ code: 'bad-state' });
    expect(err.message).toBe('machine "c" is on network "lan0" but not in the group snapshot: stop it first');
    expect(service.machines.status('a').virtualTimeNs).toBeGreaterThanOrEqual(vt);
    expect(service.machines.isActive('a')).toBe(true);
    // Nor is a group snapshot taken of a network whose member is also on another network.
    expect(await callError('snapshots.group.take', { network: 'lan0' })).toEqual({
      code: 'unsupported',
      message: 'machine "c" is also on network lan1: a group snapshot covers machines on one network only',
    });
    await call('machines.stop', { id: 'c' });
  }, 120_000);

  it('lists a broken group with the reason (changed or missing member, bad manifest), never deletes or restores it', async () => {
    const b = group.members.find((m) => m.machine === 'b')!;
    const bPath = join(dir, 'snapshots', 'b', b.file);
    const original = readFileSync(bPath);
    const changed = Buffer.from(original);
    changed[changed.length - 100]! ^= 0xff;
    writeFileSync(bPath, changed);
    const vt = service.machines.status('a').virtualTimeNs;

    let listed = (await call('snapshots.group.list', {})).find((g) => g.file === group.file)!;
    expect(listed.verified).toBe(false);
    expect(listed.error).toBe(`member "b": snapshot ${b.file} changed since the group was taken (SHA-256 differs)`);
    expect(listed.members.map((m) => m.verified)).toEqual([true, false]);
    const refused = await callError('snapshots.group.restore', { file: group.file });
    expect(refused.code).toBe('invalid-snapshot');
    expect(refused.message).toContain(`group snapshot ${group.file} is broken: member "b"`);
    // Nothing was stopped or replaced.
    expect(service.machines.isActive('a') && service.machines.isActive('b')).toBe(true);
    expect(service.machines.status('a').virtualTimeNs).toBeGreaterThanOrEqual(vt);

    renameSync(bPath, `${bPath}.away`);
    listed = (await call('snapshots.group.list', {})).find((g) => g.file === group.file)!;
    expect(listed.error).toBe(`member "b": snapshot ${b.file} is missing`);
    renameSync(`${bPath}.away`, bPath);
    writeFileSync(bPath, original);

    const bad = join(dir, 'group-snapshots', 'lan0-broken.lggroup');
    writeFileSync(bad, '{"kind": "lguest-group-snapshot", ');
    const wrongShape = join(dir, 'group-snapshots', 'lan0-shape.lggroup');
    const manifest = JSON.parse(readFileSync(join(dir, 'group-snapshots', group.file), 'utf8')) as {
      members: { guestId: number }[];
    };
    manifest.members[0]!.guestId = 16;
    writeFileSync(wrongShape, JSON.stringify(manifest));
    copyFileSync(join(dir, 'group-snapshots', group.file), join(dir, 'group-snapshots', 'not-a-group.txt'));
    const all = await call('snapshots.group.list', {});
    expect(all.map((g) => [g.file, g.verified])).toEqual([
      [group.file, true],
      ['lan0-broken.lggroup', false],
      ['lan0-shape.lggroup', false],
    ]);
    expect(all[1]!.error).toMatch(/^group snapshot lan0-broken\.lggroup: the manifest is not JSON/);
    expect(all[2]!.error).toBe('group snapshot lan0-shape.lggroup: manifest /members/0/guestId must be <= 15');
    expect((await callError('snapshots.group.restore', { file: 'lan0-broken.lggroup' })).code).toBe('invalid-snapshot');
    expect(existsSync(bad) && existsSync(wrongShape)).toBe(true);
  }, 60_000);

  it('validates params', async () => {
    expect(await callError('snapshots.group.take', { network: 'no spaces' })).toMatchObject({ code: 'bad-request' });
    expect(await callError('snapshots.group.restore', { file: '../x.lggroup' })).toMatchObject({ code: 'bad-request' });
    expect(await callError('snapshots.group.restore', { file: 'x.lgsnap' })).toMatchObject({ code: 'bad-request' });
    expect(await callError('snapshots.group.take', { network: 'lan9' })).toMatchObject({
      code: 'bad-state',
      message: 'no machine is running on network "lan9"',
    });
  });
});
