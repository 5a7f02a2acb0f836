// The recorded past of a debugged machine: checkpoints (whole machine states, kept within a byte
// budget) and every outside event (console input, clock advance) keyed by instruction count.
// A checkpoint plus the events after it replays the machine to any later instruction exactly.

import { machineStateOf, SnapshotUnsupportedError, type MachineState } from '../../snapshot/machine-snapshot';
import type { Launcher } from '../launch';

export type TimelineEvent =
  | { at: number; kind: 'input'; bytes: Uint8Array }
  | { at: number; kind: 'clock'; ns: number };

export interface Checkpoint {
  count: number;
  state: MachineState;
  bytes: number;
}

export interface TimelineOptions {
  /** Instructions between checkpoints at first (doubled whenever the budget is exceeded). */
  spacing: number;
  /** Bytes of checkpoint data kept at most (older checkpoints are thinned out, never the first). */
  budgetBytes: number;
}

export const DEFAULT_TIMELINE: TimelineOptions = { spacing: 10_000_000, budgetBytes: 512 * 1024 * 1024 };

export class Timeline {
  readonly checkpoints: Checkpoint[] = [];
  readonly events: TimelineEvent[] = [];
  /** Why this machine cannot be checkpointed (e.g. it is on a shared network); null when it can. */
  unsupported: string | null = null;
  /** Index of the next event to apply as the machine moves forward. */
  nextEvent = 0;
  spacing: number;

  constructor(private readonly opts: TimelineOptions = DEFAULT_TIMELINE) {
    this.spacing = opts.spacing;
  }

  get bytes(): number {
    return this.checkpoints.reduce((n, c) => n + c.bytes, 0);
  }

  /** Takes a checkpoint at a host boundary when the last one is `spacing` instructions back. */
  maybeCheckpoint(guest: Launcher, count: number): void {
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (this.unsupported !== null || (last !== undefined && count < last.count + this.spacing)) return;
    let state;
    try {
      state = machineStateOf(guest.exportMachineState());
    } catch (e) {
      // No checkpoints, so no reverse execution; everything else still works.
      if (!(e instanceof SnapshotUnsupportedError)) throw e;
      this.unsupported = e.message;
      return;
    }
    const bytes = state.memory.ram.data.byteLength + state.memory.hostFrames.data.byteLength;
    this.checkpoints.push({ count, state, bytes });
    while (this.bytes > this.opts.budgetBytes && this.checkpoints.length > 2) {
      // Keep the first (the oldest reachable instruction) and the newest; drop every second one.
      const kept = this.checkpoints.filter((_c, i, all) => i === 0 || i === all.length - 1 || i % 2 === 0);
      this.checkpoints.splice(0, this.checkpoints.length, ...kept);
      this.spacing *= 2;
    }
  }

  /** Events of an earlier session, to apply as the machine gets to them (a replayed recording). */
  load(events: readonly TimelineEvent[]): void {
    this.events.splice(0, this.events.length, ...events);
    this.nextEvent = 0;
  }

  /** The newest checkpoint at or before `count` (null: before the recorded window). */
  checkpointAtOrBefore(count: number): Checkpoint | null {
    for (let i = this.checkpoints.length - 1; i >= 0; i--)
      if (this.checkpoints[i]!.count <= count) return this.checkpoints[i]!;
    return null;
  }

  /** The newest checkpoint strictly before `count`. */
  checkpointBefore(count: number): Checkpoint | null {
    for (let i = this.checkpoints.length - 1; i >= 0; i--)
      if (this.checkpoints[i]!.count < count) return this.checkpoints[i]!;
    return null;
  }

  /** After restoring checkpoint `c`: the events from its count on are the ones still to apply. */
  rewindTo(c: Checkpoint): void {
    this.nextEvent = this.events.findIndex((e) => e.at >= c.count);
    if (this.nextEvent < 0) this.nextEvent = this.events.length;
  }

  /** Recorded events due at `count` (in order), marked applied. */
  takeDue(count: number): TimelineEvent[] {
    const due: TimelineEvent[] = [];
    while (this.nextEvent < this.events.length && this.events[this.nextEvent]!.at <= count)
      due.push(this.events[this.nextEvent++]!);
    return due;
  }

  /** True when recorded events lie ahead (the machine is re-running its own past). */
  get replaying(): boolean {
    return this.nextEvent < this.events.length;
  }

  /**
   * A new outside event at `count`. If the machine was re-running its past, that past is
   * rewritten from here: the events and checkpoints after this point are forgotten.
   */
  record(e: TimelineEvent): void {
    this.events.splice(this.nextEvent);
    const keep = this.checkpoints.filter((c) => c.count <= e.at);
    this.checkpoints.splice(0, this.checkpoints.length, ...keep);
    this.events.push(e);
    this.nextEvent = this.events.length;
  }
}
