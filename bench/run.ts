// CPU benchmark (`npm run bench`): small freestanding C programs built with gcc -m32 into flat
// images, run natively (for reference time) and on the emulated I386 at CPL 3 in the same
// flat user-mode machine the differential tests use. Each program's checksum must agree
// between every native and emulated run; a mismatch fails the benchmark.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { I386 } from '../core/cpu/cpu';
import { BENCH_BASE, BENCH_BYTES, BENCH_STACK_TOP } from '../core/cpu/difftest/layout';
import { NativeWorkspace } from '../core/cpu/difftest/native';
import { UserMachine } from '../core/cpu/difftest/user-machine';

const HERE = dirname(fileURLToPath(import.meta.url));
const ALL_PROGRAMS = ['sieve', 'crc32', 'bytecopy', 'qsort', 'strhash', 'mandel'];
/** Profiling convenience: BENCH_PROGRAMS=mandel,qsort runs only those programs. */
const PROGRAMS = process.env['BENCH_PROGRAMS']?.split(',') ?? ALL_PROGRAMS;
const RUNS = 5;
/** Native runs are cheap and noisier (cold caches on the first ones): take more of them. */
const NATIVE_RUNS = 11;
const INT3 = 3;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Compiles one program (plus crt0) to a flat image linked at BENCH_BASE. */
function build(dir: string, name: string): Uint8Array {
  const src = join(HERE, 'programs');
  const elf = join(dir, `${name}.elf`);
  const bin = join(dir, `${name}.bin`);
  execFileSync(
    'gcc',
    [
      '-m32',
      '-O2',
      '-static',
      '-nostdlib',
      '-ffreestanding',
      '-fno-pic',
      '-fno-pie',
      '-no-pie',
      '-fno-stack-protector',
      '-fno-asynchronous-unwind-tables',
      '-Wall',
      '-Wextra',
      '-Werror',
      '-Wl,--build-id=none',
      '-Wl,--no-warn-rwx-segments',
      '-T',
      join(src, 'link.ld'),
      '-o',
      elf,
      join(src, 'crt0.c'),
      join(src, `${name}.c`),
    ],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  execFileSync('objcopy', ['-O', 'binary', elf, bin]);
  return new Uint8Array(readFileSync(bin));
}

interface EmulatedRun {
  checksum: number;
  instructions: number;
  ms: number;
}

function runEmulated(machine: UserMachine, image: Uint8Array): EmulatedRun {
  const region = machine.view(BENCH_BASE, BENCH_BYTES);
  region.fill(0);
  region.set(image);
  const regs = new Array<number>(8).fill(0);
  regs[4] = BENCH_STACK_TOP - 16;
  machine.enter({ regs, eip: BENCH_BASE, eflags: 0x202, fcw: 0x37f });
  machine.cpu.dropCaches();
  const t0 = performance.now();
  let exit = machine.run(50_000_000);
  while (exit.kind === 'budget') exit = machine.run(50_000_000);
  const ms = performance.now() - t0;
  if (exit.vector !== INT3) {
    throw new Error(
      `emulated program stopped with vector ${exit.vector} (error ${exit.errorCode}) at eip 0x${machine.cpu.eip.toString(16)}`,
    );
  }
  return { checksum: machine.cpu.getReg(0), instructions: machine.cpu.instructionCount, ms };
}

function main(): void {
  const ws = new NativeWorkspace();
  const dir = mkdtempSync(join(tmpdir(), 'lguest-bench-'));
  const overall: number[] = [];
  let failed = false;
  try {
    const machine = new UserMachine((mem, owner) => new I386(mem, owner), BENCH_BYTES + (2 << 20), [
      { linear: BENCH_BASE, bytes: BENCH_BYTES, writable: true },
    ]);
    console.log('program    guest-instr   MIPS(median)  native(median)  emu/native');
    for (const name of PROGRAMS) {
      const image = build(dir, name);
      const native = ws.runBench(image, NATIVE_RUNS);
      runEmulated(machine, image); // warm-up (JIT), not counted
      const emulated: EmulatedRun[] = [];
      for (let i = 0; i < RUNS; i++) emulated.push(runEmulated(machine, image));
      const sums = new Set([...native.map(([s]) => s), ...emulated.map((e) => e.checksum)]);
      if (sums.size !== 1) {
        console.error(
          `CHECKSUM MISMATCH in ${name}: native ${native.map(([s]) => '0x' + s.toString(16)).join(',')} emulated ${emulated.map((e) => '0x' + e.checksum.toString(16)).join(',')}`,
        );
        failed = true;
        continue;
      }
      const counts = new Set(emulated.map((e) => e.instructions));
      if (counts.size !== 1)
        throw new Error(`${name}: instruction counts differ between runs: ${[...counts].join(', ')}`);
      const instructions = emulated[0]!.instructions;
      const mips = median(emulated.map((e) => instructions / e.ms / 1000));
      const nativeMs = median(native.map(([, ns]) => ns / 1e6));
      const emuMs = median(emulated.map((e) => e.ms));
      overall.push(mips);
      console.log(
        `${name.padEnd(10)} ${String(instructions).padStart(11)}   ${mips.toFixed(2).padStart(12)}  ${nativeMs.toFixed(3).padStart(11)} ms  ${(emuMs / nativeMs).toFixed(0).padStart(9)}x   (emulated ${emuMs.toFixed(0)} ms)`,
      );
    }
  } finally {
    ws.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  if (failed) {
    console.error('benchmark FAILED: emulated results differ from native ones');
    process.exit(1);
  }
  console.log(`overall median: ${median(overall).toFixed(2)} MIPS`);
}

main();
