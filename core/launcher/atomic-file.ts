// Files written whole or not at all: the data goes to a temp file beside the target, is fsynced, and
// only then is moved into place. A process killed mid-write leaves only its temp file, which the
// next start-up of the service removes (removeStaleTempFiles).

import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, promises as fs, renameSync, rmSync, writeSync, type Dirent } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { processIsRunning } from './process-running';

function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

/** .<target name>.<pid of the writer>.<8 hex digits>.tmp */
const TEMP_NAME = /^\..+\.(\d+)\.[0-9a-f]{8}\.tmp$/;

function tempNameFor(target: string): string {
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
}

/**
 * Writes a file atomically: to a temp file in the same directory, fsync it, then move it into place:
 * rename to replace, link to create (link fails if the target exists, so two creators cannot
 * overwrite each other; `exists` makes the error for that case). The directory must exist.
 */
export async function writeFileAtomic(
  target: string,
  data: string | Uint8Array,
  opts: { overwrite: boolean; exists?: () => Error },
): Promise<void> {
  const dir = dirname(target);
  const tmp = tempNameFor(target);
  const handle = await fs.open(tmp, 'wx', 0o644);
  try {
    if (typeof data === 'string') await handle.writeFile(data, 'utf8');
    else await handle.writeFile(data);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    if (opts.overwrite) {
      await fs.rename(tmp, target);
    } else {
      try {
        await fs.link(tmp, target);
      } catch (err) {
        if (isErrno(err, 'EEXIST') && opts.exists) throw opts.exists();
        throw err;
      }
      await fs.unlink(tmp);
    }
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await syncDir(dir);
}

/**
 * The synchronous form of an overwriting writeFileAtomic, for the disk code that runs between guest
 * steps (the same temp names, so removeStaleTempFiles cleans up after a killed writer too).
 */
export function writeFileAtomicSync(target: string, data: string | Uint8Array): void {
  const tmp = tempNameFor(target);
  const fd = openSync(tmp, 'wx', 0o644);
  try {
    try {
      writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, target);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  syncDirSync(dirname(target));
}

/**
 * Removes the temp files of writers that no longer run (the pid in the name is not a live process,
 * or is this process, which has written nothing yet at start-up) from `dir` and, with `depth` 1,
 * from its subdirectories too. Temp files of another live process are left alone: that write may
 * still be in progress. Returns the paths removed.
 */
export async function removeStaleTempFiles(dir: string, depth = 0): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await fs.readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return [];
    throw err;
  }
  const removed: string[] = [];
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory() && depth > 0) {
      removed.push(...(await removeStaleTempFiles(path, depth - 1)));
      continue;
    }
    const m = TEMP_NAME.exec(entry.name);
    const pid = Number(m?.[1]);
    if (!m || !entry.isFile() || (pid !== process.pid && processIsRunning(pid))) continue;
    await fs.rm(path, { force: true });
    removed.push(path);
  }
  return removed;
}

/** Makes a rename or unlink in `dir` durable; not every platform can open a directory: best effort. */
export async function syncDir(dir: string): Promise<void> {
  try {
    const h = await fs.open(dir, 'r');
    try {
      await h.sync();
    } finally {
      await h.close();
    }
  } catch {
    /* e.g. Windows: directories cannot be fsynced */
  }
}

/** The synchronous syncDir, for callers that must not yield (a directory that cannot be opened throws). */
export function syncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
