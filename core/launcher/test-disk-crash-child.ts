// Test helper run as a child process by disk-crash.test.ts: overlay writes, snapshots (freeze),
// a restore (branch) and a commit to base, killed by SIGKILL just before its Nth file-system
// operation that changes something (N = argv[4]; -1 runs to the end and prints the count).
//
//   node --import tsx test-disk-crash-child.ts DISKS_DIR BASE_IMAGE KILL_AT

import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const [disksDir, base, killAtText] = process.argv.slice(2) as [string, string, string];
const killAt = Number(killAtText);
let ops = 0;
type Fn = (...args: never[]) => unknown;
const patchable = fs as unknown as Record<string, Fn>;
for (const name of ['writeSync', 'fsyncSync', 'renameSync', 'copyFileSync', 'ftruncateSync', 'unlinkSync', 'rmSync']) {
  const real = patchable[name]!;
  patchable[name] = (...args: never[]) => {
    if (++ops === killAt) process.kill(process.pid, 'SIGKILL');
    return real(...args);
  };
}
// The overlay modules import node:fs by name: make those bindings see the counting functions.
syncBuiltinESMExports();

const { commitToBase, freezeDisk, machineDiskOpener, restoreDiskOpener } = await import('./machine-disks');
type Disk = import('./overlay-disk').OverlayDisk;

const say = (line: string): boolean => process.stdout.write(`${line}\n`);
function seen(disk: Disk): string {
  const all = new Uint8Array(disk.size);
  disk.read(all, 0);
  return createHash('sha256').update(all).digest('hex');
}
function writes(disk: Disk, seed: number): void {
  for (let i = 0; i < 4; i++) {
    const at = ((seed * 5 + i * 3) % 14) * 4096 + (i % 2) * 512;
    disk.write(new Uint8Array(1024 + i * 512).fill(seed * 16 + i), at);
  }
}

const disk = machineDiskOpener(disksDir)(base, false) as Disk;
writes(disk, 1);
const s1 = freezeDisk(disk, 0);
say(`snapshot ${s1} ${seen(disk)}`);
writes(disk, 2);
const s2 = freezeDisk(disk, 0);
say(`snapshot ${s2} ${seen(disk)}`);
writes(disk, 3);
disk.close();
const identity = { path: base, size: disk.size, readOnly: false, sha256: disk.baseSha256, overlay: s1 };
const branch = restoreDiskOpener(disksDir, [identity])(base, false) as Disk;
writes(branch, 4);
const s3 = freezeDisk(branch, 0);
say(`snapshot ${s3} ${seen(branch)}`);
writes(branch, 5);
say(`commit ${seen(branch)}`);
branch.close();
commitToBase(disksDir, 0);
say(`end ${ops}`);
