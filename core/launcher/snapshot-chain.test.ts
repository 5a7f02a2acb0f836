// Snapshots whose RAM is a delta over the snapshot before: the demo guest runs (its CPU, host and
// devices writing RAM) between snapshots, and every snapshot restores to the byte-identical state
// it was taken in, through its chain, into new RAM or into a stopped machine's RAM. Deleting a
// snapshot in the middle keeps the later ones restorable; overlays nobody needs are collected;
// nothing a corrupt snapshot might need is deleted.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OVERLAY_SUFFIX } from './disk-overlay';
import { machineDigests } from './snapshot-fixtures';
import { collectOverlays, deleteSnapshot } from './snapshot-folder';
import { boot, folder, isSnapshotFile, load, restore, run, take } from './test-snapshots';

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lguest-chain-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('RAM delta chains', () => {
  it('stores only written pages, and restores each snapshot byte-identically, fresh or into used RAM', async () => {
    const f = folder(work, 'restore');
    let guest = await boot(f);
    const s0 = take(guest, f, 's0.lgsnap');
    run(guest, 600_000, 'echo two\r');
    const s1 = take(guest, f, 's1.lgsnap');
    run(guest, 600_000, 'echo three\r');
    const s2 = take(guest, f, 's2.lgsnap');
    run(guest, 400_000, 'echo four\r');

    const ram = [s0, s1, s2].map((s) => load(f, s.file).state.memory.ram);
    expect(ram.map((r) => [r.base, r.depth])).toEqual([
      [null, 0],
      ['s0.lgsnap', 1],
      ['s1.lgsnap', 2],
    ]);
    // The deltas hold the pages the guest wrote, a small part of the full image.
    expect(ram[1]!.present.length).toBeGreaterThan(0);
    expect(ram[1]!.present.length * 4).toBeLessThan(ram[0]!.present.length);

    // Into new RAM, through the chain (the machine stops first: its disk is one machine's at a time).
    guest.close();
    for (const s of [s0, s1, s2]) {
      const back = restore(f, s.file);
      expect(machineDigests(back).state).toBe(s.digest);
      back.close();
    }
    // Into the stopped machine's RAM: the snapshot it is tracked against (pages written since s2
    // are rewritten), then across the tree.
    const ramBuffer = guest.memory.ram;
    guest = restore(f, s2.file, guest);
    expect(guest.memory.ram).toBe(ramBuffer);
    expect(machineDigests(guest).state).toBe(s2.digest);
    run(guest, 300_000, 'echo five\r');
    guest = restore(f, s0.file, guest);
    expect(machineDigests(guest).state).toBe(s0.digest);
    run(guest, 300_000, 'echo six\r');
    // A branch: s3 builds on s0; going from it to s1 rewrites what either side changed.
    const s3 = take(guest, f, 's3.lgsnap');
    expect(load(f, s3.file).state.memory.ram.base).toBe('s0.lgsnap');
    run(guest, 300_000, 'echo seven\r');
    guest = restore(f, s1.file, guest);
    expect(guest.memory.ram).toBe(ramBuffer);
    expect(machineDigests(guest).state).toBe(s1.digest);
    guest = restore(f, s3.file, guest);
    expect(machineDigests(guest).state).toBe(s3.digest);
    guest.close();
  }, 120_000);

  it('deleting a snapshot in the middle folds it into the later one, which still restores', async () => {
    const f = folder(work, 'delete');
    const guest = await boot(f);
    const s0 = take(guest, f, 's0.lgsnap');
    run(guest, 500_000, 'echo two\r');
    take(guest, f, 's1.lgsnap');
    run(guest, 500_000, 'echo three\r');
    const s2 = take(guest, f, 's2.lgsnap');
    guest.close();

    const r = await deleteSnapshot(f.dir, f.disksDir, 's1.lgsnap', isSnapshotFile);
    expect(r.folded).toEqual(['s2.lgsnap']);
    expect(readdirSync(f.dir).filter(isSnapshotFile).sort()).toEqual(['s0.lgsnap', 's2.lgsnap']);
    const folded = load(f, s2.file);
    expect(folded.state.memory.ram.base).toBe('s0.lgsnap');
    expect(folded.meta.parent).toBe('s0.lgsnap');
    for (const s of [s0, s2]) {
      const back = restore(f, s.file);
      expect(machineDigests(back).state).toBe(s.digest);
      back.close();
    }
    // The bottom one goes too: s2 becomes a full image.
    await deleteSnapshot(f.dir, f.disksDir, 's0.lgsnap', isSnapshotFile);
    expect(load(f, s2.file).state.memory.ram).toMatchObject({ base: null, depth: 0 });
    const back = restore(f, s2.file);
    expect(machineDigests(back).state).toBe(s2.digest);
    back.close();
  }, 120_000);

  it('collects the overlays of deleted snapshots that nothing builds on, and only those', async () => {
    const f = folder(work, 'gc');
    let guest = await boot(f);
    take(guest, f, 's0.lgsnap');
    run(guest, 300_000, 'echo two\r');
    take(guest, f, 's1.lgsnap');
    run(guest, 300_000, 'echo three\r');
    // Back to s0: the machine branches off s0's overlay; s1's overlay and the one above it are
    // needed only by s1 now.
    guest = restore(f, 's0.lgsnap', guest);
    guest.close();
    const overlays = (): string[] =>
      readdirSync(f.disksDir)
        .filter((n) => n.endsWith(OVERLAY_SUFFIX))
        .sort();
    const s0Overlay = load(f, 's0.lgsnap').state.disks[0]!.overlay!;
    const s1Overlay = load(f, 's1.lgsnap').state.disks[0]!.overlay!;
    const before = overlays();
    expect(before).toContain(s1Overlay);
    // Fresh overlays are never collected (a machine may not have recorded them yet).
    expect(await collectOverlays(f.dir, f.disksDir, isSnapshotFile)).toEqual([]);
    const later = Date.now() + 10 * 60_000;
    // While s1 exists, its overlays stay.
    const orphan = await collectOverlays(f.dir, f.disksDir, isSnapshotFile, later);
    expect(orphan).not.toContain(s1Overlay);
    await deleteSnapshot(f.dir, f.disksDir, 's1.lgsnap', isSnapshotFile);
    const removed = await collectOverlays(f.dir, f.disksDir, isSnapshotFile, later);
    expect(removed).toContain(s1Overlay);
    expect(overlays()).toContain(s0Overlay);
    expect(overlays()).not.toContain(s1Overlay);
    // s0 still restores with its disk, and so does the machine's head.
    const back = restore(f, 's0.lgsnap');
    back.close();
  }, 120_000);

  it('deletes nothing a corrupt delta or the snapshots above it might need', async () => {
    const f = folder(work, 'corrupt');
    const guest = await boot(f);
    take(guest, f, 's0.lgsnap');
    run(guest, 300_000, 'echo two\r');
    take(guest, f, 's1.lgsnap');
    run(guest, 300_000, 'echo three\r');
    take(guest, f, 's2.lgsnap');
    guest.close();
    const path = join(f.dir, 's1.lgsnap');
    const bytes = readFileSync(path);
    bytes[bytes.length - 100] ^= 0xff;
    writeFileSync(path, bytes);
    const overlaysBefore = readdirSync(f.disksDir).sort();
    expect(await collectOverlays(f.dir, f.disksDir, isSnapshotFile, Date.now() + 600_000)).toEqual([]);
    await expect(deleteSnapshot(f.dir, f.disksDir, 's1.lgsnap', isSnapshotFile)).rejects.toThrow(
      /s1\.lgsnap cannot be read .*s2\.lgsnap store their RAM as changes over it/,
    );
    expect(readdirSync(f.dir).filter(isSnapshotFile).sort()).toEqual(['s0.lgsnap', 's1.lgsnap', 's2.lgsnap']);
    expect(readdirSync(f.disksDir).sort()).toEqual(overlaysBefore);
    // Restoring s2 names the broken link.
    expect(() => restore(f, 's2.lgsnap')).toThrow(
      /s2\.lgsnap stores its RAM as changes over s1\.lgsnap, which cannot be read/,
    );
  }, 120_000);
});
