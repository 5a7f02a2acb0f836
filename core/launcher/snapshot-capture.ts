// Capturing a machine for a snapshot file in its machine's folder: RAM goes in as the pages written
// since the machine's base snapshot (the one it was restored from, or last took) when that file is
// still there and its chain is short, and in full otherwise. The dirty tracking restarts at the
// capture; a snapshot that then fails to be saved hands its pages back.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { captureMachine, type MachineSnapshot, type MachineStateSource } from '../snapshot/machine-snapshot';

/** The snapshot file (in folder `dir`) a machine's RAM is tracked against, and its RAM delta depth. */
export interface SnapshotBase {
  dir: string;
  file: string;
  depth: number;
}

/** Past this many deltas a snapshot stores its RAM in full (restoring reads at most this many files). */
export const MAX_RAM_DEPTH = 8;

/** A machine that tracks which RAM pages it wrote since its base snapshot. */
export interface TrackedMachine extends MachineStateSource {
  ramBase: SnapshotBase | null;
  takeDirtyPages(): Uint32Array;
  markPagesDirty(pages: Uint32Array): void;
}

export function isTrackedMachine(g: object): g is TrackedMachine {
  return 'ramBase' in g && 'takeDirtyPages' in g && 'markPagesDirty' in g && 'exportMachineState' in g;
}

export interface PendingSnapshot {
  snapshot: MachineSnapshot;
  /** The snapshot is saved as `file`: the machine's RAM is now tracked against it. */
  saved(file: string): void;
  /** The snapshot was not saved: the machine stays tracked against its previous base. */
  failed(): void;
}

export function captureForFolder(
  machine: TrackedMachine,
  dir: string,
  opts: { now?: Date; scrollback?: Uint8Array; parent?: string | null } = {},
): PendingSnapshot {
  const pages = machine.takeDirtyPages();
  const base = machine.ramBase;
  const delta =
    base && base.dir === dir && base.depth < MAX_RAM_DEPTH && existsSync(join(dir, base.file))
      ? { base: base.file, baseDepth: base.depth, pages }
      : undefined;
  let snapshot: MachineSnapshot;
  try {
    snapshot = captureMachine(machine, { ...opts, ...(delta ? { delta } : {}) });
  } catch (err) {
    machine.markPagesDirty(pages);
    throw err;
  }
  return {
    snapshot,
    saved: (file) => (machine.ramBase = { dir, file, depth: snapshot.state.memory.ram.depth }),
    failed: () => machine.markPagesDirty(pages),
  };
}
