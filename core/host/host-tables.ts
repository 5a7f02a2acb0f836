// The host-wide tables of one lguest host, in a SharedArrayBuffer so that Launchers on several
// threads drive one host (2.6.23: one lguest_lock over the guest array, the DMA hash and sharenet).

import { LGUEST_IRQS, LGUEST_MAX_DMA, LGUEST_MAX_GUESTS, PAGE_SIZE } from './constants';

/** Shared regions (sharenet networks) one host can hold: 16 guests with 4 networks each. */
export const MAX_REGIONS = 64;
/** Peer slots in one network page: 4096 / sizeof(struct lguest_net). */
export const MAX_REGION_PEERS = Math.floor(PAGE_SIZE / 6);
const REGION_NAME_BYTES = 64;
const KILL_REASON_BYTES = 256;

// Header words.
const LOCK = 0; // 0 = free, else the owner token holding it
const BINDING_SEQ = 1;
const REGION_COUNT = 2;
const NEXT_TOKEN = 3;
const CAPTURE_USED = 4; // bytes of capture records waiting for the reader
const CAPTURE_DROPPED = 5; // frames not recorded because the reader fell behind
const HEADER_WORDS = 8;

// Per guest slot.
const G_OWNER = 0; // owner token of the host (thread) holding the slot, 0 = free
const G_GENERATION = 1; // bumped at every claim, so a stale view of a reused slot is noticed
const G_PFN_LIMIT = 2;
const G_IRQS = 3; // interrupts raised by other threads, not yet seen by the guest's thread
const G_KILL_LEN = 4; // length of a kill reason written by another thread, 0 = none
const GUEST_WORDS = 8;

// Per binding of a shared key (the hash entries other guests can find).
const B_IRQ = 0; // 0 = free
const B_REGION = 1;
const B_OFFSET = 2;
const B_DMAS = 3;
const B_NUM = 4;
const B_NEXT = 5;
const B_SEQ = 6;
const BINDING_WORDS = 8;

// Per region: name length, seeded flag, guestid -> peer slot + 1, peer slot -> owner token.
const R_NAME_LEN = 0;
const R_SEEDED = 1;
const R_CAPTURE = 2; // 1 while frames on this region are recorded
const R_GUEST_PEER = 3;
const R_MEMBERS = R_GUEST_PEER + LGUEST_MAX_GUESTS;
const REGION_WORDS = R_MEMBERS + MAX_REGION_PEERS;

/** Per-peer traffic counters (frames and bytes each way), kept by the sending thread under the lock. */
export const COUNTER_TX_FRAMES = 0,
  COUNTER_TX_BYTES = 1,
  COUNTER_RX_FRAMES = 2,
  COUNTER_RX_BYTES = 3;
const COUNTERS = 4;

const GUESTS_AT = HEADER_WORDS;
const BINDINGS_AT = GUESTS_AT + LGUEST_MAX_GUESTS * GUEST_WORDS;
const REGIONS_AT = BINDINGS_AT + LGUEST_MAX_GUESTS * LGUEST_MAX_DMA * BINDING_WORDS;
const WORDS = REGIONS_AT + MAX_REGIONS * REGION_WORDS;
const COUNTERS_BYTE = Math.ceil((WORDS * 4) / 8) * 8;
const COUNTER_COUNT = MAX_REGIONS * MAX_REGION_PEERS * COUNTERS;
const PAGES_BYTE = COUNTERS_BYTE + COUNTER_COUNT * 8;
const NAMES_BYTE = PAGES_BYTE + MAX_REGIONS * PAGE_SIZE;
const KILLS_BYTE = NAMES_BYTE + MAX_REGIONS * REGION_NAME_BYTES;
/** Last capture timestamp (µs), so that records are never stamped earlier than the one before. */
const CAPTURE_CLOCK_BYTE = KILLS_BYTE + LGUEST_MAX_GUESTS * KILL_REASON_BYTES;
const CAPTURE_BYTE = CAPTURE_CLOCK_BYTE + 8;
/** Room for captured frames between two drains by the reader (the service or the CLI). */
const CAPTURE_BYTES = 1 << 20;
/** A capture record: region, length, timestamp (f64 µs), then the bytes padded to 8. */
const CAPTURE_RECORD_HEADER = 16;
const TOTAL_BYTES = CAPTURE_BYTE + CAPTURE_BYTES;

/** One frame as recorded on a network: wall-clock time in µs since the epoch and its bytes. */
export interface CapturedFrame {
  region: string;
  timeMicros: number;
  bytes: Uint8Array;
}

/** A shared-key binding as another guest's thread sees it. */
export interface SharedBinding {
  guestid: number;
  index: number;
  dmas: number;
  numDmas: number;
  interrupt: number;
}

/** One member of a network, for inspectors and the UI. */
export interface RegionMember {
  peerSlot: number;
  owner: number;
  /** Guest slot of the member's guest, or null before it is initialized. */
  guestid: number | null;
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
}

export class HostTablesFullError extends Error {}

/**
 * One thread's handle on the shared tables. Every handle has its own owner token; the lock word
 * holds the token of the handle inside it, so the service can free it if a worker is terminated
 * while holding it. The lock is re-entrant per handle (one thread uses a handle).
 */
export class HostTables {
  readonly words: Int32Array;
  private readonly counters: Float64Array;
  private readonly bytes: Uint8Array;
  private depth = 0;

  private constructor(
    readonly buffer: SharedArrayBuffer,
    readonly owner: number,
  ) {
    this.words = new Int32Array(buffer, 0, WORDS);
    this.counters = new Float64Array(buffer, COUNTERS_BYTE, COUNTER_COUNT);
    this.bytes = new Uint8Array(buffer);
  }

  /** New, empty tables for a new host; this handle gets the first owner token. */
  static create(): HostTables {
    return HostTables.attach(new SharedArrayBuffer(TOTAL_BYTES));
  }

  /** A handle on existing tables (another thread's view of the same host); a new owner token unless given. */
  static attach(buffer: SharedArrayBuffer, owner?: number): HostTables {
    if (buffer.byteLength !== TOTAL_BYTES) throw new Error('host tables: wrong buffer size');
    return new HostTables(buffer, owner ?? HostTables.newToken(buffer));
  }

  /** Reserves an owner token for a handle another thread will attach with. */
  static newToken(buffer: SharedArrayBuffer): number {
    return Atomics.add(new Int32Array(buffer, 0, HEADER_WORDS), NEXT_TOKEN, 1) + 1;
  }

  /** Runs fn holding the host lock. */
  locked<T>(fn: () => T): T {
    if (this.depth === 0) {
      for (;;) {
        const held = Atomics.compareExchange(this.words, LOCK, 0, this.owner);
        if (held === 0) break;
        Atomics.wait(this.words, LOCK, held, 20);
      }
    }
    this.depth++;
    try {
      return fn();
    } finally {
      if (--this.depth === 0) {
        Atomics.store(this.words, LOCK, 0);
        Atomics.notify(this.words, LOCK, 1);
      }
    }
  }

  nextBindingSeq(): number {
    return Atomics.add(this.words, BINDING_SEQ, 1) + 1;
  }

  get bindingSeq(): number {
    return Atomics.load(this.words, BINDING_SEQ);
  }

  set bindingSeq(v: number) {
    Atomics.store(this.words, BINDING_SEQ, v);
  }

  // ---- guest slots

  /** The first free guest slot for this handle's owner, or -1 when all 16 are taken. */
  claimGuest(pfnLimit: number, id?: number): number {
    return this.locked(() => {
      const ids = id === undefined ? [...Array(LGUEST_MAX_GUESTS).keys()] : [id];
      for (const g of ids) {
        if (g < 0 || g >= LGUEST_MAX_GUESTS) continue;
        const at = GUESTS_AT + g * GUEST_WORDS;
        if (this.words[at + G_OWNER] !== 0) continue;
        this.words[at + G_OWNER] = this.owner;
        this.words[at + G_GENERATION]!++;
        this.words[at + G_PFN_LIMIT] = pfnLimit;
        Atomics.store(this.words, at + G_IRQS, 0);
        this.words[at + G_KILL_LEN] = 0;
        return g;
      }
      return -1;
    });
  }

  releaseGuest(guestid: number): void {
    this.locked(() => {
      this.words[GUESTS_AT + guestid * GUEST_WORDS + G_OWNER] = 0;
      for (let i = 0; i < LGUEST_MAX_DMA; i++) this.words[this.bindingAt(guestid, i) + B_IRQ] = 0;
      for (let r = 0; r < this.regionCount; r++) this.words[this.regionAt(r) + R_GUEST_PEER + guestid] = 0;
    });
  }

  guestOwner(guestid: number): number {
    return Atomics.load(this.words, GUESTS_AT + guestid * GUEST_WORDS + G_OWNER);
  }

  guestGeneration(guestid: number): number {
    return Atomics.load(this.words, GUESTS_AT + guestid * GUEST_WORDS + G_GENERATION);
  }

  guestPfnLimit(guestid: number): number {
    return this.words[GUESTS_AT + guestid * GUEST_WORDS + G_PFN_LIMIT]!;
  }

  /** Guest slots in use. */
  get guestsInUse(): number {
    let n = 0;
    for (let g = 0; g < LGUEST_MAX_GUESTS; g++) if (this.guestOwner(g) !== 0) n++;
    return n;
  }

  // ---- interrupts and kills from other threads (the receiver's thread folds them in)

  /** Raise irq in a guest that runs on another thread, and wake that thread if it sleeps. */
  raiseIrq(guestid: number, irq: number): void {
    const at = GUESTS_AT + guestid * GUEST_WORDS + G_IRQS;
    Atomics.or(this.words, at, (1 << irq) | 0);
    Atomics.notify(this.words, at);
  }

  /** Interrupt bits raised by other threads since the last call (cleared). */
  takeIrqs(guestid: number): number {
    const at = GUESTS_AT + guestid * GUEST_WORDS + G_IRQS;
    return Atomics.load(this.words, at) === 0 ? 0 : Atomics.exchange(this.words, at, 0) >>> 0;
  }

  /** The word and index a sleeping guest's thread waits on (Atomics.waitAsync) for remote interrupts. */
  irqWord(guestid: number): { words: Int32Array; index: number } {
    return { words: this.words, index: GUESTS_AT + guestid * GUEST_WORDS + G_IRQS };
  }

  /** kill_guest() for a guest of another thread: the first reason is kept until its thread takes it. */
  killRemote(guestid: number, reason: string): void {
    const at = GUESTS_AT + guestid * GUEST_WORDS;
    if (this.words[at + G_KILL_LEN] !== 0) return;
    const encoded = new TextEncoder().encode(reason).subarray(0, KILL_REASON_BYTES);
    this.bytes.set(encoded, KILLS_BYTE + guestid * KILL_REASON_BYTES);
    Atomics.store(this.words, at + G_KILL_LEN, encoded.length);
    // Wake it so it notices: a kill is as urgent as an interrupt.
    Atomics.or(this.words, at + G_IRQS, 0);
    Atomics.notify(this.words, at + G_IRQS);
  }

  takeKill(guestid: number): string | null {
    const at = GUESTS_AT + guestid * GUEST_WORDS + G_KILL_LEN;
    const len = Atomics.load(this.words, at);
    if (len === 0) return null;
    Atomics.store(this.words, at, 0);
    const from = KILLS_BYTE + guestid * KILL_REASON_BYTES;
    return new TextDecoder().decode(this.bytes.slice(from, from + len));
  }

  // ---- shared-key bindings (what SEND_DMA on a shared key searches)

  private bindingAt(guestid: number, index: number): number {
    return BINDINGS_AT + (guestid * LGUEST_MAX_DMA + index) * BINDING_WORDS;
  }

  /** Publishes (or with irq 0 withdraws) binding `index` of a guest on a shared key (region, offset). */
  setBinding(
    guestid: number,
    index: number,
    b: { irq: number; region: number; offset: number; dmas: number; numDmas: number; nextDma: number; seq: number },
  ): void {
    this.locked(() => {
      const at = this.bindingAt(guestid, index);
      this.words[at + B_REGION] = b.region;
      this.words[at + B_OFFSET] = b.offset;
      this.words[at + B_DMAS] = b.dmas | 0;
      this.words[at + B_NUM] = b.numDmas;
      this.words[at + B_NEXT] = b.nextDma;
      this.words[at + B_SEQ] = b.seq;
      this.words[at + B_IRQ] = b.irq;
    });
  }

  clearBinding(guestid: number, index: number): void {
    this.locked(() => {
      this.words[this.bindingAt(guestid, index) + B_IRQ] = 0;
    });
  }

  /** The most recently bound binding on (region, offset) of any guest but `except` (call under the lock). */
  findBinding(region: number, offset: number, except: number): SharedBinding | null {
    let best: SharedBinding | null = null;
    let bestSeq = -1;
    for (let g = 0; g < LGUEST_MAX_GUESTS; g++) {
      if (g === except || this.guestOwner(g) === 0) continue;
      for (let i = 0; i < LGUEST_MAX_DMA; i++) {
        const at = this.bindingAt(g, i);
        const irq = this.words[at + B_IRQ]!;
        if (irq === 0 || irq >= LGUEST_IRQS) continue;
        if (this.words[at + B_REGION] !== region || this.words[at + B_OFFSET] !== offset) continue;
        const seq = this.words[at + B_SEQ]!;
        if (seq > bestSeq) {
          bestSeq = seq;
          best = {
            guestid: g,
            index: i,
            dmas: this.words[at + B_DMAS]! >>> 0,
            numDmas: this.words[at + B_NUM]!,
            interrupt: irq,
          };
        }
      }
    }
    return best;
  }

  nextDma(guestid: number, index: number): number {
    return this.words[this.bindingAt(guestid, index) + B_NEXT]!;
  }

  setNextDma(guestid: number, index: number, v: number): void {
    this.words[this.bindingAt(guestid, index) + B_NEXT] = v;
  }

  // ---- regions (one per network)

  private get regionCount(): number {
    return Atomics.load(this.words, REGION_COUNT);
  }

  private regionAt(r: number): number {
    return REGIONS_AT + r * REGION_WORDS;
  }

  regionName(r: number): string {
    const len = this.words[this.regionAt(r) + R_NAME_LEN]!;
    const from = NAMES_BYTE + r * REGION_NAME_BYTES;
    return new TextDecoder().decode(this.bytes.slice(from, from + len));
  }

  /** The index of a region, added if new; throws HostTablesFullError when no index is left. */
  region(name: string): number {
    return this.locked(() => {
      const count = this.regionCount;
      for (let r = 0; r < count; r++) if (this.regionName(r) === name) return r;
      const encoded = new TextEncoder().encode(name);
      if (encoded.length > REGION_NAME_BYTES) throw new Error(`shared region name too long: ${name}`);
      if (count >= MAX_REGIONS) throw new HostTablesFullError(`the host holds ${MAX_REGIONS} networks already`);
      this.bytes.set(encoded, NAMES_BYTE + count * REGION_NAME_BYTES);
      this.words[this.regionAt(count) + R_NAME_LEN] = encoded.length;
      Atomics.store(this.words, REGION_COUNT, count + 1);
      return count;
    });
  }

  /** Region names with an index so far. */
  regionNames(): string[] {
    return [...Array(this.regionCount).keys()].map((r) => this.regionName(r));
  }

  /** The canonical bytes of a region's page (touch under the lock). */
  page(r: number): Uint8Array {
    return this.bytes.subarray(PAGES_BYTE + r * PAGE_SIZE, PAGES_BYTE + (r + 1) * PAGE_SIZE);
  }

  /** True the first time: the first guest to map a region seeds its page (call under the lock). */
  seedRegion(r: number): boolean {
    const at = this.regionAt(r) + R_SEEDED;
    if (this.words[at] !== 0) return false;
    this.words[at] = 1;
    return true;
  }

  /** Restores a region page from a snapshot. */
  loadRegion(name: string, bytes: Uint8Array): void {
    const r = this.region(name);
    this.locked(() => {
      this.page(r).set(bytes.subarray(0, PAGE_SIZE));
      this.words[this.regionAt(r) + R_SEEDED] = 1;
    });
  }

  /** Seeded regions and their page bytes (a copy). */
  seededRegions(): { name: string; bytes: Uint8Array }[] {
    return this.locked(() =>
      [...Array(this.regionCount).keys()]
        .filter((r) => this.words[this.regionAt(r) + R_SEEDED] !== 0)
        .map((r) => ({ name: this.regionName(r), bytes: this.page(r).slice() })),
    );
  }

  /** Clears every region (a host restored from a snapshot starts from its saved regions only). */
  clearRegions(): void {
    this.locked(() => {
      for (let r = 0; r < this.regionCount; r++) {
        this.words.fill(0, this.regionAt(r), this.regionAt(r) + REGION_WORDS);
        this.page(r).fill(0);
      }
      Atomics.store(this.words, REGION_COUNT, 0);
    });
  }

  /**
   * The lowest free peer slot of a region, or (a restore re-joining its network) the given one,
   * taken for this owner; -1 when the page is full or the given slot is taken.
   */
  acquirePeer(r: number, slot?: number): number {
    return this.locked(() => {
      const at = this.regionAt(r) + R_MEMBERS;
      const slots = slot === undefined ? [...Array(MAX_REGION_PEERS).keys()] : [slot];
      for (const p of slots) {
        if (p < 0 || p >= MAX_REGION_PEERS || this.words[at + p] !== 0) continue;
        this.words[at + p] = this.owner;
        this.counters.fill(0, (r * MAX_REGION_PEERS + p) * COUNTERS, (r * MAX_REGION_PEERS + p + 1) * COUNTERS);
        return p;
      }
      return -1;
    });
  }

  releasePeer(r: number, peer: number): void {
    this.locked(() => {
      const at = this.regionAt(r);
      this.words[at + R_MEMBERS + peer] = 0;
      for (let g = 0; g < LGUEST_MAX_GUESTS; g++)
        if (this.words[at + R_GUEST_PEER + g] === peer + 1) this.words[at + R_GUEST_PEER + g] = 0;
    });
  }

  /** Records which guest holds a peer slot (set at INITIALIZE; counters are kept by guest). */
  setGuestPeer(r: number, guestid: number, peer: number): void {
    this.locked(() => {
      this.words[this.regionAt(r) + R_GUEST_PEER + guestid] = peer + 1;
    });
  }

  /** Counts one frame of `bytes` from guest src to guest dst on region r (call under the lock). */
  countFrame(r: number, src: number, dst: number, bytes: number): void {
    const at = this.regionAt(r) + R_GUEST_PEER;
    const sp = this.words[at + src]! - 1;
    const dp = this.words[at + dst]! - 1;
    if (sp >= 0) {
      this.counters[(r * MAX_REGION_PEERS + sp) * COUNTERS + COUNTER_TX_FRAMES]!++;
      this.counters[(r * MAX_REGION_PEERS + sp) * COUNTERS + COUNTER_TX_BYTES]! += bytes;
    }
    if (dp >= 0) {
      this.counters[(r * MAX_REGION_PEERS + dp) * COUNTERS + COUNTER_RX_FRAMES]!++;
      this.counters[(r * MAX_REGION_PEERS + dp) * COUNTERS + COUNTER_RX_BYTES]! += bytes;
    }
  }

  // ---- capture (a network's frames, for a pcap file)

  /** Starts or stops recording the frames delivered on region r. */
  setCapture(r: number, on: boolean): void {
    this.locked(() => {
      this.words[this.regionAt(r) + R_CAPTURE] = on ? 1 : 0;
    });
  }

  /** Records a frame delivered on region r, if it is being captured (call under the lock). */
  captureFrame(r: number, frame: () => Uint8Array): void {
    if (this.words[this.regionAt(r) + R_CAPTURE] === 0) return;
    const bytes = frame();
    const used = this.words[CAPTURE_USED]!;
    const size = CAPTURE_RECORD_HEADER + Math.ceil(bytes.length / 8) * 8;
    if (used + size > CAPTURE_BYTES) {
      this.words[CAPTURE_DROPPED]!++;
      return;
    }
    const clock = new Float64Array(this.buffer, CAPTURE_CLOCK_BYTE, 1);
    const now = Math.max(Math.floor((performance.timeOrigin + performance.now()) * 1000), clock[0]!);
    clock[0] = now;
    const at = CAPTURE_BYTE + used;
    const view = new DataView(this.buffer, at, CAPTURE_RECORD_HEADER);
    view.setInt32(0, r, true);
    view.setInt32(4, bytes.length, true);
    view.setFloat64(8, now, true);
    this.bytes.set(bytes, at + CAPTURE_RECORD_HEADER);
    this.words[CAPTURE_USED] = used + size;
  }

  /** Takes every recorded frame, oldest first, and the count of frames dropped since the last call. */
  drainCapture(): { frames: CapturedFrame[]; dropped: number } {
    return this.locked(() => {
      const frames: CapturedFrame[] = [];
      const used = this.words[CAPTURE_USED]!;
      for (let off = 0; off < used; ) {
        const view = new DataView(this.buffer, CAPTURE_BYTE + off, CAPTURE_RECORD_HEADER);
        const len = view.getInt32(4, true);
        const from = CAPTURE_BYTE + off + CAPTURE_RECORD_HEADER;
        frames.push({
          region: this.regionName(view.getInt32(0, true)),
          timeMicros: view.getFloat64(8, true),
          bytes: this.bytes.slice(from, from + len),
        });
        off += CAPTURE_RECORD_HEADER + Math.ceil(len / 8) * 8;
      }
      const dropped = this.words[CAPTURE_DROPPED]!;
      this.words[CAPTURE_USED] = 0;
      this.words[CAPTURE_DROPPED] = 0;
      return { frames, dropped };
    });
  }

  /** Members of region r (occupied peer slots), with their guests and counters. */
  members(r: number): RegionMember[] {
    return this.locked(() => {
      const at = this.regionAt(r);
      const out: RegionMember[] = [];
      for (let p = 0; p < MAX_REGION_PEERS; p++) {
        const owner = this.words[at + R_MEMBERS + p]!;
        if (owner === 0) continue;
        let guestid: number | null = null;
        for (let g = 0; g < LGUEST_MAX_GUESTS; g++) if (this.words[at + R_GUEST_PEER + g] === p + 1) guestid = g;
        const c = (r * MAX_REGION_PEERS + p) * COUNTERS;
        out.push({
          peerSlot: p,
          owner,
          guestid,
          txFrames: this.counters[c + COUNTER_TX_FRAMES]!,
          txBytes: this.counters[c + COUNTER_TX_BYTES]!,
          rxFrames: this.counters[c + COUNTER_RX_FRAMES]!,
          rxBytes: this.counters[c + COUNTER_RX_BYTES]!,
        });
      }
      return out;
    });
  }

  // ---- an owner that went away

  /**
   * Frees everything an owner (a worker's host) still holds: the lock if it died inside it, its
   * guest slots with their bindings, and its peer slots. Called by the service after a worker exits.
   */
  releaseOwner(owner: number): number[] {
    if (Atomics.compareExchange(this.words, LOCK, owner, 0) === owner) Atomics.notify(this.words, LOCK);
    return this.locked(() => {
      const freed: number[] = [];
      for (let g = 0; g < LGUEST_MAX_GUESTS; g++) {
        if (this.guestOwner(g) !== owner) continue;
        this.releaseGuest(g);
        freed.push(g);
      }
      for (let r = 0; r < this.regionCount; r++) {
        const at = this.regionAt(r) + R_MEMBERS;
        for (let p = 0; p < MAX_REGION_PEERS; p++) if (this.words[at + p] === owner) this.releasePeer(r, p);
      }
      return freed;
    });
  }
}
