// The Host's record of one Guest (2.6.23 "struct lguest", lg.h): everything the host decides
// with lives in the plain GuestState below; kill() records the first death reason as kill_guest did.

import type { Cpu } from '../cpu/types';
import type { PhysicalMemory } from '../cpu/memory';
import type { ExitTrace } from './exit-trace';
import type { GuestSampler } from './guest-sampler';
import type { DmaReceiver, ReceiveBinding } from './io';
import {
  DEFAULT_BOOT_EPOCH_SECONDS,
  FLAT_CODE_DPL1_HI,
  FLAT_DATA_DPL1_HI,
  FLAT_LO,
  GDT_ENTRIES,
  GDT_ENTRY_KERNEL_CS,
  GDT_ENTRY_KERNEL_DS,
  GUEST_IDT_STORED,
  LGUEST_IRQS,
  LGUEST_MAX_DMA,
  LHCALL_MAX,
  PGDIR_SLOTS,
} from './constants';

/** One cached shadow page directory ("struct pgdir"): the Guest cr3 it shadows and its host frame. */
export interface ShadowSlot {
  /** Guest-physical address of the Guest page directory this slot shadows. */
  cr3: number;
  /** Physical address (host frame) of the shadow directory the CPU walks. */
  pgdir: number;
  /** LRU stamp: the value of GuestState.shadowClock when this slot was last made current. */
  lastUsed: number;
}

/** One receive binding made with LHCALL_BIND_DMA ("struct lguest_dma_info"). */
export interface DmaBinding {
  /** The key as the Guest gave it (a GPA). */
  key: number;
  /** The key's identity: "shared:<region>:<offset>" or "private:<guestid>:<gpa>". */
  keyId: string;
  dmas: number;
  numDmas: number;
  nextDma: number;
  /** IRQ to raise; 0 = slot free. */
  interrupt: number;
  /** Host-wide binding sequence number: the highest is the most recently bound (head of chain). */
  seq: number;
}

/** Counters for inspectors (derived: never decide anything). */
export interface LguestStats {
  /** Exits by trap number 0..256 (256 = entry failed). */
  exits: number[];
  /** Exits because the instruction budget (time slice / clock deadline) ended. */
  budgetExits: number;
  /** Hypercalls by number 0..16, and index 17 for bad numbers. Both sync and async ones. */
  hypercalls: number[];
  /** Virtual interrupts injected, by IRQ. */
  irqsInjected: number[];
  /** Traps reflected into the Guest by buildFrame. */
  trapsReflected: number;
  /** Page faults fixed by demandPage (shadow misses the Guest never sees). */
  demandPageFixes: number;
}

export const GUEST_STATE_VERSION = 1;

/** Every piece of per-Guest Host state: plain data, serialisable as is. */
export interface GuestState {
  version: number;
  guestid: number;
  pfnLimit: number;
  pageOffset: number;
  /** First kill reason; null while alive. */
  dead: string | null;

  /** GPA of struct lguest_data, null until LHCALL_LGUEST_INIT. */
  lguestData: number | null;
  noirqStart: number;
  noirqEnd: number;

  /** lguest_regs.trapnum / errcode of the last exit, and the CR2 captured with a #PF. */
  trapnum: number;
  errcode: number;
  cr2: number;

  halted: boolean;
  breakOut: boolean;
  /** Virtual CR0.TS, as set with LHCALL_TS (non-zero = set). */
  ts: number;
  irqsPending: number;

  ss1: number;
  esp1: number;
  stackPages: number;

  /** Private cursor into the async hypercall ring. */
  nextHcall: number;

  dmaIsPending: boolean;
  pendingDma: number;
  pendingKey: number;
  dma: DmaBinding[];

  /** The Host's copy of the Guest GDT: 32 entries as [lo, hi] pairs (already fixed up). */
  gdt: number[];
  /** Guest IDT entries 0..63 as [lo, hi] pairs, and the system-call gate. */
  idt: number[];
  syscallIdt: [number, number];
  /** CHANGED_* bits: which parts of the effective tables the Switcher must rewrite. */
  changed: number;

  /** Shadow page-directory cache. */
  pgdirs: (ShadowSlot | null)[];
  currentPgdir: number;
  shadowClock: number;
  /** Host frame holding the Switcher's page table (shadow PDE 1023 of every directory). */
  switcherPte: number;
  switcherCode: number;
  switcherRegs: number;
  switcherState: number;

  /** The virtual clock: ns = (instructions since init) * NS_PER_INSTRUCTION + idleNs. */
  instructionBase: number;
  idleNs: number;
  /** Absolute virtual time (ns) of the armed clock event, or null. */
  clockDeadlineNs: number | null;
  bootEpochSeconds: number;

  /** GPAs backed by shared regions (sharenet): page GPA -> region name. */
  sharedPages: { gpa: number; region: string }[];

  stats: LguestStats;
}

export const CHANGED_IDT = 1;
export const CHANGED_GDT = 2;
export const CHANGED_GDT_TLS = 4;
export const CHANGED_ALL = 7;

/** The "struct lguest" a Host routine works on: the state plus the machine it runs on. */
export interface Lguest {
  state: GuestState;
  cpu: Cpu;
  mem: PhysicalMemory;
  host: HostServices;
  /** The last exits and what the Host decided (derived: a flight recorder, never state). */
  trace: ExitTrace;
  /**
   * The part of state.stats.hypercalls that came from the asynchronous ring, by number (the rest
   * were int $0x1f). Derived like the trace, and kept out of the state so that snapshots stay as
   * they were.
   */
  ringHypercalls: number[];
  /** The guest profiler's sampler while profiling is on (derived, like the trace). */
  sampler: GuestSampler | null;
  /** An attached debugger (not state: never saved, and invisible to the Guest). */
  debug?: HostDebugHook | null;
}

/**
 * A debugger's hold on the run loop. A stop returns from runGuest as 'break'; the next run
 * continues exactly where it stopped (inside the Guest, or with the exit not yet handled), so
 * stopping and resuming changes nothing the Guest or the state can show.
 */
export interface HostDebugHook {
  /** Set by the debugger when it stopped the CPU (whose run() then returned 'budget'). */
  stoppedInGuest: boolean;
  /** An exit the CPU just took, before the Host acts on it: true stops here. */
  stopOnExit(vector: number): boolean;
  /** Where a stopped run continues; set by runGuest, cleared when the run resumes. */
  resume: 'guest' | 'exit' | null;
}

/**
 * A receiver found for a SEND_DMA on a shared key; commit() records the transfer in the host
 * tables (the receiver's next buffer, the per-peer counters, and the frame for a capture).
 */
export interface SharedTarget {
  dst: DmaReceiver;
  b: ReceiveBinding;
  commit(copied: number, frame: () => Uint8Array): void;
}

/** What a Guest needs from the Host that holds all Guests (inter-Guest DMA, maybe across threads). */
export interface HostServices {
  /** Next binding sequence number (monotonic over the host). */
  nextBindingSeq(): number;
  /** The key identity for a Guest GPA, as get_futex_key would compute it. */
  keyIdentity(lg: Lguest, key: number): string;
  /** Binding `index` of lg was bound or unbound: other Guests must see it if its key is shared. */
  bindingChanged(lg: Lguest, index: number): void;
  /** Runs fn under the host lock (lguest_lock). */
  locked<T>(fn: () => T): T;
  /** The most recently bound receiver of another Guest on a shared key identity (under the lock). */
  sharedReceiver(lg: Lguest, keyId: string): SharedTarget | null;
  /** Copy a Guest's writes to its shared pages into the canonical region pages. */
  publishSharedPages(lg: Lguest): void;
  /** Copy the canonical region pages into a Guest's shared pages. */
  refreshSharedPages(lg: Lguest): void;
  /** Take the interrupts and kills other threads raised for lg into its state. */
  collectRemoteEvents(lg: Lguest): void;
}

export function emptyStats(): LguestStats {
  return {
    exits: new Array<number>(257).fill(0),
    budgetExits: 0,
    hypercalls: new Array<number>(LHCALL_MAX + 2).fill(0),
    irqsInjected: new Array<number>(LGUEST_IRQS).fill(0),
    trapsReflected: 0,
    demandPageFixes: 0,
  };
}

/** Ring hypercall counters by number (index LHCALL_MAX + 1 for bad numbers). */
export function emptyRingCounts(): number[] {
  return new Array<number>(LHCALL_MAX + 2).fill(0);
}

export function freeDmaBinding(): DmaBinding {
  return { key: 0, keyId: '', dmas: 0, numDmas: 0, nextDma: 0, interrupt: 0, seq: 0 };
}

/** The state LHREQ_INITIALIZE creates (§9.2): a GDT with only the two flat DPL-1 entries. */
export function newGuestState(guestid: number, pfnLimit: number, pageOffset: number): GuestState {
  const gdt = new Array<number>(GDT_ENTRIES * 2).fill(0);
  gdt[GDT_ENTRY_KERNEL_CS * 2] = FLAT_LO;
  gdt[GDT_ENTRY_KERNEL_CS * 2 + 1] = FLAT_CODE_DPL1_HI;
  gdt[GDT_ENTRY_KERNEL_DS * 2] = FLAT_LO;
  gdt[GDT_ENTRY_KERNEL_DS * 2 + 1] = FLAT_DATA_DPL1_HI;
  return {
    version: GUEST_STATE_VERSION,
    guestid,
    pfnLimit: pfnLimit >>> 0,
    pageOffset: pageOffset >>> 0,
    dead: null,
    lguestData: null,
    noirqStart: 0,
    noirqEnd: 0,
    trapnum: 0,
    errcode: 0,
    cr2: 0,
    halted: false,
    breakOut: false,
    ts: 0,
    irqsPending: 0,
    ss1: 0,
    esp1: 0,
    stackPages: 0,
    nextHcall: 0,
    dmaIsPending: false,
    pendingDma: 0,
    pendingKey: 0,
    dma: Array.from({ length: LGUEST_MAX_DMA }, freeDmaBinding),
    gdt,
    idt: new Array<number>(GUEST_IDT_STORED * 2).fill(0),
    syscallIdt: [0, 0],
    changed: CHANGED_ALL,
    pgdirs: new Array<ShadowSlot | null>(PGDIR_SLOTS).fill(null),
    currentPgdir: 0,
    shadowClock: 0,
    switcherPte: 0,
    switcherCode: 0,
    switcherRegs: 0,
    switcherState: 0,
    instructionBase: 0,
    idleNs: 0,
    clockDeadlineNs: null,
    bootEpochSeconds: DEFAULT_BOOT_EPOCH_SECONDS,
    sharedPages: [],
    stats: emptyStats(),
  };
}

/**
 * kill_guest(): the first reason wins; the Guest never runs again. The event being handled is
 * the newest in the exit trace: it is marked as the one the Guest died of.
 */
export function kill(lg: Lguest, reason: string): void {
  if (lg.state.dead !== null) return;
  lg.state.dead = reason;
  lg.trace.markNewestKilled();
}
