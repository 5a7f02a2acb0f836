// Snapshot benchmark: the time to take and to restore a snapshot of the demo guest with a writable
// disk, after 1 MiB of guest memory and 1 MiB of disk changed, at two guest/disk sizes. Taking =
// capture, freeze the disk overlays, encode, write the file durably; restoring = read, decode,
// restore the machine with its disks on new overlays. Target: < 100 ms each at 64 MiB.
//
//   npx tsx bench/snapshot.ts

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../core/launcher/atomic-file';
import { BlockDevice } from '../core/launcher/block-device';
import { launchGuest, type Launcher } from '../core/launcher/launch';
import { replayTo } from '../core/launcher/replay';
import { restoreGuest } from '../core/launcher/restore-guest';
import { captureMachine, decodeMachineSnapshot, encodeMachineSnapshot } from '../core/snapshot/machine-snapshot';

const MIB = 1024 * 1024;
const SIZES_MIB = [64, 256];
const DIRTY = 1 * MIB;
const RUNS = 5;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** 1 MiB of changed memory (in pages the demo guest leaves free) and 1 MiB of changed disk. */
function dirty(guest: Launcher, round: number): void {
  const ram = guest.memory.ram;
  const start = ram.length / 2 + (round % 8) * DIRTY;
  ram.set(randomBytes(DIRTY), start);
  const disk = guest.machine.devices.find((d): d is BlockDevice => d instanceof BlockDevice)!.disk;
  disk.write(randomBytes(DIRTY), ((round % 8) * DIRTY) % (disk.size - DIRTY));
}

async function measure(sizeMiB: number): Promise<{ take: number; restore: number; fileBytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-snapbench-'));
  try {
    const image = join(dir, 'disk.img');
    writeFileSync(image, new Uint8Array(sizeMiB * MIB));
    const disksDir = join(dir, 'disks');
    const config = { name: 'bench', kernel: 'builtin:demo', memoryMB: sizeMiB, blockDevices: [{ path: image }] };
    let guest = await launchGuest(config, { consoleOutput: () => {} }, { disksDir, bootEpochSeconds: 0 });
    const end = replayTo(guest, 1_500_000);
    if (end.kind !== 'reached') throw new Error(`the demo guest did not boot: ${JSON.stringify(end)}`);
    const take: number[] = [];
    const restore: number[] = [];
    let fileBytes = 0;
    for (let round = 0; round < RUNS; round++) {
      dirty(guest, round);
      const file = join(dir, `s${round}.lgsnap`);
      const t0 = performance.now();
      const snap = captureMachine(guest);
      guest.freezeDisks();
      const bytes = encodeMachineSnapshot(snap);
      writeFileAtomicSync(file, bytes);
      take.push(performance.now() - t0);
      fileBytes = bytes.length;

      // As the workbench does it: the machine stops, and the snapshot's machine takes its place.
      guest.close();
      const t1 = performance.now();
      const back = decodeMachineSnapshot(new Uint8Array(readFileSync(file)));
      guest = restoreGuest(back, { consoleOutput: () => {} }, { disksDir });
      restore.push(performance.now() - t1);
    }
    guest.close();
    return { take: median(take), restore: median(restore), fileBytes };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`snapshot of the demo guest, 1 MiB dirty memory + 1 MiB dirty disk, median of ${RUNS}`);
for (const size of SIZES_MIB) {
  const r = await measure(size);
  console.log(
    `  ${String(size).padStart(4)} MiB guest, ${size} MiB disk: take ${r.take.toFixed(1)} ms, restore ${r.restore.toFixed(1)} ms, ` +
      `file ${(r.fileBytes / MIB).toFixed(2)} MiB`,
  );
}
