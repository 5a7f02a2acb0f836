// Chapter "the run loop" (2.6.23 core.c run_guest and emulate_insn): service hypercalls, hand
// DMA to the Launcher, inject an interrupt, enter the Guest through the Switcher, and decide
// what each exit means: shadow fault, in/out emulation, FPU, reflection, or death.

import { EAX } from '../cpu/types';
import { fmtLi, fmtLx } from './format';
import { LD_CR2, LGUEST_TRAP_ENTRY, TRAPNUM_ENTRY_FAILED, TRAP_GP, TRAP_NM, TRAP_PF } from './constants';
import { checkClockevent, instructionsUntilDeadline } from './clock';
import { lgread, tryWriteU32 } from './guest-memory';
import { doHypercalls } from './hypercalls';
import { DECISION_DEMAND_PAGED, DECISION_EMULATED, DECISION_FPU, DECISION_REFLECTED } from './exit-trace';
import { deliverTrap, maybeDeliverInterrupt } from './interrupts-and-traps';
import { kill, type Lguest } from './lg';
import { currentShadowDirectory, demandPage } from './page-tables';
import { enterGuest, saveRegsPage } from './switcher';

/** What one pass of the run loop ended with (before the file layer turns it into a RunResult). */
export type RunGuestResult =
  | { kind: 'dma'; dma: number; key: number }
  | { kind: 'dead' }
  | { kind: 'break' }
  | { kind: 'idle'; wakeAtNs: number | null }
  | { kind: 'slice' };

/**
 * emulate_insn(): a #GP(0) in Guest kernel code may be an in/out instruction (I/O delays, CMOS
 * probes). Read the bytes through guest_pa(eip) and emulate: "in" reads all ones (with the
 * reference's quirk for 0x66 + 8-bit forms), "out" is discarded. Anything else is not ours.
 */
export function emulateIO(lg: Lguest): boolean {
  const cpu = lg.cpu;
  const eip = cpu.eip >>> 0;
  const po = lg.state.pageOffset;
  if (eip < po) return false;
  const p = (eip - po) >>> 0;
  let len = 0;
  let shift = 0;
  let isIn = false;
  let insn = lgread(lg, p, 1)[0]!;
  if (insn === 0x66) {
    shift = 16;
    len = 1;
    insn = lgread(lg, (p + 1) >>> 0, 1)[0]!;
  }
  switch (insn & 0xfe) {
    case 0xe4: // in <next byte>,%al (or %eax)
      len += 2;
      isIn = true;
      break;
    case 0xec: // in (%dx),%al (or %eax)
      len += 1;
      isIn = true;
      break;
    case 0xe6: // out %al,<next byte>
      len += 2;
      break;
    case 0xee: // out %al,(%dx)
      len += 1;
      break;
    default:
      return false;
  }
  if (isIn) {
    // No device answers: all ones. The reference ORs 0xFFFF << shift into EAX for the 8-bit
    // forms, so "in %al" sets AL and AH, and with a 0x66 prefix it sets the top half instead.
    if (insn & 1) cpu.setReg(EAX, 0xffffffff);
    else cpu.setReg(EAX, (cpu.getReg(EAX) | (0xffff << shift)) >>> 0);
  }
  cpu.eip = (eip + len) >>> 0;
  return true;
}

/**
 * Exits in a row that retire no instruction before run() hands control back as a 'slice'. A
 * Guest whose PDE forbids what its PTE allows (never Linux) makes the reference host fix the same
 * fault forever inside read(), interruptible only by a signal; this is our signal, so the caller
 * (and its UI) always gets control back. It changes nothing the Guest can observe.
 */
export const MAX_EXITS_WITHOUT_PROGRESS = 10_000;

/**
 * run_guest(): the loop of ABI §1.4, in that order. `budget` is the instruction allowance of
 * this call; using it up is our stand-in for "a signal is pending" (the caller gets control).
 */
export function runGuest(lg: Lguest, budget: number, maxCpuSlice = 0x40000000): RunGuestResult {
  const s = lg.state;
  const cpu = lg.cpu;
  const startCount = cpu.instructionCount;
  let stuckExits = 0;
  let lastCount = startCount;
  while (s.dead === null) {
    // A debugger stop returned from the middle of this loop: continue right there.
    const resume = lg.debug?.resume ?? null;
    if (resume !== null) lg.debug!.resume = null;
    if (resume === null) {
      // Interrupts (and kills) that Guests on other threads raised for us since the last exit.
      lg.host.collectRemoteEvents(lg);
      if (s.dead !== null) break;
      // The clock event is the Host's hrtimer: it fires between anything else.
      checkClockevent(lg);
      doHypercalls(lg);
      if (s.dmaIsPending) return { kind: 'dma', dma: s.pendingDma, key: s.pendingKey };
      if (cpu.instructionCount !== lastCount) {
        lastCount = cpu.instructionCount;
        stuckExits = 0;
      }
      if (cpu.instructionCount - startCount >= budget || stuckExits >= MAX_EXITS_WITHOUT_PROGRESS)
        return { kind: 'slice' };
      if (s.breakOut) return { kind: 'break' };
      maybeDeliverInterrupt(lg);
      if (s.dead !== null) break;
      if (s.halted) {
        // Sleep: the caller advances virtual time (or waits) and calls again; an expired timer
        // is noticed right away instead.
        if (s.clockDeadlineNs !== null && checkClockevent(lg)) continue;
        return { kind: 'idle', wakeAtNs: s.clockDeadlineNs };
      }
      s.trapnum = TRAPNUM_ENTRY_FAILED;
      stuckExits++;
    }

    if (resume === 'exit') {
      // The exit was recorded before the debugger stopped; handle it now.
    } else if (resume === 'guest' || enterGuest(lg, currentShadowDirectory(lg))) {
      const used = cpu.instructionCount - startCount;
      const slice = Math.min(budget - used, instructionsUntilDeadline(lg), maxCpuSlice);
      const exit = lg.sampler === null ? cpu.run(slice) : lg.sampler.runSampled(lg, slice);
      if (lg.debug?.stoppedInGuest) {
        lg.debug.stoppedInGuest = false;
        lg.debug.resume = 'guest';
        return { kind: 'break' };
      }
      if (exit.kind === 'budget') {
        // Our "external interrupt": the time slice or the clock event ended the run.
        s.trapnum = 32;
        s.errcode = 0;
        s.stats.budgetExits++;
      } else {
        s.trapnum = exit.vector;
        s.errcode = exit.errorCode >>> 0;
        if (exit.vector === TRAP_PF) s.cr2 = exit.cr2 >>> 0;
        s.stats.exits[exit.vector]!++;
      }
      saveRegsPage(lg);
      if (exit.kind === 'exit' && lg.debug?.stopOnExit(exit.vector)) {
        lg.debug.resume = 'exit';
        return { kind: 'break' };
      }
    } else {
      s.stats.exits[TRAPNUM_ENTRY_FAILED]!++;
    }

    const trapnum = s.trapnum;
    // Hypercalls are traced when served (with their arguments), time slices not at all; every
    // other exit is recorded as "reflected" until the Host decides otherwise below.
    const traced = (trapnum < 32 && trapnum !== LGUEST_TRAP_ENTRY) || trapnum === TRAPNUM_ENTRY_FAILED;
    const seq = traced
      ? lg.trace.record(
          cpu.instructionCount,
          trapnum,
          cpu.eip,
          trapnum === TRAP_PF ? s.cr2 : s.errcode,
          DECISION_REFLECTED,
        )
      : -1;
    if (trapnum === TRAP_GP) {
      if (s.errcode === 0 && emulateIO(lg)) {
        lg.trace.decide(seq, DECISION_EMULATED);
        continue;
      }
    } else if (trapnum === TRAP_PF) {
      if (demandPage(lg, s.cr2, s.errcode)) {
        s.stats.demandPageFixes++;
        lg.trace.decide(seq, DECISION_DEMAND_PAGED);
        continue;
      }
      // Not a shadow miss: the Guest's own fault. It reads cr2 from lguest_data (before INIT
      // the reference stores it at GPA 8, harmlessly: the kill follows).
      const at = (s.lguestData ?? 0) + LD_CR2;
      if (!tryWriteU32(lg, at, s.cr2)) {
        kill(lg, 'Writing cr2');
        continue;
      }
    } else if (trapnum === TRAP_NM) {
      // FPU use with the virtual TS clear: nothing for the Guest to see.
      if (!s.ts) {
        lg.trace.decide(seq, DECISION_FPU);
        continue;
      }
    } else if ((trapnum >= 32 && trapnum < 256) || trapnum === LGUEST_TRAP_ENTRY) {
      // An external interrupt (our time slice) or a hypercall: the loop top handles both.
      continue;
    }
    // A kill while deciding (e.g. unreadable instruction bytes) ends it here: nothing is reflected.
    if (s.dead !== null) break;
    if (deliverTrap(lg, trapnum)) continue;
    kill(
      lg,
      `unhandled trap ${fmtLi(trapnum)} at ${fmtLx(cpu.eip)} (${fmtLx(trapnum === TRAP_PF ? s.cr2 : s.errcode)})`,
    );
  }
  return { kind: 'dead' };
}
