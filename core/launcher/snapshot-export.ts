// One self-contained file per snapshot: the snapshot, the overlays its disks froze (each chain down
// to its base), each base image's identity and, if asked, the base image itself. Import puts it
// back into a machine's snapshot folder, refusing a base image that is not the one recorded.

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomicSync } from './atomic-file';
import { identifyDiskFile } from '../snapshot/disk-identity';
import { decodeSnapshot, encodeSnapshot, type SnapshotValue } from '../snapshot/format';
import { decodeMachineSnapshot, encodeMachineSnapshot } from '../snapshot/machine-snapshot';
import { folderLoader, withFullRam } from '../snapshot/ram-chain';
import { openOverlayChain, parseOverlayHeader, readOverlayHeader } from './disk-overlay';

export const EXPORT_KIND = 'lguest-snapshot-export';
export const EXPORT_VERSION = 1;
export const EXPORT_SUFFIX = '.lgexport';

interface ExportedDisk {
  base: { path: string; size: number; sha256: string };
  /** The overlay chain, bottom first: file name and its bytes. */
  overlays: { file: string; bytes: Uint8Array }[];
  /** The base image itself, when the export embeds it. */
  image: Uint8Array | null;
}

interface ExportFile {
  kind: typeof EXPORT_KIND;
  version: number;
  file: string;
  snapshot: Uint8Array;
  disks: ExportedDisk[];
}

export class SnapshotImportError extends Error {
  override readonly name = 'SnapshotImportError';
}

/** The export of the snapshot file at `snapshotPath` (its overlays are in `disksDir`). */
export function exportSnapshot(snapshotPath: string, disksDir: string, opts: { embedBase?: boolean } = {}): Uint8Array {
  const read = new Uint8Array(readFileSync(snapshotPath));
  const stored = decodeMachineSnapshot(read);
  // The export stands alone: RAM stored as a delta goes in resolved through its chain.
  const snap = withFullRam(stored, basename(snapshotPath), folderLoader(dirname(snapshotPath)));
  const bytes = snap === stored ? read : encodeMachineSnapshot(snap);
  const disks: ExportedDisk[] = snap.state.disks.map((d) => {
    const overlays: ExportedDisk['overlays'] = [];
    if (d.overlay !== null) {
      const chain = openOverlayChain(join(disksDir, d.overlay), false);
      try {
        for (const layer of chain) {
          overlays.push({ file: basename(layer.path), bytes: readFileSync(layer.path).subarray(0, layer.validBytes) });
        }
      } finally {
        for (const l of chain) l.close();
      }
    }
    let image: Uint8Array | null = null;
    if (opts.embedBase) {
      image = new Uint8Array(readFileSync(d.path));
      const sha256 = identifyDiskFile(d.path).sha256;
      if (sha256 !== d.sha256) {
        throw new SnapshotImportError(
          `disk ${d.path} changed since the snapshot (sha256 ${sha256}, recorded ${d.sha256})`,
        );
      }
    }
    return { base: { path: d.path, size: d.size, sha256: d.sha256 }, overlays, image };
  });
  const tree: ExportFile = {
    kind: EXPORT_KIND,
    version: EXPORT_VERSION,
    file: basename(snapshotPath),
    snapshot: bytes,
    disks,
  };
  return encodeSnapshot(tree as unknown as SnapshotValue);
}

/**
 * Imports an export (`source` names it in errors) into `snapshotDir`, with overlays (and embedded
 * base images) in `disksDir`. A disk whose base image is not the recorded one is refused, naming the
 * file and both hashes, unless the export embeds the base. Returns the snapshot's file name.
 */
export function importSnapshot(bytes: Uint8Array, source: string, snapshotDir: string, disksDir: string): string {
  const tree = decodeSnapshot(bytes) as unknown as ExportFile;
  if (tree.kind !== EXPORT_KIND) throw new SnapshotImportError(`${source} is not a snapshot export`);
  if (tree.version !== EXPORT_VERSION) {
    throw new SnapshotImportError(
      `${source}: export version ${tree.version} is not supported (this build reads ${EXPORT_VERSION})`,
    );
  }
  if (!/^[0-9A-Za-z][0-9A-Za-z._-]*\.lgsnap$/.test(tree.file))
    throw new SnapshotImportError(`${source}: bad snapshot name`);
  const snap = decodeMachineSnapshot(tree.snapshot);
  let relocated = false;
  tree.disks.forEach((disk, i) => {
    const d = snap.state.disks[i];
    if (!d || d.sha256 !== disk.base.sha256)
      throw new SnapshotImportError(`${source}: disk ${i} does not match the snapshot`);
    const local = existsSync(d.path) ? identifyDiskFile(d.path).sha256 : null;
    if (local === d.sha256) return;
    if (!disk.image) {
      throw new SnapshotImportError(
        `${source}: disk ${i} needs base image ${d.path} with sha256 ${d.sha256}, ` +
          (local === null ? 'and there is no such file here' : `but that file has sha256 ${local}`),
      );
    }
    // The export carries the base: it goes beside the overlays, and the snapshot refers to it there.
    mkdirSync(disksDir, { recursive: true });
    const path = join(disksDir, `base-${d.sha256}.img`);
    if (!existsSync(path)) writeFileAtomicSync(path, disk.image);
    if (identifyDiskFile(path).sha256 !== d.sha256)
      throw new SnapshotImportError(`${source}: embedded disk ${i} is corrupt`);
    const config = snap.state.config as { blockDevices?: { path: string }[] };
    const dev = config.blockDevices?.[i];
    if (dev) dev.path = path;
    d.path = path;
    relocated = true;
  });
  mkdirSync(disksDir, { recursive: true });
  for (const disk of tree.disks) {
    for (const o of disk.overlays) {
      if (!/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(o.file)) throw new SnapshotImportError(`${source}: bad overlay name`);
      const path = join(disksDir, o.file);
      const want = JSON.stringify(parseOverlayHeader(o.bytes, `${source}:${o.file}`));
      if (existsSync(path)) {
        if (JSON.stringify(readOverlayHeader(path)) !== want) {
          throw new SnapshotImportError(`${source}: ${path} exists and is another overlay`);
        }
        continue;
      }
      writeFileAtomicSync(path, o.bytes);
    }
  }
  mkdirSync(snapshotDir, { recursive: true });
  let file = tree.file;
  if (existsSync(join(snapshotDir, file))) file = file.replace(/\.lgsnap$/, `-imported-${Date.now()}.lgsnap`);
  const out = relocated ? encodeMachineSnapshot(snap) : tree.snapshot;
  writeFileAtomicSync(join(snapshotDir, file), out);
  return file;
}
