// Builds what the benchmark runs: the bench programs as flat images (bench/programs, linked at
// 0x40000000), the program table, and the harness kernel (bench/harness) that runs them as CPL-3
// processes: as an lguest guest (ELF for the Launcher) and as a multiboot kernel (QEMU, v86).

import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROGRAMS = join(HERE, 'programs');
const HARNESS = join(HERE, 'harness');

export interface Program {
  name: string;
  image: Uint8Array;
}

export interface HarnessKernels {
  /** ELF for the lguest Launcher (PAGE_OFFSET 0xC0000000). */
  lguest: string;
  /** Flat multiboot image at 1 MiB. */
  multiboot: string;
}

const FREESTANDING = [
  '-m32',
  '-O2',
  '-ffreestanding',
  '-fno-pic',
  '-fno-pie',
  '-fno-stack-protector',
  '-fno-asynchronous-unwind-tables',
  '-Wall',
  '-Wextra',
  '-Werror',
];

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** Compiles one program (plus crt0) to a flat image linked at 0x40000000. */
export function buildProgram(dir: string, name: string, source = join(PROGRAMS, `${name}.c`)): Program {
  const elf = join(dir, `${name}.elf`);
  const bin = join(dir, `${name}.bin`);
  run('gcc', [
    ...FREESTANDING,
    '-static',
    '-nostdlib',
    '-no-pie',
    '-Wl,--build-id=none',
    '-Wl,--no-warn-rwx-segments',
    '-T',
    join(PROGRAMS, 'link.ld'),
    '-o',
    elf,
    '-I',
    PROGRAMS,
    join(PROGRAMS, 'crt0.c'),
    source,
  ]);
  run('objcopy', ['-O', 'binary', elf, bin]);
  return { name, image: new Uint8Array(readFileSync(bin)) };
}

/** The table the harness kernel embeds: "BPRG", count, then {name[16], offset, size} and the images. */
export function programTable(programs: Program[]): Uint8Array {
  const header = 8 + 24 * programs.length;
  const total = programs.reduce((n, p) => n + ((p.image.length + 3) & ~3), header);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode('BPRG'));
  view.setUint32(4, programs.length, true);
  let offset = header;
  programs.forEach((p, i) => {
    const entry = 8 + 24 * i;
    const name = new TextEncoder().encode(p.name);
    if (name.length > 15) throw new Error(`program name too long for the harness table: ${p.name}`);
    out.set(name, entry);
    view.setUint32(entry + 16, offset, true);
    view.setUint32(entry + 20, p.image.length, true);
    out.set(p.image, offset);
    offset += (p.image.length + 3) & ~3;
  });
  return out;
}

/** Builds both harness kernels around `programs` into `dir`. */
export function buildHarness(dir: string, programs: Program[]): HarnessKernels {
  writeFileSync(join(dir, 'programs.bin'), programTable(programs));
  const cflags = [...FREESTANDING, '-fno-builtin', '-fno-tree-loop-distribute-patterns', '-mgeneral-regs-only'];
  const obj = (name: string) => join(dir, `${name}.o`);
  for (const c of ['kernel', 'lguest', 'pc']) run('gcc', [...cflags, '-c', '-o', obj(c), join(HARNESS, `${c}.c`)]);
  for (const a of ['traps', 'programs', 'lguest-entry', 'pc-entry'])
    run('nasm', ['-f', 'elf32', '-I', `${dir}/`, '-o', obj(a), join(HARNESS, `${a}.asm`)]);
  const common = [obj('kernel'), obj('traps'), obj('programs')];
  const ld = ['-m', 'elf_i386', '-nostdlib', '--build-id=none', '-z', 'noexecstack', '--no-warn-rwx-segments'];
  const lguest = join(dir, 'harness-lguest.elf');
  run('ld', [...ld, '-T', join(HARNESS, 'lguest.ld'), '-o', lguest, obj('lguest-entry'), obj('lguest'), ...common]);
  const pcElf = join(dir, 'harness-pc.elf');
  const multiboot = join(dir, 'harness-pc.bin');
  run('ld', [...ld, '-T', join(HARNESS, 'pc.ld'), '-o', pcElf, obj('pc-entry'), obj('pc'), ...common]);
  run('objcopy', ['-O', 'binary', pcElf, multiboot]);
  return { lguest, multiboot };
}
