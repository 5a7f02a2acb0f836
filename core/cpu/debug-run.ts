// The debugger's run loop: when a DebugHook is attached, run() comes here and executes the guest
// in pieces the hook chooses (one instruction at a time near breakpoints, long stretches when it
// only waits for an instruction count), stopping at exact instruction boundaries.

import type { I386 } from './cpu';
import { TF } from './flags';
import type { CpuExit } from './types';

/** What a debugger attached to the CPU answers at every boundary it asked to see. */
export interface DebugHook {
  /**
   * Called at an instruction boundary (before the instruction at CS:EIP). 0 stops here (run()
   * returns 'budget' at once, and the hook's owner knows why); n > 0
   * lets n units of budget run (instructions retired plus exceptions delivered) before the next
   * call, which comes sooner when the CPU stops before one of its instruction breakpoints
   * (I386.setBreakpoints). A hook that must see every instruction (watchpoints) answers 1.
   */
  nextCheck(cpu: I386): number;
}

const STOPPED: CpuExit = { kind: 'budget' };

/**
 * run(budget) with a hook attached. Each piece is an ordinary run() with the hook detached, so
 * instruction semantics, fault delivery and TF traps are those of the undebugged CPU; the budget
 * is consumed as one run(budget) would: a piece of one instruction accounts for the #DB a TF
 * trap adds; a longer piece counts as its length, which is exact unless the guest turns TF on
 * inside it. A piece that stops at a breakpoint counts what it used.
 */
export function runDebug(cpu: I386, hook: DebugHook, budget: number): CpuExit {
  let left = budget;
  while (left > 0) {
    const want = hook.nextCheck(cpu);
    if (want <= 0) return STOPPED;
    const n = Math.min(left, want);
    const before = cpu.icount;
    const trap = (cpu.flags & TF) !== 0;
    let r: CpuExit;
    cpu.debug = null;
    cpu.breakUnspent = 0;
    try {
      r = cpu.run(n);
    } finally {
      cpu.debug = hook;
    }
    if (r.kind !== 'budget') return r;
    if (n === 1) {
      // One unit: a delivered exception retires nothing; a retired instruction under TF is
      // followed by its #DB, a second unit.
      const retired = cpu.icount - before;
      left -= retired === 0 ? 1 : retired + (trap ? 1 : 0);
    } else {
      left -= n - cpu.breakUnspent;
    }
  }
  return { kind: 'budget' };
}
