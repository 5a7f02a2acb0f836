// A debugger's access to one running guest: its CPU and host record behind a Launcher, its
// registers in gdb's i386 order, and its memory by guest-virtual address through the guest's own
// page tables (the ones it loaded into its virtual CR3), never through the CPU's TLB.

import { I386 } from '../../cpu/cpu';
import { CS, DS, ES, FS, GS, SS, type Reg32, type SegReg } from '../../cpu/types';
import { guestTranslate } from '../../host/inspect';
import type { Lguest } from '../../host/lg';
import { LguestFileImpl } from '../../host/lguest-user';
import type { Launcher } from '../launch';

/** gdb's i386 register numbers 0-15: eax..edi, eip, eflags, cs, ss, ds, es, fs, gs. */
export const GDB_REG_COUNT = 16;
export const GDB_EIP = 8,
  GDB_EFLAGS = 9;
const GDB_SEGS: readonly SegReg[] = [CS, SS, DS, ES, FS, GS];
export const GDB_REG_NAMES: readonly string[] = [
  'eax',
  'ecx',
  'edx',
  'ebx',
  'esp',
  'ebp',
  'esi',
  'edi',
  'eip',
  'eflags',
  'cs',
  'ss',
  'ds',
  'es',
  'fs',
  'gs',
];

/** The host's record and the CPU of a Launcher's guest; throws when the host keeps them hidden. */
export function guestOf(l: Launcher): { lg: Lguest; cpu: I386 } {
  const file = l.file;
  if (!(file instanceof LguestFileImpl) || file.guest === null)
    throw new Error('the debugger needs the built-in lguest host with a running guest');
  const lg = file.guest;
  if (!(lg.cpu instanceof I386)) throw new Error('the debugger needs the i386 emulator');
  return { lg, cpu: lg.cpu };
}

/** The guest-physical address of the page directory the guest runs on (its virtual CR3). */
export function guestCr3(lg: Lguest): number {
  return lg.state.pgdirs[lg.state.currentPgdir]?.cr3 ?? 0;
}

/** Register `n` in gdb's numbering (unsigned). */
export function readGdbRegister(cpu: I386, n: number): number {
  if (n < 8) return cpu.getReg(n as Reg32);
  if (n === GDB_EIP) return cpu.eip;
  if (n === GDB_EFLAGS) return cpu.eflags;
  const s = GDB_SEGS[n - 10];
  if (s === undefined) throw new RangeError(`no register ${n}`);
  return cpu.getSegment(s).selector;
}

/**
 * Writes register `n`. General registers, EIP and EFLAGS (the bits ring 0 may set) are writable;
 * a segment register only to its current value (a new selector needs a descriptor load the
 * debugger does not perform). Returns false for a refused write.
 */
export function writeGdbRegister(cpu: I386, n: number, value: number): boolean {
  if (n < 8) cpu.setReg(n as Reg32, value);
  else if (n === GDB_EIP) cpu.eip = value;
  else if (n === GDB_EFLAGS) cpu.eflags = value;
  else if (n < GDB_REG_COUNT) return readGdbRegister(cpu, n) === (value & 0xffff);
  else return false;
  return true;
}

/** Reads `len` bytes at guest-virtual `va`; null when any byte is not mapped. */
export function readVirtual(lg: Lguest, va: number, len: number): Uint8Array | null {
  const out = new Uint8Array(len);
  const cr3 = guestCr3(lg);
  let done = 0;
  while (done < len) {
    const at = (va + done) >>> 0;
    const phys = guestTranslate(lg, cr3, at).phys;
    const n = Math.min(len - done, 4096 - (at & 0xfff));
    if (phys === null || !lg.mem.isRam(phys, n)) return null;
    out.set(lg.mem.ram.subarray(phys, phys + n), done);
    done += n;
  }
  return out;
}

/** Writes bytes at guest-virtual `va` (all or nothing); false when any byte is not mapped. */
export function writeVirtual(lg: Lguest, cpu: I386, va: number, bytes: Uint8Array): boolean {
  const cr3 = guestCr3(lg);
  const pieces: [number, number, number][] = [];
  for (let done = 0; done < bytes.length; ) {
    const at = (va + done) >>> 0;
    const phys = guestTranslate(lg, cr3, at).phys;
    const n = Math.min(bytes.length - done, 4096 - (at & 0xfff));
    if (phys === null || !lg.mem.isRam(phys, n)) return false;
    pieces.push([phys, done, n]);
    done += n;
  }
  for (const [phys, from, n] of pieces) {
    lg.mem.ram.set(bytes.subarray(from, from + n), phys);
    lg.mem.written(phys, n); // the next snapshot's RAM delta has these pages
  }
  // Decoded code may have been overwritten: forget every derived cache.
  cpu.dropCaches();
  return true;
}
