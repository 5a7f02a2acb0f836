// Disks are not copied into a snapshot: it records each disk's identity (path, size, read-only flag,
// SHA-256 of its contents, and for a writable disk the overlay it froze) and a restore refuses a base
// image that no longer matches, naming its path.

import { createHash } from 'node:crypto';
import { closeSync, fstatSync, openSync, promises as fs, readSync } from 'node:fs';

export interface DiskIdentity {
  /** The image file as the Launcher opened it (an absolute path). */
  path: string;
  size: number;
  readOnly: boolean;
  /** SHA-256 of the whole image, lowercase hex (for an overlaid disk: of its base image). */
  sha256: string;
  /**
   * The frozen overlay holding the disk's changed blocks at the snapshot (a file name in the
   * machine's disk folder), or null: the disk is the image itself.
   */
  overlay: string | null;
}

/** Anything that reads a disk at an offset (a Launcher block backend, or a file). */
export interface DiskReader {
  readonly size: number;
  read(into: Uint8Array, position: number): number;
}

const CHUNK = 1 << 20;

export function hashDisk(disk: DiskReader): string {
  const hash = createHash('sha256');
  const buf = new Uint8Array(Math.min(CHUNK, Math.max(disk.size, 1)));
  for (let at = 0; at < disk.size; ) {
    const want = Math.min(buf.length, disk.size - at);
    const n = disk.read(buf.subarray(0, want), at);
    if (n <= 0) throw new Error(`disk ended at byte ${at} of ${disk.size}`);
    hash.update(buf.subarray(0, n));
    at += n;
  }
  return hash.digest('hex');
}

/** Hashes by path, valid while the file's inode, size and times are the same (hashing is O(size)). */
const knownHashes = new Map<string, { key: string; sha256: string }>();

/** Size and SHA-256 of the file at `path` as it is now. */
export function identifyDiskFile(path: string): { size: number; sha256: string } {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
    const known = knownHashes.get(path);
    if (known?.key === key) return { size: st.size, sha256: known.sha256 };
    const sha256 = hashDisk({
      size: st.size,
      read: (into, position) => readSync(fd, into, 0, into.length, position),
    });
    knownHashes.set(path, { key, sha256 });
    return { size: st.size, sha256 };
  } finally {
    closeSync(fd);
  }
}

/** identifyDiskFile without blocking the event loop (for the service's main thread). */
export async function identifyDiskFileAsync(path: string): Promise<{ size: number; sha256: string }> {
  const handle = await fs.open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const hash = createHash('sha256');
    const buf = new Uint8Array(Math.min(CHUNK, Math.max(size, 1)));
    for (let at = 0; at < size; ) {
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - at), at);
      if (bytesRead <= 0) throw new Error(`disk ended at byte ${at} of ${size}`);
      hash.update(buf.subarray(0, bytesRead));
      at += bytesRead;
    }
    return { size, sha256: hash.digest('hex') };
  } finally {
    await handle.close();
  }
}

/** A disk that changed (or vanished) since the snapshot was taken. */
export class DiskChangedError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
    this.name = 'DiskChangedError';
  }
}

/**
 * Checks every disk against its recorded identity; throws DiskChangedError for the first that does
 * not match, unless `allowChanged` (the caller's explicit override; a missing file is refused always).
 */
export function checkDisks(disks: readonly DiskIdentity[], allowChanged = false): void {
  for (const d of disks) {
    let now: { size: number; sha256: string };
    try {
      now = identifyDiskFile(d.path);
    } catch (e) {
      throw cannotOpen(d, e);
    }
    if (!allowChanged) compare(d, now);
  }
}

/** checkDisks without blocking the event loop. */
export async function checkDisksAsync(disks: readonly DiskIdentity[], allowChanged = false): Promise<void> {
  for (const d of disks) {
    let now: { size: number; sha256: string };
    try {
      now = await identifyDiskFileAsync(d.path);
    } catch (e) {
      throw cannotOpen(d, e);
    }
    if (!allowChanged) compare(d, now);
  }
}

function cannotOpen(d: DiskIdentity, e: unknown): DiskChangedError {
  const why = e instanceof Error ? e.message : String(e);
  return new DiskChangedError(d.path, `disk ${d.path} of the snapshot cannot be opened: ${why}`);
}

function compare(d: DiskIdentity, now: { size: number; sha256: string }): void {
  const what =
    now.size !== d.size
      ? `changed size (${d.size} -> ${now.size} bytes)`
      : now.sha256 !== d.sha256
        ? 'changed contents (its SHA-256 differs)'
        : null;
  if (what) {
    throw new DiskChangedError(
      d.path,
      `disk ${d.path} ${what} since the snapshot was taken; the restored guest would see a different disk ` +
        '(restore with the changed-disks override to accept that)',
    );
  }
}
