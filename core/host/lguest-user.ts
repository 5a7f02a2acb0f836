// Chapter "/dev/lguest" (2.6.23 lguest_user.c): the Host that holds up to 16 Guests and the
// file each Launcher drives: INITIALIZE, run (read), GETDMA, IRQ, BREAK and close.

import { I386 } from '../cpu/cpu';
import type { Cpu, CpuOwner, CpuState } from '../cpu/types';
import { CS, DS, ES, FS, GS, SS } from '../cpu/types';
import type { PhysicalMemory } from '../cpu/memory';
import {
  EBUSY,
  EINVAL,
  ENOENT,
  ENOSPC,
  type InitializeArgs,
  type LguestFile,
  type RunOptions,
  type RunResult,
} from './api';
import { advanceClockTo, readVirtualTsc, virtualNow } from './clock';
import {
  KERNEL_CS_GUEST,
  KERNEL_DS_GUEST,
  LD_BLOCKED_INTERRUPTS,
  LGUEST_IRQS,
  LGUEST_MAX_GUESTS,
  PAGE_SIZE,
  SWITCHER_PGD_INDEX,
} from './constants';
import { runGuest } from './core';
import { tryReadU32 } from './guest-memory';
import { getDmaBuffer, releaseAllDma } from './io';
import { GUEST_STATE_VERSION, newGuestState, type GuestState, type HostServices, type Lguest } from './lg';
import { freeGuestPagetables, initGuestPagetable } from './page-tables';
import { freeSwitcher, initSwitcher } from './switcher';

/** Makes the CPU a Guest runs on (the I386 in production, anything implementing Cpu in tests). */
export type CpuFactory = (mem: PhysicalMemory, owner: CpuOwner) => Cpu;

/** The production CPU: core/cpu's i386. */
export const i386Factory: CpuFactory = (mem, owner) => new I386(mem, owner);

/** Host-wide state beyond the Guests (plain data, for snapshots). */
export interface HostState {
  bindingSeq: number;
  /** Canonical content of each shared region page (sharenet "file"). */
  regions: { name: string; bytes: Uint8Array }[];
}

/** Serialised per-Guest Host state (the CPU and memory are exported by their owners). */
export interface LguestFileState {
  guest: GuestState;
}

/** Never run a single CPU call for more than this many instructions (keeps numbers small). */
const MAX_CPU_SLICE = 0x40000000;

/**
 * The lguest host: one per process (or worker). Guests run one at a time in the caller's thread;
 * inter-Guest DMA copies between their memories.
 *
 * Shared pages (sharenet): each region has one canonical 4 KiB buffer here. A Guest's copy of a
 * shared page is refreshed from the canonical buffer before each of its runs and published back
 * after each run (and around every inter-Guest transfer). Since only one Guest executes at a
 * time, every Guest observes every other Guest's writes to the region exactly as if the page
 * were one physical page mapped by all of them.
 */
export class LguestHost implements HostServices {
  private readonly files: (LguestFileImpl | null)[] = new Array<LguestFileImpl | null>(LGUEST_MAX_GUESTS).fill(null);
  private bindingSeq = 0;
  private readonly regions = new Map<string, Uint8Array>();

  readonly createCpu: CpuFactory;

  constructor(createCpu: CpuFactory = i386Factory) {
    this.createCpu = createCpu;
  }

  /** open("/dev/lguest"). */
  open(): LguestFileImpl {
    return new LguestFileImpl(this);
  }

  /** Guests currently holding a slot, by guestid. */
  get guests(): (Lguest | null)[] {
    return this.files.map((f) => f?.guest ?? null);
  }

  /** @internal */
  claimSlot(file: LguestFileImpl): number {
    const i = this.files.findIndex((f) => f === null);
    if (i < 0) return -1;
    this.files[i] = file;
    return i;
  }

  /** @internal: restoring a snapshot needs the Guest's own slot back. */
  claimSpecificSlot(file: LguestFileImpl, id: number): boolean {
    if (id < 0 || id >= LGUEST_MAX_GUESTS || this.files[id] !== null) return false;
    this.files[id] = file;
    return true;
  }

  /** @internal */
  releaseSlot(id: number): void {
    this.files[id] = null;
  }

  nextBindingSeq(): number {
    return ++this.bindingSeq;
  }

  keyIdentity(lg: Lguest, key: number): string {
    const page = (key & ~0xfff) >>> 0;
    const shared = lg.state.sharedPages.find((p) => p.gpa >>> 0 === page);
    if (shared) return `shared:${shared.region}:${key & 0xfff}`;
    return `private:${lg.state.guestid}:${key >>> 0}`;
  }

  otherGuests(lg: Lguest): Lguest[] {
    const out: Lguest[] = [];
    for (const f of this.files) {
      const g = f?.guest;
      if (g && g !== lg) out.push(g);
    }
    return out;
  }

  publishSharedPages(lg: Lguest): void {
    for (const p of lg.state.sharedPages) {
      const canon = this.regions.get(p.region);
      if (canon && lg.mem.isRam(p.gpa, PAGE_SIZE)) canon.set(lg.mem.ram.subarray(p.gpa, p.gpa + PAGE_SIZE));
    }
  }

  refreshSharedPages(lg: Lguest): void {
    for (const p of lg.state.sharedPages) {
      const canon = this.regions.get(p.region);
      if (canon && lg.mem.isRam(p.gpa, PAGE_SIZE)) lg.mem.ram.set(canon, p.gpa);
    }
  }

  /** @internal: a Guest maps a region page; the first mapper's content seeds the region. */
  attachRegion(lg: Lguest, gpa: number, region: string): void {
    if (!this.regions.has(region)) {
      const buf = new Uint8Array(PAGE_SIZE);
      if (lg.mem.isRam(gpa, PAGE_SIZE)) buf.set(lg.mem.ram.subarray(gpa, gpa + PAGE_SIZE));
      this.regions.set(region, buf);
    } else if (lg.mem.isRam(gpa, PAGE_SIZE)) {
      lg.mem.ram.set(this.regions.get(region)!, gpa);
    }
  }

  exportState(): HostState {
    return {
      bindingSeq: this.bindingSeq,
      regions: [...this.regions].map(([name, bytes]) => ({ name, bytes: bytes.slice() })),
    };
  }

  importState(state: HostState): void {
    this.bindingSeq = state.bindingSeq;
    this.regions.clear();
    for (const r of state.regions) this.regions.set(r.name, r.bytes.slice());
  }
}

/** One open /dev/lguest file. */
export class LguestFileImpl implements LguestFile {
  /** The Guest this file controls (for inspectors: read-only use). */
  guest: Lguest | null = null;

  constructor(private readonly host: LguestHost) {}

  initialize(args: InitializeArgs): number {
    if (this.guest) return this.guest.state.dead !== null ? ENOENT : EBUSY;
    const id = this.host.claimSlot(this);
    if (id < 0) return ENOSPC;
    if (args.pageOffset >>> 22 >= SWITCHER_PGD_INDEX) {
      this.host.releaseSlot(id);
      return EINVAL;
    }
    const state = newGuestState(id, args.pfnLimit, args.pageOffset);
    if (args.bootEpochSeconds !== undefined) state.bootEpochSeconds = args.bootEpochSeconds;
    state.sharedPages = (args.sharedPages ?? []).map((p) => ({ gpa: (p.gpa & ~0xfff) >>> 0, region: p.region }));
    const owner: CpuOwner = { readTsc: () => (this.guest ? readVirtualTsc(this.guest) : 0) };
    const cpu = this.host.createCpu(args.memory, owner);
    const lg: Lguest = { state, cpu, mem: args.memory, host: this.host };
    this.guest = lg;
    // setup_regs(): everything zero but the segments, EFLAGS and the entry point.
    for (let r = 0; r < 8; r++) cpu.setReg(r as 0, 0);
    cpu.setSelector(CS, KERNEL_CS_GUEST);
    cpu.setSelector(DS, KERNEL_DS_GUEST);
    cpu.setSelector(ES, KERNEL_DS_GUEST);
    cpu.setSelector(SS, KERNEL_DS_GUEST);
    cpu.setSelector(FS, 0);
    cpu.setSelector(GS, 0);
    cpu.eflags = 0x202;
    cpu.eip = args.start >>> 0;
    state.instructionBase = cpu.instructionCount;
    initSwitcher(lg);
    initGuestPagetable(lg, args.pgdir);
    for (const p of state.sharedPages) this.host.attachRegion(lg, p.gpa, p.region);
    return 16;
  }

  run(opts: RunOptions): RunResult | number {
    const lg = this.guest;
    if (!lg) return EINVAL;
    if (lg.state.dead !== null) return { kind: 'dead', reason: lg.state.dead };
    lg.state.dmaIsPending = false;
    this.host.refreshSharedPages(lg);
    const budget = Math.min(Math.max(0, Math.floor(opts.budget)), Number.MAX_SAFE_INTEGER);
    const r = runGuest(lg, budget, MAX_CPU_SLICE);
    this.host.publishSharedPages(lg);
    if (r.kind === 'dead') return { kind: 'dead', reason: lg.state.dead ?? '' };
    return r;
  }

  getDma(key: number): number {
    const lg = this.guest;
    if (!lg) return EINVAL;
    if (lg.state.dead !== null) return ENOENT;
    this.host.refreshSharedPages(lg);
    const ret = getDmaBuffer(lg, key);
    this.host.publishSharedPages(lg);
    return ret === 0 ? ENOENT : ret;
  }

  sendIrq(irq: number): number {
    const lg = this.guest;
    if (!lg) return EINVAL;
    if (lg.state.dead !== null) return ENOENT;
    if (irq >>> 0 >= LGUEST_IRQS) return EINVAL;
    lg.state.irqsPending = (lg.state.irqsPending | (1 << irq)) >>> 0;
    return 0;
  }

  /**
   * LHREQ_BREAK. The 2.6.23 "on" request also blocked the caller until "off"; in one thread
   * there is nobody to block, so it just sets the flag and run() reports 'break' until cleared.
   */
  breakOut(on: boolean): number {
    const lg = this.guest;
    if (!lg) return EINVAL;
    if (lg.state.dead !== null) return ENOENT;
    lg.state.breakOut = on;
    return 0;
  }

  close(): void {
    const lg = this.guest;
    if (!lg) return;
    lg.state.clockDeadlineNs = null;
    releaseAllDma(lg);
    freeGuestPagetables(lg);
    freeSwitcher(lg);
    this.host.releaseSlot(lg.state.guestid);
    this.guest = null;
  }

  get virtualTimeNs(): number {
    return this.guest ? virtualNow(this.guest) : 0;
  }

  advanceClockTo(ns: number): void {
    if (this.guest) advanceClockTo(this.guest, ns);
  }

  hasPendingWork(): boolean {
    const lg = this.guest;
    if (!lg || lg.state.dead !== null) return false;
    if (!lg.state.halted) return true;
    if (lg.state.clockDeadlineNs !== null && virtualNow(lg) >= lg.state.clockDeadlineNs) return true;
    const ld = lg.state.lguestData;
    if (ld === null) return false;
    const blk = tryReadU32(lg, ld + LD_BLOCKED_INTERRUPTS) ?? 0xffffffff;
    return (lg.state.irqsPending & ~blk) >>> 0 !== 0;
  }

  /** The Host's per-Guest state, as plain data (a deep copy). */
  exportState(): LguestFileState | null {
    return this.guest ? { guest: structuredClone(this.guest.state) } : null;
  }

  /**
   * Bring a snapshotted Guest back on an unused file: the memory (with its host frames, where
   * the shadows live) and the CPU state come from their own snapshots. Returns 16, -EBUSY if
   * this file already has a Guest or the Guest's slot is taken, -EINVAL for a bad version.
   */
  restore(args: { memory: PhysicalMemory; state: LguestFileState; cpu: CpuState }): number {
    if (this.guest) return EBUSY;
    if (args.state.guest.version !== GUEST_STATE_VERSION) return EINVAL;
    const state = structuredClone(args.state.guest);
    if (!this.host.claimSpecificSlot(this, state.guestid)) return EBUSY;
    const owner: CpuOwner = { readTsc: () => (this.guest ? readVirtualTsc(this.guest) : 0) };
    const cpu = this.host.createCpu(args.memory, owner);
    cpu.importState(args.cpu);
    this.guest = { state, cpu, mem: args.memory, host: this.host };
    return 16;
  }

  /** Restore per-Guest state exported earlier (memory and CPU are restored by their owners). */
  importState(st: LguestFileState): void {
    if (!this.guest) throw new Error('lguest: importState needs an initialized file');
    if (st.guest.version !== GUEST_STATE_VERSION)
      throw new Error(`lguest: host state version ${st.guest.version} is not supported`);
    this.guest.state = structuredClone(st.guest);
    this.guest.cpu.dropCaches();
  }
}
