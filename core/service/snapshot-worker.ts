// The machine worker's side of snapshots: capture the guest between two run slices, write the file
// atomically, read it back and decode it before saying yes; and boot a worker from a snapshot.

import { promises as fs } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { LguestHost } from '../host/lguest-user';
import type { LaunchedGuest, LauncherEvents } from '../launcher/api';
import {
  captureMachine,
  decodeMachineSnapshot,
  encodeMachineSnapshot,
  SnapshotUnsupportedError,
} from '../snapshot/machine-snapshot';
import { writeFileAtomic } from '../launcher/atomic-file';
import { captureForFolder, isTrackedMachine, type PendingSnapshot } from '../launcher/snapshot-capture';
import { folderLoader, withFullRam } from '../snapshot/ram-chain';
import type { DiffReply, SnapshotReply } from './snapshot-types';
import { listingOf, snapshotFileName } from './snapshots';

/** Console output kept for a snapshot's metadata (what the user saw just before it). */
export const SCROLLBACK_BYTES = 64 * 1024;

/** The last SCROLLBACK_BYTES of console output. */
export class ConsoleTail {
  private chunks: Uint8Array[] = [];
  private total = 0;

  append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.chunks.push(bytes.slice());
    this.total += bytes.length;
    while (this.chunks.length > 1 && this.total - this.chunks[0]!.length >= SCROLLBACK_BYTES) {
      this.total -= this.chunks.shift()!.length;
    }
  }

  bytes(): Uint8Array {
    const out = new Uint8Array(this.total);
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out.length > SCROLLBACK_BYTES ? out.slice(out.length - SCROLLBACK_BYTES) : out;
  }

  replace(bytes: Uint8Array): void {
    this.chunks = [];
    this.total = 0;
    this.append(bytes);
  }
}

/**
 * Takes a snapshot of `guest` now (the caller is between slices) into `dir`. The capture is
 * synchronous; writing and verifying may overlap later slices since the bytes are already taken.
 */
export async function takeSnapshot(
  guest: LaunchedGuest | null,
  dir: string,
  scrollback: Uint8Array,
  parent: string | null = null,
  /** The machine is captured as one member of its network (a group snapshot; see group-snapshots.ts). */
  networkMember = false,
): Promise<SnapshotReply> {
  const machine = basename(dir);
  if (!guest) return { ok: false, code: 'bad-state', message: `machine "${machine}" has no guest to snapshot` };
  const exportState = guest.exportMachineState?.bind(guest);
  if (!exportState) return { ok: false, code: 'unsupported', message: 'this machine cannot export its state' };
  let bytes: Uint8Array;
  let createdAt: string;
  let icount: number;
  let pending: PendingSnapshot | null = null;
  try {
    // A Launcher's RAM goes in as the pages written since its base snapshot (snapshot-capture.ts);
    // a network member's RAM is written by other threads too, untracked: it goes in whole.
    if (!networkMember && isTrackedMachine(guest)) pending = captureForFolder(guest, dir, { scrollback, parent });
    const snap =
      pending?.snapshot ?? captureMachine({ exportMachineState: exportState }, { scrollback, parent, networkMember });
    // Before the next slice: the overlays the snapshot names become read-only, writes go on above them.
    guest.freezeDisks?.();
    bytes = encodeMachineSnapshot(snap);
    createdAt = snap.meta.createdAt;
    icount = snap.meta.instructionCount;
  } catch (err) {
    pending?.failed();
    if (err instanceof SnapshotUnsupportedError) return { ok: false, code: 'unsupported', message: err.message };
    return { ok: false, code: 'internal', message: `snapshot failed: ${errorText(err)}` };
  }
  let file = snapshotFileName(createdAt, icount);
  try {
    await fs.mkdir(dir, { recursive: true });
    // Two snapshots of a paused machine in the same millisecond would share a name: never overwrite.
    for (let n = 2; ; n++) {
      try {
        await writeFileAtomic(join(dir, file), bytes, { overwrite: false });
        break;
      } catch (err) {
        if ((err as { code?: unknown }).code !== 'EEXIST' || n > 9) throw err;
        file = snapshotFileName(createdAt, icount).replace(/\.lgsnap$/, `-${n}.lgsnap`);
      }
    }
    const path = join(dir, file);
    // Nothing is reported as saved until it has been read back from disk and decoded in full.
    const back = new Uint8Array(await fs.readFile(path));
    if (Buffer.compare(back, bytes) !== 0) throw new Error(`${path} reads back different bytes`);
    const decoded = decodeMachineSnapshot(back);
    const stat = await fs.stat(path);
    pending?.saved(file);
    return { ok: true, result: listingOf(machine, file, stat, decoded) };
  } catch (err) {
    pending?.failed();
    return { ok: false, code: 'internal', message: `snapshot ${file} could not be saved: ${errorText(err)}` };
  }
}

/**
 * The diff of the snapshot file at `path` against the machine now. The file is read first; the
 * comparison itself runs synchronously, between two run slices, on the guest `current()` returns.
 */
export async function diffWithSnapshotFile(
  path: string,
  current: () => LaunchedGuest | null,
  disksDir: string | null,
): Promise<DiffReply> {
  let state;
  try {
    const snap = decodeMachineSnapshot(new Uint8Array(await fs.readFile(path)));
    state = withFullRam(snap, basename(path), folderLoader(dirname(path))).state;
  } catch (err) {
    return { ok: false, code: 'invalid-snapshot', message: `snapshot ${basename(path)}: ${errorText(err)}` };
  }
  const { diffWithRunning } = await import('../launcher/snapshot-diff');
  // No await from here on: the guest does not run while it is compared.
  const guest = current();
  if (!guest) return { ok: false, code: 'bad-state', message: 'the machine stopped' };
  try {
    return { ok: true, result: diffWithRunning(state, guest, disksDir) };
  } catch (err) {
    return { ok: false, code: 'internal', message: `diff failed: ${errorText(err)}` };
  }
}

/** A snapshot file read and checked, ready to become the machine's guest. */
export interface PreparedRestore {
  /** The console output the snapshot kept. */
  scrollback: Uint8Array;
  /** The snapshot can go into this running guest: a Launcher of the same config, not on a network. */
  fits(running: LaunchedGuest): boolean;
  /**
   * Builds the guest, synchronously (a running guest being replaced does not run meanwhile);
   * `reuse`: a stopped guest whose RAM it takes over (restore-guest.ts); `rejoin`: a network
   * member is restored on the shared host, in its saved peer slots.
   */
  restore(
    events: LauncherEvents,
    opts: {
      allowChangedDisks: boolean;
      disksDir?: string;
      reuse?: LaunchedGuest;
      rejoin?: { host: LguestHost; peerSlots: Record<string, number> };
    },
  ): LaunchedGuest;
}

/** Reads a snapshot file to boot a guest from (the service has checked the file and its disks). */
export async function prepareRestore(path: string): Promise<PreparedRestore> {
  const snap = decodeMachineSnapshot(new Uint8Array(await fs.readFile(path)));
  // Loaded on demand, as the worker loads the Launcher itself.
  const { restoreGuest } = await import('../launcher/restore-guest');
  const { Launcher } = await import('../launcher/launch');
  const config = JSON.stringify(snap.state.config);
  return {
    scrollback: snap.meta.scrollback,
    fits: (running) =>
      running instanceof Launcher && !running.memory.shared && JSON.stringify(running.config) === config,
    restore: (events, { allowChangedDisks, disksDir, reuse, rejoin }) =>
      restoreGuest(snap, events, {
        allowChangedDisks,
        from: { dir: dirname(path), file: basename(path) },
        ...(disksDir ? { disksDir } : {}),
        ...(reuse instanceof Launcher ? { reuse } : {}),
        ...(rejoin ? { host: rejoin.host, peerSlots: rejoin.peerSlots } : {}),
      }),
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
