// What the service (and the CLI) need from a running Launcher: one guest with its devices,
// driven in slices so that the caller stays responsive and decides how time is paced.

import type { MachineStateParts } from '../snapshot/machine-snapshot';
import type { MachineConfig } from './machine-config';
import type { SnapshotBase } from './snapshot-capture';

export type LauncherStep =
  /** The slice's instruction budget is spent; call step() again. */
  | { kind: 'running' }
  /** The guest is halted until wakeAtNs of virtual time (null: until input arrives). */
  | { kind: 'idle'; wakeAtNs: number | null }
  /** The guest is gone: killed (reason is the host's message) or powered off via CRASH. */
  | { kind: 'dead'; reason: string };

export interface LauncherEvents {
  /** Bytes the guest wrote to its console (hvc0), in order. */
  consoleOutput(bytes: Uint8Array): void;
  /** Diagnostics a verbose Launcher prints (device set-up, warnings). */
  log?(line: string): void;
}

export interface LaunchedGuest {
  readonly config: MachineConfig;
  /** Runs at most `budget` guest instructions (plus any device work they cause). */
  step(budget: number): LauncherStep;
  /** Queues keyboard bytes for the console; delivered by GETDMA + IRQ as the 2.6.23 Launcher did. */
  consoleInput(bytes: Uint8Array): void;
  /** Virtual time of the guest's clock, in nanoseconds. */
  readonly virtualTimeNs: number;
  /** Moves virtual time forward to `ns` (used while the guest is idle). */
  advanceClockTo(ns: number): void;
  /** Releases the guest's host slot and closes device files. */
  close(): void;
  /**
   * The machine's whole state as plain data, called between steps (snapshots). Optional: guests
   * whose host cannot export its state (test doubles) lack it.
   */
  exportMachineState?(opts?: { networkMember?: boolean }): MachineStateParts;
  /** Right after a snapshot's capture: freeze the disks' overlays and continue on new ones. */
  freezeDisks?(): void;
  /** The snapshot its RAM is tracked against (snapshot-capture.ts); absent: not tracked. */
  ramBase?: SnapshotBase | null;
  /** RAM pages written since the last call; the tracking restarts. */
  takeDirtyPages?(): Uint32Array;
  /** Hands pages back to the dirty map (a snapshot that took them was not saved). */
  markPagesDirty?(pages: Uint32Array): void;
  /** Guest instructions retired so far, where the host counts them. */
  readonly instructionCount?: number | null;
}
