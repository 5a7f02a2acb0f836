// The paging unit: two-level 4 KiB i386 page walk from CR3 and a software TLB that maps each
// linear page straight to an offset in guest RAM (Intel SDM vol. 3, "32-Bit Paging", "TLBs").

import { HOST_FRAME_BASE, TLB_BASE, TLB_TABLE_BYTES, type PhysicalMemory } from './memory';
import type { WasmMemory } from './wasm-module';
import { pf } from './fault';

const CR0_PG = 0x80000000 | 0;
const CR0_WP = 0x10000;
const PTE_P = 1,
  PTE_W = 2,
  PTE_U = 4,
  PTE_A = 0x20,
  PTE_D = 0x40,
  PDE_PS = 0x80;
const CR4_PSE = 0x10;
const TLB_LIST_CAP = 16384;
/** Mmu.writeAt: a page's write entries may be at several linear pages. */
const SEVERAL = -1;

/**
 * TLB entries hold (physical page base + 1) so that 0 means "no entry". There is one table per
 * privilege and access kind, so a hit needs no permission test at all. No write entry maps a page
 * that holds cached code, so a store that hits one needs no code test either: stores to code
 * pages take the slow path, which tells the CPU (onCodeWrite).
 */
export class Mmu {
  readonly ram: Uint8Array;
  readonly dv: DataView;
  private readonly ramBytes: number;
  /**
   * The WebAssembly memory that holds the four TLB tables (compiled regions read them there): the
   * RAM's, for the first MMU made on it; null when the tables are arrays of their own.
   */
  readonly wasm: WasmMemory | null;
  private readonly supR: Int32Array;
  private readonly supW: Int32Array;
  private readonly usrR: Int32Array;
  private readonly usrW: Int32Array;
  /** Tables for the current privilege (user = CPL 3). */
  r: Int32Array;
  w: Int32Array;
  user = false;
  cr0 = 0;
  cr3 = 0;
  cr4 = 0;
  /**
   * The TLB entry of readSys() for a page past RAM (the host's GDT, IDT and TSS sit in one, read
   * at every guest entry and event): its linear page and physical base. Flushed with the tables.
   */
  private sysVpn = -1;
  private sysBase = 0;
  private readonly filled = new Int32Array(TLB_LIST_CAP);
  private filledCount = 0;
  /** Per physical RAM page: nonzero when decoded instructions are cached for it (see markCode). */
  readonly codePage: Uint8Array;
  /**
   * Per physical RAM page, where its write entries are: 0 none, vpn + 1 when they can only be at
   * linear page vpn, SEVERAL when they may be at more than one (markCode then searches).
   */
  private readonly writeAt: Int32Array;
  /** Called before a write of `len` bytes at physical `p` lands on a page with cached code. */
  onCodeWrite: (p: number, len: number) => void = () => {};
  /** The memory's dirty map: a page is marked when a write translation to it is cached. */
  private readonly dirty: Uint8Array;

  constructor(readonly mem: PhysicalMemory) {
    const wasm = (this.wasm = mem.claimTlb());
    const table = (n: number): Int32Array =>
      wasm !== null ? new Int32Array(wasm.buffer, TLB_BASE + n * TLB_TABLE_BYTES, 1 << 20) : new Int32Array(1 << 20);
    this.supR = table(0);
    this.supW = table(1);
    this.usrR = table(2);
    this.usrW = table(3);
    this.r = this.supR;
    this.w = this.supW;
    this.ram = mem.ram;
    this.dv = mem.ramView;
    this.ramBytes = mem.ram.byteLength;
    this.codePage = new Uint8Array(Math.ceil(this.ramBytes / 4096));
    this.writeAt = new Int32Array(this.codePage.length);
    this.dirty = mem.dirty;
    mem.onDirtyTaken = () => this.dropWriteEntries();
  }

  setUser(user: boolean): void {
    this.user = user;
    this.r = user ? this.usrR : this.supR;
    this.w = user ? this.usrW : this.supW;
  }

  flush(): void {
    this.sysVpn = -1;
    if (this.filledCount >= TLB_LIST_CAP) {
      this.supR.fill(0);
      this.supW.fill(0);
      this.usrR.fill(0);
      this.usrW.fill(0);
    } else {
      for (let k = 0; k < this.filledCount; k++) {
        const v = this.filled[k]!;
        this.supR[v] = this.supW[v] = this.usrR[v] = this.usrW[v] = 0;
      }
    }
    this.filledCount = 0;
  }

  /** Forgets every cached write translation (reads stay): the next write to a page walks and marks it dirty. */
  dropWriteEntries(): void {
    if (this.filledCount >= TLB_LIST_CAP) {
      this.supW.fill(0);
      this.usrW.fill(0);
      return;
    }
    for (let k = 0; k < this.filledCount; k++) {
      const v = this.filled[k]!;
      this.supW[v] = this.usrW[v] = 0;
    }
  }

  /** Notes that `page` now holds cached code: its write entries go, so every store there walks. */
  markCode(page: number): void {
    this.codePage[page] = 1;
    const at = this.writeAt[page]!;
    if (at === 0) return;
    this.writeAt[page] = 0;
    const e = page * 4096 + 1;
    if (at !== SEVERAL) return this.dropWriteAt(at - 1, e);
    if (this.filledCount >= TLB_LIST_CAP) {
      for (let v = 0; v < 1 << 20; v++) this.dropWriteAt(v, e);
    } else {
      for (let k = 0; k < this.filledCount; k++) this.dropWriteAt(this.filled[k]!, e);
    }
  }

  /** Drops the write entries of linear page v if they map to entry value e. */
  private dropWriteAt(v: number, e: number): void {
    if (this.supW[v] === e) this.supW[v] = 0;
    if (this.usrW[v] === e) this.usrW[v] = 0;
  }

  invalidatePage(linear: number): void {
    const v = linear >>> 12;
    if (v === this.sysVpn) this.sysVpn = -1;
    this.supR[v] = this.supW[v] = this.usrR[v] = this.usrW[v] = 0;
  }

  /**
   * Walks the page tables for one access and returns the physical address. Sets accessed (and,
   * for writes, dirty) bits in the entries walked, and caches the translation when it is RAM.
   */
  translate(linear: number, write: boolean, user: boolean): number {
    linear |= 0;
    let phys: number;
    const vpn = linear >>> 12;
    if ((this.cr0 & CR0_PG) === 0) {
      phys = linear >>> 0;
      this.install(vpn, phys - (linear & 0xfff), true, true, true);
      return phys;
    }
    const pdeAddr = ((this.cr3 & ~0xfff) + ((linear >>> 22) << 2)) >>> 0;
    const pde = this.mem.readU32(pdeAddr);
    const code = (write ? 2 : 0) | (user ? 4 : 0);
    if ((pde & PTE_P) === 0) throw pf(code, linear);
    if (pde & PDE_PS && this.cr4 & CR4_PSE) return this.translateLarge(linear, pdeAddr, pde, write, user, code);
    const pteAddr = ((pde & ~0xfff) + (((linear >>> 12) & 0x3ff) << 2)) >>> 0;
    const pte = this.mem.readU32(pteAddr);
    if ((pte & PTE_P) === 0) throw pf(code, linear);
    const both = pde & pte;
    if (user && (both & PTE_U) === 0) throw pf(code | 1, linear);
    const writable = (both & PTE_W) !== 0 || (!user && (this.cr0 & CR0_WP) === 0);
    if (write && !writable) throw pf(code | 1, linear);
    if ((pde & PTE_A) === 0) this.mem.writeU32(pdeAddr, pde | PTE_A);
    const want = write ? PTE_A | PTE_D : PTE_A;
    if ((pte & want) !== want) this.mem.writeU32(pteAddr, pte | want);
    const base = (pte & ~0xfff) >>> 0;
    // Write permission is cached only once the dirty bit is set, so the first write walks.
    this.install(vpn, base, user, write, false);
    return (base + (linear & 0xfff)) >>> 0;
  }

  /** A 4 MiB page (CR4.PSE with PDE.PS): the directory entry maps the page itself. */
  private translateLarge(
    linear: number,
    pdeAddr: number,
    pde: number,
    write: boolean,
    user: boolean,
    code: number,
  ): number {
    if (user && (pde & PTE_U) === 0) throw pf(code | 1, linear);
    const writable = (pde & PTE_W) !== 0 || (!user && (this.cr0 & CR0_WP) === 0);
    if (write && !writable) throw pf(code | 1, linear);
    const want = write ? PTE_A | PTE_D : PTE_A;
    if ((pde & want) !== want) this.mem.writeU32(pdeAddr, pde | want);
    const phys = ((pde & 0xffc00000) + (linear & 0x3fffff)) >>> 0;
    const base = (phys & ~0xfff) >>> 0;
    this.install(linear >>> 12, base, user, write, false);
    return phys;
  }

  private install(vpn: number, base: number, user: boolean, write: boolean, all: boolean): void {
    if (base + 4096 > this.ramBytes || base >= 0x7fff0000) return;
    const e = base + 1;
    const page = base >>> 12;
    // Every store to RAM goes through a write entry or through translate(write): the page is
    // dirty from the moment its write entry exists (`all`: paging off, reads install one too).
    if (write || all) this.dirty[page] = 1;
    const w = (write || all) && this.codePage[page] === 0;
    // A page holding code gets no write entry; a write walk still clears the one vpn had.
    const we = w ? e : 0;
    if (all) {
      this.supR[vpn] = this.usrR[vpn] = e;
      this.supW[vpn] = this.usrW[vpn] = we;
    } else if (user) {
      this.usrR[vpn] = e;
      if (write) this.usrW[vpn] = we;
    } else {
      this.supR[vpn] = e;
      if (write) this.supW[vpn] = we;
    }
    if (w) {
      // The page's entries stay at one linear page until a second one gets an entry for it
      // while the first still has its own.
      const at = this.writeAt[page]!;
      if (at === 0 || at === vpn + 1 || (at !== SEVERAL && this.supW[at - 1] !== e && this.usrW[at - 1] !== e)) {
        this.writeAt[page] = vpn + 1;
      } else {
        this.writeAt[page] = SEVERAL;
      }
    }
    if (this.filledCount < TLB_LIST_CAP) this.filled[this.filledCount] = vpn;
    this.filledCount++;
  }

  // ---- physical access (RAM, host frames, or nothing) ----

  physRead8(p: number): number {
    if (p < this.ramBytes) return this.ram[p]!;
    if (p >= HOST_FRAME_BASE) return (this.mem.readU32(p & ~3) >>> ((p & 3) * 8)) & 0xff;
    return 0xff;
  }

  physWrite8(p: number, v: number): void {
    if (p < this.ramBytes) {
      if (this.codePage[p >>> 12] !== 0) this.onCodeWrite(p, 1);
      this.ram[p] = v;
      return;
    }
    if (p >= HOST_FRAME_BASE) {
      const a = (p & ~3) >>> 0;
      const sh = (p & 3) * 8;
      const old = this.mem.readU32(a);
      this.mem.writeU32(a, (old & ~(0xff << sh)) | ((v & 0xff) << sh));
    }
  }

  // ---- linear access at the current privilege ----

  read8(l: number): number {
    const e = this.r[l >>> 12]!;
    if (e !== 0) return this.ram[e - 1 + (l & 0xfff)]!;
    return this.physRead8(this.translate(l, false, this.user));
  }

  read16(l: number): number {
    const e = this.r[l >>> 12]!;
    const o = l & 0xfff;
    if (e !== 0 && o !== 0xfff) {
      const p = e - 1 + o;
      return this.ram[p]! | (this.ram[p + 1]! << 8);
    }
    return this.readSlow(l, 2, this.user);
  }

  read32(l: number): number {
    const e = this.r[l >>> 12]!;
    const o = l & 0xfff;
    if (e !== 0 && o <= 0xffc) return this.dv.getInt32(e - 1 + o, true);
    return this.readSlow(l, 4, this.user);
  }

  write8(l: number, v: number): void {
    const e = this.w[l >>> 12]!;
    if (e !== 0) {
      this.ram[e - 1 + (l & 0xfff)] = v;
      return;
    }
    this.physWrite8(this.translate(l, true, this.user), v);
  }

  write16(l: number, v: number): void {
    const e = this.w[l >>> 12]!;
    const o = l & 0xfff;
    if (e !== 0 && o !== 0xfff) {
      const p = e - 1 + o;
      this.ram[p] = v;
      this.ram[p + 1] = v >> 8;
      return;
    }
    this.writeSlow(l, 2, v, this.user);
  }

  write32(l: number, v: number): void {
    const e = this.w[l >>> 12]!;
    const o = l & 0xfff;
    if (e !== 0 && o <= 0xffc) {
      this.dv.setInt32(e - 1 + o, v, true);
      return;
    }
    this.writeSlow(l, 4, v, this.user);
  }

  /** Makes sure `len` bytes at l are writable (faulting now if not), for read-modify-write. */
  probeWrite(l: number, len: number): void {
    const o = l & 0xfff;
    if (this.w[l >>> 12] !== 0 && o + len <= 4096) return;
    this.translate(l, true, this.user);
    if (o + len > 4096) this.translate((l + len - 1) & ~0xfff, true, this.user);
  }

  /** Read of 1, 2 or 4 bytes with explicit privilege (system-table and stack-switch accesses). */
  readSlow(l: number, len: number, user: boolean): number {
    const o = l & 0xfff;
    if (o + len <= 4096) {
      const p = this.translate(l, false, user);
      if (p + len <= this.ramBytes) {
        return len === 4 ? this.dv.getInt32(p, true) : len === 2 ? this.dv.getUint16(p, true) : this.ram[p]!;
      }
      let v = 0;
      for (let k = 0; k < len; k++) v |= this.physRead8(p + k) << (8 * k);
      return v;
    }
    let v = 0;
    const p1 = this.translate(l, false, user);
    const p2 = this.translate((l + len - 1) & ~0xfff, false, user) & ~0xfff;
    for (let k = 0; k < len; k++) {
      const byte = o + k < 4096 ? this.physRead8(p1 + k) : this.physRead8(p2 + (o + k - 4096));
      v |= byte << (8 * k);
    }
    return len === 4 ? v : v >>> 0;
  }

  /** Write of 1, 2 or 4 bytes with explicit privilege; both pages are checked before any byte. */
  writeSlow(l: number, len: number, v: number, user: boolean): void {
    const o = l & 0xfff;
    const p1 = this.translate(l, true, user);
    if (o + len <= 4096) {
      for (let k = 0; k < len; k++) this.physWrite8(p1 + k, v >>> (8 * k));
      return;
    }
    const p2 = this.translate((l + len - 1) & ~0xfff, true, user) & ~0xfff;
    for (let k = 0; k < len; k++) {
      const byte = (v >>> (8 * k)) & 0xff;
      if (o + k < 4096) this.physWrite8(p1 + k, byte);
      else this.physWrite8(p2 + (o + k - 4096), byte);
    }
  }

  /** Supervisor read (descriptor tables, TSS): implicit accesses are privileged. */
  readSys(l: number, len: number): number {
    const vpn = l >>> 12;
    const e = this.supR[vpn]!;
    const o = l & 0xfff;
    if (e !== 0 && o + len <= 4096) {
      const p = e - 1 + o;
      return len === 4 ? this.dv.getInt32(p, true) : len === 2 ? this.dv.getUint16(p, true) : this.ram[p]!;
    }
    if ((o & 3) + len > 4) return this.readSlow(l, len, false);
    if (vpn !== this.sysVpn) {
      const p = this.translate(l, false, false);
      if (p < this.ramBytes) return this.readSlow(l, len, false);
      this.sysVpn = vpn;
      this.sysBase = p - o;
    }
    const w = this.mem.readU32(this.sysBase + (o & ~3)) >>> ((o & 3) * 8);
    return len === 4 ? w | 0 : w & (len === 2 ? 0xffff : 0xff);
  }

  /** 32-bit write with explicit privilege (the frame pushed when an event enters a new ring). */
  write32As(l: number, v: number, user: boolean): void {
    const e = (user ? this.usrW : this.supW)[l >>> 12]!;
    const o = l & 0xfff;
    if (e !== 0 && o <= 0xffc) {
      this.dv.setInt32(e - 1 + o, v, true);
      return;
    }
    this.writeSlow(l, 4, v, user);
  }
}
