// The machine's physical address space: guest RAM (one ArrayBuffer) from address 0, and
// host-private page frames (where the lguest host keeps shadow page tables) at HOST_FRAME_BASE.
// The guest can never name a host frame: the host refuses any guest PTE whose frame is at or
// above the guest's pfn_limit, and RAM always ends below HOST_FRAME_BASE.

import { wasmApi, type WasmMemory } from './wasm-module';

export const PAGE_SIZE = 4096;
export const PAGE_SHIFT = 12;
/** Physical address of host-private frame 0. Guest RAM must end at or below it. */
export const HOST_FRAME_BASE = 0xf000_0000;
export const MAX_RAM_BYTES = HOST_FRAME_BASE;

// RAM made here lives in a WebAssembly.Memory, so that compiled regions (jit-wasm.ts) reach it:
// the CPU's mirror first, then the MMU's four TLB tables, then RAM.
/** Bytes at the start of the memory for the CPU state that WebAssembly code reads and writes. */
export const MIRROR_BYTES = 0x10000;
/** Where the TLB tables start (four tables of 2^20 words: see Mmu). */
export const TLB_BASE = MIRROR_BYTES;
export const TLB_TABLE_BYTES = 4 << 20;
/** Where RAM starts in the memory. */
export const RAM_BASE = TLB_BASE + 4 * TLB_TABLE_BYTES;
const WASM_PAGE = 0x10000;
const WASM_MAX_PAGES = 65536;

/** The WebAssembly memory of each buffer made here (RAM handed in again is found in it). */
const WASM_OF = new WeakMap<ArrayBuffer | SharedArrayBuffer, WasmMemory>();

/** A WebAssembly.Memory for `ramBytes` of RAM (shared between threads or not), or null when it cannot be had. */
function wasmMemory(ramBytes: number, shared: boolean): WasmMemory | null {
  const pages = Math.ceil((RAM_BASE + ramBytes) / WASM_PAGE);
  if (wasmApi === null || pages > WASM_MAX_PAGES) return null;
  try {
    const memory = new wasmApi.Memory({ initial: pages, maximum: pages, shared });
    WASM_OF.set(memory.buffer, memory);
    return memory;
  } catch (e) {
    if (e instanceof RangeError) return null; // no room for one this large: plain RAM
    throw e;
  }
}

/** Plain-data form of a PhysicalMemory (what snapshots store). */
export interface PhysicalMemoryState {
  ram: Uint8Array;
  /** Host frame i lives at HOST_FRAME_BASE + i * PAGE_SIZE; null = free. */
  hostFrames: (Uint8Array | null)[];
}

export class PhysicalMemory {
  readonly ram: Uint8Array;
  /**
   * The WebAssembly memory that holds RAM at RAM_BASE (and the CPU's mirror and TLB tables
   * before it), or null when RAM was handed in and is not RAM of such a memory (a view of another
   * machine's RAM, a snapshot's).
   */
  readonly wasm: WasmMemory | null;
  readonly ramView: DataView;
  /** Host-private frames as 1024-word views, indexed by (phys - HOST_FRAME_BASE) >>> 12. */
  private hostFrames: (Int32Array | null)[] = [];
  private freeFrames: number[] = [];
  /**
   * Told of every write into guest RAM made outside the CPU's MMU (the host, the Launcher's
   * devices, DMA), so that the CPU running on this RAM drops decoded code those bytes overwrite.
   */
  onWritten: (phys: number, len: number) => void = () => {};
  /**
   * RAM in a SharedArrayBuffer: other threads (senders on a network) write into it without
   * calling written(), so the CPU re-checks cached code against memory at every run instead.
   */
  readonly shared: boolean;
  /**
   * Per RAM page: 1 when the page may have been written since the last takeDirtyPages(). Writes
   * outside the CPU mark it in written(); the CPU's MMU marks a page when it caches a write
   * translation for it (so its store fast path costs nothing), and drops those translations in
   * onDirtyTaken so that the next write marks again.
   */
  readonly dirty: Uint8Array;
  /** Called when the dirty map is cleared: the CPU drops the write translations it cached. */
  onDirtyTaken: () => void = () => {};

  /** `shared`: a new RAM goes in a SharedArrayBuffer (for threads that write into it). */
  constructor(ramBytes: number | Uint8Array, shared = false) {
    let wasm: WasmMemory | null = null;
    if (typeof ramBytes === 'number') {
      if (!Number.isInteger(ramBytes) || ramBytes <= 0 || ramBytes % PAGE_SIZE !== 0) {
        throw new RangeError(`RAM size must be a positive multiple of ${PAGE_SIZE}, got ${ramBytes}`);
      }
      if (ramBytes > MAX_RAM_BYTES) {
        throw new RangeError(`RAM size ${ramBytes} exceeds the ${MAX_RAM_BYTES}-byte physical window`);
      }
      wasm = wasmMemory(ramBytes, shared);
      if (wasm !== null) this.ram = new Uint8Array(wasm.buffer, RAM_BASE, ramBytes);
      else this.ram = new Uint8Array(shared ? new SharedArrayBuffer(ramBytes) : new ArrayBuffer(ramBytes));
    } else {
      this.ram = ramBytes;
      const of = WASM_OF.get(ramBytes.buffer);
      if (of !== undefined && ramBytes.byteOffset === RAM_BASE) {
        wasm = of;
        // The machine that had this RAM before is done: its TLB entries go (a new MMU starts empty).
        new Uint8Array(of.buffer, TLB_BASE, RAM_BASE - TLB_BASE).fill(0);
      }
    }
    this.wasm = wasm;
    this.ramView = new DataView(this.ram.buffer, this.ram.byteOffset, this.ram.byteLength);
    this.shared = typeof SharedArrayBuffer !== 'undefined' && this.ram.buffer instanceof SharedArrayBuffer;
    this.dirty = new Uint8Array(this.ram.byteLength / PAGE_SIZE);
  }

  private tlbClaimed = false;
  /**
   * The WebAssembly memory whose TLB area the caller (an Mmu) may use, the first time only; null
   * after that, or when RAM is not in such a memory.
   */
  claimTlb(): WasmMemory | null {
    if (this.tlbClaimed) return null;
    this.tlbClaimed = true;
    return this.wasm;
  }

  /** Reports a write of `len` bytes at `phys` made outside the CPU (see onWritten). */
  written(phys: number, len: number): void {
    if (len <= 0) return;
    phys >>>= 0;
    const last = Math.min(phys + len, this.ram.byteLength) - 1;
    for (let page = phys >>> 12; page <= last >>> 12; page++) this.dirty[page] = 1;
    this.onWritten(phys, len);
  }

  /**
   * The RAM pages written since the previous call (ascending), and a clean map from now on: the
   * tracking then runs relative to this moment (a snapshot taken now).
   */
  takeDirtyPages(): Uint32Array {
    const out = markedPages(this.dirty);
    this.dirty.fill(0);
    this.onDirtyTaken();
    return out;
  }

  /** Marks pages dirty again (a snapshot that took them failed to be saved). */
  markPagesDirty(pages: Uint32Array): void {
    for (const p of pages) if (p < this.dirty.length) this.dirty[p] = 1;
  }

  get ramBytes(): number {
    return this.ram.byteLength;
  }

  /** True when [phys, phys+len) lies wholly inside guest RAM. */
  isRam(phys: number, len: number): boolean {
    return phys >= 0 && len >= 0 && phys + len <= this.ram.byteLength;
  }

  /** Allocates a zeroed host-private frame and returns its physical address. */
  allocHostFrame(): number {
    const reused = this.freeFrames.pop();
    const index = reused ?? this.hostFrames.length;
    this.hostFrames[index] = new Int32Array(1024);
    return (HOST_FRAME_BASE + index * PAGE_SIZE) >>> 0;
  }

  freeHostFrame(phys: number): void {
    const index = this.hostFrameIndex(phys);
    this.hostFrames[index] = null;
    this.freeFrames.push(index);
  }

  /** The 1024 little-endian words of a host frame, for the host to edit in place. */
  hostFrameWords(phys: number): Int32Array {
    const frame = this.hostFrames[this.hostFrameIndex(phys)];
    if (!frame) throw new RangeError(`host frame ${hex(phys)} is not allocated`);
    return frame;
  }

  /** Number of host frames currently allocated (for inspectors and leak tests). */
  get hostFramesInUse(): number {
    return this.hostFrames.length - this.freeFrames.length;
  }

  /** Aligned 32-bit physical read, from RAM or a host frame; unbacked addresses read as all ones. */
  readU32(phys: number): number {
    phys >>>= 0;
    if (phys + 4 <= this.ram.byteLength) return this.ramView.getUint32(phys, true);
    if (phys >= HOST_FRAME_BASE) {
      const frame = this.hostFrames[(phys - HOST_FRAME_BASE) >>> 12];
      if (frame) return frame[(phys & 0xfff) >>> 2]! >>> 0;
    }
    return 0xffffffff;
  }

  /** Aligned 32-bit physical write; writes to unbacked addresses are dropped. */
  writeU32(phys: number, value: number): void {
    phys >>>= 0;
    if (phys + 4 <= this.ram.byteLength) {
      this.ramView.setUint32(phys, value >>> 0, true);
      this.written(phys, 4);
      return;
    }
    if (phys >= HOST_FRAME_BASE) {
      const frame = this.hostFrames[(phys - HOST_FRAME_BASE) >>> 12];
      if (frame) frame[(phys & 0xfff) >>> 2] = value | 0;
    }
  }

  exportState(): PhysicalMemoryState {
    return { ...this.exportStateView(), ram: this.ram.slice() };
  }

  /**
   * The state without a copy of RAM: `ram` is the live array, valid until the guest runs again
   * (a snapshot copies what it keeps from it at once; copying 64 MiB first would double its cost).
   */
  exportStateView(): PhysicalMemoryState {
    return { ram: this.ram, hostFrames: this.hostFrames.map((f) => (f ? new Uint8Array(f.slice().buffer) : null)) };
  }

  /**
   * A memory with `state`: `adopt`, it takes `state.ram` itself as its RAM, else a copy (in a
   * SharedArrayBuffer when `shared`).
   */
  static fromState(state: PhysicalMemoryState, adopt = false, shared = false): PhysicalMemory {
    let mem: PhysicalMemory;
    if (adopt) mem = new PhysicalMemory(state.ram);
    else {
      mem = new PhysicalMemory(state.ram.byteLength, shared);
      mem.ram.set(state.ram);
    }
    mem.hostFrames = state.hostFrames.map((f) => {
      if (!f) return null;
      if (f.byteLength !== PAGE_SIZE)
        throw new RangeError(`host frame has ${f.byteLength} bytes, expected ${PAGE_SIZE}`);
      return new Int32Array(f.slice().buffer);
    });
    mem.freeFrames = [];
    mem.hostFrames.forEach((f, i) => {
      if (!f) mem.freeFrames.push(i);
    });
    return mem;
  }

  private hostFrameIndex(phys: number): number {
    phys >>>= 0;
    if (phys < HOST_FRAME_BASE || phys & 0xfff) throw new RangeError(`${hex(phys)} is not a host frame address`);
    const index = (phys - HOST_FRAME_BASE) >>> 12;
    if (index >= this.hostFrames.length) throw new RangeError(`host frame ${hex(phys)} was never allocated`);
    return index;
  }
}

/** Ascending indices of the non-zero entries of a per-page map. */
export function markedPages(marks: Uint8Array): Uint32Array {
  let n = 0;
  for (let p = 0; p < marks.length; p++) if (marks[p] !== 0) n++;
  const out = new Uint32Array(n);
  for (let p = 0, k = 0; k < n; p++) if (marks[p] !== 0) out[k++] = p;
  return out;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}
