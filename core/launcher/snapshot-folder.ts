// A machine's snapshot folder as a whole. Deleting a snapshot keeps every other one restorable:
// the snapshots whose RAM is stored as changes over it get those changes folded onto its RAM first
// (each rewritten atomically), and only then does the file go. Disk overlays that no snapshot and
// no disk head needs any more are then removed. A crash at any point loses nothing still needed.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { decodeMachineSnapshot, encodeMachineSnapshot, type MachineSnapshot } from '../snapshot/machine-snapshot';
import { foldRam, SnapshotChainError } from '../snapshot/ram-chain';
import { syncDir, writeFileAtomic } from './atomic-file';
import { OVERLAY_SUFFIX, readOverlayHeader } from './disk-overlay';
import { headOverlays } from './machine-disks';

/**
 * An overlay file younger than this is never collected: a machine may just have made it and not
 * yet recorded it in head.json, or an import may not yet have written the snapshot that names it.
 */
export const FRESH_OVERLAY_MS = 60_000;

interface Entry {
  file: string;
  snap: MachineSnapshot | null;
  error: string | null;
}

async function readSnapshots(dir: string, isSnapshotFile: (name: string) => boolean): Promise<Entry[]> {
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const out: Entry[] = [];
  for (const file of names.filter(isSnapshotFile).sort()) {
    try {
      out.push({ file, snap: decodeMachineSnapshot(new Uint8Array(await fs.readFile(join(dir, file)))), error: null });
    } catch (err) {
      out.push({ file, snap: null, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/**
 * Deletes snapshot `file` from `dir` (the machine's disk overlays are in `disksDir`). Returns the
 * snapshots rewritten with its RAM folded in and the overlay files collected.
 */
export async function deleteSnapshot(
  dir: string,
  disksDir: string,
  file: string,
  isSnapshotFile: (name: string) => boolean,
): Promise<{ folded: string[]; removedOverlays: string[] }> {
  const all = await readSnapshots(dir, isSnapshotFile);
  const target = all.find((e) => e.file === file);
  if (!target) throw Object.assign(new Error(`there is no snapshot ${file}`), { code: 'ENOENT' });
  const children = all.filter((e) => e.snap?.state.memory.ram.base === file);
  if (children.length > 0 && !target.snap) {
    throw new SnapshotChainError(
      `${file} cannot be read (${target.error}), and ${children.map((c) => c.file).join(', ')} ` +
        'store their RAM as changes over it: it is kept',
    );
  }
  for (const child of children) {
    const snap = child.snap!;
    const base = target.snap!;
    const folded: MachineSnapshot = {
      ...snap,
      // In the tree, the child now hangs where the deleted snapshot did.
      meta: { ...snap.meta, parent: snap.meta.parent === file ? base.meta.parent : snap.meta.parent },
      state: {
        ...snap.state,
        memory: { ...snap.state.memory, ram: foldRam(snap.state.memory.ram, base.state.memory.ram) },
      },
    };
    await writeFileAtomic(join(dir, child.file), encodeMachineSnapshot(folded), { overwrite: true });
  }
  await fs.unlink(join(dir, file));
  await syncDir(dir);
  return { folded: children.map((c) => c.file), removedOverlays: await collectOverlays(dir, disksDir, isSnapshotFile) };
}

/**
 * Removes the overlay files in `disksDir` that no snapshot in `dir` and no disk head is built on.
 * Nothing is removed while any snapshot or overlay header cannot be read (it might need any of them).
 */
export async function collectOverlays(
  dir: string,
  disksDir: string,
  isSnapshotFile: (name: string) => boolean,
  now = Date.now(),
): Promise<string[]> {
  let names: string[];
  try {
    names = (await fs.readdir(disksDir)).filter((n) => n.endsWith(OVERLAY_SUFFIX));
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return [];
    throw err;
  }
  const snapshots = await readSnapshots(dir, isSnapshotFile);
  if (snapshots.some((e) => e.snap === null)) return [];
  const parentOf = new Map<string, string | null>();
  const roots = new Set<string>(headOverlays(disksDir));
  for (const name of names) {
    try {
      parentOf.set(name, readOverlayHeader(join(disksDir, name)).parent?.file ?? null);
      if ((await fs.stat(join(disksDir, name))).mtimeMs > now - FRESH_OVERLAY_MS) roots.add(name);
    } catch {
      return [];
    }
  }
  for (const e of snapshots) for (const d of e.snap!.state.disks) if (d.overlay !== null) roots.add(d.overlay);
  const keep = new Set<string>();
  for (const root of roots) {
    for (let at: string | null | undefined = root; at && !keep.has(at); at = parentOf.get(at)) keep.add(at);
  }
  const removed: string[] = [];
  for (const name of names) {
    if (keep.has(name)) continue;
    await fs.rm(join(disksDir, name), { force: true });
    removed.push(name);
  }
  if (removed.length > 0) await syncDir(disksDir);
  return removed;
}
