// Chapter "/dev/lguest" (2.6.23 lguest_user.c): the Host that holds up to 16 Guests and the
// file each Launcher drives: INITIALIZE, run (read), GETDMA, IRQ, BREAK and close.

import { I386 } from '../cpu/cpu';
import type { Cpu, CpuOwner, CpuState } from '../cpu/types';
import { CS, DS, ES, FS, GS, SS } from '../cpu/types';
import { PhysicalMemory } from '../cpu/memory';
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
import { HostTables } from './host-tables';
import { getDmaBuffer, localReceiver, releaseAllDma, type DmaReceiver } from './io';
import { ExitTrace } from './exit-trace';
import {
  GUEST_STATE_VERSION,
  kill,
  newGuestState,
  emptyRingCounts,
  type GuestState,
  type HostServices,
  type Lguest,
  type SharedTarget,
} from './lg';
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

/** A Guest of this host that runs on another thread: its RAM is shared with us. */
interface RemoteGuest {
  generation: number;
  mem: PhysicalMemory;
}

/**
 * The lguest host. Its host-wide tables (guest slots, shared-key bindings, network pages) live
 * in a SharedArrayBuffer (host-tables.ts), so one host can be driven from several threads: each
 * thread has an LguestHost handle on the same tables and runs its own Guests, as each 2.6.23
 * Launcher ran its Guest on its own CPU. Inter-Guest DMA is done by the sender's thread under the
 * host lock, copying into the receiver's (shared) RAM; a receiver on another thread gets its
 * interrupt through the tables and folds it in between exits (collectRemoteEvents).
 *
 * Shared pages (sharenet): each region has one canonical 4 KiB page in the tables. A Guest's copy
 * is refreshed from it before each run and its writes are merged back after each run (and around
 * each transfer): only the bytes the Guest changed since its refresh, so Guests running at the
 * same time on different threads never undo each other's entries.
 */
export class LguestHost implements HostServices {
  private readonly files: (LguestFileImpl | null)[] = new Array<LguestFileImpl | null>(LGUEST_MAX_GUESTS).fill(null);
  private readonly remote = new Map<number, RemoteGuest>();
  /** Region name -> index in the tables (indices never change until the regions are cleared). */
  private readonly regionIndex = new Map<string, number>();
  /** Per local Guest: its shared pages as of its last refresh (what a merge compares against). */
  private readonly sharedBase = new WeakMap<Lguest, Uint8Array[]>();

  readonly createCpu: CpuFactory;
  readonly tables: HostTables;

  constructor(createCpu: CpuFactory = i386Factory, tables: HostTables = HostTables.create()) {
    this.createCpu = createCpu;
    this.tables = tables;
  }

  /** open("/dev/lguest"). */
  open(): LguestFileImpl {
    return new LguestFileImpl(this);
  }

  /** Guests of this thread currently holding a slot, by guestid. */
  get guests(): (Lguest | null)[] {
    return this.files.map((f) => f?.guest ?? null);
  }

  /** @internal: a slot from the host-wide table (-1: all 16 taken), or (restore) a given one. */
  claimSlot(file: LguestFileImpl, pfnLimit: number, id?: number): number {
    const g = this.tables.claimGuest(pfnLimit, id);
    if (g >= 0) this.files[g] = file;
    return g;
  }

  /** @internal */
  releaseSlot(id: number): void {
    this.files[id] = null;
    this.tables.releaseGuest(id);
  }

  /** Another thread's Guest, whose RAM (a SharedArrayBuffer) is now visible to this thread. */
  addRemoteGuest(guestid: number, generation: number, ram: Uint8Array): void {
    this.remote.set(guestid, { generation, mem: new PhysicalMemory(ram) });
  }

  /** That Guest left; a newer Guest in the same slot (told about meanwhile) stays. */
  removeRemoteGuest(guestid: number, generation: number): void {
    if (this.remote.get(guestid)?.generation === generation) this.remote.delete(guestid);
  }

  nextBindingSeq(): number {
    return this.tables.nextBindingSeq();
  }

  keyIdentity(lg: Lguest, key: number): string {
    const page = (key & ~0xfff) >>> 0;
    const shared = lg.state.sharedPages.find((p) => p.gpa >>> 0 === page);
    if (shared) return `shared:${shared.region}:${key & 0xfff}`;
    return `private:${lg.state.guestid}:${key >>> 0}`;
  }

  bindingChanged(lg: Lguest, index: number): void {
    const b = lg.state.dma[index];
    const shared = b && b.interrupt !== 0 ? sharedKey(b.keyId) : null;
    if (!b || !shared) {
      // Free, or on a private key that no other Guest can send to: nothing for others to find.
      this.tables.clearBinding(lg.state.guestid, index);
      return;
    }
    this.tables.setBinding(lg.state.guestid, index, {
      irq: b.interrupt,
      region: this.region(shared.region),
      offset: shared.offset,
      dmas: b.dmas,
      numDmas: b.numDmas,
      nextDma: b.nextDma,
      seq: b.seq,
    });
  }

  locked<T>(fn: () => T): T {
    return this.tables.locked(fn);
  }

  private region(name: string): number {
    let r = this.regionIndex.get(name);
    if (r === undefined) this.regionIndex.set(name, (r = this.tables.region(name)));
    return r;
  }

  sharedReceiver(lg: Lguest, keyId: string): SharedTarget | null {
    const shared = sharedKey(keyId);
    if (!shared) return null;
    const t = this.tables;
    const region = this.region(shared.region);
    const found = t.findBinding(region, shared.offset, lg.state.guestid);
    if (!found) return null;
    const dst = this.receiver(found.guestid);
    // A Guest whose memory this thread has not been shown yet cannot receive: as if not bound.
    if (!dst) return null;
    const b = { dmas: found.dmas, numDmas: found.numDmas, interrupt: found.interrupt, nextDma: 0 };
    b.nextDma = t.nextDma(found.guestid, found.index);
    return {
      dst,
      b,
      commit: (copied, frame) => {
        t.setNextDma(found.guestid, found.index, b.nextDma);
        const local = this.files[found.guestid]?.guest?.state.dma[found.index];
        if (local) local.nextDma = b.nextDma;
        if (copied === 0) return;
        t.countFrame(region, lg.state.guestid, found.guestid, copied);
        t.captureFrame(region, frame);
      },
    };
  }

  private receiver(guestid: number): DmaReceiver | null {
    const local = this.files[guestid]?.guest;
    if (local) return localReceiver(local);
    const r = this.remote.get(guestid);
    if (!r || r.generation !== this.tables.guestGeneration(guestid)) return null;
    const t = this.tables;
    return {
      guestid,
      pfnLimit: t.guestPfnLimit(guestid),
      mem: r.mem,
      kill: (reason) => t.killRemote(guestid, reason),
      raiseIrq: (irq) => t.raiseIrq(guestid, irq),
    };
  }

  publishSharedPages(lg: Lguest): void {
    this.eachSharedPage(lg, (mine, base, canon) => {
      for (let k = 0; k < PAGE_SIZE; k++) if (mine[k] !== base[k]) canon[k] = mine[k]!;
      base.set(mine);
    });
  }

  refreshSharedPages(lg: Lguest): void {
    this.eachSharedPage(lg, (mine, base, canon) => {
      mine.set(canon);
      lg.mem.written(mine.byteOffset - lg.mem.ram.byteOffset, PAGE_SIZE);
      base.set(canon);
    });
  }

  /** Under the lock, each shared page of lg: its bytes, its copy as of the last refresh, the canonical page. */
  private eachSharedPage(lg: Lguest, fn: (mine: Uint8Array, base: Uint8Array, canon: Uint8Array) => void): void {
    const bases = this.sharedBase.get(lg);
    if (!bases) return;
    this.tables.locked(() => {
      lg.state.sharedPages.forEach((p, i) => {
        if (!lg.mem.isRam(p.gpa, PAGE_SIZE)) return;
        fn(lg.mem.ram.subarray(p.gpa, p.gpa + PAGE_SIZE), bases[i]!, this.tables.page(this.region(p.region)));
      });
    });
  }

  collectRemoteEvents(lg: Lguest): void {
    const id = lg.state.guestid;
    const irqs = this.tables.takeIrqs(id);
    if (irqs !== 0) lg.state.irqsPending = (lg.state.irqsPending | irqs) >>> 0;
    const reason = this.tables.takeKill(id);
    if (reason !== null) kill(lg, reason);
  }

  /** @internal: a Guest maps its region pages; the first mapper's content seeds a region. */
  attachRegions(lg: Lguest, peerSlots: (number | undefined)[]): void {
    const t = this.tables;
    t.locked(() => {
      const bases = lg.state.sharedPages.map((p, i) => {
        const r = this.region(p.region);
        const peer = peerSlots[i];
        if (peer !== undefined) t.setGuestPeer(r, lg.state.guestid, peer);
        const base = new Uint8Array(PAGE_SIZE);
        if (!lg.mem.isRam(p.gpa, PAGE_SIZE)) return base;
        if (t.seedRegion(r)) t.page(r).set(lg.mem.ram.subarray(p.gpa, p.gpa + PAGE_SIZE));
        else {
          lg.mem.ram.set(t.page(r), p.gpa);
          lg.mem.written(p.gpa, PAGE_SIZE);
        }
        base.set(t.page(r));
        return base;
      });
      this.sharedBase.set(lg, bases);
    });
  }

  exportState(): HostState {
    return { bindingSeq: this.tables.bindingSeq, regions: this.tables.seededRegions() };
  }

  importState(state: HostState): void {
    this.tables.bindingSeq = state.bindingSeq;
    this.tables.clearRegions();
    this.regionIndex.clear();
    for (const r of state.regions) this.tables.loadRegion(r.name, r.bytes);
  }

  /**
   * A restored network member's share of a saved host state, on a host others keep running on:
   * only the named regions' pages are loaded (the other networks are live), and the binding
   * sequence only moves forward (other guests' bindings keep their order).
   */
  joinState(state: HostState, regions: string[]): void {
    this.tables.bindingSeq = Math.max(this.tables.bindingSeq, state.bindingSeq);
    for (const r of state.regions) if (regions.includes(r.name)) this.tables.loadRegion(r.name, r.bytes);
  }

  /**
   * Brings what other threads did to a paused guest into its own state, as its next run would:
   * interrupts they raised (and a kill), and the network pages they changed. A snapshot taken
   * after this holds everything in flight towards the guest (frames they copied are in its RAM).
   */
  settleRemoteEvents(lg: Lguest): void {
    this.publishSharedPages(lg);
    this.collectRemoteEvents(lg);
    this.refreshSharedPages(lg);
  }
}

/** "shared:<region>:<offset>" split up, or null for a private key identity. */
function sharedKey(keyId: string): { region: string; offset: number } | null {
  if (!keyId.startsWith('shared:')) return null;
  const colon = keyId.lastIndexOf(':');
  return { region: keyId.slice('shared:'.length, colon), offset: Number(keyId.slice(colon + 1)) };
}

/** One open /dev/lguest file. */
export class LguestFileImpl implements LguestFile {
  /** The Guest this file controls (for inspectors: read-only use). */
  guest: Lguest | null = null;

  constructor(private readonly host: LguestHost) {}

  /** Makes `state` this file's Guest on a fresh CPU over `memory` (for INITIALIZE and restore). */
  private adoptGuest(state: Lguest['state'], memory: PhysicalMemory): Lguest {
    const owner: CpuOwner = { readTsc: () => (this.guest ? readVirtualTsc(this.guest) : 0) };
    const lg: Lguest = {
      state,
      cpu: this.host.createCpu(memory, owner),
      mem: memory,
      host: this.host,
      trace: new ExitTrace(),
      ringHypercalls: emptyRingCounts(),
      sampler: null,
    };
    this.guest = lg;
    return lg;
  }

  initialize(args: InitializeArgs): number {
    if (this.guest) return this.guest.state.dead !== null ? ENOENT : EBUSY;
    const id = this.host.claimSlot(this, args.pfnLimit);
    if (id < 0) return ENOSPC;
    if (args.pageOffset >>> 22 >= SWITCHER_PGD_INDEX) {
      this.host.releaseSlot(id);
      return EINVAL;
    }
    const state = newGuestState(id, args.pfnLimit, args.pageOffset);
    if (args.bootEpochSeconds !== undefined) state.bootEpochSeconds = args.bootEpochSeconds;
    state.sharedPages = (args.sharedPages ?? []).map((p) => ({ gpa: (p.gpa & ~0xfff) >>> 0, region: p.region }));
    const lg = this.adoptGuest(state, args.memory);
    const cpu = lg.cpu;
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
    this.host.attachRegions(
      lg,
      (args.sharedPages ?? []).map((p) => p.peerSlot),
    );
    return 16;
  }

  run(opts: RunOptions): RunResult | number {
    const lg = this.guest;
    if (!lg) return EINVAL;
    if (lg.state.dead !== null) return { kind: 'dead', reason: lg.state.dead };
    lg.state.dmaIsPending = false;
    this.host.collectRemoteEvents(lg);
    if (lg.state.dead !== null) return { kind: 'dead', reason: lg.state.dead };
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
    if (!lg) return false;
    this.host.collectRemoteEvents(lg);
    if (lg.state.dead !== null) return false;
    if (!lg.state.halted) return true;
    if (lg.state.clockDeadlineNs !== null && virtualNow(lg) >= lg.state.clockDeadlineNs) return true;
    const ld = lg.state.lguestData;
    if (ld === null) return false;
    const blk = tryReadU32(lg, ld + LD_BLOCKED_INTERRUPTS) ?? 0xffffffff;
    return (lg.state.irqsPending & ~blk) >>> 0 !== 0;
  }

  /** The Host's per-Guest state, as plain data (a deep copy). */
  exportState(): LguestFileState | null {
    const lg = this.guest;
    if (!lg) return null;
    const state = structuredClone(lg.state);
    // Senders on other threads advance nextDma of shared-key bindings in the host tables.
    state.dma.forEach((b, i) => {
      if (b.interrupt !== 0 && b.keyId.startsWith('shared:')) b.nextDma = this.host.tables.nextDma(state.guestid, i);
    });
    return { guest: state };
  }

  /**
   * Bring a snapshotted Guest back on an unused file: the memory (with its host frames, where
   * the shadows live) and the CPU state come from their own snapshots. Returns 16, -EBUSY if
   * this file already has a Guest or the Guest's slot is taken, -EINVAL for a bad version.
   */
  restore(args: {
    memory: PhysicalMemory;
    state: LguestFileState;
    cpu: CpuState;
    /** Per shared page, the guest's peer slot in its region (a network member re-joining). */
    peerSlots?: (number | undefined)[];
  }): number {
    if (this.guest) return EBUSY;
    if (args.state.guest.version !== GUEST_STATE_VERSION) return EINVAL;
    const state = structuredClone(args.state.guest);
    if (this.host.claimSlot(this, state.pfnLimit, state.guestid) < 0) return EBUSY;
    const lg = this.adoptGuest(state, args.memory);
    lg.cpu.importState(args.cpu);
    this.host.attachRegions(lg, args.peerSlots ?? []);
    state.dma.forEach((_, i) => this.host.bindingChanged(lg, i));
    return 16;
  }

  /** Restore per-Guest state exported earlier (memory and CPU are restored by their owners). */
  importState(st: LguestFileState): void {
    if (!this.guest) throw new Error('lguest: importState needs an initialized file');
    if (st.guest.version !== GUEST_STATE_VERSION)
      throw new Error(`lguest: host state version ${st.guest.version} is not supported`);
    const lg = this.guest;
    lg.state = structuredClone(st.guest);
    lg.trace = new ExitTrace();
    lg.ringHypercalls = emptyRingCounts();
    lg.cpu.dropCaches();
    lg.state.dma.forEach((_, i) => this.host.bindingChanged(lg, i));
  }
}
