// Copy-on-write overlays: reads and writes through the chain, the base never written, a torn tail
// cut off, freezing and branching, a wrong base refused, disposable runs and commit to base.

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OVERLAY_BLOCK, OverlayFile } from './disk-overlay';
import { commitToBase, disposableDiskOpener, freezeDisk, machineDiskOpener, restoreDiskOpener } from './machine-disks';
import { OverlayDisk } from './overlay-disk';

let dir: string;
let base: string;
const SIZE = 64 * 1024 + 1536; // not a whole number of overlay blocks
const baseBytes = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + 3) & 0xff);

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-overlay-'));
  base = join(dir, 'base.img');
  writeFileSync(base, baseBytes);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

function contents(disk: OverlayDisk): Uint8Array {
  const out = new Uint8Array(disk.size);
  expect(disk.read(out, 0)).toBe(disk.size);
  return out;
}

describe('overlay disks', () => {
  it('reads the base, writes unaligned spans into the overlay, never into the base', () => {
    const disks = join(dir, 'disks');
    const disk = machineDiskOpener(disks)(base, false) as OverlayDisk;
    expect(sha(contents(disk))).toBe(sha(baseBytes));
    const expected = baseBytes.slice();
    // Sector-aligned, across a block boundary, and the partial last block.
    for (const [at, n, v] of [
      [512, 1024, 0xaa],
      [OVERLAY_BLOCK - 512, 2048, 0xbb],
      [SIZE - 1024, 1024, 0xcc],
    ] as const) {
      disk.write(fill(n, v), at);
      expected.fill(v, at, at + n);
    }
    const small = new Uint8Array(700);
    disk.read(small, OVERLAY_BLOCK - 600);
    expect(small).toEqual(expected.subarray(OVERLAY_BLOCK - 600, OVERLAY_BLOCK + 100));
    expect(sha(contents(disk))).toBe(sha(expected));
    expect(disk.changedBlocks()).toEqual([0, 1, Math.floor((SIZE - 1) / OVERLAY_BLOCK)]);
    expect(() => disk.write(fill(512, 1), SIZE - 256)).toThrow(/outside the 67072-byte disk/);
    disk.close();
    expect(sha(new Uint8Array(readFileSync(base)))).toBe(sha(baseBytes));
    // The next start of the machine continues on the same overlay.
    const again = machineDiskOpener(disks)(base, false) as OverlayDisk;
    expect(sha(contents(again))).toBe(sha(expected));
    again.close();
  });

  it('cuts off a torn last write when it reopens the overlay, keeping every complete one', () => {
    const disks = join(dir, 'disks');
    const disk = machineDiskOpener(disks)(base, false) as OverlayDisk;
    disk.write(fill(OVERLAY_BLOCK, 1), 0);
    disk.write(fill(OVERLAY_BLOCK, 2), OVERLAY_BLOCK);
    const file = join(disks, disk.activeFile);
    disk.close();
    truncateSync(file, statSync(file).size - 100);
    const again = machineDiskOpener(disks)(base, false) as OverlayDisk;
    const got = contents(again);
    expect(got.subarray(0, OVERLAY_BLOCK)).toEqual(fill(OVERLAY_BLOCK, 1));
    expect(got.subarray(OVERLAY_BLOCK, 2 * OVERLAY_BLOCK)).toEqual(
      baseBytes.subarray(OVERLAY_BLOCK, 2 * OVERLAY_BLOCK),
    );
    // A flipped data byte fails its checksum: that record and everything after it are not used.
    again.write(fill(OVERLAY_BLOCK, 3), 2 * OVERLAY_BLOCK);
    again.close();
    const bytes = readFileSync(file);
    bytes[OVERLAY_BLOCK + 24 + 10]! ^= 1;
    writeFileSync(file, bytes);
    const layer = OverlayFile.open(file, false);
    expect([...layer.blocks.keys()]).toEqual([]);
    layer.close();
  });

  it('freezes at a snapshot, branches at a restore, and keeps every snapshot readable', () => {
    const disks = join(dir, 'disks');
    const disk = machineDiskOpener(disks)(base, false) as OverlayDisk;
    disk.write(fill(1024, 0x11), 0);
    const s1 = freezeDisk(disk, 0);
    const atS1 = contents(disk);
    disk.write(fill(1024, 0x22), 0);
    disk.write(fill(1024, 0x33), 8192);
    const s2 = freezeDisk(disk, 0);
    const atS2 = contents(disk);
    disk.write(fill(512, 0x44), 0);
    disk.close();
    // Frozen overlays are read-only files nothing appends to.
    expect(() => OverlayFile.open(join(disks, s1), false).appendBlocks([])).toThrow(/is frozen/);

    const r1 = restoreDiskOpener(disks, [
      { path: base, size: SIZE, readOnly: false, sha256: sha(baseBytes), overlay: s1 },
    ])(base, false) as OverlayDisk;
    expect(sha(contents(r1))).toBe(sha(atS1));
    r1.write(fill(512, 0x55), 4096); // a branch off S1
    r1.close();
    const r2 = OverlayDisk.branch(base, disks, s2);
    expect(sha(contents(r2))).toBe(sha(atS2));
    r2.close();
    expect(sha(new Uint8Array(readFileSync(base)))).toBe(sha(baseBytes));
  });

  it('refuses an overlay on another base, naming both hashes', () => {
    const disks = join(dir, 'disks');
    const disk = machineDiskOpener(disks)(base, false) as OverlayDisk;
    disk.write(fill(1024, 0x31), 0);
    const s1 = freezeDisk(disk, 0);
    disk.close();
    const other = join(dir, 'other.img');
    writeFileSync(other, fill(SIZE, 9));
    expect(() => OverlayDisk.branch(other, disks, s1)).toThrow(
      new RegExp(
        `belongs to another base image \\(sha256 ${sha(baseBytes)}.*than ${other} \\(sha256 ${sha(fill(SIZE, 9))}`,
      ),
    );
    // With the user's override, the snapshot's blocks go on top of the changed image.
    const forced = OverlayDisk.branch(other, disks, s1, { allowChangedBase: true });
    const got = contents(forced);
    expect(got.subarray(0, 1024)).toEqual(fill(1024, 0x31));
    expect(got.subarray(4096)).toEqual(fill(SIZE - 4096, 9));
    forced.close();
  });

  it('a disposable run writes to a temporary overlay that is gone at close', () => {
    const disk = disposableDiskOpener()(base, false) as OverlayDisk;
    const tmp = disk.dir;
    disk.write(fill(4096, 0x77), 0);
    expect(contents(disk).subarray(0, 4096)).toEqual(fill(4096, 0x77));
    disk.close();
    expect(existsSync(tmp)).toBe(false);
    expect(sha(new Uint8Array(readFileSync(base)))).toBe(sha(baseBytes));
  });

  it('commits to base only when asked, then continues on an empty overlay', () => {
    const disks = join(dir, 'disks');
    const disk = machineDiskOpener(disks)(base, false) as OverlayDisk;
    disk.write(fill(1024, 0x66), 2048);
    freezeDisk(disk, 0);
    disk.write(fill(512, 0x67), SIZE - 512);
    const seen = contents(disk);
    disk.close();
    expect(sha(new Uint8Array(readFileSync(base)))).toBe(sha(baseBytes));
    expect(commitToBase(disks, 0)).toEqual({ base, blocks: 2 });
    expect(sha(new Uint8Array(readFileSync(base)))).toBe(sha(seen));
    const again = machineDiskOpener(disks)(base, false) as OverlayDisk;
    expect(again.changedBlocks()).toEqual([]);
    expect(sha(contents(again))).toBe(sha(seen));
    again.close();
    expect(readdirSync(dir).filter((f) => f.endsWith('.commit'))).toEqual([]);
  });
});
