import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { GuestFileError, openDiskFile, readGuestImage } from './guest-file';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-guestfile-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('readGuestImage', () => {
  it('reads a regular file whole, in pieces of any size', async () => {
    const bytes = Uint8Array.from({ length: 3 * 1024 * 1024 + 5 }, (_, i) => (i * 7) & 0xff);
    writeFileSync(join(dir, 'k'), bytes);
    expect(await readGuestImage(join(dir, 'k'), 'kernel', bytes.length)).toEqual(bytes);
  });

  it('refuses a file larger than the bound before reading it', async () => {
    writeFileSync(join(dir, 'k'), new Uint8Array(101));
    await expect(readGuestImage(join(dir, 'k'), 'kernel', 100)).rejects.toThrow(
      `kernel ${join(dir, 'k')} is 101 bytes, larger than the guest's memory (100 bytes)`,
    );
  });

  it('refuses FIFOs (without waiting for a writer), devices and directories', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    await expect(readGuestImage(fifo, 'kernel', 1 << 20)).rejects.toThrow(/it is a FIFO, not a regular file/);
    await expect(readGuestImage('/dev/zero', 'initrd', 1 << 20)).rejects.toThrow(
      'cannot read initrd /dev/zero: it is a character device, not a regular file',
    );
    await expect(readGuestImage(dir, 'kernel', 1 << 20)).rejects.toThrow(/it is a directory/);
    await expect(readGuestImage(join(dir, 'none'), 'kernel', 1)).rejects.toBeInstanceOf(GuestFileError);
  });
});

describe('openDiskFile', () => {
  it('opens a regular file read-write or read-only, with its size', () => {
    writeFileSync(join(dir, 'disk'), new Uint8Array(4096));
    for (const readOnly of [false, true]) {
      const { fd, size } = openDiskFile(join(dir, 'disk'), readOnly);
      expect(size).toBe(4096);
      closeSync(fd);
    }
  });

  it('refuses a FIFO (without blocking) and character devices', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(() => openDiskFile(fifo, false)).toThrow(/it is a FIFO, not a regular file or block device/);
    expect(() => openDiskFile(fifo, true)).toThrow(/it is a FIFO/);
    expect(() => openDiskFile('/dev/null', true)).toThrow(/it is a character device/);
  });
});
