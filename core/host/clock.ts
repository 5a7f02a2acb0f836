// Chapter "the clock": the Guest's virtual time (2.6.23 used an hrtimer and the host TSC).
// Time is counted, not measured: NS_PER_INSTRUCTION per retired instruction (a 100 MHz virtual
// CPU) plus whatever the caller adds while the Guest idles, so a run is deterministic.

import { LD_TIME, NS_PER_INSTRUCTION, TSC_KHZ } from './constants';
import { tryWriteU32 } from './guest-memory';
import { kill, type Lguest } from './lg';

/** The Guest's virtual time in ns. */
export function virtualNow(lg: Lguest): number {
  return (lg.cpu.instructionCount - lg.state.instructionBase) * NS_PER_INSTRUCTION + lg.state.idleNs;
}

/** The TSC the Guest reads with rdtsc: virtual ns at tsc_khz (ns * khz / 1e6). */
export function readVirtualTsc(lg: Lguest): number {
  return Math.floor((virtualNow(lg) * TSC_KHZ) / 1e6);
}

/** LHCALL_SET_CLOCKEVENT(delta): a one-shot timer delta ns from now; 0 cancels it. */
export function guestSetClockevent(lg: Lguest, delta: number): void {
  delta >>>= 0;
  lg.state.clockDeadlineNs = delta === 0 ? null : virtualNow(lg) + delta;
}

/**
 * The timer "interrupt": once virtual time reaches the deadline, IRQ 0 becomes pending and the
 * timer disarms (it is one-shot). A halted Guest is woken by the next maybeDeliverInterrupt.
 * Returns true if it fired.
 */
export function checkClockevent(lg: Lguest): boolean {
  const deadline = lg.state.clockDeadlineNs;
  if (deadline === null || virtualNow(lg) < deadline) return false;
  lg.state.clockDeadlineNs = null;
  lg.state.irqsPending |= 1;
  return true;
}

/** Instructions the CPU may run before the clock event is due (at least 1), or Infinity. */
export function instructionsUntilDeadline(lg: Lguest): number {
  const deadline = lg.state.clockDeadlineNs;
  if (deadline === null) return Infinity;
  return Math.max(1, Math.ceil((deadline - virtualNow(lg)) / NS_PER_INSTRUCTION));
}

/** Jump virtual time forward while the Guest idles (never backwards). */
export function advanceClockTo(lg: Lguest, ns: number): void {
  const now = virtualNow(lg);
  if (ns > now) lg.state.idleNs += ns - now;
}

/** write_timestamp(): lguest_data.time = boot wall clock + virtual time. */
export function writeTimestamp(lg: Lguest): void {
  const ld = lg.state.lguestData;
  if (ld === null) return;
  const now = virtualNow(lg);
  const sec = lg.state.bootEpochSeconds + Math.floor(now / 1e9);
  const nsec = now % 1e9;
  if (!tryWriteU32(lg, ld + LD_TIME, sec) || !tryWriteU32(lg, ld + LD_TIME + 4, nsec)) {
    kill(lg, 'Writing timestamp');
  }
}
