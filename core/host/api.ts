// The Launcher's view of the lguest host: the requests that /dev/lguest took in Linux 2.6.23
// (INITIALIZE, read() = run, GETDMA, IRQ, BREAK, close), with the same error cases.

import type { PhysicalMemory } from '../cpu/memory';

/** Negative errno values the 2.6.23 interface returned, by name. */
export const EPERM = -1,
  ENOENT = -2,
  EINTR = -4,
  EFAULT = -14,
  EBUSY = -16,
  EINVAL = -22,
  ENOSPC = -28;
export const EAGAIN = -11,
  ENOMEM = -12;

/** What one run() call ended with. */
export type RunResult =
  /** The guest sent DMA to a key private to its Launcher: serve it, write used_len, run again. */
  | { kind: 'dma'; dma: number; key: number }
  /** The guest died during this call or earlier; reason is exactly the kill message. */
  | { kind: 'dead'; reason: string }
  /** LHREQ_BREAK is on (-EAGAIN in 2.6.23). */
  | { kind: 'break' }
  /**
   * The guest is halted with nothing to inject. wakeAtNs is the virtual time of its clock event
   * (null if none is armed): the caller either advances the clock there at once (unpaced) or
   * waits for wall-clock time to catch up (paced), then calls run() again.
   */
  | { kind: 'idle'; wakeAtNs: number | null }
  /** The instruction budget of this call is spent (the caller gets to process its own events). */
  | { kind: 'slice' };

export interface RunOptions {
  /** Guest instructions this call may execute before returning { kind: 'slice' }. */
  budget: number;
}

export interface InitializeArgs {
  /** Guest-physical memory: RAM followed by the device pages; pfnLimit*4096 bytes of it are usable. */
  memory: PhysicalMemory;
  pfnLimit: number;
  /** GPA of the Launcher's initial page directory. */
  pgdir: number;
  /** Initial EIP (virtual). */
  start: number;
  pageOffset: number;
  /** Guest-physical pages that are shared with other guests of this host (sharenet). */
  sharedPages?: SharedPageMapping[];
}

/** A page of guest-physical memory backed by a region that other guests map too. */
export interface SharedPageMapping {
  gpa: number;
  /** Identity of the shared backing page: keys in it match across guests by (region, offset). */
  region: string;
  /** The guest's own peer slot in the region (a network page), for the host's per-peer counters. */
  peerSlot?: number;
}

/** One open "/dev/lguest" file: controls at most one guest. */
export interface LguestFile {
  /** LHREQ_INITIALIZE: 16 on success, or -EBUSY/-ENOSPC/-EINVAL. */
  initialize(args: InitializeArgs): number;
  /** read(): runs the guest until something needs the Launcher. -EINVAL before initialize. */
  run(opts: RunOptions): RunResult | number;
  /** LHREQ_GETDMA: GPA of a free receive buffer bound on key, or -ENOENT (or -EINVAL/-ENOENT as 2.6.23). */
  getDma(key: number): number;
  /** LHREQ_IRQ: 0, or -EINVAL for irq >= 32. */
  sendIrq(irq: number): number;
  /** LHREQ_BREAK: on=true makes run() return { kind: 'break' } until called with false. */
  breakOut(on: boolean): number;
  close(): void;
}

// ---- Additions (host engineer). The declarations above are unchanged; these merge into them.

export interface InitializeArgs {
  /** Wall clock at boot in seconds since the epoch (lguest_data.time); default 2007-10-09 00:00 UTC. */
  bootEpochSeconds?: number;
}

export interface LguestFile {
  /**
   * Virtual time of this guest in ns: NS_PER_INSTRUCTION (10 ns, a 100 MHz virtual CPU) per
   * executed instruction, plus the jumps made with advanceClockTo. 0 before initialize.
   */
  readonly virtualTimeNs: number;
  /** Moves virtual time forward to ns (never backwards); used while run() reports 'idle'. */
  advanceClockTo(ns: number): void;
  /**
   * True when run() would make progress now: the guest is not halted, or an interrupt became
   * deliverable (e.g. another guest's DMA woke it) - the emulation of wake_up_process().
   */
  hasPendingWork(): boolean;
}
