// Chapter "shadow page tables" (2.6.23 page_tables.c). The CPU walks shadows the Host builds
// lazily from the Guest's own tables: demandPage on faults, SET_PTE/SET_PMD/FLUSH_TLB to forget.
// Shadows live in host-private frames; PDE 1023 of every shadow belongs to the Switcher.

import { fmtLx, fmtU } from './format';
import {
  PAGE_TABLE_FLAGS,
  PGDIR_SLOTS,
  PTE_A,
  PTE_D,
  PTE_G,
  PTE_P,
  PTE_PSE,
  PTE_PWT,
  PTE_RW,
  PTE_US,
  SWITCHER_PGD_INDEX,
} from './constants';
import { lgreadU32, lgwriteU32 } from './guest-memory';
import { kill, type Lguest, type ShadowSlot } from './lg';
import { mapSwitcherInDirectory } from './switcher';

const PAGE_MASK = 0xfffff000;

function pgdIndex(va: number): number {
  return va >>> 22;
}

function pteIndex(va: number): number {
  return (va >>> 12) & 1023;
}

function userPgdLimit(lg: Lguest): number {
  return lg.state.pageOffset >>> 22;
}

/** check_gpte(): PWT and PSE are refused, and so is any frame at or above pfn_limit. */
function checkGpte(lg: Lguest, gpte: number): boolean {
  if (gpte & (PTE_PWT | PTE_PSE) || gpte >>> 12 >= lg.state.pfnLimit) {
    kill(lg, 'bad page table entry');
    return false;
  }
  return true;
}

/** check_gpgd(): only _PAGE_TABLE flags, and the PTE page must be Guest memory. */
function checkGpgd(lg: Lguest, gpgd: number): boolean {
  if (gpgd & 0xfff & ~PAGE_TABLE_FLAGS || gpgd >>> 12 >= lg.state.pfnLimit) {
    kill(lg, 'bad page directory entry');
    return false;
  }
  return true;
}

/**
 * get_pfn(): the Host must find the page behind the Guest frame. With one flat buffer that only
 * fails when the Launcher claimed a pfn_limit beyond the memory it supplied.
 */
function getPfn(lg: Lguest, gpte: number): boolean {
  if (!lg.mem.isRam((gpte & PAGE_MASK) >>> 0, 4096)) {
    kill(lg, `failed to get page ${fmtU(gpte >>> 12)}`);
    return false;
  }
  return true;
}

function currentSlot(lg: Lguest): ShadowSlot {
  const slot = lg.state.pgdirs[lg.state.currentPgdir];
  if (!slot) throw new Error('lguest host: no current shadow page directory');
  return slot;
}

/** The shadow directory the CPU walks now (its CR3). */
export function currentShadowDirectory(lg: Lguest): number {
  return currentSlot(lg).pgdir;
}

/** Allocate an empty shadow directory with the Switcher mapped at PDE 1023. */
function allocShadowDirectory(lg: Lguest, cr3: number): ShadowSlot {
  const pgdir = lg.mem.allocHostFrame();
  mapSwitcherInDirectory(lg, pgdir);
  return { cr3: cr3 >>> 0, pgdir, lastUsed: ++lg.state.shadowClock };
}

/** init_guest_pagetable(): slot 0 shadows the Launcher's pgdir, empty. */
export function initGuestPagetable(lg: Lguest, pgdir: number): void {
  lg.state.pgdirs[0] = allocShadowDirectory(lg, pgdir);
  lg.state.currentPgdir = 0;
}

/** release_pgd(): forget one shadow PDE and give its PTE page back. */
function releasePgd(lg: Lguest, slot: ShadowSlot, idx: number): void {
  const dir = lg.mem.hostFrameWords(slot.pgdir);
  const spgd = dir[idx]! >>> 0;
  if (spgd & PTE_P) {
    lg.mem.freeHostFrame((spgd & PAGE_MASK) >>> 0);
    dir[idx] = 0;
  }
}

/** After dropping entries of the directory the CPU is using, its TLB must forget them too. */
function flushIfCurrent(lg: Lguest, slotIndex: number): void {
  if (slotIndex === lg.state.currentPgdir) lg.cpu.flushTlb();
}

/** flush_user_mappings(): drop PDEs 0 .. PO>>22 - 1 of one slot. */
function flushUserMappings(lg: Lguest, slotIndex: number): void {
  const slot = lg.state.pgdirs[slotIndex];
  if (!slot) return;
  const limit = userPgdLimit(lg);
  for (let i = 0; i < limit; i++) releasePgd(lg, slot, i);
  flushIfCurrent(lg, slotIndex);
}

/** LHCALL_FLUSH_TLB(0): the current address space's user mappings only. */
export function guestPagetableFlushUser(lg: Lguest): void {
  flushUserMappings(lg, lg.state.currentPgdir);
}

/** LHCALL_FLUSH_TLB(1) and LGUEST_INIT: drop PDEs 0..1022 of every slot, then re-pin the stack. */
export function guestPagetableClearAll(lg: Lguest): void {
  lg.state.pgdirs.forEach((slot) => {
    if (!slot) return;
    for (let i = 0; i < SWITCHER_PGD_INDEX; i++) releasePgd(lg, slot, i);
  });
  lg.cpu.flushTlb();
  pinStackPages(lg);
}

/** Drop every shadow (close()): all PTE pages and directories back to memory. */
export function freeGuestPagetables(lg: Lguest): void {
  lg.state.pgdirs.forEach((slot, i) => {
    if (!slot) return;
    for (let j = 0; j < SWITCHER_PGD_INDEX; j++) releasePgd(lg, slot, j);
    lg.mem.freeHostFrame(slot.pgdir);
    lg.state.pgdirs[i] = null;
  });
}

function findPgdir(lg: Lguest, cr3: number): number {
  cr3 >>>= 0;
  return lg.state.pgdirs.findIndex((s) => s !== null && s.cr3 === cr3);
}

/**
 * Victim for a new directory. The reference picks a slot at random. We take a never-used slot
 * first, else the least recently used one: deterministic (no random state to snapshot or
 * replay) and it keeps the address spaces the Guest switches between most often, which the
 * random choice evicts as readily as any other.
 */
function pickVictim(lg: Lguest): number {
  const free = lg.state.pgdirs.findIndex((s) => s === null);
  if (free >= 0) return free;
  let victim = 0;
  for (let i = 1; i < PGDIR_SLOTS; i++) {
    if (lg.state.pgdirs[i]!.lastUsed < lg.state.pgdirs[victim]!.lastUsed) victim = i;
  }
  return victim;
}

/** LHCALL_NEW_PGTABLE(cr3): switch to (or make) the shadow for that Guest directory. */
export function guestNewPagetable(lg: Lguest, cr3: number): void {
  let idx = findPgdir(lg, cr3);
  let blank = false;
  if (idx < 0) {
    idx = pickVictim(lg);
    const slot = lg.state.pgdirs[idx];
    if (!slot) {
      lg.state.pgdirs[idx] = allocShadowDirectory(lg, cr3);
      blank = true;
    } else {
      slot.cr3 = cr3 >>> 0;
      // A recycled slot keeps its kernel PDEs: every Linux address space shares them.
      flushUserMappings(lg, idx);
    }
  }
  lg.state.currentPgdir = idx;
  lg.state.pgdirs[idx]!.lastUsed = ++lg.state.shadowClock;
  if (blank) pinStackPages(lg);
}

/**
 * demand_page(): the CPU faulted on `va` walking the shadow. Look at the Guest's own entries;
 * if they allow the access, build the shadow entry (setting A, and D for writes, in the Guest
 * PTE) and return true. False means the fault is the Guest's to handle.
 * errcode bit 1 = write, bit 2 = user access.
 */
export function demandPage(lg: Lguest, va: number, errcode: number): boolean {
  va >>>= 0;
  const slot = currentSlot(lg);
  const gpgd = lgreadU32(lg, (slot.cr3 + pgdIndex(va) * 4) >>> 0);
  if (lg.state.dead !== null) return true;
  if (!(gpgd & PTE_P)) return false;
  if (pgdIndex(va) >= SWITCHER_PGD_INDEX) {
    kill(lg, 'attempt to access switcher pages');
    return true;
  }
  const dir = lg.mem.hostFrameWords(slot.pgdir);
  let spgd = dir[pgdIndex(va)]! >>> 0;
  if (!(spgd & PTE_P)) {
    if (!checkGpgd(lg, gpgd)) return true;
    let ptePage: number;
    try {
      ptePage = lg.mem.allocHostFrame();
    } catch {
      kill(lg, 'out of memory allocating pte page');
      return true;
    }
    // The shadow PDE keeps the Guest's flags: the hardware walk enforces its RW and US bits.
    spgd = (ptePage | (gpgd & 0xfff)) >>> 0;
    dir[pgdIndex(va)] = spgd | 0;
  }
  const gpteAddr = ((gpgd & PAGE_MASK) + pteIndex(va) * 4) >>> 0;
  let gpte = lgreadU32(lg, gpteAddr);
  if (lg.state.dead !== null) return true;
  if (!(gpte & PTE_P)) return false;
  if (errcode & 2 && !(gpte & PTE_RW)) return false;
  if (errcode & 4 && !(gpte & PTE_US)) return false;
  if (!checkGpte(lg, gpte) || !getPfn(lg, gpte)) return true;
  gpte = (gpte | PTE_A | (errcode & 2 ? PTE_D : 0)) >>> 0;
  // A clean page is mapped read-only so that the first write faults and we can set D.
  const spte = gpte & PTE_D ? gpte & ~PTE_G : gpte & ~PTE_G & ~PTE_RW;
  lg.mem.hostFrameWords((spgd & PAGE_MASK) >>> 0)[pteIndex(va)] = spte | 0;
  lgwriteU32(lg, gpteAddr, gpte);
  lg.cpu.invalidatePage(va);
  return true;
}

/** page_writable(): does the current shadow already map va present and writable? */
function pageWritable(lg: Lguest, va: number): boolean {
  const slot = currentSlot(lg);
  const spgd = lg.mem.hostFrameWords(slot.pgdir)[pgdIndex(va)]! >>> 0;
  if (!(spgd & PTE_P)) return false;
  const spte = lg.mem.hostFrameWords((spgd & PAGE_MASK) >>> 0)[pteIndex(va)]! >>> 0;
  return (spte & (PTE_P | PTE_RW)) === (PTE_P | PTE_RW);
}

/** pin_page(): make sure the kernel can write va without a shadow fault. */
function pinPage(lg: Lguest, va: number): void {
  va >>>= 0;
  if (pgdIndex(va) >= SWITCHER_PGD_INDEX) {
    kill(lg, 'attempt to access switcher pages');
    return;
  }
  if (!pageWritable(lg, va) && !demandPage(lg, va, 2)) kill(lg, `bad stack page ${fmtLx(va)}`);
}

/** pin_stack_pages(): the kernel stack pages just below esp1, so direct traps never fault. */
export function pinStackPages(lg: Lguest): void {
  for (let i = 0; i < lg.state.stackPages; i++) {
    if (lg.state.dead !== null) return;
    pinPage(lg, (lg.state.esp1 - 1 - i * 4096) >>> 0);
  }
}

/** do_set_pte(): update one shadow's PTE for va, if that shadow has the PTE page at all. */
function doSetPte(lg: Lguest, slotIndex: number, va: number, gpte: number): void {
  if (pgdIndex(va) >= SWITCHER_PGD_INDEX) {
    kill(lg, 'attempt to access switcher pages');
    return;
  }
  const slot = lg.state.pgdirs[slotIndex]!;
  const spgd = lg.mem.hostFrameWords(slot.pgdir)[pgdIndex(va)]! >>> 0;
  if (!(spgd & PTE_P)) return;
  const ptes = lg.mem.hostFrameWords((spgd & PAGE_MASK) >>> 0);
  if (gpte & (PTE_A | PTE_D)) {
    // Pre-fault: the Guest just touched this mapping, so it will likely use it. Like the
    // reference, RW is kept as the Guest gave it. We apply check_gpte only to PRESENT entries
    // (the ABI's safe relaxation): a non-present PROT_NONE entry maps nothing, so it cannot
    // give the Guest a frame, and killing for it would only break correct Guests.
    if (gpte & PTE_P && (!checkGpte(lg, gpte) || !getPfn(lg, gpte))) return;
    ptes[pteIndex(va)] = (gpte & ~PTE_G) | 0;
  } else {
    ptes[pteIndex(va)] = 0;
  }
  if (slotIndex === lg.state.currentPgdir) lg.cpu.invalidatePage(va);
}

/** LHCALL_SET_PTE(cr3, va, gpte): kernel addresses change every shadow, user ones only cr3's. */
export function guestSetPte(lg: Lguest, cr3: number, va: number, gpte: number): void {
  va >>>= 0;
  gpte >>>= 0;
  if (va >= lg.state.pageOffset) {
    for (let i = 0; i < PGDIR_SLOTS; i++) {
      if (lg.state.pgdirs[i]) doSetPte(lg, i, va, gpte);
      if (lg.state.dead !== null) return;
    }
  } else {
    const idx = findPgdir(lg, cr3);
    if (idx >= 0) doSetPte(lg, idx, va, gpte);
  }
}

/** LHCALL_SET_PMD(cr3, idx): forget one PDE of the slot shadowing that directory page. */
export function guestSetPmd(lg: Lguest, cr3: number, idx: number): void {
  idx >>>= 0;
  if (idx >= SWITCHER_PGD_INDEX) return;
  const slotIndex = findPgdir(lg, cr3);
  if (slotIndex < 0) return;
  releasePgd(lg, lg.state.pgdirs[slotIndex]!, idx);
  flushIfCurrent(lg, slotIndex);
}

/** The shadow translation for va in one slot (for inspectors and tests): the PTE, or 0. */
export function shadowPte(lg: Lguest, slotIndex: number, va: number): number {
  const slot = lg.state.pgdirs[slotIndex];
  if (!slot) return 0;
  const spgd = lg.mem.hostFrameWords(slot.pgdir)[pgdIndex(va >>> 0)]! >>> 0;
  if (!(spgd & PTE_P)) return 0;
  return lg.mem.hostFrameWords((spgd & PAGE_MASK) >>> 0)[pteIndex(va >>> 0)]! >>> 0;
}

/** The shadow PDE for va in one slot, or 0. */
export function shadowPde(lg: Lguest, slotIndex: number, va: number): number {
  const slot = lg.state.pgdirs[slotIndex];
  if (!slot) return 0;
  return lg.mem.hostFrameWords(slot.pgdir)[pgdIndex(va >>> 0)]! >>> 0;
}
