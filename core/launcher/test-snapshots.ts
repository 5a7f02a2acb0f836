// Helpers for tests of snapshot folders: a machine with a disk whose snapshots (taken as the
// workbench takes them: RAM as deltas, disks frozen) go into a folder, and restores from there.

import { closeSync, ftruncateSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeMachineSnapshot, encodeMachineSnapshot, type MachineSnapshot } from '../snapshot/machine-snapshot';
import { writeFileAtomicSync } from './atomic-file';
import { launchGuest, type Launcher } from './launch';
import { replayTo } from './replay';
import { restoreGuest } from './restore-guest';
import { captureForFolder } from './snapshot-capture';
import { machineDigests } from './snapshot-fixtures';

export const isSnapshotFile = (n: string): boolean => n.endsWith('.lgsnap');

export interface Folder {
  dir: string;
  disksDir: string;
  image: string;
}

export function folder(work: string, name: string): Folder {
  const dir = join(work, name);
  const image = join(work, `${name}.img`);
  writeFileSync(image, new Uint8Array(0));
  const fd = openSync(image, 'r+');
  ftruncateSync(fd, 1 << 20);
  closeSync(fd);
  return { dir, disksDir: join(dir, 'disks'), image };
}

export async function boot(f: Folder): Promise<Launcher> {
  const config = { name: 'chain', kernel: 'builtin:demo', memoryMB: 16, blockDevices: [{ path: f.image }] };
  const guest = await launchGuest(config, { consoleOutput: () => {} }, { disksDir: f.disksDir, bootEpochSeconds: 0 });
  run(guest, 1_200_000, 'echo one\r');
  return guest;
}

/** Runs `n` more instructions, typing `text` on the way (the guest writes RAM all along). */
export function run(guest: Launcher, n: number, text = ''): void {
  const at = guest.instructionCount! + Math.floor(n / 3);
  const end = replayTo(guest, guest.instructionCount! + n, text ? [{ at, bytes: new TextEncoder().encode(text) }] : []);
  if (end.kind !== 'reached') throw new Error(`the guest did not run on: ${JSON.stringify(end)}`);
}

/** Takes a snapshot as the workbench does; returns its file name and the machine's digests then. */
export function take(guest: Launcher, f: Folder, file: string): { file: string; digest: string } {
  const digest = machineDigests(guest).state;
  const pending = captureForFolder(guest, f.dir, { parent: guest.ramBase?.file ?? null });
  guest.freezeDisks();
  writeFileAtomicSync(join(f.dir, file), encodeMachineSnapshot(pending.snapshot));
  pending.saved(file);
  return { file, digest };
}

export function load(f: Folder, file: string): MachineSnapshot {
  return decodeMachineSnapshot(new Uint8Array(readFileSync(join(f.dir, file))));
}

export function restore(f: Folder, file: string, reuse?: Launcher): Launcher {
  reuse?.close();
  return restoreGuest(
    load(f, file),
    { consoleOutput: () => {} },
    { disksDir: f.disksDir, from: { dir: f.dir, file }, ...(reuse ? { reuse } : {}) },
  );
}
