// The host's exit and hypercall counters as `lguest --verbose` prints them at exit, to compare a
// guest's run with the real 2.6.23 host's (trap kinds, hypercall numbers, injected interrupts).

import type { LguestFile } from '../host/api';
import type { LguestStats } from '../host/lg';
import { HYPERCALL_NAMES } from '../host/constants';

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

/** Three lines: exits by kind, hypercalls by number (synchronous and ring ones), IRQs injected. */
export function formatExitStats(s: LguestStats): string[] {
  const exits: string[] = [];
  s.exits.forEach((n, v) => {
    if (n > 0) exits.push(`${TRAP_NAMES[v] ?? `trap ${v}`} ${n}`);
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
