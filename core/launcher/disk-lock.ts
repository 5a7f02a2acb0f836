// One writer per disk image. Two machines writing one image would each cache its blocks and
// overwrite the other's: the file system on it is lost. So a writable disk is locked while a
// machine has it open: a lock file next to the image, IMAGE.lock, created atomically (written
// whole under a temp name, then linked into place, which fails if it exists) and holding
// "PID THREAD HOSTNAME" of its holder. Node has no flock(); a lock file also tells a person who
// holds the image.
//
// A lock is stale, and is taken over, when its holder process no longer runs on this host (a
// Launcher killed with kill -9). Within one process, a machine's worker thread that was
// terminated cannot release its locks itself: the service does it for that thread
// (releaseLocksOfThread). Read-only disks take no lock: readers cannot damage the image.

import { randomBytes } from 'node:crypto';
import { linkSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { threadId } from 'node:worker_threads';
import { processIsRunning } from './process-running';

export class DiskLockedError extends Error {
  override readonly name = 'DiskLockedError';
}

interface Holder {
  pid: number;
  thread: number;
  host: string;
}

/** Disk locks this thread holds (their lock file paths). */
const held = new Set<string>();

export function lockFileOf(image: string): string {
  return `${image}.lock`;
}

/** The lock files this thread holds, for the service to release if the thread is terminated. */
export function heldDiskLocks(): string[] {
  return [...held];
}

/**
 * Locks `image` for writing by this thread; returns the function that releases the lock. Throws
 * DiskLockedError naming the holder when another live machine has it.
 */
export function lockDisk(image: string): () => void {
  const lock = lockFileOf(image);
  const me: Holder = { pid: process.pid, thread: threadId, host: hostname() };
  // Two tries: the second after removing a stale lock.
  for (let attempt = 0; attempt < 2; attempt++) {
    if (tryCreate(lock, me)) {
      held.add(lock);
      return () => {
        if (!held.delete(lock)) return;
        if (sameHolder(readHolder(lock), me)) rmSync(lock, { force: true });
      };
    }
    const holder = readHolder(lock);
    if (holder && !isStale(holder)) {
      const who = holder.pid === process.pid ? 'another machine of this process' : `process ${holder.pid}`;
      throw new DiskLockedError(
        `disk ${image} is in use by ${who} on ${holder.host} (lock file ${lock}); a writable disk can ` +
          `belong to one machine at a time. If no machine uses it, delete the lock file.`,
      );
    }
    // Stale (its holder is gone) or unreadable (removed meanwhile): clear it and try again.
    rmSync(lock, { force: true });
  }
  throw new DiskLockedError(`disk ${image}: could not take the lock file ${lock}`);
}

/** Releases the locks that `thread` of this process left in `locks` (it was terminated). */
export function releaseLocksOfThread(locks: readonly string[], thread: number): void {
  for (const lock of locks) {
    const holder = readHolder(lock);
    if (holder && holder.pid === process.pid && holder.thread === thread && holder.host === hostname()) {
      rmSync(lock, { force: true });
    }
  }
}

function tryCreate(lock: string, me: Holder): boolean {
  const tmp = `${lock}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(tmp, `${me.pid} ${me.thread} ${me.host}\n`, { flag: 'wx' });
  try {
    linkSync(tmp, lock);
    return true;
  } catch (e) {
    if ((e as { code?: unknown }).code === 'EEXIST') return false;
    throw e;
  } finally {
    unlinkSync(tmp);
  }
}

function readHolder(lock: string): Holder | null {
  let text: string;
  try {
    text = readFileSync(lock, 'utf8');
  } catch {
    return null;
  }
  const m = /^(\d+) (\d+) (\S+)\n$/.exec(text);
  // A lock file in another format is someone's: treat it as held by an unknown live process.
  if (!m) return { pid: -1, thread: -1, host: 'an unknown host' };
  return { pid: Number(m[1]), thread: Number(m[2]), host: m[3]! };
}

function sameHolder(a: Holder | null, b: Holder): boolean {
  return a !== null && a.pid === b.pid && a.thread === b.thread && a.host === b.host;
}

/** Only a holder on this host whose process is gone is known to be stale. */
function isStale(holder: Holder): boolean {
  if (holder.host !== hostname() || holder.pid <= 0) return false;
  return holder.pid !== process.pid && !processIsRunning(holder.pid);
}
