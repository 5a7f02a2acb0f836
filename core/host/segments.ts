// Chapter "segments": the Host's copy of the Guest GDT (2.6.23 segments.c). LOAD_GDT and LOAD_TLS
// copy descriptors in and apply the fix-up that lets a ring-1 kernel use its ring-0 segments.

import { fmtLi } from './format';
import {
  GDT_ENTRIES,
  GDT_ENTRY_DOUBLEFAULT_TSS,
  GDT_ENTRY_LGUEST_CS,
  GDT_ENTRY_LGUEST_DS,
  GDT_ENTRY_TLS_ENTRIES,
  GDT_ENTRY_TLS_MIN,
  GDT_ENTRY_TSS,
  GUEST_PL,
} from './constants';
import { lgread, u32At } from './guest-memory';
import { CHANGED_GDT, CHANGED_GDT_TLS, kill, type Lguest } from './lg';

/** Entries the Host owns: whatever the Guest loads there is stored but never fixed up or used. */
export function ignoredGdt(num: number): boolean {
  return (
    num === GDT_ENTRY_TSS ||
    num === GDT_ENTRY_LGUEST_CS ||
    num === GDT_ENTRY_LGUEST_DS ||
    num === GDT_ENTRY_DOUBLEFAULT_TSS
  );
}

/**
 * fixup_gdt_table(): a descriptor of DPL 0 becomes DPL 1 (the Guest kernel runs in ring 1), and
 * the accessed bit is pre-set so the CPU never writes back into the (read-only) effective GDT.
 * Nothing else is checked: a bad descriptor simply faults when loaded.
 */
export function fixupGdtTable(gdt: number[], start: number, end: number): void {
  for (let i = start; i < end; i++) {
    if (ignoredGdt(i)) continue;
    let hi = gdt[i * 2 + 1]! >>> 0;
    if ((hi & 0x6000) === 0) hi |= GUEST_PL << 13;
    hi |= 0x100;
    gdt[i * 2 + 1] = hi >>> 0;
  }
}

/** LHCALL_LOAD_GDT(table, num): entries 0..num-1 replaced, all 32 fixed up. */
export function loadGuestGdt(lg: Lguest, table: number, num: number): void {
  num >>>= 0;
  if (num > GDT_ENTRIES) {
    kill(lg, `too many gdt entries ${fmtLi(num)}`);
    return;
  }
  const bytes = lgread(lg, table, num * 8);
  const gdt = lg.state.gdt;
  for (let i = 0; i < num; i++) {
    gdt[i * 2] = u32At(bytes, i * 8);
    gdt[i * 2 + 1] = u32At(bytes, i * 8 + 4);
  }
  fixupGdtTable(gdt, 0, GDT_ENTRIES);
  lg.state.changed |= CHANGED_GDT;
}

/** LHCALL_LOAD_TLS(gtls): three descriptors into entries 6..8, only those fixed up. */
export function guestLoadTls(lg: Lguest, gtls: number): void {
  const bytes = lgread(lg, gtls, GDT_ENTRY_TLS_ENTRIES * 8);
  const gdt = lg.state.gdt;
  for (let i = 0; i < GDT_ENTRY_TLS_ENTRIES; i++) {
    gdt[(GDT_ENTRY_TLS_MIN + i) * 2] = u32At(bytes, i * 8);
    gdt[(GDT_ENTRY_TLS_MIN + i) * 2 + 1] = u32At(bytes, i * 8 + 4);
  }
  fixupGdtTable(gdt, GDT_ENTRY_TLS_MIN, GDT_ENTRY_TLS_MIN + GDT_ENTRY_TLS_ENTRIES);
  lg.state.changed |= CHANGED_GDT_TLS;
}
