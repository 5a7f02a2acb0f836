// Machine snapshots on the real demo guest (builtin:demo on the real host and i386 CPU): the pin
// (run N, snapshot, run M -> A; restore, run M -> B; A and B byte-identical), refused files and
// disks, cache drops that change nothing, and determinism of two independent boots.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyStats } from '../host/lg';
import { LguestHost, type LguestFileImpl } from '../host/lguest-user';
import { DiskChangedError } from '../snapshot/disk-identity';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type SnapshotValue } from '../snapshot/format';
import {
  captureMachine,
  decodeMachineSnapshot,
  encodeMachineSnapshot,
  encodeMachineState,
  MACHINE_SNAPSHOT_LAYOUT,
  machineStateOf,
  SnapshotUnsupportedError,
} from '../snapshot/machine-snapshot';
import { diffTrees } from '../snapshot/tree-diff';
import { launchGuest, type Launcher } from './launch';
import type { MachineConfig } from './machine-config';
import { replayTo, type InputEvent } from './replay';
import { restoreGuest } from './restore-guest';

const DEMO: MachineConfig = { name: 'demo', kernel: 'builtin:demo', memoryMB: 32 };
/** Boot to well past the first prompt (the demo prints "demo$ " after about 0.96M instructions). */
const N = 1_500_000;
/** Instructions run after the snapshot, with console input on the way. */
const M = 2_500_000;

/** Keystrokes typed when the guest has retired exactly `at` instructions. */
interface Typed {
  at: number;
  text: string;
}

interface Run {
  guest: Launcher;
  output: () => string;
}

async function boot(config: MachineConfig = DEMO): Promise<Run> {
  let text = '';
  // The guest's wall clock is pinned, so that two boots are the same machine.
  const guest = await launchGuest(
    config,
    { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
    { bootEpochSeconds: 1_191_888_000 },
  );
  return { guest, output: () => text };
}

function icount(g: Launcher): number {
  return g.instructionCount!;
}

/** Replays to exactly `target` instructions with the typed input (replay.ts); it must get there. */
function runTo(g: Launcher, target: number, typed: Typed[] = []): void {
  const events: InputEvent[] = typed.map((e) => ({ at: e.at, bytes: new TextEncoder().encode(e.text) }));
  expect(replayTo(g, target, events)).toEqual({ kind: 'reached', instructionCount: target });
}

/** The encoded machine state; without `withStats`, the host's counters (derived data) are zeroed. */
function stateBytes(g: Launcher, withStats = true): Uint8Array {
  const state = machineStateOf(g.exportMachineState());
  if (!withStats) state.guest.stats = emptyStats();
  return encodeMachineState(state);
}

function expectSameState(a: Uint8Array, b: Uint8Array): void {
  if (Buffer.compare(a, b) !== 0) {
    const where = diffTrees(decodeSnapshot(a), decodeSnapshot(b));
    expect.fail(`machine states differ (${a.length} vs ${b.length} bytes) at:\n  ${where.join('\n  ')}`);
  }
}

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-snap-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('machine snapshots of the demo guest', () => {
  it('pin: run N, snapshot, run M = A; restore, run M = B; A and B are byte-identical', async () => {
    const a = await boot();
    // One input queued at the snapshot point itself (undelivered input is state), more after it.
    runTo(a.guest, N, [{ at: N, text: 'echo before\r' }]);
    const t0 = performance.now();
    const bytes = encodeMachineSnapshot(captureMachine(a.guest, { scrollback: new TextEncoder().encode(a.output()) }));
    const snapMs = performance.now() - t0;
    expect(a.guest.pendingConsoleInput).toBe('echo before\r'.length);

    const after: Typed[] = [
      { at: N + 300_000, text: 'echo one\r' },
      { at: N + 900_000, text: 'uname -a\r' },
      { at: N + 1_600_000, text: 'echo two\r' },
    ];
    const outA0 = a.output().length;
    runTo(a.guest, N + M, after);
    const stateA = stateBytes(a.guest);
    const outA = a.output().slice(outA0);
    a.guest.close();

    const t1 = performance.now();
    const snap = decodeMachineSnapshot(bytes);
    let outB = '';
    const b = restoreGuest(snap, { consoleOutput: (x) => (outB += new TextDecoder().decode(x)) });
    const restoreMs = performance.now() - t1;
    expect(icount(b)).toBe(N);
    runTo(b, N + M, after);
    const stateB = stateBytes(b);
    b.close();

    // The guest really did something with the input after the snapshot.
    expect(outA).toContain('before');
    expect(outA).toContain('one');
    expect(outA).toContain('two');
    expect(outB).toBe(outA);
    expectSameState(stateA, stateB);
    console.log(
      `pin: N=${N} M=${M}; snapshot ${bytes.length} bytes, capture+encode ${snapMs.toFixed(0)} ms, ` +
        `decode+restore ${restoreMs.toFixed(0)} ms`,
    );
  });

  it('loads a layout-1 snapshot (float64 x87 registers), converting each register exactly to 80 bits', async () => {
    const a = await boot();
    runTo(a.guest, N);
    const tree = decodeSnapshot(encodeMachineSnapshot(captureMachine(a.guest))) as Record<string, SnapshotValue>;
    a.guest.close();
    // Rewrite it as the previous layout wrote it: registers as doubles.
    const old = new Float64Array([1.4, -0, Infinity, 0, 2 ** -1074, -2.5, 1e300, 0.1]);
    new DataView(old.buffer).setBigUint64(3 * 8, 0x7ff4000000000001n, true); // a signalling NaN with payload
    tree.layout = 1;
    const x87 = ((tree.state as Record<string, SnapshotValue>).cpu as Record<string, SnapshotValue>).x87 as Record<
      string,
      SnapshotValue
    >;
    x87.regs = old;
    const snap = decodeMachineSnapshot(encodeSnapshot(tree));
    expect(snap.layout).toBe(MACHINE_SNAPSHOT_LAYOUT);
    const w = snap.state.cpu.x87.regs;
    const reg = (p: number): string =>
      [w[p * 3 + 2]!.toString(16), w[p * 3 + 1]!.toString(16), w[p * 3]!.toString(16)].join(':');
    expect(reg(0)).toBe('3fff:b3333333:33333000'); // 1.4
    expect(reg(1)).toBe('8000:0:0'); // -0
    expect(reg(2)).toBe('7fff:80000000:0'); // +infinity
    expect(reg(3)).toBe('7fff:a0000000:800'); // the SNaN, still signalling, payload kept
    expect(reg(4)).toBe('3bcd:80000000:0'); // 2^-1074: a normal 80-bit value
    expect(reg(5)).toBe('c000:a0000000:0'); // -2.5
    // It restores and runs on.
    const b = restoreGuest(snap, { consoleOutput: () => {} });
    runTo(b, N + 200_000);
    b.close();
  });

  it('restores into a fresh host object, and refuses a host that already holds a guest', async () => {
    const a = await boot();
    runTo(a.guest, N);
    const bytes = encodeMachineSnapshot(captureMachine(a.guest));
    const expected = stateBytes(a.guest);
    a.guest.close();

    const host = new LguestHost();
    const b = restoreGuest(decodeMachineSnapshot(bytes), { consoleOutput: () => {} }, { host });
    expect(host.guests.filter((g) => g !== null)).toHaveLength(1);
    expect((b.file as LguestFileImpl).guest!.mem).toBe(b.memory);
    expectSameState(stateBytes(b), expected);
    expect(() => restoreGuest(decodeMachineSnapshot(bytes), { consoleOutput: () => {} }, { host })).toThrow(
      SnapshotUnsupportedError,
    );
    b.close();
    expect(host.guests.every((g) => g === null)).toBe(true);
  });

  it('refuses a file with one flipped byte, and a file of another format version', async () => {
    const a = await boot();
    runTo(a.guest, 200_000);
    const bytes = encodeMachineSnapshot(captureMachine(a.guest));
    a.guest.close();
    const flipped = bytes.slice();
    flipped[Math.floor(flipped.length / 2)] ^= 0x04;
    expect(() => decodeMachineSnapshot(flipped)).toThrow(/checksum at offset \d+ does not match/);
    const versioned = bytes.slice();
    new DataView(versioned.buffer).setUint32(8, 2, true);
    expect(() => decodeMachineSnapshot(versioned)).toThrow(SnapshotFormatError);
    expect(() => decodeMachineSnapshot(versioned)).toThrow(/format version 2 at offset 8 is not supported/);
    expect(() => decodeMachineSnapshot(bytes)).not.toThrow();
    // The same bytes in a Node Buffer (as fs.readFileSync returns them) decode to the same machine.
    const fromBuffer = decodeMachineSnapshot(Buffer.from(bytes));
    expect(
      Buffer.compare(encodeMachineState(fromBuffer.state), encodeMachineState(decodeMachineSnapshot(bytes).state)),
    ).toBe(0);
  });

  it('refuses to restore when a disk changed, naming the disk, unless explicitly overridden', async () => {
    const disk = join(dir, 'disk.img');
    writeFileSync(disk, new Uint8Array(64 * 1024).fill(0x11));
    const a = await boot({ ...DEMO, blockDevices: [{ path: disk, readOnly: true }] });
    runTo(a.guest, N);
    const snap = decodeMachineSnapshot(encodeMachineSnapshot(captureMachine(a.guest)));
    a.guest.close();
    expect(snap.state.disks).toEqual([
      { path: disk, size: 65536, readOnly: true, sha256: expect.stringMatching(/^[0-9a-f]{64}$/), overlay: null },
    ]);

    // Unchanged: fine.
    restoreGuest(snap, { consoleOutput: () => {} }).close();
    const changed = new Uint8Array(64 * 1024).fill(0x11);
    changed[40_000] = 0x12;
    writeFileSync(disk, changed);
    const attempt = () => restoreGuest(snap, { consoleOutput: () => {} });
    expect(attempt).toThrow(DiskChangedError);
    expect(attempt).toThrow(`disk ${disk} changed contents`);
    const b = restoreGuest(snap, { consoleOutput: () => {} }, { allowChangedDisks: true });
    expect(b.instructionCount).toBe(N);
    b.close();
    rmSync(disk);
    expect(attempt).toThrow(`disk ${disk} of the snapshot cannot be opened`);
  });

  it('refuses to snapshot a machine on a shared network', async () => {
    const a = await boot({ ...DEMO, networks: ['lan0'] });
    runTo(a.guest, 100_000);
    expect(() => captureMachine(a.guest)).toThrow(/shared network \(lan0\): snapshots cover single machines only/);
    a.guest.close();
  });

  it('dropping every derived cache mid-run changes nothing (N, drop, M == N+M)', async () => {
    const inputs: Typed[] = [{ at: N + 200_000, text: 'uname -a\r' }];
    const x = await boot();
    runTo(x.guest, N);
    (x.guest.file as LguestFileImpl).guest!.cpu.dropCaches();
    runTo(x.guest, N + M, inputs);
    // The same slices without the drop: every byte of the state is the same.
    const y = await boot();
    runTo(y.guest, N);
    runTo(y.guest, N + M, inputs);
    expect(x.output()).toContain('paravirt=lguest');
    expect(x.output()).toBe(y.output());
    expectSameState(stateBytes(x.guest), stateBytes(y.guest));
    // One run of N+M: the same machine; only the host's statistics count one budget exit less.
    const z = await boot();
    runTo(z.guest, N + M, inputs);
    expect(z.output()).toBe(x.output());
    expectSameState(stateBytes(x.guest, false), stateBytes(z.guest, false));
    for (const r of [x, y, z]) r.guest.close();
  });

  it('two independent boots with the same inputs give the same console output and state', async () => {
    const K = 3_000_000;
    const inputs: Typed[] = [
      { at: 1_100_000, text: 'help\r' },
      { at: 2_000_000, text: 'echo det\r' },
    ];
    const x = await boot();
    const y = await boot();
    runTo(x.guest, K, inputs);
    runTo(y.guest, K, inputs);
    expect(x.output()).toContain('det');
    expect(x.output()).toBe(y.output());
    expectSameState(stateBytes(x.guest), stateBytes(y.guest));
    // And a different input gives a different machine (the comparison can fail).
    const z = await boot();
    runTo(z.guest, K, [{ at: 1_100_000, text: 'help\r' }]);
    expect(Buffer.compare(stateBytes(z.guest), stateBytes(x.guest))).not.toBe(0);
    for (const r of [x, y, z]) r.guest.close();
  });
});
