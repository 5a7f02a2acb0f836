import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDiskImage } from './block-device';
import { DiskLockedError, heldDiskLocks, lockDisk, lockFileOf, releaseLocksOfThread } from './disk-lock';

let dir: string;
let image: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-disklock-'));
  image = join(dir, 'disk.img');
  writeFileSync(image, new Uint8Array(4096));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function deadPid(): number {
  return Number(
    spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout,
  );
}

describe('disk locks', () => {
  it('lets one holder at a time lock an image, naming the holder to the next, until released', () => {
    const release = lockDisk(image);
    expect(readFileSync(lockFileOf(image), 'utf8')).toBe(`${process.pid} ${threadId} ${hostname()}\n`);
    expect(heldDiskLocks()).toContain(lockFileOf(image));
    expect(() => lockDisk(image)).toThrow(DiskLockedError);
    expect(() => lockDisk(image)).toThrow(`disk ${image} is in use by another machine of this process`);
    release();
    expect(existsSync(lockFileOf(image))).toBe(false);
    lockDisk(image)();
  });

  it('takes over a stale lock whose process is gone, and refuses one of a live process', () => {
    writeFileSync(lockFileOf(image), `${deadPid()} 0 ${hostname()}\n`);
    const release = lockDisk(image);
    expect(readFileSync(lockFileOf(image), 'utf8')).toBe(`${process.pid} ${threadId} ${hostname()}\n`);
    release();
    writeFileSync(lockFileOf(image), `${process.ppid} 0 ${hostname()}\n`);
    expect(() => lockDisk(image)).toThrow(`in use by process ${process.ppid} on ${hostname()}`);
  });

  it('never takes over a lock from another host or in a format it does not know', () => {
    writeFileSync(lockFileOf(image), `${deadPid()} 0 some-other-host\n`);
    expect(() => lockDisk(image)).toThrow(/in use by process \d+ on some-other-host/);
    writeFileSync(lockFileOf(image), 'locked by hand\n');
    expect(() => lockDisk(image)).toThrow(DiskLockedError);
  });

  it("releases the locks of a terminated thread of this process, and no one else's", () => {
    const other = join(dir, 'other.img');
    writeFileSync(lockFileOf(image), `${process.pid} 42 ${hostname()}\n`);
    writeFileSync(lockFileOf(other), `${process.pid} 43 ${hostname()}\n`);
    releaseLocksOfThread([lockFileOf(image), lockFileOf(other)], 42);
    expect(existsSync(lockFileOf(image))).toBe(false);
    expect(existsSync(lockFileOf(other))).toBe(true);
  });
});

describe('openDiskImage', () => {
  it('locks a writable disk until it is closed; read-only opens take no lock', () => {
    const disk = openDiskImage(image, false);
    expect(() => openDiskImage(image, false)).toThrow(DiskLockedError);
    const reader = openDiskImage(image, true);
    reader.close();
    disk.close();
    expect(existsSync(lockFileOf(image))).toBe(false);
    openDiskImage(image, false).close();
  });
});
