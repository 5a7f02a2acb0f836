// Diffs of the demo guest with a disk on overlays: a snapshot against itself is empty; after the
// guest writes a file, the pages, registers and disk blocks that changed are reported.

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../cpu/memory';
import { captureMachine, machineStateOf } from '../snapshot/machine-snapshot';
import { launchGuest } from './launch';
import { replayTo } from './replay';
import { emptyDemoFs } from './test-images';
import { diffSnapshots, diffWithRunning } from './snapshot-diff';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-diff-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('snapshot diffs', () => {
  it('reports the pages, registers and disk blocks that changed, and nothing for equal states', async () => {
    const image = join(dir, 'disk.img');
    writeFileSync(image, emptyDemoFs(128));
    const disksDir = join(dir, 'disks');
    const guest = await launchGuest(
      { name: 'diff', kernel: 'builtin:demo', memoryMB: 8, blockDevices: [{ path: image }] },
      { consoleOutput: () => {} },
      { disksDir, bootEpochSeconds: 0 },
    );
    expect(replayTo(guest, 1_500_000).kind).toBe('reached');
    const a = captureMachine(guest).state;
    guest.freezeDisks();

    const same = diffSnapshots(a, a, disksDir);
    expect(same.pages).toEqual({ changed: 0, ranges: [] });
    expect(same.registers).toEqual([]);
    expect(same.disks).toEqual([{ path: image, changedBlocks: 0, ranges: [] }]);

    const typed = [{ at: 1_500_000, bytes: new TextEncoder().encode('write f hello-diff\r') }];
    expect(replayTo(guest, 3_000_000, typed).kind).toBe('reached');
    const b = captureMachine(guest).state;
    const d = diffSnapshots(a, b, disksDir);
    expect(d.pages.changed).toBeGreaterThan(0);
    expect(d.pages.ranges.reduce((n, r) => n + (r.end - r.start), 0)).toBe(d.pages.changed * PAGE_SIZE);
    expect(d.registers.map((r) => r.name)).toContain('instructions');
    expect(d.registers.find((r) => r.name === 'instructions')).toEqual({
      name: 'instructions',
      a: 1_500_000,
      b: 3_000_000,
    });
    // The directory sector and the file's data: both in the first 4 KiB block of this small disk.
    expect(d.disks[0]!.changedBlocks).toBe(1);
    expect(d.disks[0]!.ranges).toEqual([{ start: 0, end: 4096 }]);

    // Against the running machine: the same answer as against a capture taken now.
    const live = diffWithRunning(a, guest, disksDir);
    expect(live).toEqual(diffSnapshots(a, machineStateOf(guest.exportMachineState()), disksDir));
    expect(live.disks[0]!.changedBlocks).toBe(1);
    guest.close();
  });
});
