// What changed between two machine states (two snapshots, or a snapshot and now): the guest pages
// whose bytes differ, as a count and as ranges of guest-physical addresses, and the registers.

import { PAGE_SIZE } from '../cpu/memory';
import type { MachineState } from './machine-snapshot';
import type { SparsePages } from './sparse-pages';

/** [start, end) in bytes; for guest pages, guest-physical addresses. */
export interface ByteRange {
  start: number;
  end: number;
}

export interface RegisterChange {
  name: string;
  a: number;
  b: number;
}

export interface StateDiff {
  pages: { changed: number; ranges: ByteRange[] };
  registers: RegisterChange[];
}

/** Where each stored page's 4 KiB sit in `data`. */
function pageIndex(s: SparsePages): Map<number, number> {
  const m = new Map<number, number>();
  s.present.forEach((p, i) => m.set(p, i * PAGE_SIZE));
  return m;
}

/** Page numbers whose contents differ (an absent page is all zeros). */
export function changedPages(a: SparsePages, b: SparsePages): number[] {
  const ia = pageIndex(a);
  const ib = pageIndex(b);
  const zero = new Uint8Array(PAGE_SIZE);
  const out: number[] = [];
  for (let p = 0, n = Math.max(a.pages, b.pages); p < n; p++) {
    const oa = ia.get(p);
    const ob = ib.get(p);
    if (oa === undefined && ob === undefined) continue;
    const pa = oa === undefined ? zero : a.data.subarray(oa, oa + PAGE_SIZE);
    const pb = ob === undefined ? zero : b.data.subarray(ob, ob + PAGE_SIZE);
    if (Buffer.compare(pa, pb) !== 0) out.push(p);
  }
  return out;
}

/** Ascending unit numbers (pages, blocks) as byte ranges, neighbours merged. */
export function unitRanges(units: readonly number[], unitBytes: number): ByteRange[] {
  const out: ByteRange[] = [];
  for (const u of units) {
    const last = out[out.length - 1];
    if (last && last.end === u * unitBytes) last.end += unitBytes;
    else out.push({ start: u * unitBytes, end: (u + 1) * unitBytes });
  }
  return out;
}

const GPR_NAMES = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

/** The CPU's registers as name -> value (the visible ones and the descriptor caches' bases). */
function registers(s: MachineState): Map<string, number> {
  const c = s.cpu;
  const r = new Map<string, number>();
  GPR_NAMES.forEach((n, i) => r.set(n, c.gpr[i]! >>> 0));
  r.set('eip', c.eip >>> 0);
  r.set('eflags', c.eflags >>> 0);
  for (const k of ['cr0', 'cr2', 'cr3', 'cr4'] as const) r.set(k, c[k] >>> 0);
  c.segs.forEach((seg, i) => {
    r.set(SEG_NAMES[i]!, seg.selector);
    r.set(`${SEG_NAMES[i]}.base`, seg.base >>> 0);
  });
  r.set('ldtr', c.ldtr.selector);
  r.set('tr', c.tr.selector);
  r.set('gdtr.base', c.gdtr.base >>> 0);
  r.set('gdtr.limit', c.gdtr.limit);
  r.set('idtr.base', c.idtr.base >>> 0);
  r.set('idtr.limit', c.idtr.limit);
  r.set('fpu.control', c.x87.control);
  r.set('fpu.status', c.x87.status);
  r.set('fpu.tag', c.x87.tag);
  r.set('instructions', s.clock.instructionCount);
  r.set('virtual time ns', s.clock.virtualTimeNs);
  return r;
}

export function diffMachineStates(a: MachineState, b: MachineState): StateDiff {
  const pages = changedPages(a.memory.ram, b.memory.ram);
  const ra = registers(a);
  const rb = registers(b);
  const changes: RegisterChange[] = [];
  for (const [name, va] of ra) {
    const vb = rb.get(name)!;
    if (va !== vb) changes.push({ name, a: va, b: vb });
  }
  return { pages: { changed: pages.length, ranges: unitRanges(pages, PAGE_SIZE) }, registers: changes };
}
