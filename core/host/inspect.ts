// Read-only inspectors over what the host really holds (design: "inspectors read what the host
// really holds"): the effective GDT/IDT the CPU uses, the shadow directory cache, translations
// through the Guest's tables and through the shadows, and the saved lguest_regs.

import { GDT_ENTRIES, IDT_ENTRIES, PTE_P, STATE_GDT_OFFSET, STATE_IDT_OFFSET } from './constants';
import type { Lguest } from './lg';

export type Descriptor = [lo: number, hi: number];

function stateWords(lg: Lguest): Int32Array {
  return lg.mem.hostFrameWords(lg.state.switcherState);
}

/** The effective GDT in the Switcher's state page, as last installed before an entry. */
export function effectiveGdt(lg: Lguest): Descriptor[] {
  const w = stateWords(lg);
  const base = STATE_GDT_OFFSET >>> 2;
  return Array.from({ length: GDT_ENTRIES }, (_, i) => [w[base + i * 2]! >>> 0, w[base + i * 2 + 1]! >>> 0]);
}

/** The effective IDT in the Switcher's state page. */
export function effectiveIdt(lg: Lguest): Descriptor[] {
  const w = stateWords(lg);
  const base = STATE_IDT_OFFSET >>> 2;
  return Array.from({ length: IDT_ENTRIES }, (_, i) => [w[base + i * 2]! >>> 0, w[base + i * 2 + 1]! >>> 0]);
}

export interface ShadowDirectoryView {
  slot: number;
  cr3: number;
  pgdir: number;
  current: boolean;
  /** Present PDEs (index, value) with their present PTEs. */
  pdes: { index: number; value: number; ptes: { index: number; value: number }[] }[];
}

/** The shadow directory cache with every present entry (PDE 1023 = the Switcher). */
export function shadowDirectories(lg: Lguest): ShadowDirectoryView[] {
  const out: ShadowDirectoryView[] = [];
  lg.state.pgdirs.forEach((slot, i) => {
    if (!slot) return;
    const dir = lg.mem.hostFrameWords(slot.pgdir);
    const pdes: ShadowDirectoryView['pdes'] = [];
    for (let p = 0; p < 1024; p++) {
      const v = dir[p]! >>> 0;
      if (!(v & PTE_P)) continue;
      const pt = lg.mem.hostFrameWords((v & 0xfffff000) >>> 0);
      const ptes: { index: number; value: number }[] = [];
      for (let t = 0; t < 1024; t++) if (pt[t]! & PTE_P) ptes.push({ index: t, value: pt[t]! >>> 0 });
      pdes.push({ index: p, value: v, ptes });
    }
    out.push({ slot: i, cr3: slot.cr3, pgdir: slot.pgdir, current: i === lg.state.currentPgdir, pdes });
  });
  return out;
}

export interface Translation {
  pde: number;
  pte: number;
  /** Physical address, or null when not mapped. */
  phys: number | null;
}

function readGuest(lg: Lguest, gpa: number): number {
  return lg.mem.isRam(gpa >>> 0, 4) ? lg.mem.ramView.getUint32(gpa >>> 0, true) : 0;
}

/** Walk the Guest's own tables at cr3 (a GPA) for va. */
export function guestTranslate(lg: Lguest, cr3: number, va: number): Translation {
  va >>>= 0;
  const pde = readGuest(lg, cr3 + (va >>> 22) * 4);
  if (!(pde & PTE_P)) return { pde, pte: 0, phys: null };
  const pte = readGuest(lg, (pde & 0xfffff000) + ((va >>> 12) & 1023) * 4);
  return { pde, pte, phys: pte & PTE_P ? ((pte & 0xfffff000) | (va & 0xfff)) >>> 0 : null };
}

/** Walk a shadow directory (what the CPU walks) for va. */
export function shadowTranslate(lg: Lguest, slot: number, va: number): Translation {
  va >>>= 0;
  const s = lg.state.pgdirs[slot];
  if (!s) return { pde: 0, pte: 0, phys: null };
  const pde = lg.mem.hostFrameWords(s.pgdir)[va >>> 22]! >>> 0;
  if (!(pde & PTE_P)) return { pde, pte: 0, phys: null };
  const pte = lg.mem.hostFrameWords((pde & 0xfffff000) >>> 0)[(va >>> 12) & 1023]! >>> 0;
  return { pde, pte, phys: pte & PTE_P ? ((pte & 0xfffff000) | (va & 0xfff)) >>> 0 : null };
}

const REG_NAMES = [
  'ebx',
  'ecx',
  'edx',
  'esi',
  'edi',
  'ebp',
  'gs',
  'eax',
  'fs',
  'ds',
  'es',
  'trapnum',
  'errcode',
  'eip',
  'cs',
  'eflags',
  'esp',
  'ss',
] as const;
export type LguestRegs = Record<(typeof REG_NAMES)[number], number>;

/** struct lguest_regs as the Switcher saved it at the last exit (top of the regs page). */
export function savedRegs(lg: Lguest): LguestRegs {
  const w = lg.mem.hostFrameWords(lg.state.switcherRegs);
  const base = (4096 - 72) >>> 2;
  const r = {} as LguestRegs;
  REG_NAMES.forEach((n, i) => (r[n] = w[base + i]! >>> 0));
  return r;
}
