// The running machines: one worker thread each. Tracks every machine's status, keeps a console
// backlog, and turns a worker that throws or exits into a 'dead' machine while the service stays up.

import { Worker } from 'node:worker_threads';
import { releaseLocksOfThread } from '../launcher/disk-lock';
import { LGUEST_MAX_GUESTS } from '../host/constants';
import { HostTables } from '../host/host-tables';
import type { ApiEventMessage, MachineConfig, MachineStatus } from './api';
import { ServiceError } from './errors';
import { DebugRequests, InspectRequests } from './inspect-requests';
import type { DebugCommand, DebugView, DebugViewOptions } from './debug-types';
import type { InspectQuery, InspectResults } from './inspector-types';
import type { SnapshotDiff, SnapshotListing } from './snapshot-types';
import { DiffRequests, RestoreRequests, SnapshotRequests } from './snapshots';
import type { FromWorker, HostGuest, MachineWorkerData, SnapshotRestore, ToWorker } from './worker-protocol';
import { commitDisksInWorker } from './disk-commit-task';

export interface MachineWorkerSpec {
  /** The worker entry (machine-worker.ts under tsx, or the built machine-worker.js). */
  entry: URL | string;
  /** entry is module source code rather than a file (the tsx bootstrap). */
  eval?: boolean;
  execArgv?: string[];
  /** Extra worker data for tests (a stand-in launcher module, unpaced time). */
  extra?: Omit<MachineWorkerData, 'config'>;
  /** The disk overlay folder of a machine (none: its disks are written in place). */
  disksDirOf?: (id: string) => string;
}

const BACKLOG_BYTES = 256 * 1024;
/** A worker that has not left this long after being asked to stop is terminated. */
const STOP_GRACE_MS = 400;
/**
 * `stop` answers by this time whatever the worker is doing: a thread blocked outside JavaScript
 * (in a system call) ends only when that call returns, and the machine counts as stopped already.
 */
const STOP_ANSWER_MS = 800;

interface Machine {
  status: MachineStatus;
  worker: Worker | null;
  backlog: Uint8Array[];
  backlogBytes: number;
  /** Set when the service asked the worker to go, so its exit is not a death. */
  stopping: ((s: MachineStatus) => void) | null;
  /** Disk lock files the worker's guest holds, released here if the worker is terminated. */
  diskLocks: string[];
  /** The worker's owner token in the host tables. */
  hostOwner: number;
  /** Its guest on the shared host, once it joined with network RAM. */
  hostGuest: HostGuest | null;
  /** Waiting for a status: each is checked at every status change and removed once it is met. */
  waiters: { until: (s: MachineStatus) => boolean; done: () => void }[];
}

/**
 * The machines of the workbench. They all run on one lguest host: its tables live in a
 * SharedArrayBuffer that every machine's worker attaches to (core/host/host-tables.ts), and the
 * manager introduces the workers' network guests to each other (their RAM is shared too), so that
 * a sender's thread can copy a frame straight into the receiver, as the 2.6.23 host did.
 */
export class MachineManager {
  private readonly machines = new Map<string, Machine>();
  /** The service's own handle on the host tables (it holds no guest; it frees what dead workers held). */
  readonly hostTables = HostTables.create();
  private readonly inspections = new InspectRequests();
  private readonly debugRequests = new DebugRequests();
  private readonly snapshotRequests = new SnapshotRequests();
  private readonly restoreRequests = new RestoreRequests();
  private readonly diffRequests = new DiffRequests();

  constructor(
    private readonly spec: MachineWorkerSpec,
    private readonly emit: (msg: ApiEventMessage) => void,
  ) {}

  /** Commits a stopped machine's disks to their base images in a worker (the service thread stays free). */
  commitDisks(id: string): Promise<{ path: string; blocks: number }[]> {
    if (!this.spec.disksDirOf) return Promise.resolve([]);
    return commitDisksInWorker(this.spec, this.spec.disksDirOf(id));
  }

  status(id: string): MachineStatus {
    return this.machines.get(id)?.status ?? { id, state: 'stopped', virtualTimeNs: 0 };
  }

  isActive(id: string): boolean {
    const s = this.status(id).state;
    return s !== 'stopped' && s !== 'dead';
  }

  /** Boots the machine from its config, or (with `restore`) from a snapshot file, paused. */
  start(id: string, config: MachineConfig, restore?: SnapshotRestore): MachineStatus {
    if (this.isActive(id)) throw new ServiceError('bad-state', `machine "${id}" is already ${this.status(id).state}`);
    const active = [...this.machines.keys()].filter((m) => this.isActive(m)).length;
    if (active >= LGUEST_MAX_GUESTS) {
      throw new ServiceError(
        'bad-state',
        `host full: the lguest host holds at most ${LGUEST_MAX_GUESTS} guests and ${active} machines are running; stop one first`,
      );
    }
    const machine: Machine = {
      status: { id, state: 'starting', virtualTimeNs: 0 },
      worker: null,
      backlog: [],
      backlogBytes: 0,
      stopping: null,
      diskLocks: [],
      hostOwner: HostTables.newToken(this.hostTables.buffer),
      hostGuest: null,
      waiters: [],
    };
    this.machines.set(id, machine);
    this.publish(machine);
    const workerData: MachineWorkerData = {
      ...this.spec.extra,
      config,
      ...(restore ? { restore } : {}),
      host: { tables: this.hostTables.buffer, owner: machine.hostOwner },
      ...(this.spec.disksDirOf ? { disksDir: this.spec.disksDirOf(id) } : {}),
    };
    let worker: Worker;
    try {
      worker = new Worker(this.spec.entry, {
        workerData,
        eval: this.spec.eval ?? false,
        execArgv: this.spec.execArgv ?? [],
      });
    } catch (err) {
      this.markDead(machine, `could not start the machine worker: ${errorText(err)}`);
      return machine.status;
    }
    machine.worker = worker;
    // The guests already on the host that this one may send frames to.
    for (const m of this.machines.values())
      if (m !== machine && m.hostGuest) this.send(machine, { type: 'host-peer', guest: m.hostGuest });
    worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'disk-locks') machine.diskLocks = msg.paths;
      else if (machine.worker === worker) this.onWorkerMessage(machine, msg);
    });
    worker.on('error', (err) => {
      if (machine.worker === worker) this.markDead(machine, `machine worker failed: ${errorText(err)}`);
    });
    worker.on('exit', (code) => {
      // A terminated worker could not close its disks: their locks are freed here.
      releaseLocksOfThread(machine.diskLocks, worker.threadId);
      // Its guest leaves the host only now that the thread is gone (even if stop answered earlier).
      this.leaveHost(machine);
      if (machine.worker !== worker) return; // stopped already (detach)
      machine.worker = null;
      this.inspections.dropWorker(worker, `machine "${id}" stopped before answering`);
      this.debugRequests.dropWorker(worker, `machine "${id}" stopped before answering`);
      this.snapshotRequests.dropWorker(worker, `machine "${id}" stopped before its snapshot was saved`);
      this.restoreRequests.dropWorker(worker, `machine "${id}" stopped during the restore`);
      this.diffRequests.dropWorker(worker, `machine "${id}" stopped before its diff was done`);
      if (machine.stopping) {
        const done = machine.stopping;
        machine.stopping = null;
        machine.status = { id, state: 'stopped', virtualTimeNs: machine.status.virtualTimeNs };
        this.publish(machine);
        done(machine.status);
      } else if (machine.status.state !== 'dead') {
        this.markDead(machine, `machine worker exited unexpectedly (exit code ${code})`);
      }
    });
    return machine.status;
  }

  pause(id: string): MachineStatus {
    const m = this.active(id, 'pause');
    if (m.status.state === 'paused') return m.status;
    this.send(m, { type: 'pause' });
    return m.status;
  }

  resume(id: string): MachineStatus {
    const m = this.active(id, 'resume');
    if (m.status.state !== 'paused') throw new ServiceError('bad-state', `machine "${id}" is not paused`);
    this.send(m, { type: 'resume' });
    return m.status;
  }

  /**
   * Asks the worker to close the guest and exit; terminates it if it does not within a grace
   * period, and answers within STOP_ANSWER_MS in any case.
   */
  async stop(id: string): Promise<MachineStatus> {
    const m = this.machines.get(id);
    if (!m || !m.worker) {
      if (m && m.status.state === 'dead') return m.status;
      return this.status(id);
    }
    const worker = m.worker;
    const stopped = new Promise<MachineStatus>((resolve) => {
      m.stopping = resolve;
    });
    this.send(m, { type: 'stop' });
    const grace = setTimeout(() => void worker.terminate(), STOP_GRACE_MS);
    const answer = setTimeout(() => this.detach(m, worker), STOP_ANSWER_MS);
    try {
      return await stopped;
    } finally {
      clearTimeout(grace);
      clearTimeout(answer);
    }
  }

  /** The machine is stopped without waiting for its terminated worker's thread to finish. */
  private detach(m: Machine, worker: Worker): void {
    if (m.worker !== worker || !m.stopping) return;
    m.worker = null;
    this.inspections.dropWorker(worker, `machine "${m.status.id}" stopped before answering`);
    this.snapshotRequests.dropWorker(worker, `machine "${m.status.id}" stopped before its snapshot was saved`);
    this.restoreRequests.dropWorker(worker, `machine "${m.status.id}" stopped during the restore`);
    const done = m.stopping;
    m.stopping = null;
    m.status = { id: m.status.id, state: 'stopped', virtualTimeNs: m.status.virtualTimeNs };
    this.publish(m);
    done(m.status);
  }

  input(id: string, data: Uint8Array): number {
    const m = this.active(id, 'type into');
    this.send(m, { type: 'input', data });
    return data.length;
  }

  /** An inspector query, answered by the machine's worker between run slices. */
  inspect<K extends InspectQuery['kind']>(
    id: string,
    query: Extract<InspectQuery, { kind: K }>,
  ): Promise<InspectResults[K]> {
    const m = this.active(id, 'inspect');
    if (m.status.state === 'starting') throw new ServiceError('bad-state', `machine "${id}" is still starting`);
    return this.inspections.send(m.worker!, query);
  }

  /** Diffs the snapshot file at `path` against the machine now, between two of its run slices. */
  diff(id: string, path: string): Promise<SnapshotDiff> {
    const m = this.active(id, 'diff');
    if (m.status.state === 'starting') throw new ServiceError('bad-state', `machine "${id}" is still starting`);
    return this.diffRequests.send(m.worker!, path);
  }

  /** A Debugger tab request, carried out by the machine's worker between run slices. */
  debug(id: string, command: DebugCommand, look: DebugViewOptions): Promise<DebugView> {
    const m = this.active(id, 'debug');
    if (m.status.state === 'starting') throw new ServiceError('bad-state', `machine "${id}" is still starting`);
    return this.debugRequests.send(m.worker!, command, look);
  }

  /**
   * Restores snapshot `path` into the running machine (its worker reuses the guest's RAM); false
   * when the worker cannot (another config, the debugger attached): then stop and start anew.
   */
  async restoreInPlace(id: string, path: string, allowChangedDisks: boolean): Promise<boolean> {
    const m = this.active(id, 'restore');
    if (m.status.state === 'starting') return false;
    try {
      await this.restoreRequests.send(m.worker!, path, allowChangedDisks);
      return true;
    } catch (err) {
      if (err instanceof ServiceError && err.code === 'unsupported') return false;
      throw err;
    }
  }

  /**
   * Snapshots the machine into `dir` between two of its run slices (see snapshot-worker.ts);
   * `networkMember`: as one paused member of a group snapshot (group-snapshots.ts).
   */
  snapshot(id: string, dir: string, networkMember = false): Promise<SnapshotListing> {
    const m = this.active(id, 'snapshot');
    if (m.status.state === 'starting') throw new ServiceError('bad-state', `machine "${id}" is still starting`);
    return this.snapshotRequests.send(m.worker!, dir, networkMember);
  }

  /** The machine whose worker holds an owner token of the host tables, if it is one of ours. */
  machineOfHostOwner(owner: number): string | null {
    for (const [id, m] of this.machines) if (m.hostOwner === owner && this.isActive(id)) return id;
    return null;
  }

  backlog(id: string): Uint8Array {
    const m = this.machines.get(id);
    if (!m) return new Uint8Array(0);
    return concat(m.backlog, m.backlogBytes);
  }

  forget(id: string): void {
    if (!this.isActive(id)) this.machines.delete(id);
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.machines.keys()].map((id) => this.stop(id)));
  }

  private active(id: string, what: string): Machine {
    const m = this.machines.get(id);
    if (!m || !m.worker || !this.isActive(id)) {
      throw new ServiceError('bad-state', `cannot ${what} machine "${id}": it is ${this.status(id).state}`);
    }
    return m;
  }

  private send(m: Machine, msg: ToWorker): void {
    m.worker?.postMessage(msg);
  }

  private onWorkerMessage(m: Machine, msg: FromWorker): void {
    switch (msg.type) {
      case 'status':
        if (m.status.state === 'dead') return;
        m.status = msg.reason
          ? { id: m.status.id, state: msg.state, virtualTimeNs: msg.virtualTimeNs, reason: msg.reason }
          : { id: m.status.id, state: msg.state, virtualTimeNs: msg.virtualTimeNs };
        if (msg.lastExits) m.status.lastExits = msg.lastExits;
        this.publish(m);
        return;
      case 'rates':
        this.emit({ kind: 'event', event: 'machine.rates', payload: { id: m.status.id, ...msg.rates } });
        return;
      case 'console':
        this.appendBacklog(m, msg.data);
        this.emit({ kind: 'event', event: 'console.output', payload: { id: m.status.id, data: msg.data } });
        return;
      case 'log':
        return;
      case 'snapshot-reply':
        this.snapshotRequests.settle(msg.seq, msg.reply);
        return;
      case 'restore-reply':
        this.restoreRequests.settle(msg.seq, msg.reply);
        return;
      case 'diff-reply':
        this.diffRequests.settle(msg.seq, msg.reply);
        return;
      case 'restored':
        // The console now shows the restored guest: its saved scrollback replaces the backlog.
        m.backlog = msg.scrollback.length > 0 ? [msg.scrollback] : [];
        m.backlogBytes = msg.scrollback.length;
        this.emit({ kind: 'event', event: 'console.restored', payload: { id: m.status.id, data: msg.scrollback } });
        return;
      case 'inspect-reply':
        this.inspections.settle(msg.seq, msg.reply);
        return;
      case 'debug-reply':
        this.debugRequests.settle(msg.seq, msg.reply);
        return;
      case 'stopped':
        m.status = { ...m.status, virtualTimeNs: msg.virtualTimeNs };
        return;
      case 'host-joined':
        m.hostGuest = msg.guest;
        for (const other of this.machines.values())
          if (other !== m) this.send(other, { type: 'host-peer', guest: msg.guest });
        return;
    }
  }

  /**
   * A worker is gone: free whatever it still held in the host tables (normally its guest's close
   * already did; a terminated worker may even have died holding the lock) and tell the others.
   */
  private leaveHost(m: Machine): void {
    this.hostTables.releaseOwner(m.hostOwner);
    const g = m.hostGuest;
    m.hostGuest = null;
    if (!g) return;
    const left: ToWorker = { type: 'host-peer-left', guestid: g.guestid, generation: g.generation };
    for (const other of this.machines.values()) this.send(other, left);
  }

  private markDead(m: Machine, reason: string): void {
    if (m.status.state === 'dead' || m.status.state === 'stopped') return;
    m.status = { id: m.status.id, state: 'dead', virtualTimeNs: m.status.virtualTimeNs, reason };
    if (m.stopping) {
      const done = m.stopping;
      m.stopping = null;
      done(m.status);
    }
    void m.worker?.terminate();
    this.publish(m);
  }

  private appendBacklog(m: Machine, data: Uint8Array): void {
    m.backlog.push(data);
    m.backlogBytes += data.length;
    while (m.backlogBytes - m.backlog[0]!.length >= BACKLOG_BYTES) {
      m.backlogBytes -= m.backlog.shift()!.length;
    }
  }

  /** Resolves once the machine has left 'starting' (launched, or dead), with its status then. */
  whenStarted(id: string): Promise<MachineStatus> {
    return this.whenStatus(id, (s) => s.state !== 'starting');
  }

  /** Resolves once the machine's worker has paused it (or it is no longer active), with its status then. */
  whenPaused(id: string): Promise<MachineStatus> {
    return this.whenStatus(id, (s) => s.state === 'paused' || s.state === 'stopped' || s.state === 'dead');
  }

  private whenStatus(id: string, until: (s: MachineStatus) => boolean): Promise<MachineStatus> {
    const m = this.machines.get(id);
    if (!m || until(m.status)) return Promise.resolve(this.status(id));
    return new Promise((resolve) => m.waiters.push({ until, done: () => resolve(m.status) }));
  }

  /** The guest slot the machine's guest holds on the shared host (a machine on a network), or null. */
  hostGuestId(id: string): number | null {
    return this.machines.get(id)?.hostGuest?.guestid ?? null;
  }

  private publish(m: Machine): void {
    const met = m.waiters.filter((w) => w.until(m.status));
    m.waiters = m.waiters.filter((w) => !met.includes(w));
    for (const w of met) w.done();
    this.emit({ kind: 'event', event: 'machine.status', payload: m.status });
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out.length > BACKLOG_BYTES ? out.slice(out.length - BACKLOG_BYTES) : out;
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
