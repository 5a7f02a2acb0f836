// Chapter "DMA I/O" (2.6.23 io.c): Guests bind receive buffers to keys (addresses), send to
// keys, and the Host either hands a send to the Launcher (private key) or copies it into the
// other Guest bound on a shared key, raising that Guest's interrupt.

import { fmtLx, fmtU } from './format';
import {
  DMA_ADDR,
  DMA_LEN,
  DMA_USED_LEN,
  LGUEST_DMA_SIZE,
  LGUEST_IRQS,
  LGUEST_MAX_DMA_SECTIONS,
  PAGE_SIZE,
} from './constants';
import type { PhysicalMemory } from '../cpu/memory';
import { lguestAddressOk, lgread, lgwriteU32, u16At, u32At } from './guest-memory';
import { kill, type DmaBinding, type Lguest } from './lg';

/**
 * The receiving Guest of an inter-Guest transfer. It may run on another thread: then its memory
 * is shared, and its interrupt and any kill reach it through the host tables (host-tables.ts).
 */
export interface DmaReceiver {
  readonly guestid: number;
  readonly pfnLimit: number;
  readonly mem: PhysicalMemory;
  kill(reason: string): void;
  raiseIrq(irq: number): void;
}

/** The receiver's binding a transfer uses; the transfer advances nextDma. */
export interface ReceiveBinding {
  dmas: number;
  numDmas: number;
  nextDma: number;
  interrupt: number;
}

/** What a transfer did: `empty` when the receiver had no free buffer; bytes copied. */
export interface TransferResult {
  empty: boolean;
  copied: number;
}

/** A Guest of this thread as a receiver: its state changes at once. */
export function localReceiver(lg: Lguest): DmaReceiver {
  return {
    guestid: lg.state.guestid,
    pfnLimit: lg.state.pfnLimit,
    mem: lg.mem,
    kill: (reason) => kill(lg, reason),
    raiseIrq: (irq) => {
      lg.state.irqsPending = (lg.state.irqsPending | (1 << irq)) >>> 0;
    },
  };
}

/** A struct lguest_dma as read from Guest memory. */
export interface LguestDma {
  usedLen: number;
  addr: number[];
  len: number[];
}

export function parseDma(b: Uint8Array): LguestDma {
  const addr: number[] = [];
  const len: number[] = [];
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
    addr.push(u32At(b, DMA_ADDR + i * 4));
    len.push(u16At(b, DMA_LEN + i * 2));
  }
  return { usedLen: u32At(b, DMA_USED_LEN), addr, len };
}

/**
 * get_futex_key() as far as validity goes: 4-byte aligned, inside the memory the Launcher
 * mapped for this Guest (below pfn_limit pages).
 */
export function dmaKeyValid(lg: Lguest, key: number): boolean {
  key >>>= 0;
  return key % 4 === 0 && key < lg.state.pfnLimit * PAGE_SIZE && lg.mem.isRam(key, 4);
}

/** This Guest's most recent binding on a key identity (the head of its hash chain), or null. */
function latestBinding(lg: Lguest, keyId: string): DmaBinding | null {
  let best: DmaBinding | null = null;
  for (const b of lg.state.dma) if (b.interrupt !== 0 && b.keyId === keyId && (!best || b.seq > best.seq)) best = b;
  return best;
}

/** LHCALL_BIND_DMA(key, dmas, numdmas, irq): returns 1 on success, 0 on failure. */
export function bindDma(lg: Lguest, key: number, dmas: number, numDmas: number, irq: number): number {
  irq &= 0xff;
  numDmas &= 0xffff;
  if (irq >= LGUEST_IRQS) return 0;
  if (!dmaKeyValid(lg, key)) {
    kill(lg, `bad dma key ${fmtLx(key)}`);
    return 0;
  }
  const keyId = lg.host.keyIdentity(lg, key);
  if (irq === 0) {
    // Unbind: the binding with this key AND this array.
    const b = lg.state.dma.find((d) => d.interrupt !== 0 && d.keyId === keyId && d.dmas === dmas >>> 0);
    if (!b) return 0;
    b.interrupt = 0;
    lg.host.bindingChanged(lg, lg.state.dma.indexOf(b));
    return 1;
  }
  const b = lg.state.dma.find((d) => d.interrupt === 0);
  if (!b) return 0;
  b.key = key >>> 0;
  b.keyId = keyId;
  b.dmas = dmas >>> 0;
  b.numDmas = numDmas;
  b.nextDma = 0;
  b.interrupt = irq;
  b.seq = lg.host.nextBindingSeq();
  lg.host.bindingChanged(lg, lg.state.dma.indexOf(b));
  return 1;
}

/** check_dma_list(): inter-Guest sections must be in range, at most a page, not crossing one. */
function checkDmaList(owner: DmaReceiver, dma: LguestDma): boolean {
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS; i++) {
    const len = dma.len[i]!;
    const addr = dma.addr[i]!;
    if (len === 0) return true;
    if (!lguestAddressOk(owner.pfnLimit, addr, len) || len > PAGE_SIZE || (addr % PAGE_SIZE) + len > PAGE_SIZE) {
      owner.kill(`bad DMA entry: ${fmtU(len)}@${fmtLx(addr)}`);
      return false;
    }
  }
  return true;
}

/**
 * copy_data(): scatter-gather from the sender's sections into the receiver's, each step the
 * smaller of what remains in the current source and destination sections.
 * (The 2.6.23 code forgot to add the source offset when a source section spans two destination
 * sections; we follow the ABI document, which describes the intended copy.)
 */
function copyData(src: Lguest, s: LguestDma, dst: DmaReceiver, d: LguestDma): number {
  let total = 0,
    si = 0,
    di = 0,
    srcoff = 0,
    dstoff = 0;
  while (si < LGUEST_MAX_DMA_SECTIONS && s.len[si]! && di < LGUEST_MAX_DMA_SECTIONS && d.len[di]!) {
    const len = Math.min(s.len[si]! - srcoff, d.len[di]! - dstoff);
    const from = (s.addr[si]! + srcoff) >>> 0;
    const to = (d.addr[di]! + dstoff) >>> 0;
    if (!src.mem.isRam(from, len)) {
      kill(src, 'bad address in sending DMA');
      return 0;
    }
    dst.mem.ram.set(src.mem.ram.subarray(from, from + len), to);
    dst.mem.written(to, len);
    total += len;
    srcoff += len;
    dstoff += len;
    if (srcoff === s.len[si]) {
      si++;
      srcoff = 0;
    }
    if (dstoff === d.len[di]) {
      di++;
      dstoff = 0;
    }
  }
  return total;
}

/** do_dma(): validate both lists, make sure the receiver's pages exist, copy. */
function doDma(src: Lguest, s: LguestDma, dst: DmaReceiver, d: LguestDma): number {
  if (!checkDmaList(dst, d) || !checkDmaList(localReceiver(src), s)) return 0;
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS && d.len[i]!; i++) {
    if (!dst.mem.isRam(d.addr[i]! >>> 0, d.len[i]!)) {
      dst.kill('Error mapping DMA pages');
      return 0;
    }
  }
  return copyData(src, s, dst, d);
}

/** lgread_other(): read the receiver's lguest_dma; its failure is the receiver's fault. */
function readOther(dst: DmaReceiver, addr: number): LguestDma | null {
  if (!lguestAddressOk(dst.pfnLimit, addr, LGUEST_DMA_SIZE) || !dst.mem.isRam(addr >>> 0, LGUEST_DMA_SIZE)) {
    dst.kill('bad address in registered DMA struct');
    return null;
  }
  return parseDma(dst.mem.ram.subarray(addr >>> 0, (addr >>> 0) + LGUEST_DMA_SIZE));
}

/**
 * dma_transfer(): send the sender's lguest_dma at srcDma to the receiver binding b of dst.
 * `empty` when the receiver had no free buffer (the sender then retries once).
 */
export function dmaTransfer(src: Lguest, srcDma: number, dst: DmaReceiver, b: ReceiveBinding): TransferResult {
  const s = parseDma(lgread(src, srcDma, LGUEST_DMA_SIZE));
  let i = 0;
  let j = 0;
  let d: LguestDma | null = null;
  for (i = 0; i < b.numDmas; i++) {
    j = (b.nextDma + i) % b.numDmas;
    d = readOther(dst, (b.dmas + j * LGUEST_DMA_SIZE) >>> 0);
    if (!d) return { empty: false, copied: 0 };
    if (d.usedLen === 0) break;
  }
  let copied = 0;
  if (i !== b.numDmas && d) {
    copied = doDma(src, s, dst, d);
    lgwriteU32(src, (srcDma + DMA_USED_LEN) >>> 0, copied);
    if (copied === 0 && s.len[0] !== 0) return { empty: false, copied: 0 };
    const usedLenp = (b.dmas + j * LGUEST_DMA_SIZE + DMA_USED_LEN) >>> 0;
    if (!lguestAddressOk(dst.pfnLimit, usedLenp, 4) || !dst.mem.isRam(usedLenp, 4)) {
      dst.kill('bad address writing to registered DMA');
    } else {
      dst.mem.ramView.setUint32(usedLenp, copied >>> 0, true);
      dst.mem.written(usedLenp, 4);
    }
    b.nextDma = (b.nextDma + 1) & 0xffff;
  }
  // The receiver gets its interrupt even with no free buffer, so it can refill; and wakes.
  dst.raiseIrq(b.interrupt);
  return { empty: i === b.numDmas, copied };
}

/** The first len bytes a sender's lguest_dma describes, gathered (what the receiver got). */
export function gatherDma(lg: Lguest, udma: number, len: number): Uint8Array {
  const s = parseDma(lgread(lg, udma, LGUEST_DMA_SIZE));
  const out = new Uint8Array(len);
  let at = 0;
  for (let i = 0; i < LGUEST_MAX_DMA_SECTIONS && at < len && s.len[i]!; i++) {
    const n = Math.min(s.len[i]!, len - at);
    const from = s.addr[i]! >>> 0;
    if (!lg.mem.isRam(from, n)) break;
    out.set(lg.mem.ram.subarray(from, from + n), at);
    at += n;
  }
  return out;
}

/** LHCALL_SEND_DMA(key, dma). */
export function sendDma(lg: Lguest, key: number, udma: number): void {
  if (!dmaKeyValid(lg, key)) {
    kill(lg, 'bad sending DMA key');
    return;
  }
  const keyId = lg.host.keyIdentity(lg, key);
  if (!keyId.startsWith('shared:')) {
    // Private memory: only our Launcher can be listening. The run loop returns to it.
    lg.state.dmaIsPending = true;
    lg.state.pendingDma = udma >>> 0;
    lg.state.pendingKey = key >>> 0;
    return;
  }
  // Shared memory: another Guest (perhaps on another thread) may be bound on the same page. All
  // of it happens under the host lock, as under lguest_lock. Give the receiver one chance to restock.
  lg.host.locked(() => {
    for (let attempt = 0; attempt < 2; attempt++) {
      const target = lg.host.sharedReceiver(lg, keyId);
      if (!target) return;
      lg.host.publishSharedPages(lg);
      const r = dmaTransfer(lg, udma, target.dst, target.b);
      target.commit(r.copied, () => gatherDma(lg, udma, r.copied));
      lg.host.refreshSharedPages(lg);
      if (!r.empty) return;
    }
  });
}

/**
 * LHREQ_GETDMA(key): the first free buffer of this Guest's most recent binding on key (or its
 * last buffer if none is free); the IRQ number is stashed in that buffer's used_len.
 * Returns the GPA, or 0 for "-ENOENT".
 */
export function getDmaBuffer(lg: Lguest, key: number): number {
  if (!dmaKeyValid(lg, key)) {
    kill(lg, 'bad registered DMA buffer');
    return 0;
  }
  const b = latestBinding(lg, lg.host.keyIdentity(lg, key));
  if (!b) return 0;
  let ret = 0;
  for (let j = 0; j < b.numDmas; j++) {
    ret = (b.dmas + j * LGUEST_DMA_SIZE) >>> 0;
    const d = parseDma(lgread(lg, ret, LGUEST_DMA_SIZE));
    if (d.usedLen === 0) break;
  }
  if (ret === 0) return 0;
  lgwriteU32(lg, ret, b.interrupt);
  return ret;
}

/** release_all_dma(): close() drops every binding. */
export function releaseAllDma(lg: Lguest): void {
  for (const b of lg.state.dma) b.interrupt = 0;
}
