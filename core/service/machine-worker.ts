// One machine's worker thread: launches the guest through the Launcher and runs it in slices,
// yielding between slices so pause/input/stop are handled, pacing idle time to the wall clock.

import { basename } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { HostTables } from '../host/host-tables';
import type { LguestHost } from '../host/lguest-user';
import type { LaunchedGuest, LauncherEvents } from '../launcher/api';
import { heldDiskLocks } from '../launcher/disk-lock';
import type { MachineConfig } from './api';
import type { SymbolTable } from '../launcher/symbol-table';
import { userProgramSymbols, type UserProgramMaps } from '../launcher/user-program-symbols';
import { DebugSession, machineSymbols } from './debug-session';
import type { DebugCommand, DebugViewOptions } from './debug-types';
import { replyToInspect } from './inspectors';
import { MachineObserver } from './machine-observer';
import { ConsoleTail, diffWithSnapshotFile, prepareRestore, takeSnapshot } from './snapshot-worker';
import { isDiskCommitTask, runDiskCommitTask } from './disk-commit-task';
import type { DiffReply, RestoreReply } from './snapshot-types';
import type { FromWorker, HostGuest, MachineWorkerData, SnapshotRestore, ToWorker } from './worker-protocol';
import type { WorkerReply } from './worker-requests';

type LaunchGuest = (config: MachineConfig, events: LauncherEvents) => LaunchedGuest | Promise<LaunchedGuest>;

const STATUS_INTERVAL_MS = 200;
/** How often the live plots get a point. */
const RATES_INTERVAL_MS = 500;

const port = parentPort!;
const data = workerData as MachineWorkerData;
const sliceBudget = data.sliceBudget ?? 1_000_000;
const paced = data.paced ?? true;

function post(msg: FromWorker, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

let guest: LaunchedGuest | null = null;
let observer: MachineObserver | null = null;
/** The Debugger tab's session; while attached it drives the machine (debug-session.ts). */
let debug: DebugSession | null = null;
let guestEvents: LauncherEvents | null = null;
let state: 'starting' | 'running' | 'idle' | 'halted' | 'paused' = 'starting';
let finished = false;
let reportedState = '';
let reportedTime = -1;
/** Wall-clock ms at which virtual time 0 happened (shifted by the time spent paused). */
let wallAtVirtualZero = performance.now();
let pausedAtWall = 0;
let wakeTimer: NodeJS.Timeout | null = null;
let waiting = false;
let scheduled = false;
let consoleChunks: Uint8Array[] = [];
/** Recent console output, kept in snapshots so a restored console shows context. */
const consoleTail = new ConsoleTail();
/** This worker's handle on the workbench's one host, and the other workers' guests it may DMA into. */
let host: LguestHost | null = null;
const hostPeers = new Map<number, HostGuest>();
/** Our guest's slot when it is on a network (other workers raise its interrupts), else null. */
let joinedAs: number | null = null;
let remoteWakeArmed = false;

type WaitAsync = (
  a: Int32Array,
  index: number,
  value: number,
) => { async: false; value: string } | { async: true; value: Promise<string> };
const waitAsync = (Atomics as unknown as { waitAsync: WaitAsync }).waitAsync;
/** The snapshot this machine descends from: the one it was restored from, then the last one taken. */
let snapshotParent: string | null = null;

const statusTimer = setInterval(() => reportStatus(false), STATUS_INTERVAL_MS);
const ratesTimer = setInterval(reportRates, RATES_INTERVAL_MS);

function reportRates(): void {
  if (finished || !observer || state === 'paused') return;
  const rates = observer.rates(performance.now());
  if (rates) post({ type: 'rates', rates });
}

/** The machine's symbols, read once per worker: the observer and the debugger share them. */
let symbolsLoad: Promise<SymbolTable> | null = null;
function loadSymbols(): Promise<SymbolTable> {
  return (symbolsLoad ??= machineSymbols(data.config, data.baseDir));
}

/** The user programs' symbols (user-symbols/ beside the kernel) and the maps' problems, read once per worker. */
let programsLoad: Promise<UserProgramMaps> | null = null;
function loadPrograms(): Promise<UserProgramMaps> {
  return (programsLoad ??= userProgramSymbols(data.config.kernel, data.baseDir));
}

/** The launched (or restored) guest is there: watch it. */
function observe(g: LaunchedGuest): void {
  observer = new MachineObserver(
    g,
    // (An unusable symbols file is reported when the debugger attaches; the profile goes without names.)
    loadSymbols().then(
      (table) => (table.size > 0 ? table : null),
      () => null,
    ),
    loadPrograms(),
  );
}

function virtualTime(): number {
  return guest ? guest.virtualTimeNs : 0;
}

function reportStatus(force: boolean): void {
  if (finished) return;
  const t = virtualTime();
  if (!force && state === reportedState && t === reportedTime) return;
  reportedState = state;
  reportedTime = t;
  post({ type: 'status', state, virtualTimeNs: t });
}

function flushConsole(): void {
  if (consoleChunks.length === 0) return;
  const total = consoleChunks.reduce((n, c) => n + c.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of consoleChunks) {
    out.set(c, at);
    at += c.length;
  }
  consoleChunks = [];
  post({ type: 'console', data: out }, [out.buffer]);
}

function die(reason: string): void {
  if (finished) return;
  flushConsole();
  finished = true;
  const lastExits = observer?.lastExits() ?? [];
  const virtualTimeNs = virtualTime();
  // Off the shared host (its networks, DMA, guest slot) before anyone hears it is dead: a peer
  // sending a frame to it from then on gets an error.
  closeGuest();
  post({
    type: 'status',
    state: 'dead',
    virtualTimeNs,
    reason,
    ...(lastExits.length ? { lastExits } : {}),
  });
  shutdown();
}

function shutdown(): void {
  clearInterval(statusTimer);
  if (remoteWakeArmed && host && joinedAs !== null) {
    // Release our own pending wait so that it does not keep this thread alive.
    const { words, index } = host.tables.irqWord(joinedAs);
    Atomics.notify(words, index);
  }
  clearInterval(ratesTimer);
  debug?.detach(); // closes its gdb server
  debug = null;
  if (wakeTimer) clearTimeout(wakeTimer);
  wakeTimer = null;
  closeGuest();
  port.close();
}

function closeGuest(): void {
  try {
    guest?.close();
  } catch {
    /* closing a dead guest's devices must not hide why it died */
  }
  guest = null;
}

function schedule(): void {
  if (scheduled || finished) return;
  scheduled = true;
  setImmediate(runSlice);
}

/** One slice: step the guest, ship its console output as one message, decide when to run next. */
function runSlice(): void {
  scheduled = false;
  if (finished || !guest || state === 'paused') return;
  waiting = false;
  if (debug) {
    runDebugSlice(debug);
    return;
  }
  let step;
  try {
    step = guest.step(sliceBudget);
  } catch (err) {
    die(`host error: ${errorText(err)}`);
    return;
  }
  flushConsole();
  switch (step.kind) {
    case 'running':
      setState('running');
      schedule();
      return;
    case 'dead':
      die(step.reason);
      return;
    case 'idle':
      setState(step.wakeAtNs === null ? 'halted' : 'idle');
      waitUntil(step.wakeAtNs);
      return;
  }
}

/**
 * While our guest sleeps, another worker's guest may send it a frame: the sender raises the
 * interrupt in the host tables and notifies this word, which wakes us to run the guest again.
 */
function armRemoteWake(): void {
  if (!host || joinedAs === null || remoteWakeArmed) return;
  const { words, index } = host.tables.irqWord(joinedAs);
  const r = waitAsync(words, index, 0);
  if (!r.async) {
    wakeEarly();
    return;
  }
  remoteWakeArmed = true;
  void r.value.then(() => {
    remoteWakeArmed = false;
    wakeEarly();
  });
}

/** One slice under the debugger: a stop pauses the machine where it stands. */
function runDebugSlice(session: DebugSession): void {
  let r;
  try {
    r = session.run();
  } catch (err) {
    die(`host error: ${errorText(err)}`);
    return;
  }
  guest = session.dbg.machine;
  flushConsole();
  if (r.state === 'running') {
    setState('running');
    schedule();
  } else if (r.state === 'stopped') {
    session.tellGdb(r);
    if (r.reason.kind === 'dead') die(r.reason.reason);
    else setState('paused');
  } else {
    setState(r.wakeAtNs === null ? 'halted' : 'idle');
    waitUntil(r.wakeAtNs);
  }
}

/** A Debugger tab request, between run slices. */
async function handleDebug(command: DebugCommand, look: DebugViewOptions): Promise<WorkerReply> {
  try {
    if (command.op === 'attach' && !debug) {
      if (!guest || !guestEvents) return { ok: false, code: 'bad-state', message: 'the machine has no guest yet' };
      const symbols = await loadSymbols();
      if (!guest || !guestEvents) return { ok: false, code: 'bad-state', message: 'the machine has no guest yet' };
      debug ??= DebugSession.attach(guest, guestEvents, symbols);
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      setState('paused');
    }
    const session = debug;
    if (!session) return { ok: false, code: 'bad-state', message: 'the debugger is not attached' };
    if (command.op === 'gdb')
      await session.setGdb(command.enable, {
        stopped: () => setState('paused'),
        run: () => {
          setState('running');
          schedule();
        },
        kill: () => die('killed by gdb'),
        left: () => {
          setState('running');
          schedule();
        },
      });
    if (command.op === 'detach') {
      const view = session.view(look);
      session.detach();
      debug = null;
      setState('running');
      schedule();
      return { ok: true, result: { ...view, attached: false, stopped: null, gdb: null } };
    }
    const run = session.command(command);
    guest = session.dbg.machine;
    flushConsole();
    if (run) {
      setState('running');
      schedule();
    } else if (session.dbg.stopped !== null) {
      setState('paused');
    }
    return { ok: true, result: session.view(look) };
  } catch (err) {
    return { ok: false, code: 'bad-request', message: errorText(err) };
  }
}

/** The guest is halted: sleep until its clock event is due in wall time, or until input comes. */
function waitUntil(wakeAtNs: number | null): void {
  waiting = true;
  armRemoteWake();
  if (wakeAtNs === null) return; // only input (or stop) wakes a guest with no clock event
  const delayMs = paced ? wallAtVirtualZero + wakeAtNs / 1e6 - performance.now() : 0;
  const wake = (): void => {
    wakeTimer = null;
    if (!guest || finished) return;
    if (debug) debug.dbg.advanceClock(wakeAtNs);
    else if (guest.virtualTimeNs < wakeAtNs) guest.advanceClockTo(wakeAtNs);
    schedule();
  };
  if (delayMs <= 0) wake();
  else wakeTimer = setTimeout(wake, delayMs);
}

function setState(next: typeof state): void {
  const was = state;
  state = next;
  // Running/idle flapping is reported by the periodic status; pause and the first run at once.
  if (was === 'starting' || next === 'paused' || was === 'paused') reportStatus(true);
}

function wakeEarly(): void {
  if (!waiting || state === 'paused') return;
  if (wakeTimer) clearTimeout(wakeTimer);
  wakeTimer = null;
  schedule();
}

port.on('message', (msg: ToWorker) => {
  if (finished) return;
  switch (msg.type) {
    case 'input':
      if (debug) {
        debug.dbg.consoleInput(msg.data);
        wakeEarly();
      } else if (guest) {
        guest.consoleInput(msg.data);
        wakeEarly();
      }
      return;
    case 'pause':
      if (state === 'paused') return;
      if (wakeTimer) clearTimeout(wakeTimer);
      wakeTimer = null;
      pausedAtWall = performance.now();
      observer?.pauseRates();
      if (debug) debug.command({ op: 'pause' });
      setState('paused');
      return;
    case 'resume':
      if (state !== 'paused') return;
      // Time spent paused does not count: the guest should not rush to catch up with the wall clock.
      wallAtVirtualZero += performance.now() - pausedAtWall;
      if (debug) debug.command({ op: 'continue' });
      setState('running');
      schedule();
      return;
    case 'inspect':
      // Between run slices (this handler never runs inside one): a read-only look, then on we go.
      post({ type: 'inspect-reply', seq: msg.seq, reply: replyToInspect(guest, msg.query, observer ?? undefined) });
      return;
    case 'debug':
      void handleDebug(msg.command, msg.look).then((reply) => {
        if (!finished) post({ type: 'debug-reply', seq: msg.seq, reply });
      });
      return;
    case 'restore':
      void restoreHere(msg.path, msg.allowChangedDisks).then((reply) => {
        if (!finished) post({ type: 'restore-reply', seq: msg.seq, reply });
      });
      return;
    case 'snapshot': {
      if (msg.networkMember) {
        // One member of a group snapshot: every member is paused, so nothing moves on the network.
        if (state !== 'paused') {
          const message = 'a network member is snapshotted only while its whole network is paused';
          post({ type: 'snapshot-reply', seq: msg.seq, reply: { ok: false, code: 'bad-state', message } });
          return;
        }
        const lg = host?.guests.find((g) => g !== null);
        if (host && lg) host.settleRemoteEvents(lg);
      }
      // Captured right here, between slices; the file is written and verified asynchronously.
      void takeSnapshot(guest, msg.dir, consoleTail.bytes(), snapshotParent, msg.networkMember).then((reply) => {
        if (reply.ok) snapshotParent = reply.result.file;
        if (!finished) post({ type: 'snapshot-reply', seq: msg.seq, reply });
      });
      return;
    }
    case 'host-peer':
      hostPeers.set(msg.guest.guestid, msg.guest);
      host?.addRemoteGuest(msg.guest.guestid, msg.guest.generation, msg.guest.ram);
      return;
    case 'host-peer-left':
      if (hostPeers.get(msg.guestid)?.generation === msg.generation) hostPeers.delete(msg.guestid);
      host?.removeRemoteGuest(msg.guestid, msg.generation);
      return;
    case 'diff':
      void diffAgainst(msg.path).then((reply) => {
        if (!finished) post({ type: 'diff-reply', seq: msg.seq, reply });
      });
      return;
    case 'stop': {
      flushConsole();
      const t = virtualTime();
      finished = true;
      shutdownAfter(() => post({ type: 'stopped', virtualTimeNs: t }));
      return;
    }
  }
});

/** Reads the snapshot file, then diffs it against the guest between two slices. */
async function diffAgainst(path: string): Promise<DiffReply> {
  if (!guest) return { ok: false, code: 'bad-state', message: 'the machine has no guest to compare' };
  return diffWithSnapshotFile(path, () => guest, data.disksDir ?? null);
}

function shutdownAfter(last: () => void): void {
  last();
  shutdown();
}

async function loadLauncher(): Promise<LaunchGuest> {
  // Imported dynamically so that a Launcher which fails to load is a dead machine with the reason,
  // not a worker that cannot start.
  if (data.launcherModule) {
    const mod = (await import(/* @vite-ignore */ data.launcherModule)) as { launchGuest?: unknown };
    if (typeof mod.launchGuest !== 'function') throw new Error(`${data.launcherModule} does not export launchGuest`);
    return mod.launchGuest as LaunchGuest;
  }
  const mod = await import('../launcher/launch');
  await joinSharedHost();
  return (config, events) =>
    mod.launchGuest(config, events, {
      ...(data.baseDir ? { baseDir: data.baseDir } : {}),
      ...(data.disksDir ? { disksDir: data.disksDir } : {}),
      ...(host ? { host } : {}),
    });
}

/** This worker's handle on the workbench's one host (when the service gave it one), peers included. */
async function joinSharedHost(): Promise<LguestHost | null> {
  const shared = data.host;
  if (!shared) return null;
  const { LguestHost } = await import('../host/lguest-user');
  host = new LguestHost(undefined, HostTables.attach(shared.tables, shared.owner));
  for (const p of hostPeers.values()) host.addRemoteGuest(p.guestid, p.generation, p.ram);
  return host;
}

/** Tells the service that our guest is on the shared host with RAM that other workers may DMA into. */
function announceHostGuest(): void {
  const lg = host?.guests.find((g) => g !== null);
  if (!host || !lg || !(lg.mem.ram.buffer instanceof SharedArrayBuffer)) return;
  joinedAs = lg.state.guestid;
  post({
    type: 'host-joined',
    guest: { guestid: joinedAs, generation: host.tables.guestGeneration(joinedAs), ram: lg.mem.ram },
  });
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<void> {
  // A worker started for a disk commit runs no machine (disk-commit-task.ts).
  const task: unknown = workerData;
  if (isDiskCommitTask(task)) {
    runDiskCommitTask(task, (reply) => port.postMessage(reply));
    return;
  }
  reportStatus(true);
  const events: LauncherEvents = {
    consoleOutput: (bytes) => {
      consoleChunks.push(bytes.slice());
      consoleTail.append(bytes);
    },
    log: (line) => post({ type: 'log', line }),
  };
  guestEvents = events;
  if (data.restore) {
    await startFromSnapshot(data.restore, events);
    return;
  }
  let launchGuest: LaunchGuest;
  try {
    launchGuest = await loadLauncher();
  } catch (err) {
    die(`no runnable guest yet: ${errorText(err)}`);
    return;
  }
  try {
    guest = await launchGuest(data.config, events);
  } catch (err) {
    // A piece of the emulator that is not there yet is not the config's fault: say so plainly.
    const missingModule = (err as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND';
    die(`${missingModule ? 'no runnable guest yet' : 'launch failed'}: ${errorText(err)}`);
    return;
  }
  post({ type: 'disk-locks', paths: heldDiskLocks() });
  if (finished) {
    shutdown();
    return;
  }
  announceHostGuest();
  observe(guest);
  wallAtVirtualZero = performance.now() - guest.virtualTimeNs / 1e6;
  if (state === 'starting') setState('running');
  schedule();
}

/**
 * A machine restored from a snapshot starts paused, its console showing the snapshot's scrollback.
 * A member of a group snapshot re-joins its networks on the shared host in its saved peer slots.
 */
async function startFromSnapshot(restore: SnapshotRestore, events: LauncherEvents): Promise<void> {
  const { path, allowChangedDisks, peerSlots } = restore;
  let scrollback: Uint8Array;
  try {
    let rejoin;
    if (peerSlots) {
      const shared = await joinSharedHost();
      if (!shared) throw new Error('this machine has no shared host to re-join its network on');
      rejoin = { host: shared, peerSlots };
    }
    const prepared = await prepareRestore(path);
    guest = prepared.restore(events, {
      allowChangedDisks,
      ...(data.disksDir ? { disksDir: data.disksDir } : {}),
      ...(rejoin ? { rejoin } : {}),
    });
    scrollback = prepared.scrollback;
    snapshotParent = basename(path);
  } catch (err) {
    die(`restore failed: ${errorText(err)}`);
    return;
  }
  post({ type: 'disk-locks', paths: heldDiskLocks() });
  if (finished) {
    shutdown();
    return;
  }
  announceHostGuest();
  showRestored(guest, scrollback);
}

/** The restored guest is the machine's now: watched, paused, its console the snapshot's. */
function showRestored(g: LaunchedGuest, scrollback: Uint8Array): void {
  observe(g);
  consoleTail.replace(scrollback);
  post({ type: 'restored', scrollback });
  wallAtVirtualZero = performance.now() - g.virtualTimeNs / 1e6;
  pausedAtWall = performance.now();
  setState('paused');
}

/**
 * A restore into this running machine (same config, no debugger): the snapshot's guest replaces
 * the running one between two slices and takes over its RAM, writing only the pages that differ.
 */
async function restoreHere(path: string, allowChangedDisks: boolean): Promise<RestoreReply> {
  if (debug) return { ok: false, code: 'unsupported', message: 'the debugger is attached' };
  let prepared;
  try {
    prepared = await prepareRestore(path);
  } catch (err) {
    return { ok: false, code: 'invalid-snapshot', message: `snapshot ${basename(path)}: ${errorText(err)}` };
  }
  // No await from here on: the running guest does not run while it is replaced.
  const old = guest;
  const events = guestEvents;
  if (finished || !old || !events) return { ok: false, code: 'bad-state', message: 'the machine has no guest' };
  if (!prepared.fits(old)) return { ok: false, code: 'unsupported', message: 'the snapshot is of another config' };
  if (wakeTimer) clearTimeout(wakeTimer);
  wakeTimer = null;
  guest = null;
  try {
    old.close();
    guest = prepared.restore(events, {
      allowChangedDisks,
      reuse: old,
      ...(data.disksDir ? { disksDir: data.disksDir } : {}),
    });
  } catch (err) {
    die(`restore failed: ${errorText(err)}`);
    return { ok: false, code: 'internal', message: `restore failed: ${errorText(err)}` };
  }
  snapshotParent = basename(path);
  post({ type: 'disk-locks', paths: heldDiskLocks() });
  showRestored(guest, prepared.scrollback);
  return { ok: true, result: null };
}

void main();
