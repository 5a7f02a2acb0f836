// Debugger benchmark (`npx tsx bench/debugger.ts`): guest throughput of the demo guest's `bench`
// program detached, with the debugger attached (no breakpoints; with reverse-execution
// checkpoints; with 4 breakpoints off the hot path; with 4 of which one is in the hot loop's page
// but never reached; with 4 of which one is a conditional breakpoint on the hot loop, its condition
// false), and the time a reverse-stepi takes at the end of a window of 10^9 instructions. Every
// run starts from the same machine state.

import { readFileSync } from 'node:fs';
import { Debugger, GRID } from '../core/launcher/debug/debugger';
import { guestOf } from '../core/launcher/debug/guest-access';
import { elfSymbols } from '../core/launcher/symbol-table';
import { resolveGuestFile } from '../core/launcher/kernel-path';
import { launchGuest, type Launcher } from '../core/launcher/launch';
import { restoreGuest } from '../core/launcher/restore-guest';
import { machineStateOf, type MachineState } from '../core/snapshot/machine-snapshot';
import { median } from './median';

/** Instructions per throughput measurement (after a warm-up of the same length). */
const WORK = Number(process.env['DEBUG_BENCH_WORK'] ?? 100_000_000);
const WINDOW = Number(process.env['DEBUG_BENCH_WINDOW'] ?? 1_000_000_000);
const ROUNDS = Number(process.env['DEBUG_BENCH_ROUNDS'] ?? 5);
const quiet = { consoleOutput: () => {} };

function stepPlain(g: Launcher, n: number): void {
  const end = g.instructionCount! + n;
  while (g.instructionCount! < end) {
    const c = g.instructionCount!;
    const s = g.step(GRID - (c % GRID));
    if (s.kind === 'dead') throw new Error(s.reason);
    if (s.kind === 'idle') {
      if (s.wakeAtNs === null) throw new Error('the bench program ended before the measurement did');
      g.advanceClockTo(s.wakeAtNs);
    }
  }
}

function stepDebugged(d: Debugger, n: number): void {
  const end = d.count + n;
  d.resume();
  while (d.count < end) {
    const r = d.run(1);
    if (r.state === 'stopped') throw new Error(`the debugged machine stopped: ${JSON.stringify(r.reason)}`);
    if (r.state === 'idle') {
      if (r.wakeAtNs === null) throw new Error('the bench program ended before the measurement did');
      d.advanceClock(r.wakeAtNs);
    }
  }
  d.pause();
}

/**
 * Millions of instructions per second of this process's CPU time (user + system), which other
 * processes on a loaded machine disturb far less than they disturb the wall clock.
 */
function mips(run: () => void): number {
  const t = process.cpuUsage();
  run();
  const used = process.cpuUsage(t);
  return WORK / (used.user + used.system);
}

async function startState(): Promise<MachineState> {
  const g = await launchGuest({ name: 'demo', kernel: 'builtin:demo', memoryMB: 32 }, quiet, {
    bootEpochSeconds: 1_191_888_000,
  });
  stepPlain(g, 1_500_000);
  g.consoleInput(new TextEncoder().encode('bench 4000000000\n'));
  stepPlain(g, 5_000_000);
  const s = machineStateOf(g.exportMachineState());
  g.close();
  return s;
}

/** The EIP the bench program's hot loop is at most often (sampled every 997 instructions). */
function hotEip(s: MachineState): { eip: number; sampled: Set<number> } {
  const g = restoreGuest(s, quiet);
  const seen = new Map<number, number>();
  for (let i = 0; i < 2000; i++) {
    const st = g.step(997);
    if (st.kind !== 'running') throw new Error(`sampling the hot loop: the guest is ${st.kind}`);
    const eip = guestOf(g).cpu.eip;
    seen.set(eip, (seen.get(eip) ?? 0) + 1);
  }
  g.close();
  const eip = [...seen].sort((a, b) => b[1] - a[1])[0]![0];
  return { eip, sampled: new Set(seen.keys()) };
}

const symbols = elfSymbols(new Uint8Array(readFileSync(resolveGuestFile('builtin:demo'))));
const state = await startState();
const hot = hotEip(state);
/** An address in the hot loop's page that the loop never runs (the last byte, or the first). */
const hotPageIdle = [0xfff, 0].map((o) => (hot.eip & ~0xfff) | o).find((a) => !hot.sampled.has(a))!;
const coldBreakpoints = ['cmd_crash', 'cmd_halt', 'fs_format', 'blk_probe'].map((fn) => symbols.named(fn)!.address);
/** Each configuration keeps its own warmed-up machine; rounds alternate between them (a shared
 * machine's load drifts), and each configuration's median counts. */
interface Config {
  name: string;
  advance: (n: number) => void;
}
const configs: Config[] = [];
{
  const g = restoreGuest(state, quiet);
  configs.push({ name: 'detached', advance: (n) => stepPlain(g, n) });
}
type Bp = { address: number; condition?: string };
const cold: Bp[] = coldBreakpoints.map((address) => ({ address }));
for (const [name, timeline, breakpoints] of [
  ['attached, no breakpoints', null, []],
  ['attached, no breakpoints, reverse checkpoints', undefined, []],
  ['attached, 4 breakpoints off the hot path', null, cold],
  ['attached, 4 breakpoints, 1 in the hot page', null, [...cold.slice(0, 3), { address: hotPageIdle }]],
  [
    'attached, 4 breakpoints, 1 on the hot loop (false condition)',
    null,
    [...cold.slice(0, 3), { address: hot.eip, condition: 'esp == 1' }],
  ],
] as [string, null | undefined, Bp[]][]) {
  const d = new Debugger(restoreGuest(state, quiet), { events: quiet, ...(timeline === null ? { timeline } : {}) });
  for (const bp of breakpoints) d.addBreakpoint(bp.address, { condition: bp.condition ?? null });
  configs.push({ name, advance: (n) => stepDebugged(d, n) });
}
console.log(`hot loop at 0x${hot.eip.toString(16)}; idle breakpoint in its page at 0x${hotPageIdle.toString(16)}`);
for (const c of configs) c.advance(WORK);
const samples = configs.map(() => [] as number[]);
for (let round = 0; round < ROUNDS; round++) configs.forEach((c, i) => samples[i]!.push(mips(() => c.advance(WORK))));
const medians = samples.map(median);
for (const [i, c] of configs.entries())
  console.log(
    `${c.name.padEnd(62)} ${medians[i]!.toFixed(1).padStart(7)} MIPS (per CPU second)  ${((medians[i]! / medians[0]!) * 100).toFixed(1).padStart(6)}% of detached` +
      `  (runs: ${samples[i]!.map((m) => m.toFixed(1)).join(', ')})`,
  );

{
  const d = new Debugger(restoreGuest(state, quiet), { events: quiet });
  const t0 = performance.now();
  stepDebugged(d, WINDOW);
  const recorded = performance.now() - t0;
  const at = d.count;
  const eip = d.processor.eip;
  const t = performance.now();
  d.reverseStep();
  const ms = performance.now() - t;
  if (d.count !== at - 1) throw new Error(`reverse-stepi reached ${d.count}, not ${at - 1}`);
  const tl = d.timeline!;
  console.log(
    `reverse-stepi after ${WINDOW} instructions (${(recorded / 1000).toFixed(1)} s to record): ${ms.toFixed(0)} ms ` +
      `(from eip 0x${eip.toString(16)}; ${tl.checkpoints.length} checkpoints, ${(tl.bytes / 1048576).toFixed(1)} MiB, every ${tl.spacing} instructions)`,
  );
  d.machine.close();
}
