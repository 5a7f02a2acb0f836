// The diff between two snapshots of a machine, or a snapshot and the running machine: guest pages
// and registers (state-diff.ts) plus, for each disk, the blocks whose contents differ.

import type { LaunchedGuest } from './api';
import { machineStateOf, type MachineState } from '../snapshot/machine-snapshot';
import { unitRanges, diffMachineStates, type ByteRange, type StateDiff } from '../snapshot/state-diff';
import { BlockDevice } from './block-device';
import { OVERLAY_BLOCK } from './disk-overlay';
import type { Launcher } from './launch';
import { OverlayDisk } from './overlay-disk';

export interface DiskDiff {
  path: string;
  /** Blocks (of OVERLAY_BLOCK bytes) that differ; null when the two sides cannot be compared. */
  changedBlocks: number | null;
  ranges: ByteRange[];
  /** Why the disk could not be compared. */
  why?: string;
}

export interface MachineDiff extends StateDiff {
  disks: DiskDiff[];
}

type DiskSide = { state: MachineState; index: number } | { live: OverlayDisk };

function diskDiff(a: { state: MachineState; index: number }, b: DiskSide, disksDir: string | null): DiskDiff {
  const da = a.state.disks[a.index]!;
  const path = da.path;
  const none = (why: string): DiskDiff => ({ path, changedBlocks: null, ranges: [], why });
  if ('state' in b) {
    const db = b.state.disks[a.index];
    if (!db || db.path !== da.path) return none('the other side has another disk here');
    if (db.sha256 !== da.sha256) return none('the two sides have different base images');
    if (da.overlay === null && db.overlay === null) return { path, changedBlocks: 0, ranges: [] };
  }
  if (!disksDir) return none('the machine has no disk overlay folder');
  const opened: OverlayDisk[] = [];
  try {
    const x = OverlayDisk.view(da.path, disksDir, da.overlay);
    opened.push(x);
    let y: OverlayDisk;
    if ('live' in b) y = b.live;
    else {
      y = OverlayDisk.view(da.path, disksDir, b.state.disks[a.index]!.overlay);
      opened.push(y);
    }
    const blocks = x.diffBlocks(y);
    return { path, changedBlocks: blocks.length, ranges: unitRanges(blocks, OVERLAY_BLOCK) };
  } catch (e) {
    return none(e instanceof Error ? e.message : String(e));
  } finally {
    for (const d of opened) d.close();
  }
}

/** Snapshot `a` against snapshot `b` of the same machine (its overlays are in `disksDir`). */
export function diffSnapshots(a: MachineState, b: MachineState, disksDir: string | null): MachineDiff {
  return {
    ...diffMachineStates(a, b),
    disks: a.disks.map((_, index) => diskDiff({ state: a, index }, { state: b, index }, disksDir)),
  };
}

/** Snapshot `a` against the running machine now (between two run slices). */
export function diffWithRunning(a: MachineState, guest: LaunchedGuest, disksDir: string | null): MachineDiff {
  if (!guest.exportMachineState) throw new Error('this machine cannot export its state');
  const now = machineStateOf(guest.exportMachineState());
  const devices = 'machine' in guest ? (guest as Launcher).machine.devices : [];
  const live = devices.filter((d): d is BlockDevice => d instanceof BlockDevice).map((d) => d.disk);
  return {
    ...diffMachineStates(a, now),
    disks: a.disks.map((_, index) => {
      const disk = live[index];
      return disk instanceof OverlayDisk
        ? diskDiff({ state: a, index }, { live: disk }, disksDir)
        : diskDiff({ state: a, index }, { state: now, index }, disksDir);
    }),
  };
}
