// Messages between the service and one machine's worker thread (the worker runs the Launcher's
// guest in slices; the service only ever sees these messages, never live machine objects).

import type { MachineConfig, MachineState } from './api';
import type { DebugCommand, DebugViewOptions } from './debug-types';
import type { WorkerReply } from './worker-requests';
import type { ExitEvent, InspectQuery, InspectResult, MachineRates } from './inspector-types';
import type { DiffReply, RestoreReply, SnapshotReply } from './snapshot-types';

export interface MachineWorkerData {
  config: MachineConfig;
  /** Module that exports launchGuest; tests point this at their own launchers. */
  launcherModule?: string;
  /** Directory that relative file names in the config are resolved against (the config's folder). */
  baseDir?: string;
  /** Guest instructions per run slice. */
  sliceBudget?: number;
  /** Pace idle time to the wall clock (true in the app; tests may switch it off). */
  paced?: boolean;
  /** Start from this snapshot file instead of booting the config's kernel (the machine starts paused). */
  restore?: SnapshotRestore;
  /** The workbench's one lguest host: its shared tables and this worker's owner token in them. */
  host?: { tables: SharedArrayBuffer; owner: number };
  /** The machine's disk overlay folder: writable disks run on copy-on-write overlays there. */
  disksDir?: string;
}

/** A guest of the shared host whose RAM other workers may DMA into (a guest on a network). */
export interface HostGuest {
  guestid: number;
  generation: number;
  ram: Uint8Array;
}

/** A snapshot to start from; the service has checked the file and its disks. */
export interface SnapshotRestore {
  path: string;
  allowChangedDisks: boolean;
  /** A member of a group snapshot: network name -> the peer slot it re-joins on the shared host. */
  peerSlots?: Record<string, number>;
}

export type ToWorker =
  | { type: 'input'; data: Uint8Array }
  | { type: 'pause' }
  | { type: 'resume' }
  | { type: 'stop' }
  /** An inspector query, answered between run slices with an 'inspect-reply' of the same seq. */
  | { type: 'inspect'; seq: number; query: InspectQuery }
  /**
   * Snapshot the guest between run slices into `dir`; answered with a 'snapshot-reply'. With
   * `networkMember` (a paused member of a group snapshot) what other threads left for the guest in
   * the host tables is folded into its state first.
   */
  | { type: 'snapshot'; seq: number; dir: string; networkMember?: boolean }
  /**
   * Restore a snapshot of this machine's config into the running machine (in its RAM, between
   * slices; it then stays paused); answered with a 'restore-reply' ('unsupported': start anew).
   */
  | { type: 'restore'; seq: number; path: string; allowChangedDisks: boolean }
  /** Another worker's guest joined the host (its RAM is shared), or left it. */
  | { type: 'host-peer'; guest: HostGuest }
  /** `generation`: the slot may hold a newer guest already (a restore reuses guest ids), which stays. */
  | { type: 'host-peer-left'; guestid: number; generation: number }
  /** Diff the snapshot file at `path` against the machine now; answered with a 'diff-reply'. */
  | { type: 'diff'; seq: number; path: string }
  /** A Debugger tab request; answered with a 'debug-reply' carrying the DebugView. */
  | { type: 'debug'; seq: number; command: DebugCommand; look: DebugViewOptions };

export type FromWorker =
  | {
      type: 'status';
      state: Exclude<MachineState, 'stopped'>;
      virtualTimeNs: number;
      reason?: string;
      lastExits?: ExitEvent[];
    }
  /** Counter rates over the last interval (the service adds the machine id). */
  | { type: 'rates'; rates: Omit<MachineRates, 'id'> }
  | { type: 'console'; data: Uint8Array }
  | { type: 'log'; line: string }
  | { type: 'stopped'; virtualTimeNs: number }
  | { type: 'inspect-reply'; seq: number; reply: InspectReply }
  | { type: 'snapshot-reply'; seq: number; reply: SnapshotReply }
  | { type: 'restore-reply'; seq: number; reply: RestoreReply }
  | { type: 'diff-reply'; seq: number; reply: DiffReply }
  | { type: 'debug-reply'; seq: number; reply: WorkerReply }
  /** The guest was restored from a snapshot; `scrollback` is the console the snapshot kept. */
  | { type: 'restored'; scrollback: Uint8Array }
  /** The disk lock files the guest holds (the service releases them if it must terminate the thread). */
  | { type: 'disk-locks'; paths: string[] }
  /** This worker's guest is on the shared host with RAM others may DMA into. */
  | { type: 'host-joined'; guest: HostGuest };

/** A worker's answer to one inspector query. */
export type InspectReply =
  | { ok: true; result: InspectResult }
  | { ok: false; code: 'bad-state' | 'out-of-range' | 'internal'; message: string };
