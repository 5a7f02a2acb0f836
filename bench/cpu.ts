// CPU benchmark (the first section of `npm run bench`; alone: `npx tsx bench/cpu.ts`): the programs in bench/programs, each run the way real software
// runs, as a CPL-3 process with paging on inside an operating system (the harness kernel in
// bench/harness), side by side on
//   native  gcc -m32 flat image run as a Linux process (core/cpu/difftest/runner.c)
//   lguest  this emulator: the harness as an lguest guest through the real Launcher and host
//   v86     the harness as a multiboot kernel on v86 (npm), SeaBIOS from /usr/share/seabios,
//           in a process of its own kept for every round (v86-run.ts)
//   qemu    the same multiboot kernel on qemu-system-i386 -accel tcg, where it is installed
// Systems are interleaved within each round; each emulator boots once per round and runs every
// program, timed from the host between the harness's start/end console markers (boot excluded).
// Every checksum must equal the native one: a mismatch fails the benchmark.
//
// Knobs: BENCH_PROGRAMS=sieve,mandel (subset), BENCH_RUNS=N (rounds, default 3),
// BENCH_SYSTEMS=lguest,v86,qemu (which emulators).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NativeWorkspace } from '../core/cpu/difftest/native';
import { buildHarness, buildProgram } from './build';
import { demoLaunchToPromptMs, runOnLguest } from './lguest-run';
import type { HarnessRun } from './markers';
import { qemuMissing, runOnQemu } from './qemu-run';
import { runOnV86, v86Missing } from './v86-run';
import { median } from './median';

const ALL_PROGRAMS = ['sieve', 'crc32', 'bytecopy', 'qsort', 'strhash', 'mandel', 'mandel80'];
const PROGRAMS = process.env['BENCH_PROGRAMS']?.split(',') ?? ALL_PROGRAMS;
const RUNS = Number(process.env['BENCH_RUNS'] ?? 3);
const SYSTEMS = process.env['BENCH_SYSTEMS']?.split(',') ?? ['lguest', 'v86', 'qemu'];
const NATIVE_RUNS_PER_ROUND = 3;

type Emulator = 'lguest' | 'v86' | 'qemu';
const EMULATORS: {
  name: Emulator;
  missing: () => string | null;
  run: (k: { lguest: string; multiboot: string }) => Promise<HarnessRun>;
}[] = [
  { name: 'lguest', missing: () => null, run: (k) => runOnLguest(k.lguest) },
  { name: 'v86', missing: v86Missing, run: (k) => runOnV86(k.multiboot) },
  { name: 'qemu', missing: qemuMissing, run: (k) => runOnQemu(k.multiboot) },
];

const fmtMs = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)).padStart(8);
const fmtX = (x: number) => `${x.toFixed(2)}x`.padStart(8);

async function main(): Promise<void> {
  for (const p of PROGRAMS) if (!ALL_PROGRAMS.includes(p)) throw new Error(`unknown program "${p}" in BENCH_PROGRAMS`);
  if (!(RUNS >= 1)) throw new Error(`BENCH_RUNS must be a positive number, not "${process.env['BENCH_RUNS']}"`);
  const emulators = EMULATORS.filter((e) => SYSTEMS.includes(e.name)).filter((e) => {
    const why = e.missing();
    if (why) console.log(`${e.name}: skipped: ${why}`);
    return !why;
  });
  const ws = new NativeWorkspace();
  const dir = mkdtempSync(join(tmpdir(), 'lguest-bench-'));
  // times[system][program] = ms per round; sums[program] = every checksum seen, by system.
  const times = new Map<string, Map<string, number[]>>();
  const boots = new Map<string, number[]>();
  const sums = new Map<string, string[]>();
  const record = (system: string, name: string, checksum: number, ms: number) => {
    if (!times.has(system)) times.set(system, new Map());
    const t = times.get(system)!;
    t.set(name, [...(t.get(name) ?? []), ms]);
    sums.set(name, [...(sums.get(name) ?? []), `${system}=${checksum.toString(16)}`]);
  };
  try {
    const programs = PROGRAMS.map((name) => buildProgram(dir, name));
    const kernels = buildHarness(dir, programs);
    for (let round = 1; round <= RUNS; round++) {
      // Native runs are cheap and the noisiest (the machine's load comes and goes): several a round.
      for (const p of programs)
        for (const [checksum, ns] of ws.runBench(p.image, NATIVE_RUNS_PER_ROUND))
          record('native', p.name, checksum, ns / 1e6);
      for (const e of emulators) {
        const run = await e.run(kernels);
        boots.set(e.name, [...(boots.get(e.name) ?? []), run.bootMs]);
        for (const r of run.programs) record(e.name, r.name, r.checksum, r.ms);
      }
      process.stderr.write(`round ${round}/${RUNS} done\n`);
    }
  } finally {
    ws.dispose();
    rmSync(dir, { recursive: true, force: true });
  }

  let failed = false;
  for (const name of PROGRAMS) {
    const seen = sums.get(name) ?? [];
    if (new Set(seen.map((s) => s.split('=')[1])).size !== 1) {
      console.error(`CHECKSUM MISMATCH in ${name}: ${seen.join(' ')}`);
      failed = true;
    }
  }
  const systems = ['native', ...emulators.map((e) => e.name)];
  for (const s of systems)
    for (const name of PROGRAMS)
      if ((times.get(s)?.get(name)?.length ?? 0) !== RUNS * (s === 'native' ? NATIVE_RUNS_PER_ROUND : 1)) {
        console.error(`${s} did not report ${name} in every round`);
        failed = true;
      }
  if (failed) {
    console.error('benchmark FAILED');
    process.exit(1);
  }

  console.log(`medians of ${RUNS} interleaved rounds; ms, and the ratio to native`);
  console.log(['program   ', ...systems.map((s) => s.padStart(8) + (s === 'native' ? '' : '         '))].join(' '));
  const ratios = new Map<string, number[]>(emulators.map((e) => [e.name, []]));
  for (const name of PROGRAMS) {
    const nativeMs = median(times.get('native')!.get(name)!);
    const cells = [name.padEnd(10), fmtMs(nativeMs)];
    for (const e of emulators) {
      const ms = median(times.get(e.name)!.get(name)!);
      ratios.get(e.name)!.push(ms / nativeMs);
      cells.push(fmtMs(ms) + ' ' + fmtX(ms / nativeMs));
    }
    console.log(cells.join(' '));
  }
  console.log(
    `harness boot (launch to "bench: ready"): ${emulators.map((e) => `${e.name} ${median(boots.get(e.name)!).toFixed(0)} ms`).join(', ')}`,
  );
  const demo: number[] = [];
  for (let i = 0; i < RUNS; i++) demo.push(await demoLaunchToPromptMs());
  console.log(`demo guest launch to prompt (lguest --fast): ${median(demo).toFixed(0)} ms`);
  const summary = (name: Emulator) => {
    const r = ratios.get(name);
    return r ? `${median(r).toFixed(2)}x` : 'n/a';
  };
  console.log(`guest/native median: ${summary('lguest')} (v86 ${summary('v86')}, qemu ${summary('qemu')})`);
}

await main();
