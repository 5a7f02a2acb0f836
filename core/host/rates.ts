// Counter rates: two readings of a Guest's counters (LguestStats and the instruction count) an
// interval apart become per-second figures: what `lguest --stats` prints and the live plots draw.

import type { LguestStats } from './lg';
import { LGUEST_TRAP_ENTRY, TRAP_PF } from './constants';

/** One reading of the counters, copied (the live arrays keep counting). */
export interface CounterReading {
  /** Wall-clock milliseconds when read. */
  atMs: number;
  instructions: number;
  stats: LguestStats;
  /** Ring hypercalls by number (Lguest.ringHypercalls). */
  ring: number[];
}

/** Per-second figures over one interval. */
export interface CounterRates {
  seconds: number;
  instructionsPerSecond: number;
  /** Exits per second by trap vector (256 = entry failed), only vectors that occurred. */
  exitsPerSecond: Record<number, number>;
  /** Exits that only ended a time slice or met the clock deadline. */
  sliceExitsPerSecond: number;
  /** Hypercalls per second by number (index 17 = bad numbers): synchronous and from the ring. */
  hypercallsPerSecond: { sync: number[]; ring: number[] };
  irqsPerSecond: number;
  /** #PF exits per second, and the part of them the shadow page tables absorbed. */
  pageFaultsPerSecond: number;
  demandPagedPerSecond: number;
}

export function readCounters(
  stats: LguestStats,
  ring: readonly number[],
  instructions: number,
  atMs: number,
): CounterReading {
  return { atMs, instructions, stats: structuredClone(stats), ring: [...ring] };
}

function sum(a: readonly number[]): number {
  let n = 0;
  for (const v of a) n += v;
  return n;
}

/** The rates between two readings (an empty interval gives zeros, never NaN or Infinity). */
export function counterRates(prev: CounterReading, cur: CounterReading): CounterRates {
  const seconds = Math.max(0, (cur.atMs - prev.atMs) / 1000);
  const per = (d: number): number => (seconds > 0 ? d / seconds : 0);
  const a = prev.stats;
  const b = cur.stats;
  const exitsPerSecond: Record<number, number> = {};
  b.exits.forEach((n, v) => {
    const d = n - (a.exits[v] ?? 0);
    // Hypercall exits are counted by number below.
    if (d > 0 && seconds > 0 && v !== LGUEST_TRAP_ENTRY) exitsPerSecond[v] = per(d);
  });
  const ring = cur.ring.map((n, i) => per(n - (prev.ring[i] ?? 0)));
  const sync = b.hypercalls.map((n, i) => Math.max(0, per(n - (a.hypercalls[i] ?? 0)) - ring[i]!));
  return {
    seconds,
    instructionsPerSecond: per(cur.instructions - prev.instructions),
    exitsPerSecond,
    sliceExitsPerSecond: per(b.budgetExits - a.budgetExits),
    hypercallsPerSecond: { sync, ring },
    irqsPerSecond: per(sum(b.irqsInjected) - sum(a.irqsInjected)),
    pageFaultsPerSecond: per((b.exits[TRAP_PF] ?? 0) - (a.exits[TRAP_PF] ?? 0)),
    demandPagedPerSecond: per(b.demandPageFixes - a.demandPageFixes),
  };
}
