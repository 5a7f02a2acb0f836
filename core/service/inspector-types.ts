// The inspectors' results as plain data (design: "machine state is data"): what a machine's worker
// answers between run slices about registers, memory, GDT/IDT, shadow page tables and counters.

import type { ExitRecord } from '../host/exit-trace';
import type { CounterRates } from '../host/rates';
import type { GuestProfile, ProfileRow, SpeedscopeFile } from '../launcher/guest-profile';

export type { ExitRecord, CounterRates, GuestProfile, ProfileRow, SpeedscopeFile };

/** A segment register (or a GDT entry) with its descriptor fields decoded. */
export interface SegmentView {
  name: string;
  selector: number;
  /** Selector fields: table index, table indicator (0 = GDT) and requested privilege level. */
  index: number;
  ti: number;
  rpl: number;
  base: number;
  /** Byte-granular limit (already scaled by G). */
  limit: number;
  /** Descriptor high dword masked with 0x00F0FF00 (type, S, DPL, P, AVL, D/B, G). */
  flags: number;
  type: number;
  /** "code RX", "data RW", "32-bit TSS (busy)" ... */
  typeName: string;
  /** S bit: 1 = code/data, 0 = system. */
  s: boolean;
  dpl: number;
  present: boolean;
  avl: boolean;
  /** D/B: 32-bit default operand size / stack. */
  db: boolean;
  /** G: limit in 4 KiB units. */
  g: boolean;
}

export interface FlagBit {
  name: string;
  bit: number;
  set: boolean;
}

export interface X87Register {
  /** ST(i). */
  index: number;
  /** Physical register R0..R7 behind ST(i). */
  physical: number;
  tag: 'valid' | 'zero' | 'special' | 'empty';
  /** The value as a number; null for NaN and infinities (see text). */
  value: number | null;
  text: string;
}

export interface RegistersView {
  gpr: { eax: number; ecx: number; edx: number; ebx: number; esp: number; ebp: number; esi: number; edi: number };
  eip: number;
  eflags: number;
  flags: FlagBit[];
  iopl: number;
  cpl: number;
  /** ES, CS, SS, DS, FS, GS with their hidden descriptor caches. */
  segments: SegmentView[];
  ldtr: SegmentView;
  tr: SegmentView;
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
  cr0: number;
  cr0Flags: FlagBit[];
  cr2: number;
  /** The CR3 the CPU uses: the current shadow page directory (a host frame). */
  cr3: number;
  cr4: number;
  /** The Guest's own cr3 (a guest-physical address) that the current shadow directory shadows. */
  guestCr3: number | null;
  x87: { control: number; status: number; tag: number; top: number; st: X87Register[] };
  instructionCount: number;
  virtualTimeNs: number;
  /** Host view of the last exit and the guest's virtual state. */
  host: { trapnum: number; errcode: number; cr2: number; halted: boolean; irqsPending: number; ts: boolean };
}

export type MemorySpace = 'physical' | 'guest-virtual' | 'shadow-virtual';

/** One step of a two-level walk: the entries met and where it ended. */
export interface WalkView {
  /** Guest-physical (guest tables) or host-physical (shadow) address of the directory walked. */
  directory: number;
  pde: number;
  /** 0 when the walk stopped at the PDE. */
  pte: number;
  /** Physical address of the page (+ offset of the page's first byte shown), or null if unmapped. */
  phys: number | null;
  /** Why the walk stopped, when it did. */
  stop: null | 'pde-not-present' | 'pte-not-present' | 'table-outside-ram' | 'no-directory';
}

export interface MemoryPage {
  /** First address of this piece (in the requested space). */
  address: number;
  length: number;
  /** Physical address of the first byte, or null when the page is not mapped in the chosen space. */
  phys: number | null;
  /** The bytes; null when the page is not mapped (absent, not zeros). */
  bytes: Uint8Array | null;
  /**
   * Asked with `since`: per byte, 1 where it differs from that snapshot's RAM (absent for bytes
   * outside guest RAM).
   */
  changed?: Uint8Array;
  /** Translation through the Guest's own tables (virtual spaces only). */
  guest?: WalkView;
  /** Translation through the shadow tables the CPU walks (virtual spaces only). */
  shadow?: WalkView;
}

export interface MemoryView {
  space: MemorySpace;
  address: number;
  length: number;
  /** Guest RAM size: physical addresses below it are RAM. */
  ramBytes: number;
  guestCr3: number | null;
  shadowDirectory: number | null;
  pages: MemoryPage[];
}

export interface DescriptorView {
  index: number;
  lo: number;
  hi: number;
  present: boolean;
  base: number;
  limit: number;
  type: number;
  typeName: string;
  s: boolean;
  dpl: number;
  db: boolean;
  g: boolean;
  avl: boolean;
  /** The Host keeps this entry for itself in the effective GDT. */
  hostOwned: boolean;
}

export interface GateView {
  vector: number;
  /** What the vector is for ("#PF page fault", "hypercall (int $0x1f)", "IRQ 0" ...). */
  name: string;
  lo: number;
  hi: number;
  present: boolean;
  selector: number;
  offset: number;
  type: number;
  typeName: string;
  dpl: number;
  /** Effective IDT only: the gate goes straight to the Guest, or exits to the Host. */
  route?: 'direct' | 'host';
}

export interface DescriptorsView {
  guestGdt: DescriptorView[];
  effectiveGdt: DescriptorView[];
  /** Guest gates as the Host stores them: vectors 0..63 and 0x80. */
  guestIdt: GateView[];
  effectiveIdt: GateView[];
  gdtr: { base: number; limit: number };
  idtr: { base: number; limit: number };
}

export interface ShadowSlotInfo {
  slot: number;
  /** The Guest page directory (guest-physical) this slot shadows. */
  cr3: number;
  /** The shadow directory's host frame. */
  pgdir: number;
  current: boolean;
  lastUsed: number;
  /** 0 = most recently used. */
  lruRank: number;
  /** Present shadow PDEs, the Switcher's PDE 1023 included. */
  presentPdes: number;
  /** Host frames this slot holds: the directory and its own PTE pages (the Switcher's page is shared). */
  hostFrames: number;
}

export type PdeNote = 'mapped' | 'not-faulted' | 'switcher' | 'shadow-only';

export interface PdeRow {
  index: number;
  va: number;
  shadow: number;
  /** The Guest's PDE for the same index; null if its directory is outside RAM. */
  guest: number | null;
  /** Present shadow PTEs under this PDE. */
  shadowPtes: number;
  note: PdeNote;
}

export type PteNote =
  | 'mapped'
  /** Guest PTE writable but not dirty: the shadow maps it read-only so the first write sets D. */
  | 'read-only-not-dirty'
  /** Present in the Guest's tables, not (yet) in the shadow: the next touch demand-faults it. */
  | 'not-faulted'
  | 'shadow-only'
  | 'switcher';

export interface PteRow {
  index: number;
  va: number;
  shadow: number;
  guest: number | null;
  note: PteNote;
}

export interface PageTablesView {
  slots: ShadowSlotInfo[];
  /** The slot listed below. */
  slot: number;
  guestCr3: number;
  /** PDEs present in the shadow or in the Guest's directory, side by side. */
  pdes: PdeRow[];
  /** The drill-down, when a PDE was asked for: every PTE present on either side. */
  ptes: { pde: number; rows: PteRow[] } | null;
}

export interface NamedCount {
  number: number;
  name: string;
  count: number;
}

export interface CountersView {
  /** Exits by vector (non-zero only); 256 = entry failed. */
  exits: NamedCount[];
  /** Exits because the time slice or clock deadline ended the run. */
  budgetExits: number;
  /** Hypercalls by number (all of them, zero included); 17 = bad number. */
  hypercalls: NamedCount[];
  /** Virtual interrupts injected, by IRQ (non-zero only). */
  irqsInjected: NamedCount[];
  trapsReflected: number;
  /** Page faults the Host fixed in the shadow tables (the Guest never saw them). */
  demandPageFixes: number;
  /** Page faults handed to the Guest (its own faults). */
  pageFaultsReflected: number;
  instructionCount: number;
  hostFramesInUse: number;
}

/** A traced exit with its kind named ("#PF", "hypercall SEND_DMA", "IRQ 0"). */
export type ExitEvent = ExitRecord & { kind: string };

/** The exit trace: the newest events of the host's flight recorder, oldest first. */
export interface TraceView {
  /** Events recorded since the machine started (older ones than `events` were overwritten). */
  recorded: number;
  events: ExitEvent[];
}

export type ProfileAction = 'read' | 'start' | 'stop' | 'reset' | 'speedscope';

/** The guest profiler's state and its profile since the last start or reset. */
export interface ProfileView {
  running: boolean;
  profile: GuestProfile;
  /** User program maps (user-symbols/ beside the kernel) left unused, each with why. */
  mapProblems: string[];
  /** Only for action 'speedscope': the samples in speedscope's file format. */
  speedscope?: SpeedscopeFile;
}

/** Where a running guest is, and how fast, over the last interval (the live plots' feed). */
export interface MachineRates {
  id: string;
  /** Wall-clock ms (the worker's clock) at the end of the interval. */
  atMs: number;
  instructionCount: number;
  rates: CounterRates;
  /** The guest's EIP at the end of the interval, with its symbol when known ("schedule", "main in bench"). */
  where: { eip: number; cpl: number; symbol: string | null } | null;
}

/** One inspector query, as the service hands it to a machine's worker. */
export type InspectQuery =
  | { kind: 'registers' }
  | { kind: 'memory'; space: MemorySpace; address: number; length: number }
  | { kind: 'descriptors' }
  | { kind: 'pagetables'; slot?: number; pde?: number }
  | { kind: 'counters' }
  | { kind: 'trace'; limit?: number }
  | { kind: 'profile'; action: ProfileAction; interval?: number; top?: number };

export type InspectResult =
  | RegistersView
  | MemoryView
  | DescriptorsView
  | PageTablesView
  | CountersView
  | TraceView
  | ProfileView;

/** What each query kind answers with. */
export interface InspectResults {
  registers: RegistersView;
  memory: MemoryView;
  descriptors: DescriptorsView;
  pagetables: PageTablesView;
  counters: CountersView;
  trace: TraceView;
  profile: ProfileView;
}
