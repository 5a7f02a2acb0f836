// The Launcher's side of lguest DMA (ABI §3.3, §10.10): reading a struct lguest_dma from guest
// memory with the original address checks, and copying bytes through its scatter-gather sections.

export const LGUEST_DMA_BYTES = 100;
export const LGUEST_MAX_DMA_SECTIONS = 16;
const ADDR_OFFSET = 4;
const LEN_OFFSET = 68;

export interface DmaSection {
  addr: number;
  len: number;
}

export interface LauncherDma {
  gpa: number;
  sections: DmaSection[];
  /** Sum of the section lengths. */
  capacity: number;
}

/** A guest-supplied address the Launcher may not touch; kills that guest (the original exited). */
export class InvalidGuestAddress extends Error {
  override readonly name = 'InvalidGuestAddress';
  constructor(
    readonly addr: number,
    readonly len: number,
    readonly top: number,
    what: string,
  ) {
    super(
      `Invalid address 0x${addr.toString(16)} (length ${len}) in ${what}: guest memory ends at 0x${top.toString(16)}`,
    );
  }
}

/**
 * The Launcher's own range check, kept exactly: an address at or past `top`, or an end that (mod
 * 2^32) is at or past `top`, is refused. Note the end is tested with >=, unlike the host's check.
 */
export function checkGuestRange(addr: number, len: number, top: number, what: string): void {
  if (addr >= top || (addr + len) >>> 0 >= top) throw new InvalidGuestAddress(addr, len, top, what);
}

/** Reads and validates a struct lguest_dma at `gpa`: up to 16 sections, ending at the first len 0. */
export function readLauncherDma(ram: DataView, gpa: number, top: number): LauncherDma {
  checkGuestRange(gpa, LGUEST_DMA_BYTES, top, 'a struct lguest_dma');
  const sections: DmaSection[] = [];
  let capacity = 0;
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
    const len = ram.getUint16(gpa + LEN_OFFSET + 2 * i, true);
    if (len === 0) break;
    const addr = ram.getUint32(gpa + ADDR_OFFSET + 4 * i, true);
    checkGuestRange(addr, len, top, `section ${i} of the lguest_dma at 0x${gpa.toString(16)}`);
    sections.push({ addr, len });
    capacity += len;
  }
  return { gpa, sections, capacity };
}

/** Concatenates the bytes the guest put in a DMA's sections. */
export function gatherDma(ram: Uint8Array, dma: LauncherDma): Uint8Array {
  const out = new Uint8Array(dma.capacity);
  let at = 0;
  for (const s of dma.sections) {
    out.set(ram.subarray(s.addr, s.addr + s.len), at);
    at += s.len;
  }
  return out;
}

/** Copies as much of `data` as fits into the DMA's sections; returns the number of bytes copied. */
export function scatterDma(ram: Uint8Array, dma: LauncherDma, data: Uint8Array): number {
  let at = 0;
  for (const s of dma.sections) {
    if (at >= data.length) break;
    const n = Math.min(s.len, data.length - at);
    ram.set(data.subarray(at, at + n), s.addr);
    at += n;
  }
  return at;
}

export function setUsedLen(ram: DataView, dmaGpa: number, n: number): void {
  ram.setUint32(dmaGpa, n >>> 0, true);
}

export function getUsedLen(ram: DataView, dmaGpa: number): number {
  return ram.getUint32(dmaGpa, true);
}
