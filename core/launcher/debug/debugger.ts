// The debugger of one machine, used by the gdb stub and the workbench: breakpoints (per address
// space, with conditions), watchpoints, stepping, breaks on exits and hypercalls, and reverse
// execution by replay from checkpoints. Stops are exact instruction boundaries, invisible to the
// guest: the machine is always stepped on the same grid of instruction counts, and a stop inside
// a run resumes exactly where it was (core/cpu/debug-run.ts, core/host/core.ts).

import { decodeBytes } from '../../cpu/decode';
import type { DebugHook } from '../../cpu/debug-run';
import type { I386 } from '../../cpu/cpu';
import { CS, EAX, ESP } from '../../cpu/types';
import { LGUEST_TRAP_ENTRY } from '../../host/constants';
import type { HostDebugHook, Lguest } from '../../host/lg';
import type { LauncherEvents } from '../api';
import type { Launcher } from '../launch';
import { restoreGuest } from '../restore-guest';
import { parseCondition, type Condition } from './condition';
import { memoryOperands, type MemoryOperand } from './memory-operands';
import { guestCr3, guestOf, readVirtual } from './guest-access';
import { DEFAULT_TIMELINE, Timeline, type Checkpoint, type TimelineOptions } from './timeline';

/**
 * The machine is only ever stepped to multiples of this instruction count (or until it halts),
 * so the host's own slice ends fall on the same instructions whether or not it was stopped.
 */
export const GRID = 100_000;
/** Instructions the hook lets run unchecked when nothing needs a look at every instruction. */
const FREE_RUN = 1 << 30;

export type WatchAccess = 'write' | 'read' | 'access';

export interface Breakpoint {
  id: number;
  /** Linear address of the instruction (CS base + EIP; the guest's virtual address in lguest). */
  address: number;
  /** Only in this address space (guest-physical page directory); null = any. */
  cr3: number | null;
  condition: Condition | null;
  /** The condition as the user wrote it. */
  conditionText: string | null;
}

export interface Watchpoint {
  id: number;
  address: number;
  length: number;
  access: WatchAccess;
}

export type StopReason =
  | { kind: 'breakpoint'; id: number; address: number }
  | { kind: 'watchpoint'; id: number; address: number; access: WatchAccess; old: Uint8Array; now: Uint8Array }
  | { kind: 'step' }
  | { kind: 'pause' }
  | { kind: 'exit'; vector: number }
  | { kind: 'hypercall'; call: number }
  /** Reverse execution reached the oldest recorded instruction. */
  | { kind: 'history-start' }
  | { kind: 'dead'; reason: string };

export type DebugStatus =
  | { state: 'stopped'; reason: StopReason }
  | { state: 'running' }
  /** Halted until wakeAtNs (null: until input); call advanceClock or consoleInput. */
  | { state: 'idle'; wakeAtNs: number | null };

/** What run() continues with. */
type Mode =
  | { kind: 'continue' }
  | { kind: 'step'; count: number; eip: number }
  | { kind: 'until'; eip: number; esp: number | null };

export interface DebuggerOptions {
  /** Where restored (replayed) machines send their console output and log lines. */
  events: LauncherEvents;
  /** Checkpoint spacing and memory budget; null turns reverse execution off. */
  timeline?: TimelineOptions | null;
}

export class Debugger {
  private guest: Launcher;
  private lg: Lguest;
  private cpu: I386;
  readonly breakpoints = new Map<number, Breakpoint>();
  readonly watchpoints = new Map<number, Watchpoint & { last: Uint8Array | null }>();
  readonly exitBreaks = new Set<number>();
  readonly hypercallBreaks = new Set<number>();
  private nextId = 1;
  private mode: Mode = { kind: 'continue' };
  private stopReason: StopReason | null = null;
  /** Stopped inside a run (not at a host boundary): outside events must wait. */
  private midRun = false;
  /** Breakpoints at this boundary (count, eip) do not fire again when resuming from it. */
  private skip: { count: number; eip: number } | null = null;
  private pendingInput: Uint8Array[] = [];
  readonly timeline: Timeline | null;
  /** Highest instruction count ever reached: replayed console output below it is not repeated. */
  private frontier = 0;
  /** Replay controls: stop at this count; count hits without stopping until hitsToSkip is 0. */
  private stopAtCount: number | null = null;
  private checking = true;
  private hitsToSkip = 0;
  private hitsSeen = 0;
  /** While reverse execution looks for it: a boundary that counts as a hit (reverseStepOver). */
  private landmark: ((cpu: I386) => boolean) | null = null;
  private readonly hostHook: HostDebugHook;
  private readonly cpuHook: DebugHook;
  /** The CPU's breakpoints no longer match the breakpoints and mode (syncCpuBreakpoints). */
  private cpuBreaksStale = false;

  constructor(
    guest: Launcher,
    private readonly opts: DebuggerOptions,
  ) {
    this.guest = guest;
    ({ lg: this.lg, cpu: this.cpu } = guestOf(guest));
    this.timeline = opts.timeline === null ? null : new Timeline(opts.timeline ?? DEFAULT_TIMELINE);
    this.hostHook = { resume: null, stoppedInGuest: false, stopOnExit: (v) => this.onExit(v) };
    this.cpuHook = { nextCheck: (cpu) => this.nextCheck(cpu) };
    this.lg.debug = this.hostHook;
    this.frontier = this.count;
    this.stopReason = { kind: 'pause' };
  }

  /** The machine now debugged (replaced by a restored one after reverse execution). */
  get machine(): Launcher {
    return this.guest;
  }
  get lguest(): Lguest {
    return this.lg;
  }
  get processor(): I386 {
    return this.cpu;
  }
  get count(): number {
    return this.cpu.icount;
  }
  get stopped(): StopReason | null {
    return this.stopReason;
  }
  /** The newest instruction count reached: the recorded window ends there. */
  get recordedUntil(): number {
    return this.frontier;
  }

  /** Detaches every hook; the machine runs on as if no debugger had been there. */
  detach(): void {
    this.cpu.debug = null;
    this.cpu.setBreakpoints([]);
    // A stop inside a run keeps its resume point until the next run continues from it.
    if (this.hostHook.resume === null) this.lg.debug = null;
    else this.hostHook.stopOnExit = () => false;
    this.breakpoints.clear();
    this.watchpoints.clear();
    this.stopReason = null;
  }

  // ---------------- breakpoints and watchpoints ----------------

  addBreakpoint(address: number, opts: { cr3?: number | null; condition?: string | null } = {}): Breakpoint {
    const text = opts.condition ?? null;
    const bp: Breakpoint = {
      id: this.nextId++,
      address: address >>> 0,
      cr3: opts.cr3 ?? null,
      condition: text === null ? null : parseCondition(text),
      conditionText: text,
    };
    this.breakpoints.set(bp.id, bp);
    this.cpuBreaksStale = true;
    return bp;
  }

  /** Removes breakpoints at `address` (gdb's z0/z1); returns how many. */
  removeBreakpointsAt(address: number): number {
    let n = 0;
    for (const [id, bp] of this.breakpoints)
      if (bp.address === address >>> 0) {
        this.breakpoints.delete(id);
        this.cpuBreaksStale = true;
        n++;
      }
    return n;
  }

  addWatchpoint(address: number, length: number, access: WatchAccess): Watchpoint {
    if (!Number.isInteger(length) || length < 1 || length > 4096)
      throw new RangeError(`watchpoint length must be 1..4096 bytes, got ${length}`);
    const wp = {
      id: this.nextId++,
      address: address >>> 0,
      length,
      access,
      last: readVirtual(this.lg, address, length),
    };
    this.watchpoints.set(wp.id, wp);
    return wp;
  }

  removeWatchpointsAt(address: number, length: number, access: WatchAccess): number {
    let n = 0;
    for (const [id, wp] of this.watchpoints)
      if (wp.address === address >>> 0 && wp.length === length && wp.access === access) {
        this.watchpoints.delete(id);
        n++;
      }
    return n;
  }

  // ---------------- run control ----------------

  /** Continue until something stops the machine (run() does the work). */
  resume(): void {
    this.start({ kind: 'continue' });
  }

  /** One instruction (or into an exception handler). */
  stepInstruction(): void {
    this.start({ kind: 'step', count: this.count, eip: this.cpu.eip });
  }

  /** One instruction, running a CALL through to its return. */
  stepOver(): void {
    const call = this.callLengthAtEip();
    if (call === null) this.stepInstruction();
    else this.start({ kind: 'until', eip: (this.cpu.eip + call) >>> 0, esp: this.cpu.getReg(ESP) });
  }

  /** Continue until EIP is `address` (or another stop comes first). */
  runTo(address: number): void {
    this.start({ kind: 'until', eip: address >>> 0, esp: null });
  }

  /**
   * Stops now. Between two run() calls the machine always stands at an instruction boundary (a
   * host boundary, or where a stop left it), so this is exact.
   */
  pause(): void {
    this.stopReason ??= { kind: 'pause' };
  }

  private start(mode: Mode): void {
    this.setMode(mode);
    this.stopReason = null;
    this.skip = { count: this.count, eip: this.cpu.eip };
  }

  /**
   * Brings a machine stopped inside a run to the next host boundary (no breakpoint in the way),
   * where a recording or checkpoint describes it completely.
   */
  settle(): void {
    if (!this.midRun) return;
    this.checking = false;
    this.setMode({ kind: 'continue' });
    this.stopReason = null;
    try {
      this.gridStep();
    } finally {
      this.checking = true;
    }
    this.stopReason ??= { kind: 'pause' };
  }

  /** Keyboard bytes for the guest console: delivered (and recorded) at the next host boundary. */
  consoleInput(bytes: Uint8Array): void {
    this.pendingInput.push(bytes.slice());
  }

  /** Moves the idle guest's clock (recorded for replay). */
  advanceClock(ns: number): void {
    if (ns <= this.guest.virtualTimeNs) return;
    this.timeline?.record({ at: this.count, kind: 'clock', ns });
    this.guest.advanceClockTo(ns);
  }

  /**
   * Runs the machine for up to `steps` grid steps (or until it stops or halts). Call again while
   * the result is 'running'; a stop keeps the machine exactly at its instruction boundary.
   */
  run(steps = 50): DebugStatus {
    if (this.stopReason !== null) return { state: 'stopped', reason: this.stopReason };
    for (let i = 0; i < steps; i++) {
      if (!this.midRun) this.applyOutsideEvents();
      const r = this.gridStep();
      if (r !== null) return r;
    }
    return { state: 'running' };
  }

  /** One step of the Launcher to the next grid point; a status when it stopped or halted. */
  private gridStep(): DebugStatus | null {
    this.attachCpuHook();
    const before = this.count;
    const step = this.guest.step(GRID - (before % GRID));
    this.cpu.debug = null;
    if (this.count > this.frontier) this.frontier = this.count;
    if (this.stopReason !== null) {
      this.midRun = this.hostHook.resume !== null;
      return { state: 'stopped', reason: this.stopReason };
    }
    this.midRun = false;
    if (step.kind === 'dead') return this.stop({ kind: 'dead', reason: step.reason });
    if (step.kind === 'idle') {
      // Halted: only outside events move it on. Recorded ones come back by themselves.
      if (this.timeline?.replaying && this.applyOutsideEvents()) return null;
      if (this.pendingInput.length > 0) return null;
      return { state: 'idle', wakeAtNs: step.wakeAtNs };
    }
    return null;
  }

  /** At a host boundary: recorded events due now, then new input; then maybe a checkpoint. */
  private applyOutsideEvents(): boolean {
    const count = this.count;
    let any = false;
    if (this.timeline) {
      this.timeline.maybeCheckpoint(this.guest, count);
      for (const e of this.timeline.takeDue(count)) {
        any = true;
        if (e.kind === 'input') this.guest.consoleInput(e.bytes);
        else this.guest.advanceClockTo(e.ns);
      }
    }
    for (const bytes of this.pendingInput.splice(0)) {
      any = true;
      this.timeline?.record({ at: count, kind: 'input', bytes });
      this.guest.consoleInput(bytes);
    }
    return any;
  }

  private stop(reason: StopReason): DebugStatus {
    this.stopReason = reason;
    return { state: 'stopped', reason };
  }

  private attachCpuHook(): void {
    this.syncCpuBreakpoints();
    // The CPU's breakpoints stop run() early: only the hook may see those stops.
    const needed =
      this.stopAtCount !== null ||
      this.mode.kind !== 'continue' ||
      this.breakpoints.size > 0 ||
      (this.checking && (this.watchpoints.size > 0 || this.landmark !== null));
    this.cpu.debug = needed ? this.cpuHook : null;
  }

  // ---------------- the hooks ----------------

  /** A hit found by the checks: stops, or (while scanning the past) is only counted. */
  private hit(reason: StopReason): boolean {
    this.hitsSeen++;
    if (this.hitsToSkip > 0) {
      this.hitsToSkip--;
      return false;
    }
    this.stopReason = reason;
    return true;
  }

  private onExit(vector: number): boolean {
    if (!this.checking) return false;
    if (this.exitBreaks.has(vector)) return this.hit({ kind: 'exit', vector });
    if (vector === LGUEST_TRAP_ENTRY && this.hypercallBreaks.size > 0) {
      const call = this.cpu.getReg(EAX);
      if (this.hypercallBreaks.has(call)) return this.hit({ kind: 'hypercall', call });
    }
    return false;
  }

  private nextCheck(cpu: I386): number {
    const n = this.check(cpu);
    if (n === 0) this.hostHook.stoppedInGuest = true;
    return n;
  }

  private check(cpu: I386): number {
    const count = cpu.icount;
    if (this.stopAtCount !== null) {
      if (count >= this.stopAtCount) {
        this.stopReason = { kind: 'step' };
        return 0;
      }
      if (!this.checking) return this.stopAtCount - count;
    }
    const eip = cpu.eip;
    const mode = this.mode;
    if (mode.kind === 'step' && (count !== mode.count || eip !== mode.eip)) {
      this.stopReason = { kind: 'step' };
      return 0;
    }
    const skipHere = this.skip !== null && this.skip.count === count && this.skip.eip === eip;
    if (!skipHere) this.skip = null;
    if (mode.kind === 'until' && !skipHere && eip === mode.eip && (mode.esp === null || cpu.getReg(ESP) >= mode.esp)) {
      this.stopReason = { kind: 'step' };
      return 0;
    }
    // Breakpoints and the 'until' address are the CPU's own (syncCpuBreakpoints): it stops before
    // them by itself, so only stepping and watchpoints need a look at every instruction.
    const free = this.stopAtCount === null ? FREE_RUN : this.stopAtCount - count;
    if (!this.checking) return mode.kind === 'step' ? 1 : free;
    if (!skipHere && this.breakpoints.size > 0) {
      const lin = linearEip(cpu);
      let cr3: number | null = null;
      for (const bp of this.breakpoints.values()) {
        if (bp.address !== lin) continue;
        if (bp.cr3 !== null && bp.cr3 !== (cr3 ??= guestCr3(this.lg))) continue;
        if (bp.condition !== null && !bp.condition(cpu)) continue;
        if (this.hit({ kind: 'breakpoint', id: bp.id, address: bp.address })) return 0;
      }
    }
    if (this.watchpoints.size > 0 && this.checkWatchpoints(cpu, this.lg, skipHere)) return 0;
    if (this.landmark !== null && this.landmark(cpu) && this.hit({ kind: 'step' })) return 0;
    return this.watchpoints.size > 0 || this.landmark !== null || mode.kind === 'step' ? 1 : free;
  }

  /** Gives the CPU the linear addresses it must stop before: the breakpoints and the 'until' target. */
  private syncCpuBreakpoints(): void {
    if (!this.cpuBreaksStale) return;
    const lin = [...this.breakpoints.values()].map((bp) => bp.address);
    if (this.mode.kind === 'until') lin.push((this.cpu.getSegment(CS).base + this.mode.eip) >>> 0);
    this.cpu.setBreakpoints(lin);
    this.cpuBreaksStale = false;
  }

  private setMode(mode: Mode): void {
    this.mode = mode;
    this.cpuBreaksStale = true;
  }

  /**
   * Write watchpoints: the watched bytes differ from those at the last boundary. Read and access
   * watchpoints: a memory operand of the instruction about to run (ModRM, stack or string; see
   * memory-operands.ts) overlaps the range.
   */
  private checkWatchpoints(cpu: I386, lg: Lguest, skipHere: boolean): boolean {
    let operands: MemoryOperand[] | undefined;
    for (const wp of this.watchpoints.values()) {
      const now = readVirtual(this.lg, wp.address, wp.length);
      const old = wp.last;
      wp.last = now;
      const changed = old !== null && now !== null && !sameBytes(old, now);
      if (changed && wp.access !== 'read') {
        const reason: StopReason = {
          kind: 'watchpoint',
          id: wp.id,
          address: wp.address,
          access: wp.access,
          old: old,
          now: now,
        };
        if (this.hit(reason)) return true;
        continue;
      }
      if (wp.access === 'write' || skipHere || now === null) continue;
      operands ??= memoryOperands(cpu, (lin, len) => readVirtual(lg, lin, len));
      const touches = (o: MemoryOperand): boolean =>
        (wp.access !== 'read' || o.reads) && o.lin < wp.address + wp.length && o.lin + o.len > wp.address;
      if (operands.some(touches)) {
        if (this.hit({ kind: 'watchpoint', id: wp.id, address: wp.address, access: wp.access, old: now, now }))
          return true;
      }
    }
    return false;
  }

  /** Length of the CALL at EIP, or null when the instruction there is no call. */
  private callLengthAtEip(): number | null {
    const bytes = readVirtual(this.lg, this.cpu.eip, 16) ?? readVirtual(this.lg, this.cpu.eip, 1);
    if (bytes === null) return null;
    try {
      const ins = decodeBytes((i) => bytes[i] ?? 0, this.cpu.code32);
      const isCall = ins.op === 0xe8 || ins.op === 0x9a || (ins.op === 0xff && (ins.reg === 2 || ins.reg === 3));
      return isCall && ins.len <= bytes.length ? ins.len : null;
    } catch {
      return null;
    }
  }

  // ---------------- reverse execution ----------------

  /** Back one instruction: the nearest checkpoint, replayed to the count before this one. */
  reverseStep(): DebugStatus {
    const target = this.count - 1;
    const c = this.timeline?.checkpointAtOrBefore(Math.max(0, target)) ?? null;
    if (c === null || target < 0) return this.stop({ kind: 'history-start' });
    this.restoreCheckpoint(c);
    this.replayTo(target, false, 0);
    return this.stop({ kind: 'step' });
  }

  /**
   * Back one instruction in the current function (gdb's reverse-nexti): when that instruction is
   * the RET of a call made from here, back over the whole call to its CALL instruction (or to a
   * breakpoint or watchpoint hit inside it).
   */
  reverseStepOver(): DebugStatus {
    const eip = this.cpu.eip,
      esp = this.cpu.getReg(ESP);
    const r = this.reverseStep();
    if (r.state !== 'stopped' || r.reason.kind !== 'step' || !this.returnsTo(eip)) return r;
    this.landmark = (cpu) => cpu.getReg(ESP) === esp && cpu.eip !== eip && this.callEndsAt(eip);
    try {
      return this.reverseContinue();
    } finally {
      this.landmark = null;
    }
  }

  /** The instruction at EIP is a RET whose return address is `eip`. */
  private returnsTo(eip: number): boolean {
    const op = readVirtual(this.lg, this.cpu.eip, 1)?.[0];
    const ret = readVirtual(this.lg, this.cpu.getReg(ESP), 4);
    return (op === 0xc3 || op === 0xc2) && ret !== null && new DataView(ret.buffer).getUint32(0, true) === eip;
  }

  /** The instruction at EIP is a CALL that returns to `eip`. */
  private callEndsAt(eip: number): boolean {
    const len = this.callLengthAtEip();
    return len !== null && (this.cpu.eip + len) >>> 0 === eip;
  }

  /**
   * Moves to instruction count `count` inside the recorded window: back by replay from the
   * nearest checkpoint, forward by replaying the recording (the machine stops there).
   */
  seek(count: number): DebugStatus {
    const first = this.timeline?.checkpoints[0]?.count;
    if (first === undefined) throw new RangeError('this machine keeps no recorded history to move in');
    if (!Number.isSafeInteger(count) || count < first || count > this.frontier)
      throw new RangeError(`instruction ${count} is outside the recorded window ${first}..${this.frontier}`);
    if (count < this.count) this.restoreCheckpoint(this.timeline!.checkpointAtOrBefore(count)!);
    if (count > this.count) this.replayTo(count, false, 0);
    return this.stop({ kind: 'step' });
  }

  /** Back to the last breakpoint, watchpoint or exit break hit before now (or the oldest instruction). */
  reverseContinue(): DebugStatus {
    const now = this.count;
    if (this.timeline === null || this.timeline.checkpoints.length === 0) return this.stop({ kind: 'history-start' });
    let end = now;
    for (let c = this.timeline.checkpointBefore(end); c !== null; c = this.timeline.checkpointBefore(end)) {
      // Count the hits in [c, end); the last of them is where reverse-continue stops.
      this.restoreCheckpoint(c);
      const hits = this.replayTo(end, true, Infinity);
      if (hits > 0) {
        this.restoreCheckpoint(c);
        this.replayTo(Infinity, true, hits - 1);
        return { state: 'stopped', reason: this.stopReason ?? { kind: 'step' } };
      }
      end = c.count;
    }
    const first = this.timeline.checkpoints[0]!;
    this.restoreCheckpoint(first);
    return this.stop({ kind: 'history-start' });
  }

  /** Replaces the machine with checkpoint `c` (the old one is closed). */
  private restoreCheckpoint(c: Checkpoint): void {
    const events: LauncherEvents = {
      consoleOutput: (b) => {
        if (this.cpu.icount > this.frontier) this.opts.events.consoleOutput(b);
      },
      log: (line) => this.opts.events.log?.(line),
    };
    const next = restoreGuest(c.state, events);
    this.cpu.debug = null;
    this.lg.debug = null;
    this.guest.close();
    this.guest = next;
    ({ lg: this.lg, cpu: this.cpu } = guestOf(next));
    this.cpuBreaksStale = true;
    this.hostHook.resume = null;
    this.hostHook.stoppedInGuest = false;
    this.lg.debug = this.hostHook;
    this.timeline!.rewindTo(c);
    this.midRun = false;
    this.skip = null;
    for (const wp of this.watchpoints.values()) wp.last = readVirtual(this.lg, wp.address, wp.length);
  }

  /**
   * Runs the restored machine forward, applying the recorded events, until the first boundary at
   * count `target` (or, with `checking`, the hit after `skipHits` others). Returns the hits seen.
   */
  private replayTo(target: number, checking: boolean, skipHits: number): number {
    this.stopAtCount = Number.isFinite(target) ? target : null;
    this.checking = checking;
    this.hitsToSkip = skipHits;
    this.hitsSeen = 0;
    this.setMode({ kind: 'continue' });
    this.stopReason = null;
    try {
      for (;;) {
        const r = this.run(1);
        if (r.state === 'stopped') break;
        // Halted with nothing recorded to wake it: this is as far as the recording goes.
        if (r.state === 'idle') break;
      }
    } finally {
      this.stopAtCount = null;
      this.checking = true;
      this.hitsToSkip = 0;
    }
    this.skip = { count: this.count, eip: this.cpu.eip };
    return this.hitsSeen;
  }
}

function linearEip(cpu: I386): number {
  return (cpu.getSegment(CS).base + cpu.eip) >>> 0;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
