// A machine's writable disks as overlays in its disk folder: which overlay each disk continues on
// (head.json), a new branch at a restore, freezing at a snapshot, and disposable runs whose overlays
// live in a temporary folder that is removed at stop. Base images are only ever read.

import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import writeFileAtomic from 'write-file-atomic';
import type { DiskIdentity } from '../snapshot/disk-identity';
import { BlockDevice, openDiskImage, type BlockBackend } from './block-device';
import type { LauncherDevice } from './device';
import { OVERLAY_SUFFIX, OverlayFile, syncDir } from './disk-overlay';
import { OverlayDisk } from './overlay-disk';

export type DiskOpener = (path: string, readOnly: boolean) => BlockBackend;

export const HEAD_FILE = 'head.json';

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

function setHead(dir: string, index: number, base: string, file: string): void {
  const head = readHead(dir);
  const old = head.disks[index];
  while (head.disks.length <= index) head.disks.push(null);
  head.disks[index] = { base, file };
  writeFileAtomic.sync(join(dir, HEAD_FILE), `${JSON.stringify(head, null, 2)}\n`, { fsync: true });
  syncDir(dir);
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
      const layer = OverlayFile.open(join(dir, name), false);
      layer.close();
      if (layer.header.parent?.file === file) return true;
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
  mkdirSync(dir, { recursive: true });
  let index = 0;
  return (path, readOnly) => {
    const i = index++;
    if (readOnly) return openDiskImage(path, true);
    const known = readHead(dir).disks[i];
    const tip = known && known.base === path && existsSync(join(dir, known.file)) ? known.file : null;
    const disk = OverlayDisk.open(path, dir, tip);
    if (tip === null) setHead(dir, i, path, disk.activeFile);
    return disk;
  };
}

/**
 * The disk opener of a restore: each writable disk gets a new overlay on top of the overlay its
 * snapshot froze (or on the base, for a snapshot without overlays), and becomes the disk's head.
 */
export function restoreDiskOpener(dir: string, disks: readonly DiskIdentity[]): DiskOpener {
  mkdirSync(dir, { recursive: true });
  let index = 0;
  return (path, readOnly) => {
    const i = index++;
    if (readOnly) return openDiskImage(path, true);
    const disk = OverlayDisk.branch(path, dir, disks[i]?.overlay ?? null);
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

/** The overlay disks among a machine's devices, in disk order. */
export function overlayDisks(devices: readonly LauncherDevice[]): OverlayDisk[] {
  return devices
    .filter((d): d is BlockDevice => d instanceof BlockDevice)
    .map((d) => d.disk)
    .filter((d): d is OverlayDisk => d instanceof OverlayDisk);
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
    if (!(d.disk instanceof OverlayDisk)) continue;
    d.disk.freeze();
    setHead(d.disk.dir, index, d.disk.basePath, d.disk.activeFile);
  }
}
