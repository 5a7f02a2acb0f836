// Snapshot benchmark: the time to take and to restore a snapshot of the demo guest with a writable
// disk, with 1 MiB of guest memory and 1 MiB of disk changed, at two guest sizes and two disk
// sizes. Taking (after 1 MiB of each changed since the previous snapshot) = capture (RAM as the
// pages written since then), freeze the disk overlays, encode, write the file durably. Restoring
// (after 1 MiB of each changed since that snapshot) = read and decode it and its chain, restore the
// machine into the stopped one's RAM with its disks on new overlays. Target: < 100 ms each, not
// growing with guest or disk size.
//
//   npx tsx bench/snapshot.ts

import { randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/launcher/atomic-file';
import { BlockDevice } from '../core/launcher/block-device';
import { launchGuest, type Launcher } from '../core/launcher/launch';
import { replayTo } from '../core/launcher/replay';
import { restoreGuest } from '../core/launcher/restore-guest';
import { captureForFolder } from '../core/launcher/snapshot-capture';
import { decodeMachineSnapshot, encodeMachineSnapshot } from '../core/snapshot/machine-snapshot';
import { median } from './median';

const MIB = 1024 * 1024;
/** [guest RAM, disk] in MiB. */
const SIZES_MIB: [number, number][] = [
  [64, 64],
  [256, 64],
  [64, 1024],
  [256, 1024],
];
const DIRTY = 1 * MIB;
const RUNS = 5;

/** 1 MiB of changed memory (in pages the demo guest leaves free) and 1 MiB of changed disk. */
function dirty(guest: Launcher, round: number): void {
  const ram = guest.memory.ram;
  const start = ram.length / 2 + (round % 8) * DIRTY;
  ram.set(randomBytes(DIRTY), start);
  guest.memory.written(start, DIRTY); // as a Launcher device's write into guest RAM
  const disk = guest.machine.devices.find((d): d is BlockDevice => d instanceof BlockDevice)!.disk;
  disk.write(randomBytes(DIRTY), ((round % 8) * DIRTY) % (disk.size - DIRTY));
}

async function measure(ramMiB: number, diskMiB: number): Promise<{ take: number; restore: number; fileBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-snapbench-'));
  try {
    const image = join(dir, 'disk.img');
    const fd = openSync(image, 'w');
    ftruncateSync(fd, diskMiB * MIB); // a sparse image of zeros
    closeSync(fd);
    const disksDir = join(dir, 'disks');
    const config = { name: 'bench', kernel: 'builtin:demo', memoryMB: ramMiB, blockDevices: [{ path: image }] };
    let guest = await launchGuest(config, { consoleOutput: () => {} }, { disksDir, bootEpochSeconds: 0 });
    const end = replayTo(guest, 1_500_000);
    if (end.kind !== 'reached') throw new Error(`the demo guest did not boot: ${JSON.stringify(end)}`);
    const take: number[] = [];
    const restore: number[] = [];
    let fileBytes = 0;
    // The first snapshot stores RAM in full; the measured ones are deltas over the one before.
    for (let round = -1; round < RUNS; round++) {
      dirty(guest, round + 8);
      const file = `s${round + 1}.lgsnap`;
      const t0 = performance.now();
      const pending = captureForFolder(guest, dir, { parent: guest.ramBase?.file ?? null });
      guest.freezeDisks();
      const bytes = encodeMachineSnapshot(pending.snapshot);
      writeFileAtomicSync(join(dir, file), bytes);
      pending.saved(file);
      const took = performance.now() - t0;
      if (round < 0) continue;
      take.push(took);
      fileBytes = bytes.length;

      // Changes after the snapshot, which the restore undoes. As the workbench does it: the
      // machine stops, and the snapshot's machine takes its place (in the same RAM).
      dirty(guest, round + 3);
      guest.close();
      const t1 = performance.now();
      const back = decodeMachineSnapshot(new Uint8Array(readFileSync(join(dir, file))));
      guest = restoreGuest(back, { consoleOutput: () => {} }, { disksDir, from: { dir, file }, reuse: guest });
      restore.push(performance.now() - t1);
    }
    guest.close();
    return { take: median(take), restore: median(restore), fileBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`snapshot of the demo guest, 1 MiB dirty memory + 1 MiB dirty disk, median of ${RUNS}`);
for (const [ram, disk] of SIZES_MIB) {
  const r = await measure(ram, disk);
  console.log(
    `  ${String(ram).padStart(4)} MiB guest, ${String(disk).padStart(4)} MiB disk: take ${r.take.toFixed(1)} ms, ` +
      `restore ${r.restore.toFixed(1)} ms, file ${(r.fileBytes / MIB).toFixed(2)} MiB`,
  );
}
