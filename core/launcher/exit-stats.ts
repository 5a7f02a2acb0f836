// The host's exit and hypercall counters as `lguest --verbose` prints them at exit, to compare a
// guest's run with the real 2.6.23 host's (trap kinds, hypercall numbers, injected interrupts),
// and their rates as `lguest --stats` prints them once per interval.

import type { LguestFile } from '../host/api';
import type { LguestStats } from '../host/lg';
import { HYPERCALL_NAMES } from '../host/constants';
import type { CounterRates } from '../host/rates';

/** LguestFile has no counters; the host's LguestFileImpl exposes its guest's state for inspectors. */
interface FileWithGuestState {
  readonly guest: { readonly state: { readonly stats: LguestStats } } | null;
}

export function exitStatsOf(file: LguestFile): LguestStats | null {
  if ('stats' in file) {
    const s = (file as LguestFile & { stats: LguestStats | undefined }).stats;
    if (s) return s;
  }
  if ('guest' in file) {
    const g = (file as LguestFile & FileWithGuestState).guest;
    if (g?.state?.stats) return g.state.stats;
  }
  return null;
}

/** The host's count of ring hypercalls by number, found on its file like the counters. */
export function ringHypercallsOf(file: LguestFile): readonly number[] | null {
  if (!('guest' in file)) return null;
  return (file as LguestFile & { guest: { ringHypercalls?: number[] } | null }).guest?.ringHypercalls ?? null;
}

const TRAP_NAMES: Record<number, string> = {
  0: '#DE',
  1: '#DB',
  3: '#BP',
  4: '#OF',
  5: '#BR',
  6: '#UD',
  7: '#NM',
  8: '#DF',
  10: '#TS',
  11: '#NP',
  12: '#SS',
  13: '#GP',
  14: '#PF',
  16: '#MF',
  17: '#AC',
  19: '#XM',
  31: 'hypercall',
  256: 'entry failed',
};

/** The short name of an exit vector ("#PF", "hypercall", "trap 40"). */
export function trapName(vector: number): string {
  return TRAP_NAMES[vector] ?? `trap ${vector}`;
}

/** Rates at a readable precision: 12.3M, 4.56k, 789, 0.5. */
function rate(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (n >= 1e4) return `${(n / 1e3).toFixed(1)}k`;
  return n >= 10 || n === 0 ? n.toFixed(0) : n.toFixed(1);
}

/** One line of `--stats`: instructions, exits by kind, hypercalls, interrupts and page faults per second. */
export function formatRates(r: CounterRates): string {
  const exits = Object.entries(r.exitsPerSecond).map(([v, n]) => `${trapName(Number(v))} ${rate(n)}`);
  exits.push(`slice ${rate(r.sliceExitsPerSecond)}`);
  let sync = 0;
  let ring = 0;
  const calls: string[] = [];
  r.hypercallsPerSecond.sync.forEach((n, i) => {
    const m = r.hypercallsPerSecond.ring[i] ?? 0;
    sync += n;
    ring += m;
    if (n + m > 0) calls.push(`${HYPERCALL_NAMES[i] ?? 'bad'} ${rate(n + m)}`);
  });
  return (
    `${rate(r.instructionsPerSecond)} instr/s; exits/s: ${exits.join(', ')}; ` +
    `hypercalls/s: ${rate(sync)} sync + ${rate(ring)} ring${calls.length ? ` (${calls.join(', ')})` : ''}; ` +
    `irqs/s ${rate(r.irqsPerSecond)}; page faults/s ${rate(r.pageFaultsPerSecond)} (${rate(r.demandPagedPerSecond)} demand-paged)`
  );
}

/** Three lines: exits by kind, hypercalls by number (synchronous and ring ones), IRQs injected. */
export function formatExitStats(s: LguestStats): string[] {
  const exits: string[] = [];
  s.exits.forEach((n, v) => {
    if (n > 0) exits.push(`${trapName(v)} ${n}`);
  });
  exits.push(`time slice/clock ${s.budgetExits}`);
  const calls: string[] = [];
  s.hypercalls.forEach((n, i) => {
    if (n > 0) calls.push(`${HYPERCALL_NAMES[i] ?? 'bad'} ${n}`);
  });
  const irqs: string[] = [];
  s.irqsInjected.forEach((n, i) => {
    if (n > 0) irqs.push(`${i}: ${n}`);
  });
  return [
    `exits: ${exits.join(', ')}`,
    `hypercalls (sync and async): ${calls.join(', ') || 'none'}`,
    `interrupts injected: ${irqs.join(', ') || 'none'}; traps reflected ${s.trapsReflected}`,
  ];
}
