// Export and import of one snapshot with its disk overlays: the imported snapshot restores to the
// same machine and disk; a different base image is refused naming the file and both hashes,
// unless the export embeds the base.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureMachine, decodeMachineSnapshot, encodeMachineSnapshot } from '../snapshot/machine-snapshot';
import { launchGuest } from './launch';
import { OverlayDisk } from './overlay-disk';
import { replayTo } from './replay';
import { emptyDemoFs } from './test-images';
import { restoreGuest } from './restore-guest';
import { exportSnapshot, importSnapshot, SnapshotImportError } from './snapshot-export';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-export-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
function seen(base: string, disksDir: string, overlay: string | null): string {
  const view = OverlayDisk.view(base, disksDir, overlay);
  const all = new Uint8Array(view.size);
  view.read(all, 0);
  view.close();
  return sha(all);
}

describe('snapshot export and import', () => {
  it('carries the overlays, refuses another base by hash, and embeds the base when asked', async () => {
    const base = join(dir, 'disk.img');
    const img = emptyDemoFs(128);
    writeFileSync(base, img);
    const from = { snaps: join(dir, 'a'), disks: join(dir, 'a', 'disks') };
    const guest = await launchGuest(
      { name: 'exp', kernel: 'builtin:demo', memoryMB: 8, blockDevices: [{ path: base }] },
      { consoleOutput: () => {} },
      { disksDir: from.disks, bootEpochSeconds: 0 },
    );
    const typed = [{ at: 1_500_000, bytes: new TextEncoder().encode('write f exported-text\r') }];
    expect(replayTo(guest, 3_000_000, typed).kind).toBe('reached');
    const snap = captureMachine(guest);
    guest.freezeDisks();
    guest.close();
    const overlay = snap.state.disks[0]!.overlay!;
    const snapPath = join(dir, 'exp.lgsnap');
    writeFileSync(snapPath, encodeMachineSnapshot(snap));
    const want = seen(base, from.disks, overlay);
    expect(want).not.toBe(sha(img));

    const plain = exportSnapshot(snapPath, from.disks);
    const to = { snaps: join(dir, 'b'), disks: join(dir, 'b', 'disks') };
    const file = importSnapshot(plain, 'exp.lgexport', to.snaps, to.disks);
    expect(file).toBe('exp.lgsnap');
    expect(seen(base, to.disks, overlay)).toBe(want);
    const restored = restoreGuest(
      decodeMachineSnapshot(readFileSync(join(to.snaps, file))),
      { consoleOutput: () => {} },
      {
        disksDir: to.disks,
      },
    );
    expect(restored.instructionCount).toBe(3_000_000);
    restored.close();

    // The base changed: refused, naming the export and both hashes.
    const changed = img.slice();
    changed[600] = 1;
    writeFileSync(base, changed);
    const again = { snaps: join(dir, 'c'), disks: join(dir, 'c', 'disks') };
    expect(() => importSnapshot(plain, 'exp.lgexport', again.snaps, again.disks)).toThrow(SnapshotImportError);
    expect(() => importSnapshot(plain, 'exp.lgexport', again.snaps, again.disks)).toThrow(
      `exp.lgexport: disk 0 needs base image ${base} with sha256 ${sha(img)}, but that file has sha256 ${sha(changed)}`,
    );

    // Embedded: the base travels with it, and the imported snapshot uses that copy.
    writeFileSync(base, img);
    const embedded = exportSnapshot(snapPath, from.disks, { embedBase: true });
    expect(embedded.length).toBeGreaterThan(plain.length + img.length - 1);
    writeFileSync(base, changed);
    const file2 = importSnapshot(embedded, 'exp-full.lgexport', again.snaps, again.disks);
    const imported = decodeMachineSnapshot(readFileSync(join(again.snaps, file2)));
    expect(imported.state.disks[0]!.path).toBe(join(again.disks, `base-${sha(img)}.img`));
    expect(seen(imported.state.disks[0]!.path, again.disks, overlay)).toBe(want);
    const r2 = restoreGuest(imported, { consoleOutput: () => {} }, { disksDir: again.disks });
    r2.close();
  });
});
