// The native half of the differential harness: builds runner.c with gcc -m32, assembles the
// snippets with NASM, runs them on the real CPU and parses one result line per case.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_BYTES, WINDOW } from './layout';

const HERE = dirname(fileURLToPath(import.meta.url));

/** What one case left behind, natively or emulated. */
export interface CaseResult {
  vector: number;
  errorCode: number;
  cr2: number;
  eip: number;
  regs: number[];
  eflags: number;
  fcw: number;
  fsw: number;
  ftw: number;
  /** ST(0)..ST(7) as 20 hex digits: sign/exponent (4) then significand (16). */
  st: string[];
  /** The whole data area (DATA_BYTES) after the case. */
  data: Uint8Array;
}

/** One case as the runner reads it. */
export interface NativeInput {
  entry: number; // offset in the code image
  regs: number[];
  eflags: number;
  fcw: number;
  window: Uint8Array;
}

export class ToolMissing extends Error {}

/** Checks that nasm and a 32-bit gcc are present; throws naming the packages otherwise. */
export function requireTools(): void {
  const hint = 'install them with: apt-get install -y nasm gcc-multilib';
  const nasm = spawnSync('nasm', ['-v'], { encoding: 'utf8' });
  if (nasm.error || nasm.status !== 0) throw new ToolMissing(`nasm is not installed (${hint})`);
  const dir = mkdtempSync(join(tmpdir(), 'lguest-m32-'));
  try {
    writeFileSync(join(dir, 't.c'), 'int main(void){return 0;}\n');
    const gcc = spawnSync('gcc', ['-m32', '-static', '-o', join(dir, 't'), join(dir, 't.c')], { encoding: 'utf8' });
    if (gcc.error || gcc.status !== 0) {
      throw new ToolMissing(
        `gcc -m32 -static cannot build 32-bit programs: gcc-multilib is missing (${hint})\n${gcc.stderr ?? ''}`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A scratch directory holding the built runner; call dispose() when done. */
export class NativeWorkspace {
  readonly dir: string;
  readonly runner: string;

  constructor() {
    requireTools();
    this.dir = mkdtempSync(join(tmpdir(), 'lguest-difftest-'));
    this.runner = join(this.dir, 'runner');
    try {
      execFileSync(
        'gcc',
        ['-m32', '-static', '-O1', '-fno-pie', '-no-pie', '-Wall', '-o', this.runner, join(HERE, 'runner.c')],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (e) {
      this.dispose();
      throw e;
    }
  }

  /** Assembles NASM source (bits 32, org given by the source) into a flat binary. */
  assemble(source: string, name = 'snippets'): Uint8Array {
    const src = join(this.dir, `${name}.asm`);
    const out = join(this.dir, `${name}.bin`);
    writeFileSync(src, source);
    const r = spawnSync('nasm', ['-f', 'bin', '-O0', '-o', out, src], { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (r.status !== 0) throw new Error(`nasm failed:\n${r.stderr.split('\n').slice(0, 20).join('\n')}`);
    return new Uint8Array(readFileSync(out));
  }

  /** Runs every case natively; returns results in order. */
  runCases(code: Uint8Array, cases: NativeInput[]): CaseResult[] {
    const rec = 4 + 32 + 4 + 4 + WINDOW;
    const buf = new Uint8Array(4 + cases.length * rec);
    const dv = new DataView(buf.buffer);
    dv.setUint32(0, cases.length, true);
    cases.forEach((c, i) => {
      const o = 4 + i * rec;
      dv.setUint32(o, c.entry >>> 0, true);
      for (let r = 0; r < 8; r++) dv.setUint32(o + 4 + r * 4, c.regs[r]! >>> 0, true);
      dv.setUint32(o + 36, c.eflags >>> 0, true);
      dv.setUint32(o + 40, c.fcw >>> 0, true);
      buf.set(c.window, o + 44);
    });
    const codePath = join(this.dir, 'code.bin');
    const casesPath = join(this.dir, 'cases.bin');
    writeFileSync(codePath, code);
    writeFileSync(casesPath, buf);
    const r = spawnSync(this.runner, ['diff', codePath, casesPath], { encoding: 'utf8', maxBuffer: 1 << 30 });
    if (r.status !== 0) {
      const reached = r.stdout.split('\n').filter((l) => l.length > 0).length;
      throw new Error(`native runner failed at case #${reached} (status ${r.status}, signal ${r.signal}): ${r.stderr}`);
    }
    const lines = r.stdout.split('\n').filter((l) => l.length > 0);
    if (lines.length !== cases.length)
      throw new Error(`native runner printed ${lines.length} results for ${cases.length} cases`);
    return lines.map((line, i) => parseLine(line, cases[i]!.window));
  }

  /** Runs a flat benchmark program `runs` times: [checksum, nanoseconds] per run. */
  runBench(image: Uint8Array, runs: number): [number, number][] {
    const path = join(this.dir, 'bench.bin');
    writeFileSync(path, image);
    const r = spawnSync(this.runner, ['bench', path, String(runs)], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`native bench run failed: ${r.stderr}`);
    return r.stdout
      .trim()
      .split('\n')
      .map((l) => {
        const [sum, ns] = l.split(' ');
        return [parseInt(sum!, 16) >>> 0, Number(ns)];
      });
  }

  dispose(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function parseLine(line: string, windowIn: Uint8Array): CaseResult {
  const [head, mem] = line.split(' m');
  const f = head!.split(' ');
  const h = (i: number): number => parseInt(f[i]!, 16) >>> 0;
  const data = new Uint8Array(DATA_BYTES);
  data.set(windowIn);
  for (const item of (mem ?? '').trim().split(' ')) {
    if (!item) continue;
    const [off, val] = item.split('=');
    data[parseInt(off!, 16)] = parseInt(val!, 16);
  }
  return {
    vector: h(0),
    errorCode: h(1),
    cr2: h(2),
    eip: h(3),
    regs: [4, 5, 6, 7, 8, 9, 10, 11].map(h),
    eflags: h(12),
    fcw: h(13),
    fsw: h(14),
    ftw: h(15),
    st: f.slice(16, 24),
    data,
  };
}
