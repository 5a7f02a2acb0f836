// Replay: drive a guest to an exact instruction count, delivering console input at exact
// instruction counts and skipping idle time on the virtual clock. From the same state, the same
// input events give the same machine, byte for byte (a snapshot plus its events is a replay).

import type { Launcher } from './launch';

/** Keystrokes delivered when the guest has retired exactly `at` instructions. */
export interface InputEvent {
  at: number;
  bytes: Uint8Array;
}

export type ReplayEnd =
  | { kind: 'reached'; instructionCount: number }
  /** Halted with no clock event and no input left: it cannot reach the target by itself. */
  | { kind: 'halted'; instructionCount: number }
  | { kind: 'dead'; reason: string; instructionCount: number };

/**
 * Runs `guest` until it has retired exactly `target` instructions. Events at or before the current
 * count are queued first (so an event at `target` is pending input when this returns). A guest
 * that halts with no clock event gets its next event at once: it could not reach that count.
 */
export function replayTo(guest: Launcher, target: number, events: readonly InputEvent[] = []): ReplayEnd {
  const queue = [...events].sort((a, b) => a.at - b.at);
  const count = (): number => {
    const n = guest.instructionCount;
    if (n === null) throw new Error('replay needs a host that counts instructions');
    return n;
  };
  for (;;) {
    const now = count();
    while (queue.length > 0 && queue[0]!.at <= now) guest.consoleInput(queue.shift()!.bytes);
    if (now >= target) return { kind: 'reached', instructionCount: now };
    const stop = Math.min(target, queue[0]?.at ?? Infinity);
    const step = guest.step(stop - now);
    if (step.kind === 'dead') return { kind: 'dead', reason: step.reason, instructionCount: count() };
    if (step.kind === 'idle') {
      if (step.wakeAtNs !== null) guest.advanceClockTo(step.wakeAtNs);
      else if (queue.length > 0) queue[0] = { ...queue[0]!, at: count() };
      else return { kind: 'halted', instructionCount: count() };
    }
  }
}
