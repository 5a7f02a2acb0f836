// The cost of seeing the machine work (`npx tsx bench/observability.ts`): the demo guest runs
// `bench` to a fixed instruction count with the exit trace and the profiler's sampling in each
// combination; each is timed several times, interleaved, and compared as guest instructions per
// second of this process's CPU time (less disturbed by other processes than wall time) against
// the run with neither. The exit trace is always on in the product; "off" here gives the guest a
// trace that records nothing, to measure what recording costs. On a loaded machine those
// separate processes differ by several percent from noise alone, so sampling is also measured
// paired: neighbouring slices of one guest's run, one sampled and one not, at the default
// interval and at ten times its rate.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ExitTrace } from '../core/host/exit-trace';
import { DEFAULT_SAMPLE_INTERVAL } from '../core/host/guest-sampler';
import type { Lguest } from '../core/host/lg';
import { GuestProfiler } from '../core/launcher/guest-profiler';
import { launchGuest } from '../core/launcher/launch';
import { replayTo } from '../core/launcher/replay';
import { kernelSymbols } from '../core/launcher/symbol-table';
import { userProgramSymbols } from '../core/launcher/user-program-symbols';
import { median } from './median';

const PROMPT = 1_500_000;
/**
 * `bench 20000000` takes about 300M instructions: with guest code compiled (some 2G instructions
 * per second) a tenth of that would be timed in 15 ms, too short for a CPU-time clock.
 */
const ITERATIONS = Number(process.env['OBS_BENCH_ITERATIONS'] ?? 20_000_000);
const END = PROMPT + Number(process.env['OBS_BENCH_INSTRUCTIONS'] ?? 280_000_000);
const RUNS = Number(process.env['OBS_BENCH_RUNS'] ?? 6);
const INTERVAL = Number(process.env['OBS_SAMPLE_INTERVAL'] ?? DEFAULT_SAMPLE_INTERVAL);

/** Runs per child process: warm-ups, then measured runs (their median is the child's result). */
const CHILD_WARMUPS = 2;
const CHILD_RUNS = 5;

interface Mode {
  name: string;
  trace: boolean;
  sampling: boolean;
}
const MODES: Mode[] = [
  { name: 'neither', trace: false, sampling: false },
  { name: 'trace (as shipped)', trace: true, sampling: false },
  { name: 'trace + sampling', trace: true, sampling: true },
];

/** A ratio to 1 as a signed change: 0.985 -> "-1.5%". */
const percent = (ratio: number): string => `${((ratio - 1) * 100).toFixed(1)}%`;

/** "Trace off": the same calls, recording nothing (the only trace class in its process). */
class UntracedExits extends ExitTrace {
  override record(): number {
    return 0;
  }
  override recordHypercall(): number {
    return 0;
  }
  override decide(): void {}
}

interface Phase {
  ips: number;
  exits: number;
  samples: number;
}

/** CPU milliseconds `work` takes in this process. */
function cpuMs(work: () => void): number {
  const cpu0 = process.cpuUsage();
  work();
  const used = process.cpuUsage(cpu0);
  return (used.user + used.system) / 1000;
}

/**
 * One run, in two timed phases: the boot to the prompt (exit-heavy: shadow faults, hypercalls,
 * the device set-up) and `bench` (guest code with few exits). Instructions per CPU second each.
 */
async function once(mode: Mode): Promise<{ boot: Phase; bench: Phase }> {
  let out = '';
  const guest = await launchGuest(
    { name: 'obs', kernel: 'builtin:demo', memoryMB: 32 },
    { consoleOutput: (b) => (out += new TextDecoder().decode(b)) },
    { bootEpochSeconds: 1_191_888_000 },
  );
  const lg = (guest.file as unknown as { guest: Lguest }).guest;
  if (!mode.trace) lg.trace = new UntracedExits(1);
  const profiler = new GuestProfiler(lg, {
    kernel: await kernelSymbols('builtin:demo'),
    programs: (await userProgramSymbols('builtin:demo')).programs,
  });
  if (mode.sampling) profiler.start(INTERVAL);
  const phase = (from: number, to: number, work: () => void): Phase => {
    const exits0 = lg.trace.recorded;
    const samples0 = profiler.profile().samples;
    const ms = cpuMs(work);
    return {
      ips: ((to - from) / ms) * 1000,
      exits: lg.trace.recorded - exits0,
      samples: profiler.profile().samples - samples0,
    };
  };
  const boot = phase(0, PROMPT, () => {
    if (replayTo(guest, PROMPT).kind !== 'reached') throw new Error('the demo guest did not reach its prompt');
  });
  const bench = phase(PROMPT, END, () => {
    const end = replayTo(guest, END, [{ at: PROMPT, bytes: new TextEncoder().encode(`bench ${ITERATIONS}\r`) }]);
    if (end.kind !== 'reached') throw new Error(`bench run ended early: ${JSON.stringify(end)}`);
  });
  if (!out.includes('integer')) throw new Error('bench did not start in the guest');
  guest.close();
  return { boot, bench };
}

/**
 * The paired measurement: a longer bench (80M iterations, about 1.2G instructions) cut into slices
 * of PAIR_SLICE instructions, in PAIR_GUESTS guests (the first only warms up).
 */
const PAIR_ITERATIONS = 80_000_000;
const PAIR_END = PROMPT + 1_100_000_000;
const PAIR_SLICE = Number(process.env['OBS_PAIR_SLICE'] ?? 40_000_000);
const PAIR_GUESTS = Number(process.env['OBS_PAIR_GUESTS'] ?? 8);

/**
 * Sampling's cost with a loaded machine's noise paired away: one guest (trace as shipped) runs
 * bench in slices of PAIR_SLICE instructions, neighbours paired, one of each pair sampled (in turn
 * the first and the second). Neighbours share the load of their moment and the bench loop they
 * run in; each pair gives sampled throughput over unsampled (CPU time without / with).
 */
async function pairedSampling(order: number, interval: number): Promise<number[]> {
  const guest = await launchGuest(
    { name: 'obs-paired', kernel: 'builtin:demo', memoryMB: 32 },
    { consoleOutput: () => {} },
    { bootEpochSeconds: 1_191_888_000 },
  );
  const lg = (guest.file as unknown as { guest: Lguest }).guest;
  const profiler = new GuestProfiler(lg, {
    kernel: await kernelSymbols('builtin:demo'),
    programs: (await userProgramSymbols('builtin:demo')).programs,
  });
  const bench = [{ at: PROMPT, bytes: new TextEncoder().encode(`bench ${PAIR_ITERATIONS}\r`) }];
  let at = PROMPT;
  if (replayTo(guest, at).kind !== 'reached') throw new Error('the demo guest did not reach its prompt');
  // One sampler throughout (starting one allocates its sample ring), attached to sampled slices only.
  profiler.start(interval);
  const sampler = lg.sampler;
  const slice = (sampled: boolean): number => {
    lg.sampler = sampled ? sampler : null;
    const ms = cpuMs(() => {
      const end = replayTo(guest, at + PAIR_SLICE, at === PROMPT ? bench : []);
      if (end.kind !== 'reached') throw new Error(`bench run ended early: ${JSON.stringify(end)}`);
    });
    at += PAIR_SLICE;
    return ms;
  };
  const ratios: number[] = [];
  for (let i = 0; at + 2 * PAIR_SLICE <= PAIR_END; i++) {
    const sampledFirst = (i + order) % 2 === 0;
    const first = slice(sampledFirst);
    const second = slice(!sampledFirst);
    // The first pair holds bench's start (its loop compiled, its pages faulted in): not steady.
    if (i > 0) ratios.push(sampledFirst ? second / first : first / second);
  }
  guest.close();
  return ratios;
}

/**
 * Each measurement runs in a fresh process of its own: with the recording and the non-recording
 * trace in one process, every call site would see two classes and all modes would slow down.
 */
function measureInChild(mode: Mode): { boot: Phase; bench: Phase } {
  const out = execFileSync(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url)], {
    env: { ...process.env, OBS_CHILD_MODE: mode.name },
    encoding: 'utf8',
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { boot: Phase; bench: Phase };
}

const childMode = MODES.find((m) => m.name === process.env['OBS_CHILD_MODE']);
if (childMode) {
  // Warm up (compile the host and CPU code paths), then report the median of a few runs.
  for (let i = 0; i < CHILD_WARMUPS; i++) await once(childMode);
  const runs: { boot: Phase; bench: Phase }[] = [];
  for (let i = 0; i < CHILD_RUNS; i++) runs.push(await once(childMode));
  const mid = (which: 'boot' | 'bench'): Phase =>
    [...runs.map((x) => x[which])].sort((a, b) => a.ips - b.ips)[CHILD_RUNS >> 1]!;
  console.log(JSON.stringify({ boot: mid('boot'), bench: mid('bench') }));
} else {
  const results = new Map<string, { boot: Phase; bench: Phase }[]>(MODES.map((m) => [m.name, []]));
  // Each round starts with another mode, so that none is always first: on a shared machine,
  // processes started seconds apart differ by up to 20% (see the spread printed below).
  for (let r = 0; r < RUNS; r++)
    for (let k = 0; k < MODES.length; k++) {
      const m = MODES[(r + k) % MODES.length]!;
      results.get(m.name)!.push(measureInChild(m));
    }
  console.log(
    `observability cost: demo guest, boot to the prompt (${PROMPT / 1e6}M instructions) and bench ${ITERATIONS} ` +
      `(${(END - PROMPT) / 1e6}M), sampling every ${INTERVAL}; median of ${RUNS} interleaved processes, the order rotating ` +
      `(each the median of ${CHILD_RUNS} runs after ${CHILD_WARMUPS} warm-ups), instructions per CPU second`,
  );
  // The boot phase is short and noisy; what recording costs per event bounds its share directly.
  const trace = new ExitTrace();
  const calls = 5_000_000;
  const ms = cpuMs(() => {
    for (let i = 0; i < calls; i++) trace.decide(trace.record(i, 14, i, i, 0), 1);
  });
  const nsPerEvent = (ms * 1e6) / calls;
  const boot = results.get('trace (as shipped)')!;
  const eventsPerSecond = median(boot.map((x) => (x.boot.exits / PROMPT) * x.boot.ips));
  console.log(
    `  recording one exit costs ${nsPerEvent.toFixed(1)} ns of CPU; the boot traces ${Math.round(eventsPerSecond)} ` +
      `events per CPU second, so recording takes ${((nsPerEvent * eventsPerSecond) / 1e7).toFixed(3)}% of it`,
  );
  for (const which of ['boot', 'bench'] as const) {
    const base = median(results.get('neither')!.map((x) => x[which].ips));
    for (const m of MODES) {
      const runs = results.get(m.name)!.map((x) => x[which]);
      const ips = median(runs.map((x) => x.ips));
      const d = runs[0]!;
      // The spread shows what separate processes can resolve on this machine at all.
      const all = runs.map((x) => x.ips);
      console.log(
        `  ${which.padEnd(5)} ${m.name.padEnd(20)} ${(ips / 1e6).toFixed(1).padStart(6)} M/s  ` +
          `${percent(ips / base).padStart(6)} (processes ${percent(Math.min(...all) / base)} to ${percent(Math.max(...all) / base)}; ` +
          `traced events ${m.trace ? d.exits : 0}, samples ${d.samples})`,
      );
    }
  }
  // At the default interval and ten times as often: a cost that comes from the samples grows
  // tenfold, one that comes from the run loop's shape does not.
  for (const interval of [INTERVAL, Math.max(1, Math.round(INTERVAL / 10))]) {
    const ratios: number[] = [];
    for (let g = 0; g < PAIR_GUESTS; g++) {
      const r = await pairedSampling(g, interval);
      if (g > 0) ratios.push(...r); // the first guest warms up the code paths
    }
    const sorted = [...ratios].sort((a, b) => a - b);
    console.log(
      `  sampling every ${interval}, paired in one process (${PAIR_SLICE / 1e6}M-instruction bench slices, ` +
        `${ratios.length} pairs after a warm-up guest): throughput ${percent(median(ratios))} ` +
        `(quartiles ${percent(sorted[Math.floor(sorted.length / 4)]!)} to ${percent(sorted[Math.floor((3 * sorted.length) / 4)]!)})`,
    );
  }
}
