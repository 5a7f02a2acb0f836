// The `lguest` command: launches one guest (or several on one host) and runs them on the terminal,
// pacing virtual time to the wall clock while they idle, and mapping guest death to exit status.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { LauncherStep } from './api';
import { parseLguestArgs, UsageError, USAGE, type CliCommand } from './cli-args';
import { formatConfigProblems, validateMachineConfig, type ConfigProblem } from './config-validation';
import { defaultHost, launchGuestOn, type DeviceSpec, type Launcher, type LguestHostLike } from './launch';
import type { MachineConfig } from './machine-config';
import { exitStatsOf, formatExitStats, formatRates, ringHypercallsOf } from './exit-stats';
import { DEATH_EXITS, exitTraceOf, formatExitRecord } from './exit-trace-lines';
import { TraceFile } from './trace-file';
import { counterRates, readCounters, type CounterReading } from '../host/rates';
import { InputRouter } from './input-router';
import { PcapFile } from './pcap-file';
import { hostTablesOf } from './sharenet';
import type { HostTables } from '../host/host-tables';

/** Guest instructions per step between looks at the terminal. */
export const SLICE_INSTRUCTIONS = 200_000;
/** Wall-clock slack when deciding that an idle guest's wake-up time has come. */
const TIMER_SLACK_NS = 2e6;
/** The reason a guest gives when it powers itself off (LHCALL_CRASH "Power down"). */
const POWER_DOWN = /^CRASH: Power down\s*$/;

/**
 * Exit status: 0 clean power-off, 1 killed, stuck or failed to start, 2 three Ctrl-C, 70 an
 * internal error of the command itself (bin/lguest.js). Every one comes with a `lguest: ` line.
 */
export const EXIT_OK = 0,
  EXIT_FAILURE = 1,
  EXIT_CTRL_C = 2,
  EXIT_INTERNAL = 70;

/** Why a halted guest is given up on when no timer and no keyboard input can ever wake it. */
export const NOTHING_CAN_WAKE = 'the guest halted with no timer set and no more input: nothing can wake it';

/** The terminal, abstracted so tests can drive the command. */
export interface CliIo {
  stdout(bytes: Uint8Array): void;
  stderr(text: string): void;
  /** Starts delivering keyboard input; returns a function that stops it. */
  listenInput?(onData: (bytes: Uint8Array) => void, onEnd: () => void): () => void;
  now(): number;
  /** The host to run on (default: the real host with the i386 emulator). */
  host?: () => LguestHostLike;
}

export function isPowerDown(reason: string): boolean {
  return POWER_DOWN.test(reason);
}

/** Names command-line things the way the user typed them, in schema errors of `lguest MEM IMAGE`. */
function cliFieldName(path: string): string {
  if (path === '/memoryMB') return 'MEM_MB';
  if (path === '/cmdline') return 'kernel arguments';
  if (path.startsWith('/networks')) return '--sharenet';
  if (path.startsWith('/blockDevices')) return '--block';
  if (path === '/kernel') return 'IMAGE';
  if (path === '/initrd') return '--initrd';
  return path;
}

interface Machine {
  config: MachineConfig;
  baseDir?: string;
  devices?: DeviceSpec[];
}

class ConfigFileError extends Error {}

function loadConfigFile(path: string): Machine {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigFileError(`cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const checked = validateMachineConfig(text);
  if (!checked.ok)
    throw new ConfigFileError(
      `${path}: invalid machine configuration:\n${indent(formatConfigProblems(checked.errors))}`,
    );
  return { config: checked.config, baseDir: dirname(resolve(path)) };
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}

function machinesOf(cmd: Exclude<CliCommand, { kind: 'help' | 'replay' }>): Machine[] {
  if (cmd.kind === 'config') return [loadConfigFile(cmd.path)];
  if (cmd.kind === 'multi') return cmd.paths.map(loadConfigFile);
  const checked = validateMachineConfig(cmd.config);
  if (!checked.ok) {
    const problems: ConfigProblem[] = checked.errors.map((e) => ({ ...e, path: cliFieldName(e.path) }));
    throw new UsageError(formatConfigProblems(problems));
  }
  return [{ config: checked.config, devices: cmd.devices }];
}

/**
 * One terminal shared by several guests' consoles (--multi): every line starts with "[name] ", and
 * when another guest speaks in the middle of a line, that line is ended first so lines never mix.
 */
class SharedTerminal {
  private lastWriter: string | null = null;
  private midLine = false;
  private static readonly CRLF = Uint8Array.of(0x0d, 0x0a);

  constructor(private readonly write: (b: Uint8Array) => void) {}

  writerFor(name: string): (bytes: Uint8Array) => void {
    const prefix = new TextEncoder().encode(`[${name}] `);
    return (bytes) => {
      if (bytes.length === 0) return;
      if (this.lastWriter !== name && this.midLine) {
        this.write(SharedTerminal.CRLF);
        this.midLine = false;
      }
      this.lastWriter = name;
      let from = 0;
      for (let i = 0; i < bytes.length; i++) {
        if (!this.midLine) {
          if (i > from) this.write(bytes.subarray(from, i));
          from = i;
          this.write(prefix);
          this.midLine = true;
        }
        if (bytes[i] === 0x0a) this.midLine = false;
      }
      this.write(bytes.subarray(from));
    };
  }
}

interface Running {
  name: string;
  guest: Launcher;
  last: LauncherStep;
  /** What --verbose reports of a guest, kept when it is closed at its death. */
  ended?: GuestSummary;
  /** --stats: the counters at the start of the current interval. */
  counters?: CounterReading;
}

interface GuestSummary {
  instructions: number | null;
  virtualTimeNs: number;
  stats: ReturnType<typeof exitStatsOf>;
}

function summaryOf(g: Launcher): GuestSummary {
  return { instructions: g.instructionCount, virtualTimeNs: g.virtualTimeNs, stats: exitStatsOf(g.file) };
}

/** What --stats, --trace and --verbose ask of the run loop. */
interface Observe {
  statsSeconds?: number;
  trace: TraceFile | null;
  /** --verbose: print the last exits under a death's reason. */
  deathExits: boolean;
}

/** The exits before a death, indented under the reason. */
function deathExitLines(r: Running): string {
  const trace = exitTraceOf(r.guest.file);
  if (!trace || trace.recorded === 0) return '';
  const exits = trace.last(DEATH_EXITS);
  return `  last ${exits.length} exits before it:\n` + exits.map((e) => `    ${formatExitRecord(e)}\n`).join('');
}

/** --stats: one line per guest whose interval is over, and a new interval for it. */
function printRates(r: Running, io: CliIo, multiple: boolean, seconds: number): void {
  const stats = exitStatsOf(r.guest.file);
  const ring = ringHypercallsOf(r.guest.file);
  const n = r.guest.instructionCount;
  if (!stats || !ring || n === null) return;
  const now = readCounters(stats, ring, n, io.now());
  if (r.counters && now.atMs - r.counters.atMs < seconds * 1000) return;
  if (r.counters)
    io.stderr(`lguest: ${multiple ? `[${r.name}] ` : ''}stats: ${formatRates(counterRates(r.counters, now))}\n`);
  r.counters = now;
}

/** Runs the command; resolves to the exit status. */
export async function runLguest(argv: readonly string[], io: CliIo): Promise<number> {
  let cmd: CliCommand;
  try {
    cmd = parseLguestArgs(argv);
  } catch (e) {
    if (e instanceof UsageError) {
      io.stderr(`lguest: ${e.message}\n${USAGE}\n`);
      return EXIT_FAILURE;
    }
    throw e;
  }
  if (cmd.kind === 'help') {
    io.stderr(USAGE + '\n');
    return EXIT_OK;
  }
  if (cmd.kind === 'replay') return replayCli(cmd.path, io);
  // A recorded session pins the guest's wall clock at boot, so that its replay is the same machine.
  const bootEpochSeconds = Math.floor(Date.now() / 1000);
  const verbose = cmd.verbose;
  const started = io.now();
  let firstOutputAt: number | null = null;
  const log = (line: string) => {
    if (verbose) io.stderr(`lguest: ${line}\n`);
  };

  const running: Running[] = [];
  let capture: NetworkCapture | null = null;
  const closeAll = () => {
    running.forEach((r) => r.guest.close());
    capture?.discard();
  };
  try {
    const machines = machinesOf(cmd);
    const host = io.host ? io.host() : await defaultHost();
    const multiple = cmd.kind === 'multi';
    const raw = (b: Uint8Array) => {
      if (firstOutputAt === null) {
        firstOutputAt = io.now();
        log(`first console output ${(firstOutputAt - started).toFixed(0)} ms after launch`);
      }
      io.stdout(b);
    };
    const terminal = multiple ? new SharedTerminal(raw) : null;
    for (const m of machines) {
      const name = m.config.name;
      const out = terminal ? terminal.writerFor(name) : raw;
      const guest = await launchGuestOn(
        host,
        cmd.disposable ? { ...m.config, disposable: true } : m.config,
        { consoleOutput: out, log: (line) => log(multiple ? `[${name}] ${line}` : line) },
        {
          ...(m.baseDir ? { baseDir: m.baseDir } : {}),
          ...(m.devices ? { devices: m.devices } : {}),
          ...(cmd.record !== undefined ? { bootEpochSeconds } : {}),
        },
      );
      running.push({ name, guest, last: { kind: 'running' } });
    }
    if (cmd.capture !== undefined) capture = new NetworkCapture(host, cmd.capture);
  } catch (e) {
    closeAll();
    io.stderr(`lguest: ${e instanceof Error ? e.message : String(e)}\n`);
    if (e instanceof UsageError) io.stderr(USAGE + '\n');
    return EXIT_FAILURE;
  }

  let trace: TraceFile | null = null;
  if (cmd.trace !== undefined) {
    try {
      trace = new TraceFile(cmd.trace);
    } catch (e) {
      closeAll();
      io.stderr(`lguest: --trace=${cmd.trace}: ${e instanceof Error ? e.message : String(e)}\n`);
      return EXIT_FAILURE;
    }
  }
  const observe: Observe = {
    trace,
    deathExits: verbose,
    ...(cmd.statsSeconds !== undefined ? { statsSeconds: cmd.statsSeconds } : {}),
  };
  const status =
    cmd.gdb !== undefined || cmd.record !== undefined
      ? await runOneDebugged(running[0]!, io, cmd, bootEpochSeconds)
      : await runGuests(running, io, cmd.fast, cmd.kind === 'multi', () => capture?.drain(), observe);
  trace?.close();
  if (status === EXIT_CTRL_C) io.stderr('lguest: quit by three Ctrl-C\n');
  if (capture) {
    capture.drain();
    capture.finish();
    log(`capture ${capture.file.path}: ${capture.file.frames} frames, ${capture.file.bytes} bytes`);
    capture = null;
  }
  if (verbose) {
    const seconds = ((io.now() - started) / 1000).toFixed(2);
    for (const r of running) {
      const { instructions: n, virtualTimeNs, stats } = r.ended ?? summaryOf(r.guest);
      log(
        `${r.name}: ${n === null ? 'unknown number of' : n} instructions, ${(virtualTimeNs / 1e9).toFixed(3)} s virtual time, ${seconds} s wall time`,
      );
      if (stats) for (const line of formatExitStats(stats)) log(`${r.name}: ${line}`);
    }
  }
  closeAll();
  return status;
}

/** --capture: every network of the host recorded into one pcap file. */
class NetworkCapture {
  readonly file: PcapFile;
  private readonly tables: HostTables;

  constructor(host: LguestHostLike, path: string) {
    this.tables = hostTablesOf(host);
    const names = this.tables.regionNames();
    if (names.length === 0) throw new UsageError('--capture: no guest is on a network (--sharenet or "networks")');
    try {
      this.file = new PcapFile(path);
    } catch (e) {
      throw new Error(`--capture=${path}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const n of names) this.tables.setCapture(this.tables.region(n), true);
  }

  drain(): void {
    for (const f of this.tables.drainCapture().frames) this.file.write(f.timeMicros, f.bytes);
  }

  finish(): void {
    for (const n of this.tables.regionNames()) this.tables.setCapture(this.tables.region(n), false);
    this.file.close();
  }

  discard(): void {
    this.file.discard();
  }
}

/** --gdb / --record: the machine runs under its debugger; its end maps to the exit status as usual. */
async function runOneDebugged(
  r: Running,
  io: CliIo,
  cmd: Exclude<CliCommand, { kind: 'help' | 'replay' }>,
  bootEpochSeconds: number,
): Promise<number> {
  const { runDebugged } = await import('./debug/debugged-run');
  let end;
  try {
    end = await runDebugged(r.guest, {
      gdb: cmd.gdb ?? null,
      record: cmd.record !== undefined ? { path: cmd.record, config: r.guest.config, bootEpochSeconds } : null,
      fast: cmd.fast,
      stderr: (t) => io.stderr(t),
      consoleOutput: (b) => io.stdout(b),
      ...(io.listenInput ? { listenInput: io.listenInput.bind(io) } : {}),
    });
  } catch (e) {
    io.stderr(`lguest: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
  if (end.kind === 'ctrl-c') return EXIT_CTRL_C;
  if (end.kind === 'killed') return EXIT_OK;
  if (isPowerDown(end.reason)) {
    io.stderr('lguest: powered off\n');
    return EXIT_OK;
  }
  io.stderr(`lguest: ${end.reason}\n`);
  return EXIT_FAILURE;
}

/** --replay: boot the recorded machine, feed it the recorded events, compare the final state. */
async function replayCli(path: string, io: CliIo): Promise<number> {
  const { loadRecording, replayRecording } = await import('./debug/recording');
  try {
    const rec = loadRecording(path);
    const result = await replayRecording(rec, { consoleOutput: (b) => io.stdout(b) }, dirname(resolve(path)));
    io.stderr(
      `lguest: replayed ${rec.events.length} events to instruction ${result.instructionCount}; final state sha256 ${result.stateSha256}\n` +
        (result.matches
          ? 'lguest: replay matches the recording\n'
          : `lguest: replay DIFFERS from the recording (sha256 ${rec.stateSha256} at instruction ${rec.instructionCount})\n`),
    );
    return result.matches ? EXIT_OK : EXIT_FAILURE;
  } catch (e) {
    io.stderr(`lguest: ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_FAILURE;
  }
}

/** The run loop over all guests: round-robin slices, idle pacing, keyboard input as routed. */
async function runGuests(
  running: Running[],
  io: CliIo,
  fast: boolean,
  multiple: boolean,
  afterRound: () => void,
  observe: Observe = { trace: null, deathExits: false },
): Promise<number> {
  let wake: (() => void) | null = null;
  const poke = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  let ctrlC = { count: 0, first: 0 };
  let exitStatus: number | null = null;
  /** Keyboard input may still come (stdin is open). */
  let inputOpen = io.listenInput !== undefined;
  // --multi: "@NAME cmd" sends one line to NAME, "@NAME" + Enter moves the keyboard (input-router.ts).
  const router = multiple ? new InputRouter(running.map((r) => r.name)) : null;
  const stopInput = io.listenInput?.(
    (bytes) => {
      // The emergency exit of the original: three lone Ctrl-C reads within a second.
      if (bytes.length === 1 && bytes[0] === 3) {
        const now = io.now();
        if (ctrlC.count === 0 || now - ctrlC.first > 1000) ctrlC = { count: 1, first: now };
        else if (++ctrlC.count >= 3) exitStatus = EXIT_CTRL_C;
      } else {
        ctrlC = { count: 0, first: 0 };
      }
      if (router) for (const part of router.route(bytes)) running[part.target]?.guest.consoleInput(part.bytes);
      else running[0]?.guest.consoleInput(bytes);
      poke();
    },
    () => {
      inputOpen = false;
      poke();
    },
  );

  // Wall-clock time that corresponds to virtual time 0 (paced mode).
  const wallAtZero = io.now();
  const wallNs = () => (io.now() - wallAtZero) * 1e6;
  let status = EXIT_OK;
  const live = new Set(running);
  /**
   * Halted guests' clocks move on even while others run, so their timers still fire: at once to
   * the wake-up with --fast, else along with the wall clock (never past the wake-up). Returns true
   * if some guest's wake-up has come.
   */
  const advanceIdleClocks = (idle: Running[]): boolean => {
    let jumped = false;
    for (const r of idle) {
      if (r.last.kind !== 'idle') continue;
      const wakeAt = r.last.wakeAtNs;
      if (fast) {
        if (wakeAt !== null) {
          r.guest.advanceClockTo(wakeAt);
          jumped = true;
        }
        continue;
      }
      // Timers may fire a little early against performance.now(): a wake-up that close is due.
      const now = wallNs() + TIMER_SLACK_NS;
      const target = wakeAt === null ? now : Math.min(now, wakeAt);
      if (target > r.guest.virtualTimeNs) r.guest.advanceClockTo(target);
      if (wakeAt !== null && target >= wakeAt) jumped = true;
    }
    return jumped;
  };
  try {
    while (live.size > 0 && exitStatus === null) {
      let anyRunning = false;
      for (const r of [...live]) {
        try {
          r.last = r.guest.step(SLICE_INSTRUCTIONS);
        } catch (e) {
          // A bug in the host or Launcher: end this guest with the error rather than a stack trace.
          r.last = { kind: 'dead', reason: `internal error: ${e instanceof Error ? e.message : String(e)}` };
        }
        const exitTrace = observe.trace ? exitTraceOf(r.guest.file) : null;
        if (exitTrace) observe.trace!.drain(r.name, exitTrace);
        if (observe.statsSeconds !== undefined) printRates(r, io, multiple, observe.statsSeconds);
        if (r.last.kind === 'dead') {
          live.delete(r);
          // As in 2.6.23, where the Launcher exits with its guest: the guest's host slot, DMA
          // bindings and network slot are freed now, so its peers' frames to it fail from here on.
          const exitLines = observe.deathExits ? deathExitLines(r) : '';
          r.ended = summaryOf(r.guest);
          r.guest.close();
          if (isPowerDown(r.last.reason)) {
            io.stderr(multiple ? `lguest: [${r.name}] powered off\n` : 'lguest: powered off\n');
          } else {
            io.stderr(multiple ? `lguest: [${r.name}] ${r.last.reason}\n` : `lguest: ${r.last.reason}\n`);
            io.stderr(exitLines);
            status = EXIT_FAILURE;
          }
        } else if (r.last.kind === 'running') {
          anyRunning = true;
        }
      }
      afterRound();
      // Halted for good: no timer, no input to come, and no running guest that could send a DMA.
      // Guests that ended have left `live`: with none left, none is halted.
      if (!inputOpen && live.size > 0 && [...live].every((r) => r.last.kind === 'idle' && r.last.wakeAtNs === null)) {
        for (const r of live)
          io.stderr(multiple ? `lguest: [${r.name}] ${NOTHING_CAN_WAKE}\n` : `lguest: ${NOTHING_CAN_WAKE}\n`);
        live.clear();
        status = EXIT_FAILURE;
        break;
      }
      const idle = [...live].filter((r) => r.last.kind === 'idle');
      const jumped = advanceIdleClocks(idle);
      if (anyRunning || jumped || live.size === 0) {
        await new Promise<void>((res) => setImmediate(res));
        continue;
      }
      // Every guest is halted and none is due: sleep until the soonest wake-up or keyboard input.
      let soonest: number | null = null;
      if (!fast) {
        for (const r of idle) {
          if (r.last.kind !== 'idle' || r.last.wakeAtNs === null) continue;
          const ahead = r.last.wakeAtNs - wallNs();
          soonest = soonest === null ? ahead : Math.min(soonest, ahead);
        }
      }
      await new Promise<void>((res) => {
        wake = res;
        if (soonest !== null) setTimeout(poke, Math.max(1, Math.ceil(soonest / 1e6)));
      });
      advanceIdleClocks(idle);
    }
  } finally {
    stopInput?.();
  }
  return exitStatus ?? status;
}

/** The real terminal: raw mode on a TTY (restored on the way out), bytes straight through. */
export function processIo(): CliIo {
  return {
    stdout: (b) => process.stdout.write(b),
    stderr: (t) => process.stderr.write(t),
    now: () => performance.now(),
    listenInput(onData, onEnd) {
      const stdin = process.stdin;
      const tty = stdin.isTTY === true;
      if (tty) stdin.setRawMode(true);
      const data = (chunk: Buffer) => onData(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      stdin.on('data', data);
      stdin.on('end', onEnd);
      stdin.resume();
      return () => {
        stdin.off('data', data);
        stdin.off('end', onEnd);
        if (tty) stdin.setRawMode(false);
        stdin.pause();
      };
    },
  };
}

export async function main(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  return runLguest(argv, processIo());
}
