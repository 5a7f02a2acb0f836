// A small hand-built protected-mode machine for tests: flat GDT in the lguest layout, an IDT whose
// gates exit to ring 0 by default, a TSS with a ring-1 stack, and identity-mapped page tables.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { I386 } from './cpu';
import { PhysicalMemory } from './memory';
import type { CpuExit } from './types';

export const GDT = 0x1000,
  IDT = 0x2000,
  TSS = 0x3000,
  PD = 0x4000,
  PT = 0x5000;
export const CODE = 0x10000,
  DATA = 0x20000,
  STACK1 = 0x30000,
  STACK3 = 0x38000;
export const KCS = 0x61,
  KDS = 0x69,
  UCS = 0x73,
  UDS = 0x7b,
  HOST_CS = 0x50,
  TSS_SEL = 0x80;

export function descriptor(base: number, limit: number, access: number, flags = 0xc): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi =
    (base & 0xff000000) | ((flags & 0xf) << 20) | (limit & 0xf0000) | ((access & 0xff) << 8) | ((base >>> 16) & 0xff);
  return [lo >>> 0, hi >>> 0];
}

export interface TestMachine {
  mem: PhysicalMemory;
  cpu: I386;
  tsc: { value: number };
  setGdt(index: number, d: [number, number]): void;
  setGate(vector: number, selector: number, offset: number, type: number, dpl: number): void;
  load(addr: number, bytes: number[] | Uint8Array): void;
  u32(addr: number): number;
  /** Sets the page-table entry for a linear page in the first 4 MiB. */
  setPte(linear: number, value: number): void;
  pte(linear: number): number;
}

/** Builds the machine and enters it at CODE with CPL 1 (or 3); `sharedRam`: RAM in a SharedArrayBuffer. */
export function makeMachine(opts: { cpl?: 1 | 3; ramBytes?: number; sharedRam?: boolean } = {}): TestMachine {
  const mem = new PhysicalMemory(opts.ramBytes ?? 4 * 1024 * 1024, opts.sharedRam === true);
  const tsc = { value: 0x123456789 };
  const cpu = new I386(mem, { readTsc: () => tsc.value });
  const dv = mem.ramView;
  const m: TestMachine = {
    mem,
    cpu,
    tsc,
    setGdt(index, [lo, hi]) {
      dv.setUint32(GDT + index * 8, lo, true);
      dv.setUint32(GDT + index * 8 + 4, hi, true);
    },
    setGate(vector, selector, offset, type, dpl) {
      dv.setUint32(IDT + vector * 8, ((selector & 0xffff) << 16) | (offset & 0xffff), true);
      dv.setUint32(IDT + vector * 8 + 4, ((offset & 0xffff0000) | 0x8000 | (dpl << 13) | (type << 8)) >>> 0, true);
    },
    load(addr, bytes) {
      mem.ram.set(bytes, addr);
      mem.written(addr, bytes.length);
    },
    u32(addr) {
      return dv.getUint32(addr, true);
    },
    setPte(linear, value) {
      dv.setUint32(PT + (linear >>> 12) * 4, value >>> 0, true);
    },
    pte(linear) {
      return dv.getUint32(PT + (linear >>> 12) * 4, true);
    },
  };
  m.setGdt(10, descriptor(0, 0xfffff, 0x9b));
  m.setGdt(11, descriptor(0, 0xfffff, 0x93));
  m.setGdt(12, descriptor(0, 0xfffff, 0xbb));
  m.setGdt(13, descriptor(0, 0xfffff, 0xb3));
  m.setGdt(14, descriptor(0, 0xfffff, 0xfb));
  m.setGdt(15, descriptor(0, 0xfffff, 0xf3));
  m.setGdt(16, descriptor(TSS, 0x67, 0x8b, 0));
  for (let v = 0; v < 256; v++) m.setGate(v, HOST_CS, 0xdead0000 + v, 0xe, 0);
  m.setGate(0x1f, HOST_CS, 0xdead001f, 0xe, 1);
  dv.setUint32(TSS + 4, 0, true);
  dv.setUint32(TSS + 12, STACK1, true); // ESP1
  dv.setUint32(TSS + 16, KDS, true); // SS1
  // Identity map 4 MiB, user + writable.
  dv.setUint32(PD, PT | 7, true);
  for (let p = 0; p < 1024; p++) dv.setUint32(PT + p * 4, (p << 12) | 7, true);
  cpu.cr0 = 0x80010033;
  cpu.cr3 = PD;
  cpu.gdtr = { base: GDT, limit: 32 * 8 - 1 };
  cpu.idtr = { base: IDT, limit: 256 * 8 - 1 };
  cpu.setTaskRegister(TSS_SEL, TSS, 0x67);
  const user = opts.cpl === 3;
  cpu.setSelector(1, user ? UCS : KCS);
  for (const s of [0, 2, 3] as const) cpu.setSelector(s, user ? UDS : KDS);
  cpu.setSelector(4, 0);
  cpu.setSelector(5, 0);
  cpu.eflags = 0x202;
  cpu.eip = CODE;
  cpu.setReg(4, user ? STACK3 : STACK1);
  if (!cpu.loadSegmentsFromSelectors()) throw new Error('test machine segments do not load');
  return m;
}

export function exitOf(e: CpuExit): { vector: number; errorCode: number; cr2: number } {
  if (e.kind !== 'exit') throw new Error(`expected an exit, got ${e.kind}`);
  return { vector: e.vector, errorCode: e.errorCode, cr2: e.cr2 };
}

let nasmDir: string | null = null;
/** Assembles 32-bit NASM source (flat binary, origin CODE unless given). */
export function asm(source: string, origin = CODE): Uint8Array {
  nasmDir ??= mkdtempSync(join(tmpdir(), 'cpu-nasm-'));
  const src = join(nasmDir, 'a.asm'),
    out = join(nasmDir, 'a.bin');
  writeFileSync(src, `bits 32\norg 0x${origin.toString(16)}\n${source}\n`);
  execFileSync('nasm', ['-f', 'bin', '-o', out, src]);
  return new Uint8Array(readFileSync(out));
}

/** A small deterministic xorshift generator of uint32 values (for fuzz tests). */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
}
