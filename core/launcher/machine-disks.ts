// A machine's writable disks as overlays in its disk folder: which overlay each disk continues on
// (head.json), a new branch at a restore, freezing at a snapshot, and disposable runs whose overlays
// live in a temporary folder that is removed at stop. Base images are only ever read.

import { randomBytes } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import type { DiskIdentity } from '../snapshot/disk-identity';
import { BlockDevice, openDiskImage, type BlockBackend } from './block-device';
import type { LauncherDevice } from './device';
import { writeAll } from './file-io';
import { syncDirSync, writeFileAtomicSync } from './atomic-file';
import { OVERLAY_BLOCK, OVERLAY_SUFFIX, OverlayError, readOverlayHeader } from './disk-overlay';
import { OverlayDisk } from './overlay-disk';

export type DiskOpener = (path: string, readOnly: boolean) => BlockBackend;

const HEAD_FILE = 'head.json';

/** Which overlay each disk (by its order among the machine's disks) is running on. */
interface Head {
  version: 1;
  disks: ({ base: string; file: string } | null)[];
}

function readHead(dir: string): Head {
  try {
    const head = JSON.parse(readFileSync(join(dir, HEAD_FILE), 'utf8')) as Head;
    if (head.version === 1 && Array.isArray(head.disks)) return head;
  } catch (e) {
    if ((e as { code?: unknown }).code !== 'ENOENT') throw e;
  }
  return { version: 1, disks: [] };
}

/** The overlays the machine's disks run on now (head.json). */
export function headOverlays(dir: string): string[] {
  return readHead(dir).disks.flatMap((d) => (d ? [d.file] : []));
}

function setHead(dir: string, index: number, base: string, file: string): void {
  const head = readHead(dir);
  const old = head.disks[index];
  while (head.disks.length <= index) head.disks.push(null);
  head.disks[index] = { base, file };
  writeFileAtomicSync(join(dir, HEAD_FILE), `${JSON.stringify(head, null, 2)}\n`);
  // The overlay the disk ran on before is dropped once nothing is built on it (a snapshot's overlay
  // always has the overlay created at the snapshot above it, so it is never dropped here).
  if (old && old.file !== file && !hasChild(dir, old.file)) {
    rmSync(join(dir, old.file), { force: true });
  }
}

function hasChild(dir: string, file: string): boolean {
  for (const name of readdirSync(dir)) {
    if (!name.endsWith(OVERLAY_SUFFIX) || name === file) continue;
    try {
      if (readOverlayHeader(join(dir, name)).parent?.file === file) return true;
    } catch {
      // An unreadable overlay might be a child: keep the file.
      return true;
    }
  }
  return false;
}

/**
 * The disk opener of a machine whose overlays live in `dir`: each writable disk continues on the
 * overlay head.json names for it (if that overlay is on the same base), else on a new one.
 * Read-only disks are opened as they are.
 */
export function machineDiskOpener(dir: string): DiskOpener {
  let index = 0;
  return (path, readOnly) => {
    const i = index++;
    if (readOnly) return openDiskImage(path, true);
    mkdirSync(dir, { recursive: true });
    const known = readHead(dir).disks[i];
    const tip = known && known.base === path && existsSync(join(dir, known.file)) ? known.file : null;
    // An overlay something is built on was frozen by a snapshot (a crash came before head.json
    // moved on): it is never written again, so the disk continues on a new overlay above it.
    if (tip !== null && !hasChild(dir, tip)) return OverlayDisk.open(path, dir, tip);
    const disk = OverlayDisk.branch(path, dir, tip);
    setHead(dir, i, path, disk.activeFile);
    return disk;
  };
}

/**
 * The disk opener of a restore: each writable disk gets a new overlay on top of the overlay its
 * snapshot froze (or on the base, for a snapshot without overlays), and becomes the disk's head.
 */
export function restoreDiskOpener(dir: string, disks: readonly DiskIdentity[], allowChangedBase = false): DiskOpener {
  let index = 0;
  return (path, readOnly) => {
    const i = index++;
    if (readOnly) return openDiskImage(path, true);
    mkdirSync(dir, { recursive: true });
    const disk = OverlayDisk.branch(path, dir, disks[i]?.overlay ?? null, { allowChangedBase });
    setHead(dir, i, path, disk.activeFile);
    return disk;
  };
}

/** A disposable run: every writable disk writes to an overlay in a temporary folder, removed at close. */
export function disposableDiskOpener(): DiskOpener {
  let dir: string | null = null;
  return (path, readOnly) => {
    if (readOnly) return openDiskImage(path, true);
    dir ??= mkdtempSync(join(tmpdir(), 'lguest-disposable-'));
    const disk = OverlayDisk.open(path, dir, null);
    const tmp = dir;
    const close = disk.close.bind(disk);
    disk.close = () => {
      close();
      rmSync(join(tmp, disk.activeFile), { force: true });
      if (readdirSync(tmp).length === 0) rmSync(tmp, { recursive: true, force: true });
    };
    return disk;
  };
}

/**
 * After a snapshot recorded each disk's active overlay: freeze those overlays and continue on new
 * ones (nothing runs in between, so the snapshot's disks are exactly the frozen overlays).
 */
export function freezeDisks(devices: readonly LauncherDevice[]): void {
  let i = 0;
  for (const d of devices) {
    if (!(d instanceof BlockDevice)) continue;
    const index = i++;
    if (d.disk instanceof OverlayDisk) freezeDisk(d.disk, index);
  }
}

/** Freezes disk `index`'s active overlay, continues on a new one and makes that the disk's head. */
export function freezeDisk(disk: OverlayDisk, index: number): string {
  const frozen = disk.freeze();
  setHead(disk.dir, index, disk.basePath, disk.activeFile);
  return frozen;
}

/**
 * "Commit to base", the one thing that writes a base image, and only when the user asks: writes
 * disk `index` of a stopped machine, as the guest last saw it, into its base image. The image is
 * copied, the changed blocks written into the copy, the copy fsynced and renamed over the image,
 * so a crash leaves either the old or the new image whole. The disk then continues on a new, empty
 * overlay; snapshots taken on the old image can no longer be restored (their base changed).
 */
export function commitToBase(dir: string, index: number): { base: string; blocks: number } {
  const known = readHead(dir).disks[index];
  if (!known) throw new OverlayError(`disk ${index} of this machine has no overlay to commit`);
  const disk = OverlayDisk.open(known.base, dir, known.file);
  const blocks = disk.changedBlocks();
  const tmp = join(dirname(known.base), `.${basename(known.base)}.${randomBytes(4).toString('hex')}.commit`);
  try {
    copyFileSync(known.base, tmp);
    const fd = openSync(tmp, 'r+');
    try {
      const buf = new Uint8Array(OVERLAY_BLOCK);
      for (const b of blocks) {
        const n = disk.read(buf, b * OVERLAY_BLOCK);
        writeAll(fd, buf.subarray(0, n), b * OVERLAY_BLOCK);
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, known.base);
    syncDirSync(dirname(known.base));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  } finally {
    disk.close();
  }
  const fresh = OverlayDisk.open(known.base, dir, null);
  fresh.close();
  setHead(dir, index, known.base, fresh.activeFile);
  return { base: known.base, blocks: blocks.length };
}

/** Commits every disk of a stopped machine that has an overlay (see commitToBase). */
export function commitMachineDisks(dir: string): { path: string; blocks: number }[] {
  if (!existsSync(join(dir, HEAD_FILE))) return [];
  const head = readHead(dir);
  const out: { path: string; blocks: number }[] = [];
  head.disks.forEach((d, i) => {
    if (!d) return;
    const { base, blocks } = commitToBase(dir, i);
    out.push({ path: base, blocks });
  });
  return out;
}
