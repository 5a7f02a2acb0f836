// Opening the files a machine is made of (kernel, initrd, disk images) so that no file can hang or
// swamp the Launcher. Opens never wait: O_NONBLOCK, so a FIFO with no writer does not block the
// open. The kind of file is checked on the open descriptor (no window between a check and the use):
// only regular files are read, and block devices where a disk makes sense; FIFOs, character
// devices such as /dev/zero, sockets and directories are refused by name. A size is checked before
// anything is read, and reads stop at that size even if the file grows meanwhile. Images are read
// asynchronously in pieces, so the thread stays free to be stopped while a slow file system answers.

import { closeSync, constants, fstatSync, openSync, promises as fs, readFileSync, type Stats } from 'node:fs';

/** Pieces in which images are read (each read is one request to the file system). */
const READ_PIECE = 1 << 20;

export class GuestFileError extends Error {
  override readonly name = 'GuestFileError';
}

/** What a file is, in words, for refusals ("a FIFO", "a character device"). */
export function kindOf(stat: Stats): string {
  if (stat.isFile()) return 'a regular file';
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isCharacterDevice()) return 'a character device';
  if (stat.isBlockDevice()) return 'a block device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/**
 * Reads a kernel or initrd whole: only a regular file of at most `maxBytes` bytes. `what` names it
 * in errors ("kernel", "initrd").
 */
export async function readGuestImage(path: string, what: string, maxBytes: number): Promise<Uint8Array> {
  let handle: fs.FileHandle;
  try {
    handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new GuestFileError(`cannot read ${what} ${path}: ${errorText(e)}`);
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile())
      throw new GuestFileError(`cannot read ${what} ${path}: it is ${kindOf(stat)}, not a regular file`);
    if (stat.size > maxBytes) {
      throw new GuestFileError(
        `${what} ${path} is ${stat.size} bytes, larger than the guest's memory (${maxBytes} bytes)`,
      );
    }
    const bytes = new Uint8Array(stat.size);
    let done = 0;
    while (done < bytes.length) {
      const { bytesRead } = await handle.read(bytes, done, Math.min(READ_PIECE, bytes.length - done), done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    // A file that shrank while being read is what it is now: its first `done` bytes.
    return done === bytes.length ? bytes : bytes.slice(0, done);
  } catch (e) {
    if (e instanceof GuestFileError) throw e;
    throw new GuestFileError(`cannot read ${what} ${path}: ${errorText(e)}`);
  } finally {
    await handle.close();
  }
}

/**
 * Opens a disk image for a block device: a regular file or a block device, read-only or
 * read-write. Returns the descriptor and its size; the caller owns the descriptor.
 */
export function openDiskFile(path: string, readOnly: boolean): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, (readOnly ? constants.O_RDONLY : constants.O_RDWR) | constants.O_NONBLOCK);
  } catch (e) {
    throw new GuestFileError(`cannot open disk ${path}: ${errorText(e)}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile() && !stat.isBlockDevice()) {
      throw new GuestFileError(`cannot use disk ${path}: it is ${kindOf(stat)}, not a regular file or block device`);
    }
    return { fd, size: stat.isFile() ? stat.size : blockDeviceSize(path, stat.rdev) };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/**
 * A block device's size: fstat reports 0 for one, so ask Linux (/sys/dev/block/MAJOR:MINOR/size
 * counts 512-byte sectors). Elsewhere the device is refused.
 */
function blockDeviceSize(path: string, rdev: number): number {
  // Linux's dev_t: major in bits 8-19 (and 32-43), minor in bits 0-7 (and 20-31).
  const major = ((rdev >>> 8) & 0xfff) | (Math.floor(rdev / 2 ** 32) & ~0xfff);
  const minor = (rdev & 0xff) | ((rdev >>> 12) & ~0xff);
  try {
    return Number(readFileSync(`/sys/dev/block/${major}:${minor}/size`, 'utf8').trim()) * 512;
  } catch (e) {
    throw new GuestFileError(`cannot tell the size of block device ${path}: ${errorText(e)}`);
  }
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
