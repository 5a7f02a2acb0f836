// A format that lasts: every snapshot fixture an earlier build wrote (core/snapshot/fixtures) is
// restored by this build to the same machine, and a fixed run from it reaches the same state.

import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SNAPSHOT_FORMAT_VERSION } from '../snapshot/format';
import { decodeMachineSnapshot, MACHINE_SNAPSHOT_LAYOUT } from '../snapshot/machine-snapshot';
import { restoreGuest } from './restore-guest';
import {
  diskDigests,
  FIXTURE_DIR,
  machineDigests,
  readFixtureManifest,
  runFixture,
  sha256Hex,
  type FixtureDigests,
} from './snapshot-fixtures';

const manifest = readFixtureManifest();
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lguest-fixtures-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** The whole-state digest is only comparable within one layout; the core digest always is. */
function expectDigests(got: FixtureDigests, want: FixtureDigests, sameLayout: boolean): void {
  expect(got.core).toBe(want.core);
  if (sameLayout) expect(got.state).toBe(want.state);
}

describe('snapshot fixtures written by earlier builds', () => {
  it('has a fixture with and one without a disk, and one whose RAM is a delta', () => {
    expect(manifest.some((e) => e.disks.length === 0)).toBe(true);
    expect(manifest.some((e) => e.disks.length > 0)).toBe(true);
    expect(manifest.some((e) => (e.bases ?? []).length > 0)).toBe(true);
  });

  for (const entry of manifest) {
    it(`${entry.file}: restores to the recorded state and runs to the recorded end (${entry.about})`, () => {
      const sameLayout = entry.formatVersion === SNAPSHOT_FORMAT_VERSION && entry.layout === MACHINE_SNAPSHOT_LAYOUT;
      const snap = decodeMachineSnapshot(new Uint8Array(readFileSync(join(FIXTURE_DIR, entry.file))));
      const dir = mkdtempSync(join(work, 'run-'));
      const disks = entry.disks.map((name) => join(dir, name));
      entry.disks.forEach((name, i) => copyFileSync(join(FIXTURE_DIR, name), disks[i]!));
      const disksDir = join(dir, 'disks');
      mkdirSync(disksDir);
      for (const o of entry.overlays ?? []) copyFileSync(join(FIXTURE_DIR, o), join(disksDir, o));
      const baseBefore = disks.map((p) => sha256Hex(readFileSync(p)));
      expect(snap.state.disks).toHaveLength(disks.length);
      // The disks were elsewhere when the fixture was made; they are here now.
      snap.state.disks.forEach((d, i) => (d.path = disks[i]!));

      // The snapshot and the snapshots its RAM builds on share a folder.
      for (const name of [entry.file, ...(entry.bases ?? [])]) copyFileSync(join(FIXTURE_DIR, name), join(dir, name));
      let text = '';
      const overlaid = entry.overlays !== undefined;
      const guest = restoreGuest(
        snap,
        { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
        { from: { dir, file: entry.file }, ...(overlaid ? { disksDir } : {}) },
      );
      try {
        expectDigests(machineDigests(guest), entry.restored, sameLayout);
        const out = runFixture(guest, entry.run, () => text);
        for (const s of entry.run.consoleContains) expect(out).toContain(s);
        expect(sha256Hex(new TextEncoder().encode(out))).toBe(entry.run.console);
        expectDigests(machineDigests(guest), entry.run.end, sameLayout);
        expect(diskDigests(guest)).toEqual(entry.run.disks);
      } finally {
        guest.close();
      }
      // Overlaid disks leave their base images as they were; others are written in place.
      if (overlaid) expect(disks.map((p) => sha256Hex(readFileSync(p)))).toEqual(baseBefore);
      else expect(disks.map((p) => sha256Hex(readFileSync(p)))).toEqual(entry.run.disks);
    });
  }
});
