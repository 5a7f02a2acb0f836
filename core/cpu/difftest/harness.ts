// Runs differential cases on the real CPU (native runner) and on the emulator (user-mode
// machine at CPL 3), and compares what each left behind: exception vector and error code,
// EIP, general registers, EFLAGS (masked), x87 control/status/tag words and registers, and the
// data window.

import { CODE_BASE, DATA_BASE, DATA_BYTES } from './layout';
import type { DiffCase } from './cases';
import { NativeWorkspace, type CaseResult, type NativeInput } from './native';
import { UserMachine, type CpuFactory } from './user-machine';
import { PAGE_SIZE } from '../memory';

export interface Mismatch {
  index: number;
  c: DiffCase;
  what: string;
  native: CaseResult;
  emulated: CaseResult | string;
}

/** Assembles all snippets into one image whose first 4*N bytes are the entry offsets. */
export function buildSource(cases: DiffCase[]): string {
  const lines = ['bits 32', `org ${CODE_BASE}`, 'entries:'];
  for (let i = 0; i < cases.length; i += 16) {
    const chunk = cases.slice(i, i + 16).map((_, j) => `c${i + j} - $$`);
    lines.push(`    dd ${chunk.join(', ')}`);
  }
  cases.forEach((c, i) => {
    lines.push(`c${i}:`, c.asm, '    int3');
  });
  return lines.join('\n') + '\n';
}

function entries(image: Uint8Array, n: number): number[] {
  const dv = new DataView(image.buffer, image.byteOffset, image.byteLength);
  return Array.from({ length: n }, (_, i) => dv.getUint32(i * 4, true));
}

/**
 * An 80-bit value (as the runner prints it: sign/exponent, then significand) as a signed integer
 * in which adjacent finite values differ by one (one unit in the 64th significand bit).
 */
function extendedOrder(h: string): bigint {
  const se = parseInt(h.slice(0, 4), 16);
  const sig = BigInt('0x' + h.slice(4));
  const key = (BigInt(se & 0x7fff) << 63n) + (sig & ((1n << 63n) - 1n));
  return se & 0x8000 ? -key : key;
}

/** An 80-bit register of X87State.regs as the runner prints it (sign/exponent, then significand). */
function registerHex(regs: Uint32Array, p: number): string {
  const h = (v: number, n: number): string => (v >>> 0).toString(16).padStart(n, '0');
  return h(regs[p * 3 + 2]!, 4) + h(regs[p * 3 + 1]!, 8) + h(regs[p * 3]!, 8);
}

/** The emulated result of one case. */
function emulate(m: UserMachine, c: DiffCase, entry: number): CaseResult | string {
  const data = m.view(DATA_BASE, DATA_BYTES);
  data.fill(0);
  data.set(c.window);
  m.enter({ regs: c.regs, eip: CODE_BASE + entry, eflags: c.eflags, fcw: c.fcw });
  let exit;
  try {
    exit = m.run(100_000);
  } catch (e) {
    return `emulator threw: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (exit.kind !== 'exit') return 'emulator did not exit within 100000 instructions';
  const s = m.cpu.exportState();
  const x = s.x87;
  const top = (x.status >>> 11) & 7;
  return {
    vector: exit.vector,
    errorCode: exit.errorCode >>> 0,
    cr2: exit.vector === 14 ? exit.cr2 >>> 0 : 0,
    eip: s.eip >>> 0,
    regs: Array.from(s.gpr, (v) => v >>> 0),
    eflags: s.eflags >>> 0,
    fcw: x.control,
    fsw: x.status,
    ftw: x.tag,
    st: Array.from({ length: 8 }, (_, i) => registerHex(x.regs, (top + i) & 7)),
    data: data.slice(),
  };
}

const REGS = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const hex = (n: number): string => '0x' + (n >>> 0).toString(16);

/** The first difference between native and emulated results, or null when they agree. */
export function compareResults(c: DiffCase, n: CaseResult, e: CaseResult): string | null {
  if (n.vector !== e.vector) return `vector ${n.vector} vs ${e.vector}`;
  const hasError = n.vector === 8 || (n.vector >= 10 && n.vector <= 14) || n.vector === 17;
  // Page-fault error bit 4 (instruction fetch) exists only with NX paging, which an i386 lacks.
  const errMask = n.vector === 14 ? ~0x10 : ~0;
  if (hasError && (n.errorCode ^ e.errorCode) & errMask) return `error code ${hex(n.errorCode)} vs ${hex(e.errorCode)}`;
  if (n.vector === 14 && n.cr2 !== e.cr2) return `cr2 ${hex(n.cr2)} vs ${hex(e.cr2)}`;
  if (n.eip !== e.eip) return `eip ${hex(n.eip)} vs ${hex(e.eip)}`;
  for (let r = 0; r < 8; r++) if (n.regs[r] !== e.regs[r]) return `${REGS[r]} ${hex(n.regs[r]!)} vs ${hex(e.regs[r]!)}`;
  if ((n.eflags ^ e.eflags) & c.flagsMask)
    return `eflags ${hex(n.eflags)} vs ${hex(e.eflags)} (compared bits ${hex(c.flagsMask)})`;
  if (n.fcw !== e.fcw) return `x87 control ${hex(n.fcw)} vs ${hex(e.fcw)}`;
  const fswMask = c.fswMask ?? 0xffff;
  if ((n.fsw ^ e.fsw) & fswMask) return `x87 status ${hex(n.fsw)} vs ${hex(e.fsw)} (compared bits ${hex(fswMask)})`;
  if (n.ftw !== e.ftw) return `x87 tag ${hex(n.ftw)} vs ${hex(e.ftw)}`;
  const top = (n.fsw >>> 11) & 7;
  for (let i = 0; i < 8; i++) {
    if (((n.ftw >>> (((top + i) & 7) * 2)) & 3) === 3) continue; // empty: contents are stale
    const a = n.st[i]!,
      b = e.st[i]!;
    if (a === b) continue;
    const ulps = c.fpuUlps ?? 0;
    if (ulps > 0 && (parseInt(a.slice(0, 4), 16) & 0x7fff) !== 0x7fff) {
      const d = extendedOrder(a) - extendedOrder(b);
      if (d <= BigInt(ulps) && d >= -BigInt(ulps)) continue;
    }
    return `ST(${i}) ${a} vs ${b}${ulps ? ` (beyond ${ulps} ulp)` : ''}`;
  }
  if (Buffer.compare(n.data, e.data) === 0) return null;
  for (let i = 0; i < DATA_BYTES; i++) {
    if (n.data[i] === e.data[i]) continue;
    if (c.ignore?.some(([s, t]) => i >= s && i < t)) continue;
    return `memory [${hex(DATA_BASE + i)}] ${hex(n.data[i]!)} vs ${hex(e.data[i]!)}`;
  }
  return null;
}

export interface SuiteResult {
  cases: number;
  mismatches: Mismatch[];
  /** The exception vector each case ended with natively (3 = ran to its final INT3). */
  nativeVectors: number[];
  nativeMs: number;
  emulatedMs: number;
}

/** Runs every case natively and emulated and returns the mismatches. */
export function runDifferential(factory: CpuFactory, cases: DiffCase[]): SuiteResult {
  const ws = new NativeWorkspace();
  try {
    const image = ws.assemble(buildSource(cases));
    const offsets = entries(image, cases.length);
    const t0 = performance.now();
    const inputs: NativeInput[] = cases.map((c, i) => ({
      entry: offsets[i]!,
      regs: c.regs,
      eflags: c.eflags,
      fcw: c.fcw,
      window: c.window,
    }));
    const native = ws.runCases(image, inputs);
    const t1 = performance.now();
    const codeBytes = Math.ceil(image.length / PAGE_SIZE) * PAGE_SIZE;
    const machine = new UserMachine(factory, codeBytes + DATA_BYTES + (2 << 20), [
      { linear: CODE_BASE, bytes: codeBytes, writable: false },
      { linear: DATA_BASE, bytes: DATA_BYTES, writable: true },
    ]);
    machine.write(CODE_BASE, image);
    const mismatches: Mismatch[] = [];
    cases.forEach((c, i) => {
      const e = emulate(machine, c, offsets[i]!);
      const n = native[i]!;
      const what = typeof e === 'string' ? e : compareResults(c, n, e);
      if (what) mismatches.push({ index: i, c, what, native: n, emulated: e });
    });
    const t2 = performance.now();
    return {
      cases: cases.length,
      mismatches,
      nativeVectors: native.map((r) => r.vector),
      nativeMs: t1 - t0,
      emulatedMs: t2 - t1,
    };
  } finally {
    ws.dispose();
  }
}

/** A readable report of one mismatch. */
export function describeMismatch(m: Mismatch): string {
  const lines = [
    `#${m.index} ${m.c.form}: ${m.what}`,
    `  code:   ${m.c.asm.trim().replace(/\n\s*/g, '; ')}`,
    `  inputs: ${m.c.inputs}`,
  ];
  const fmt = (r: CaseResult): string =>
    `vec=${r.vector} err=${hex(r.errorCode)} eip=${hex(r.eip)} ${r.regs.map((v, i) => `${REGS[i]}=${hex(v)}`).join(' ')} efl=${hex(r.eflags)} fsw=${hex(r.fsw)} ftw=${hex(r.ftw)} st0=${r.st[0]}`;
  lines.push(`  native:   ${fmt(m.native)}`);
  lines.push(`  emulated: ${typeof m.emulated === 'string' ? m.emulated : fmt(m.emulated)}`);
  return lines.join('\n');
}
