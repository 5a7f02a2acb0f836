// The decoded-instruction cache, keyed by physical address, with a per-page "holds code" map
// and per-byte coverage that writes consult, so self-modifying and reloaded code is re-decoded
// while stores to data sharing a page with code keep it (a software "trace cache").

import type { Instr } from './instr';
import type { Mmu } from './mmu';

export class DecodeCache {
  private pages: ((Instr | undefined)[] | undefined)[] = [];
  /** Per page: 1 for each byte that belongs to a cached instruction. */
  private cover: (Uint8Array | undefined)[] = [];

  /** The MMU's per-page "holds code" map: the MMU keeps every store to such a page on its slow path. */
  private readonly codePage: Uint8Array;

  constructor(private readonly mmu: Mmu) {
    this.codePage = mmu.codePage;
  }

  /** The slot array for one physical page (4096 entries, indexed by page offset). */
  pageArray(page: number): (Instr | undefined)[] {
    let a = this.pages[page];
    if (a === undefined) {
      a = new Array<Instr | undefined>(4096);
      this.pages[page] = a;
    }
    return a;
  }

  /** Records an instruction cached at `off` of `page` (it must lie inside the page). */
  noteInstruction(page: number, off: number, len: number): void {
    let c = this.cover[page];
    if (c === undefined) {
      c = new Uint8Array(4096);
      this.cover[page] = c;
    }
    c.fill(1, off, off + len);
    if (this.codePage[page] === 0) this.mmu.markCode(page);
  }

  /** True when a write of `len` bytes at physical `p` (within one page) touches cached code. */
  touchesCode(p: number, len: number): boolean {
    const c = this.cover[p >>> 12];
    if (c === undefined) return false;
    const off = p & 0xfff;
    const end = Math.min(4096, off + len);
    for (let k = off; k < end; k++) if (c[k] !== 0) return true;
    return false;
  }

  invalidatePage(page: number): void {
    this.pages[page] = undefined;
    this.cover[page] = undefined;
    this.codePage[page] = 0;
  }

  clear(): void {
    this.pages = [];
    this.cover = [];
    this.codePage.fill(0);
  }
}
