// The i386 processor: architectural state, the fetch/decode/execute loop with its decoded-
// instruction cache, exception routing and the Cpu contract (Intel SDM vol. 3, "Protected Mode").

import { createX87State, syncRegisters, type X87Host } from './x87';
import { CpuFault, ExitSignal, gp, isContributory } from './fault';
import { AC, AF, ARITH, CF, DF, ID, IF, IOPL, NT, OF, PF, RF, SF, TF, VM, ZF, materialize, settle } from './flags';
import { decode } from './decode';
import { DecodeCache } from './decode-cache';
import type { Instr } from './instr';
import { deliverEvent } from './interrupts';
import { runDebug, type DebugHook } from './debug-run';
import { BREAKPOINT_STOP, breakpointPages, changedPages, type BreakpointPages } from './breakpoints';
import { compileRegion, type Region } from './jit';
import { fastPieceOf, isEscape } from './jit-x87';
import { ROLE_BRANCH } from './optable';
import { Mmu } from './mmu';
import type { PhysicalMemory } from './memory';
import {
  D_CODE,
  D_DB,
  D_DC,
  D_P,
  D_RW,
  D_S,
  SEG_CS,
  SEG_DS,
  SEG_ES,
  SEG_FS,
  SEG_GS,
  SEG_SS,
  checkDataSegment,
  checkReturnCode,
  checkStackSegment,
  checkedLinear,
  nullCache,
  nullInaccessibleSegments,
} from './segmentation';
import type {
  Cpu,
  CpuExit,
  CpuOwner,
  CpuState,
  Reg32,
  SampleMarks,
  SegReg,
  SegmentRegister,
  TableRegister,
  X87State,
} from './types';

/**
 * Entries into an instruction before the region of its page is compiled (or grown) to include
 * it. High on purpose: a region pays off only after the JavaScript engine has optimised it,
 * which costs far more than interpreting lukewarm code; a Linux boot runs thousands of code
 * paths a few thousand times each, and leaves a region after about 30 instructions on average.
 */
const HOT_ENTRY = 50000;
/**
 * A page that has a region already grows it to include an instruction after a tenth of the
 * entries a new page needs (5,000 by default): that page's code is hot, and until it grows each
 * entry there leaves compiled code. (A tenth of Infinity keeps the compiler off; of 1, eager.)
 */
const GROW_SHARE = 10;
/**
 * An x87 escape the interpreter runs counts as this many more entries into the instruction its
 * block was entered at: the interpreter spends about five times as long on one as on an integer
 * instruction (190 ns against 40 ns on the development machine), so x87 code earns its region
 * sooner.
 */
const X87_EXTRA_HITS = 4;
/**
 * LGUEST_COMPILE=off turns the region compiler off and LGUEST_COMPILE=eager compiles at the
 * first entry, so that every test can be run both ways (the compiler must be invisible).
 */
const DEFAULT_THRESHOLD = ((): number => {
  const v = typeof process === 'undefined' ? undefined : process.env['LGUEST_COMPILE'];
  return v === 'off' ? Infinity : v === 'eager' ? 1 : HOT_ENTRY;
})();
/**
 * LGUEST_REGIONS=js keeps every region JavaScript (the WebAssembly backend off), so that tests
 * can run each backend.
 */
const DEFAULT_BACKEND: 'wasm' | 'js' =
  typeof process !== 'undefined' && process.env['LGUEST_REGIONS'] === 'js' ? 'js' : 'wasm';
/** Times one page's region may be recompiled to grow; later hot entries of the page stay interpreted. */
const MAX_REGROW = 16;
const CR0_PE = 1,
  CR0_ET = 0x10,
  CR0_PG = 0x80000000 | 0;
/** EFLAGS bits the owner (ring 0) may set directly. VM is refused: virtual-8086 mode is not modelled. */
const OWNER_WRITABLE = CF | PF | AF | ZF | SF | TF | IF | DF | OF | IOPL | NT | RF | AC | ID | (3 << 19);

/**
 * A protected-mode i686 integer core (x87 in x87.ts) for code at CPL 1 and 3. Not modelled:
 * real and virtual-8086 mode, task switching (task gates, IRET with NT, LTR/LLDT), call gates,
 * 16-bit interrupt gates, debug registers and breakpoints (except TF single-step), MSRs,
 * alignment checking (#AC), the TSS I/O bitmap (every port access is #GP(0) for the owner to
 * emulate), HLT at CPL 0, MMX/SSE, SYSENTER/SYSCALL.
 */
export class I386 implements Cpu {
  readonly mem: PhysicalMemory;
  owner: CpuOwner;
  readonly mmu: Mmu;

  // ---- architectural state ----
  readonly gpr = new Int32Array(8);
  /** EIP of the instruction being executed (the restart point while it runs). */
  ip = 0;
  /** EIP the current instruction continues at; control transfers write it. */
  nextIp = 0;
  // EFLAGS with lazy status flags (see flags.ts).
  flags = 2;
  lazy = 0;
  lop = 0;
  la = 0;
  lb = 0;
  lres = 0;
  lmask = 0;
  lsign = 0;
  segs: SegmentRegister[] = [0, 1, 2, 3, 4, 5].map(() => nullCache(0));
  gdtr: TableRegister = { base: 0, limit: 0 };
  idtr: TableRegister = { base: 0, limit: 0 };
  ldtr: SegmentRegister = nullCache(0);
  tr: SegmentRegister = nullCache(0);
  private cr0v = CR0_PE | CR0_ET | CR0_PG;
  cr2 = 0;
  private cr3v = 0;
  private cr4v = 0;
  x87: X87State = createX87State();
  icount = 0;

  // ---- derived from the state (recomputed on load, never saved) ----
  /** Segment bases as int32, for address arithmetic. */
  readonly sbase = new Int32Array(6);
  /** Bit s set: segment s is usable for reads/writes with no limit or type test (flat, expand-up). */
  segOkR = 0;
  segOkW = 0;
  private cplv = 0;
  /** CS.D: default operand and address size is 32 bits. */
  code32 = true;
  /** SS.B: the stack pointer is ESP (not SP). */
  ss32 = true;
  private csFlat = false;
  private csLimit = 0;

  // ---- caches (derived; dropCaches() forgets them) ----
  readonly dcache: DecodeCache;
  /**
   * Cached instructions are re-checked against memory once per epoch. It moves on a change of
   * CS.D, on dropCaches(), and at every run() only when other threads write the RAM (see
   * PhysicalMemory.shared); every other write reaches codeWritten() at once.
   */
  epoch = 0;
  private fLinPage = -1;
  private fPhysPage = -1;
  private fPhysBase = 0;
  private fArr: (Instr | undefined)[] | null = null;
  /** Entries that make an instruction of the fetch page hot: fewer once the page has a region. */
  private fHot = DEFAULT_THRESHOLD;
  readonly x87host: X87Host;
  /** Statistics (derived): instructions decoded since construction. */
  decodeCount = 0;
  /** Bumped whenever a store overwrites cached code: a running region stops at the next check. */
  codeGen = 0;
  /** Statistics (derived): regions compiled since construction, and runs of compiled regions. */
  blockCount = 0;
  /** Of the regions compiled, those compiled to WebAssembly (statistics, derived). */
  wasmBlockCount = 0;
  regionRuns = 0;
  /**
   * Entries into an instruction (as a jump target or after a region exit) before a region is
   * compiled to include it. A tuning knob, not state: Infinity turns the compiler off, 1
   * compiles at once.
   */
  get blockThreshold(): number {
    return this.threshold;
  }
  set blockThreshold(v: number) {
    this.threshold = v;
    this.fLinPage = -1; // the fetch page's fHot is computed again
  }
  private threshold = DEFAULT_THRESHOLD;
  /**
   * What regions compile to (a tuning knob, not state): WebAssembly where the RAM and TLB tables
   * allow it, or JavaScript only.
   */
  regionBackend = DEFAULT_BACKEND;
  /** The compiled region of each physical code page, with how often it was regrown. */
  private regions: ({ region: Region; grown: number } | undefined)[] = [];
  /** ES, SS and DS are flat (base 0, 4 GiB, readable and writable) and SS is 32-bit. */
  dataFlat = false;
  /** An attached debugger (debug-run.ts); null costs one test per run() call and nothing else. */
  debug: DebugHook | null = null;
  /** Instruction breakpoints (see setBreakpoints), and those of the current fetch page. */
  private breakPages: BreakpointPages = new Map();
  private fBreak: Uint8Array | null = null;
  /** Linear EIP and instruction count where the current run() started (no breakpoint stops there). */
  private runLin = 0;
  private runCount = 0;
  /**
   * Linear EIP and instruction count where the last run() ran out of budget. Carrying on from
   * there is not an entry: a budget or a sample mark cuts the code anywhere, and counting such
   * points would grow regions with entries in the middle of blocks (a loop split there loses its
   * flags between its pieces).
   */
  private cutLin = 0;
  private cutCount = -1;
  /** Budget units left unused by a run() that stopped at a breakpoint (written only by such a stop). */
  breakUnspent = 0;
  /** See SampleMarks: set by the guest profiler around a run. */
  marks: SampleMarks | null = null;
  /** The instruction count at which the current run's budget ends (for regions passing a mark). */
  private runEnd = 0;
  /** A mark a region noted ahead and not yet confirmed (or -1), and the EIP it noted there. */
  private markAhead = -1;
  private markAheadEip = 0;

  constructor(mem: PhysicalMemory, owner: CpuOwner) {
    this.mem = mem;
    this.owner = owner;
    this.mmu = new Mmu(mem);
    this.dcache = new DecodeCache(this.mmu);
    this.mmu.onCodeWrite = (p, len) => this.codeWritten(p, len);
    // Host and Launcher writes can span pages (DMA): each page with cached code is checked.
    mem.onWritten = (p, len) => {
      const codePage = this.mmu.codePage;
      const last = Math.min(p + len, mem.ram.byteLength) - 1;
      for (let at = p; at <= last; at = (at & ~0xfff) + 4096) {
        if (codePage[at >>> 12] !== 0) this.codeWritten(at, Math.min(last + 1, (at & ~0xfff) + 4096) - at);
      }
    };
    this.mmu.cr0 = this.cr0v;
    for (let s = 0; s < 6; s++) this.refreshSegment(s);
    const mmu = this.mmu;
    this.x87host = {
      read8: (l) => mmu.read8(l),
      read16: (l) => mmu.read16(l),
      read32: (l) => mmu.read32(l),
      write8: (l, v) => mmu.write8(l, v),
      write16: (l, v) => mmu.write16(l, v),
      write32: (l, v) => mmu.write32(l, v),
      getEflags: () => this.eflags & ~(RF | VM),
      setEflags: (v) => {
        settle(this);
        this.flags = (this.flags & ~ARITH) | (v & ARITH);
      },
      setAx: (v) => {
        this.gpr[0] = (this.gpr[0]! & ~0xffff) | (v & 0xffff);
      },
    };
  }

  /** A store of `len` bytes at physical `p` (within one page) landed on a page with cached code. */
  private codeWritten(p: number, len: number): void {
    // Only a store into bytes of a cached instruction drops the page's decoded code.
    if (!this.dcache.touchesCode(p, len)) return;
    const page = p >>> 12;
    this.codeGen++;
    this.dcache.invalidatePage(page);
    const reg = this.regions[page];
    if (reg !== undefined) {
      reg.region.dead = true;
      this.regions[page] = undefined;
    }
    if (page === this.fPhysPage) this.fLinPage = -1;
  }

  // ================= the run loop =================

  run(budget: number): CpuExit {
    if (this.debug !== null) return runDebug(this, this.debug, budget);
    if (this.mem.shared) this.epoch++;
    const marks = this.marks;
    // Budget is counted in retired instructions (icount) plus one per delivered exception. The
    // loop below stops at `limit`: the budget's end or, when marks are set, the next mark.
    let end = this.icount + budget;
    let limit = marks === null ? end : Math.min(end, marks.next);
    this.runEnd = end;
    this.runLin = (this.sbase[SEG_CS]! + this.ip) | 0;
    this.runCount = this.icount;
    // The last stop was a cut (the budget's end or a mark), not a jump, an exception or an exit.
    let cut = this.runLin === this.cutLin && this.icount === this.cutCount;
    for (;;) {
      if (this.icount >= limit) {
        if (marks === null) break;
        this.noteDueMark();
        if (this.icount >= end) break;
        limit = Math.min(end, marks.next);
      }
      try {
        let ins = this.fetch();
        // `entry`: ins was reached by a fetch (a jump target, a page change, a region exit): the
        // places where compiled regions are entered. After a cut only a block start enters its
        // region, and the point is not counted towards compiling one.
        let entry = !cut || ins.region !== null;
        cut = false;
        // The entry the instructions since were reached from (none after a cut).
        let from: Instr | null = null;
        for (;;) {
          if (entry) from = ins;
          if (entry && (ins.region !== null || ++ins.hits >= this.fHot) && this.runRegion(ins, limit)) {
            if (this.markAhead >= 0) this.settleMark();
            if (this.icount >= limit) break;
            ins = this.fetch();
            continue;
          }
          const fall = (this.ip + ins.len) >>> 0;
          this.nextIp = fall;
          const tf = this.flags & TF;
          ins.fn(this, ins);
          if (from !== null && isEscape(ins)) from.hits += X87_EXTRA_HITS;
          this.ip = this.nextIp;
          this.icount++;
          if (tf !== 0) throw new CpuFault(1, 0, false); // single-step trap after the instruction
          if (this.icount >= limit) break;
          // Straight-line code in the same page chains to the next cached instruction while
          // nothing (TLB, CS, code writes) has reset the fetch page.
          if (fall === this.ip && this.fLinPage !== -1 && this.csFlat) {
            // After a branch not taken the next instruction starts a block: count it as an entry.
            entry = ins.role === ROLE_BRANCH;
            const n = ins.next;
            // (In a page with breakpoints each instruction goes through fetch(), which checks them.)
            if (n !== null && n.epoch === this.epoch && this.fBreak === null) {
              ins = n;
              continue;
            }
            if (((this.sbase[SEG_CS]! + fall) | 0) >>> 12 === this.fLinPage) {
              const f = this.fetch();
              if (f.epoch === this.epoch) ins.next = f;
              ins = f;
              continue;
            }
          }
          ins = this.fetch();
          entry = true;
        }
        cut = true; // the inner loop only ends at the limit
      } catch (e) {
        if (this.markAhead >= 0) this.settleMark();
        // (An instruction that retires and then leaves, like an INT to the owner, can reach a mark.)
        if (e === BREAKPOINT_STOP) {
          this.breakUnspent = end - this.icount;
          this.noteDueMark();
          return { kind: 'budget' };
        }
        if (e instanceof ExitSignal) {
          this.noteDueMark();
          return { kind: 'exit', vector: e.vector, errorCode: e.errorCode, cr2: this.cr2 >>> 0 };
        }
        if (!(e instanceof CpuFault)) throw e;
        const exit = this.raiseException(e);
        if (exit) {
          this.noteDueMark();
          return exit;
        }
        // A delivered exception retires nothing but still uses one unit of budget, so a guest
        // whose handler faults again at once cannot keep run() from returning.
        this.runEnd = --end;
        limit = marks === null ? end : Math.min(end, marks.next);
      }
    }
    this.cutLin = (this.sbase[SEG_CS]! + this.ip) | 0;
    this.cutCount = this.icount;
    return { kind: 'budget' };
  }

  /**
   * For a compiled region stopped at the start of a block (its instructions at the EIPs `eips`)
   * that would run past its limit: when the block passes only the next mark (not the budget's
   * end, not a second mark), notes the mark ahead from the EIP of the instruction at it, and
   * returns the limit the region may run on to; else -1 (the run loop then stops at the exact
   * count). The note is confirmed once the CPU has gone past the mark.
   */
  private passMark(ic: number, eips: readonly number[]): number {
    const marks = this.marks;
    if (marks === null) return -1;
    // A region only stops again after the block holding the last noted mark ran through.
    if (this.markAhead >= 0) {
      marks.confirm();
      this.markAhead = -1;
    }
    const m = marks.next;
    const len = eips.length;
    if (m < ic || ic + len > this.runEnd) return -1;
    const after = marks.after(m);
    if (after < ic + len) return -1;
    const eip = eips[m - ic]!;
    marks.note(eip, this.cplv);
    this.markAhead = m;
    this.markAheadEip = eip;
    return Math.min(this.runEnd, after);
  }

  /**
   * After a region left: its note of a mark holds if the CPU ran the block on to the instruction
   * at the mark (past the mark, or stopped right at that instruction); it is void if the region
   * left before (a fault, or an instruction that went elsewhere, as an INT does).
   */
  private settleMark(): void {
    const m = this.markAhead;
    if (this.icount > m || (this.icount === m && this.ip >>> 0 === this.markAheadEip)) this.marks!.confirm();
    this.markAhead = -1;
  }

  /** Notes the next mark here when the CPU has reached it. */
  private noteDueMark(): void {
    const marks = this.marks;
    if (marks !== null && this.icount >= marks.next) {
      marks.note(this.ip >>> 0, this.cplv);
      marks.confirm();
    }
  }

  /**
   * Runs the compiled region that may be entered at `ins` (the instruction at CS:EIP, just
   * fetched), compiling one first when `ins` has become hot. Returns false when nothing ran
   * (no region, TF set, segments not flat, or too little budget for its first block).
   */
  private runRegion(ins: Instr, limit: number): boolean {
    if ((this.flags & TF) !== 0 || !this.csFlat || !this.dataFlat) return false;
    let r = ins.region;
    if (r !== null && r.dead) r = ins.region = null;
    if (r === null) {
      // A page whose region is running already grows sooner: its other blocks are warm.
      if (ins.hits < this.fHot) return false;
      r = this.compileRegionAt(ins);
      if (r === null) return false;
    } else if (r.x87Pieces !== 0 && ins.hits >= 0 && (r.x87Pieces | fastPieceOf(this.x87.control)) !== r.x87Pieces) {
      // Its x87 runs lack the fast piece of this control word: compiled again with both (where
      // that fails, ins is marked as never to try again).
      r = this.compileRegionAt(ins) ?? r;
    }
    const lin = (this.sbase[SEG_CS]! + this.ip) | 0;
    if (r.linPage !== lin >>> 12 || r.d32 !== this.code32 || r.csBase !== this.sbase[SEG_CS]) return false;
    if (r.epoch !== this.epoch && !this.verifyRegion(r)) {
      this.dropRegion(r);
      ins.region = null;
      ins.hits = 0;
      return false;
    }
    const ip0 = this.ip,
      ic0 = this.icount;
    this.regionRuns++;
    let past = r.run(this, limit);
    // A block that would pass a sample mark runs on from here once the mark is noted ahead.
    while (past >= 0 && this.marks !== null && !r.dead) {
      const next = this.passMark(this.icount, r.blockEips[past]!);
      if (next < 0) break;
      this.regionRuns++;
      past = r.run(this, next);
    }
    const ran = this.icount !== ic0 || this.ip !== ip0;
    // A WebAssembly region can leave at its first instruction (a TLB miss) after noting a mark.
    if (!ran && this.markAhead >= 0) this.settleMark();
    return ran;
  }

  /**
   * Compiles (or grows) the region of the current code page so that it can be entered at `first`
   * (the instruction at CS:EIP, cached in the current fetch page).
   */
  private compileRegionAt(first: Instr): Region | null {
    const arr = this.fArr;
    const lin0 = (this.sbase[SEG_CS]! + this.ip) | 0;
    const off0 = lin0 & 0xfff;
    const page = this.fPhysPage;
    const old = this.regions[page];
    const brk = this.breakPages.get(lin0 >>> 12);
    // An instruction at a breakpoint stays out of regions (the run loop stops before it).
    if (brk?.[off0] === 1) return null;
    if (arr === null || lin0 >>> 12 !== this.fLinPage || arr[off0] !== first || (old?.grown ?? 0) >= MAX_REGROW) {
      first.hits = -0x40000000; // not cached where a region could find it: never try again
      return null;
    }
    const linBase = lin0 & ~0xfff;
    const at = (off: number): Instr | undefined => {
      if (brk?.[off] === 1) return undefined;
      let ins = arr[off];
      if (ins !== undefined && off + ins.len > 4096) return undefined; // crosses the page
      if (ins !== undefined && ins.epoch !== this.epoch && !this.verify(ins, linBase | off)) ins = undefined;
      if (ins === undefined) {
        try {
          ins = this.decodeAt(linBase | off);
        } catch (e) {
          if (!(e instanceof CpuFault)) throw e;
          return undefined;
        }
        if (arr[off] !== ins || off + ins.len > 4096) return undefined; // not cached, or crosses the page
      }
      return ins;
    };
    const reuse = old !== undefined && !old.region.dead && old.region.linPage === lin0 >>> 12;
    // The new entry first: a region holds at most MAX_REGION instructions, and the ones reached
    // from the entry that is hot now must be among them (the old entries get what room is left).
    const entries = reuse ? [off0, ...old.region.entries.filter((e) => e !== off0)] : [off0];
    const visited = (off: number): boolean => (arr[off]?.hits ?? 0) !== 0;
    const wasm = this.regionBackend === 'wasm' ? this.mmu.wasm : null;
    const pieces = (reuse ? old.region.x87Pieces : 0) | fastPieceOf(this.x87.control);
    const r = compileRegion(at, visited, linBase, this.sbase[SEG_CS]!, this.code32, entries, wasm, pieces);
    if (r === null || !r.leaders.includes(first)) {
      first.hits = -0x40000000;
      return null;
    }
    if (old !== undefined) old.region.dead = true;
    r.epoch = this.epoch;
    for (const l of r.leaders) l.region = r;
    this.regions[page] = { region: r, grown: (old?.grown ?? 0) + 1 };
    this.fHot = this.hotEntries(page);
    this.blockCount++;
    if (r.wasm) this.wasmBlockCount++;
    return r;
  }

  /** Re-checks a region's instruction bytes against memory once per run (as verify() does). */
  private verifyRegion(r: Region): boolean {
    if (this.fArr === null) return false;
    const ram = this.mem.ram;
    const base = this.fPhysBase;
    for (let n = 0; n < r.list.length; n++) {
      const b = r.list[n]!.bytes;
      const p = base + r.offs[n]!;
      for (let k = 0; k < b.length; k++) if (ram[p + k] !== b[k]) return false;
    }
    r.epoch = this.epoch;
    return true;
  }

  private dropRegion(r: Region): void {
    r.dead = true;
    const page = this.fPhysPage;
    if (this.regions[page]?.region === r) this.regions[page] = undefined;
  }

  /**
   * Delivers a hardware exception whose restart point is this.ip, applying the double-fault
   * rules when delivery itself faults. Returns an exit when the final gate leads to ring 0.
   */
  private raiseException(f: CpuFault): CpuExit | null {
    let vec = f.vector,
      code = f.errorCode,
      hasErr = f.hasError;
    if (vec === 14) this.cr2 = f.cr2;
    for (;;) {
      try {
        const ex = deliverEvent(this, vec, code, hasErr, false, this.ip);
        return ex ? { kind: 'exit', vector: ex.vector, errorCode: ex.errorCode, cr2: this.cr2 >>> 0 } : null;
      } catch (e) {
        if (!(e instanceof CpuFault)) throw e;
        // A fault while delivering #DF is a shutdown; report it as the double fault it ended in.
        if (vec === 8) return { kind: 'exit', vector: 8, errorCode: 0, cr2: this.cr2 >>> 0 };
        const v2 = e.vector;
        if (v2 === 14) this.cr2 = e.cr2;
        if ((isContributory(vec) && isContributory(v2)) || (vec === 14 && (v2 === 14 || isContributory(v2)))) {
          vec = 8;
          code = 0;
          hasErr = true;
        } else {
          vec = v2;
          code = e.errorCode;
          hasErr = e.hasError;
        }
      }
    }
  }

  /** INT n / INT3 / INTO: a software interrupt whose return point is the next instruction. */
  softwareInterrupt(vector: number): void {
    const ex = deliverEvent(this, vector, 0, false, true, this.nextIp);
    if (ex) {
      // The INT retires; the owner sees EIP after it.
      this.ip = this.nextIp;
      this.icount++;
      throw new ExitSignal(ex.vector, ex.errorCode);
    }
  }

  /** The decoded instruction at CS:EIP, from the cache when its bytes are unchanged. */
  private fetch(): Instr {
    const lin = (this.sbase[SEG_CS]! + this.ip) | 0;
    if (lin >>> 12 !== this.fLinPage) this.refillFetch(lin);
    if (
      this.fBreak !== null &&
      this.fBreak[lin & 0xfff] === 1 &&
      (lin !== this.runLin || this.icount !== this.runCount)
    )
      throw BREAKPOINT_STOP;
    const arr = this.fArr;
    let ins: Instr | undefined;
    if (arr !== null) {
      const off = lin & 0xfff;
      ins = arr[off];
      if (ins !== undefined) {
        if (off + ins.len > 4096) {
          if (!this.crossingHolds(ins, lin)) ins = undefined;
        } else if (ins.epoch !== this.epoch && !this.verify(ins, lin)) ins = undefined;
      }
    }
    if (ins === undefined) ins = this.decodeAt(lin);
    if (!this.csFlat && this.ip + ins.len - 1 > this.csLimit) throw gp(0);
    return ins;
  }

  /** Entries that make an instruction of physical page `page` hot (see GROW_SHARE). */
  private hotEntries(page: number): number {
    return this.regions[page] !== undefined ? this.threshold / GROW_SHARE : this.threshold;
  }

  private refillFetch(lin: number): void {
    this.fLinPage = -1;
    const e = this.mmu.r[lin >>> 12]!;
    const phys = e !== 0 ? e - 1 : this.mmu.translate(lin, false, this.mmu.user) & ~0xfff;
    const page = phys >>> 12;
    if (phys + 4096 <= this.mem.ram.byteLength) {
      this.fArr = this.dcache.pageArray(page);
      this.fPhysPage = page;
      this.fPhysBase = phys;
      this.fHot = this.hotEntries(page);
    } else {
      this.fArr = null;
      this.fPhysPage = -1;
      this.fHot = this.threshold;
    }
    this.fBreak = this.breakPages.size === 0 ? null : (this.breakPages.get(lin >>> 12) ?? null);
    this.fLinPage = lin >>> 12;
  }

  /**
   * Instruction breakpoints at these linear addresses: run() returns 'budget' (with breakUnspent
   * set) before executing an instruction at one of them, except the instruction it started at.
   * Fetches in other pages and compiled code elsewhere pay nothing; the regions of the pages
   * whose breakpoints change are dropped and compiled again around the new set.
   */
  setBreakpoints(linear: Iterable<number>): void {
    const next = breakpointPages([...linear].map((a) => a >>> 0));
    const changed = changedPages(this.breakPages, next);
    this.breakPages = next;
    this.regions.forEach((reg, page) => {
      if (reg !== undefined && changed.has(reg.region.linPage)) {
        reg.region.dead = true;
        this.regions[page] = undefined;
      }
    });
    this.fLinPage = -1;
  }

  private verify(ins: Instr, lin: number): boolean {
    if (ins.d32 !== this.code32) return false;
    const ram = this.mem.ram;
    const p = this.fPhysBase + (lin & 0xfff);
    const b = ins.bytes;
    for (let k = 0; k < b.length; k++) if (ram[p + k] !== b[k]) return false;
    ins.epoch = this.epoch;
    return true;
  }

  /**
   * An instruction that runs into the next linear page is cached with its first page, where
   * writes to its bytes drop it as usual; the bytes in the next page are compared, through the
   * current translation, at every fetch. Its epoch stays -1, so nothing chains to it and no
   * region holds it.
   */
  private crossingHolds(ins: Instr, lin: number): boolean {
    if (ins.d32 !== this.code32) return false;
    const next = (lin >>> 12) + 1;
    const e = this.mmu.r[next & 0xfffff]!;
    const phys = e !== 0 ? e - 1 : this.mmu.translate(next << 12, false, this.mmu.user) & ~0xfff;
    const ram = this.mem.ram;
    if (phys + 4096 > ram.byteLength) return false;
    const b = ins.bytes;
    const head = 4096 - (lin & 0xfff);
    for (let k = head; k < b.length; k++) if (ram[phys + k - head] !== b[k]) return false;
    const p = this.fPhysBase + (lin & 0xfff);
    for (let k = 0; k < head; k++) if (ram[p + k] !== b[k]) return false;
    return true;
  }

  private decodeAt(lin: number): Instr {
    this.decodeCount++;
    const ins = decode(this, lin);
    const off = lin & 0xfff;
    if (this.fArr !== null && lin >>> 12 === this.fLinPage) {
      const crosses = off + ins.len > 4096;
      if (!crosses) ins.epoch = this.epoch;
      this.fArr[off] = ins;
      this.dcache.noteInstruction(this.fPhysPage, off, crosses ? 4096 - off : ins.len);
    }
    return ins;
  }

  // ================= segments =================

  /** Installs a segment register (selector + hidden cache) and refreshes derived fields. */
  setSegmentCache(s: number, cache: SegmentRegister): void {
    this.segs[s] = {
      selector: cache.selector & 0xffff,
      base: cache.base >>> 0,
      limit: cache.limit >>> 0,
      flags: cache.flags & 0x00f0ff00,
    };
    this.refreshSegment(s);
  }

  private refreshSegment(s: number): void {
    const sg = this.segs[s]!;
    const f = sg.flags;
    this.sbase[s] = sg.base | 0;
    const usable = (f & (D_S | D_P)) === (D_S | D_P);
    const isCode = (f & D_CODE) !== 0;
    const full = sg.limit === 0xffffffff && (isCode || (f & D_DC) === 0);
    const bit = 1 << s;
    const readable = usable && full && (!isCode || (f & D_RW) !== 0);
    const writable = usable && full && !isCode && (f & D_RW) !== 0;
    this.segOkR = readable ? this.segOkR | bit : this.segOkR & ~bit;
    this.segOkW = writable ? this.segOkW | bit : this.segOkW & ~bit;
    if (s === SEG_CS) {
      this.cplv = sg.selector & 3;
      this.mmu.setUser(this.cplv === 3);
      const d32 = (f & D_DB) !== 0;
      if (d32 !== this.code32) this.epoch++;
      this.code32 = d32;
      this.csFlat = sg.limit === 0xffffffff;
      this.csLimit = sg.limit;
      this.fLinPage = -1;
    } else if (s === SEG_SS) {
      this.ss32 = (f & D_DB) !== 0;
    }
    const d = this.segOkR & this.segOkW & 0xd;
    this.dataFlat = d === 0xd && this.ss32 && (this.sbase[0]! | this.sbase[2]! | this.sbase[3]!) === 0;
  }

  /** Linear address for reading `len` bytes at offset `off` of segment s (checks as needed). */
  linR(s: number, off: number, len: number): number {
    if ((this.segOkR & (1 << s)) !== 0) return (this.sbase[s]! + off) | 0;
    return checkedLinear(this, s, off, len, false);
  }

  linW(s: number, off: number, len: number): number {
    if ((this.segOkW & (1 << s)) !== 0) return (this.sbase[s]! + off) | 0;
    return checkedLinear(this, s, off, len, true);
  }

  /** Jump target check against the CS limit (#GP(0) at the jumping instruction). */
  checkCsTarget(target: number): void {
    if (!this.csFlat && target >>> 0 > this.csLimit) throw gp(0);
  }

  // ================= flags =================

  /**
   * Writes EFLAGS as POPF/IRET do at the current CPL: IOPL only at CPL 0, IF only when
   * CPL <= IOPL, VM/VIF/VIP never. RF ends up clear: POPF clears it, and after IRET it would
   * only suppress instruction breakpoints (not modelled) until the next instruction retires.
   */
  loadFlags(v: number, size: number): void {
    settle(this);
    let mask = CF | PF | AF | ZF | SF | TF | DF | OF | NT | AC | ID;
    if (this.cplv === 0) mask |= IOPL;
    if (this.cplv <= (this.flags & IOPL) >>> 12) mask |= IF;
    if (size === 16) mask &= 0xffff;
    this.flags = (((this.flags & ~mask) | (v & mask)) & ~RF) | 2;
  }

  // ================= the Cpu contract =================

  get eip(): number {
    return this.ip >>> 0;
  }
  set eip(v: number) {
    this.ip = v >>> 0;
  }

  get eflags(): number {
    return materialize(this) >>> 0;
  }
  set eflags(v: number) {
    this.flags = (v & OWNER_WRITABLE) | 2;
    this.lazy = 0;
  }

  get cpl(): number {
    return this.cplv;
  }

  get instructionCount(): number {
    return this.icount;
  }

  getReg(r: Reg32): number {
    return this.gpr[r]! >>> 0;
  }
  setReg(r: Reg32, value: number): void {
    this.gpr[r] = value | 0;
  }

  getSegment(s: SegReg): Readonly<SegmentRegister> {
    return this.segs[s]!;
  }

  setSelector(s: SegReg, selector: number): void {
    this.segs[s] = { ...this.segs[s]!, selector: selector & 0xffff };
    if (s === SEG_CS) this.refreshSegment(s);
  }

  loadSegmentsFromSelectors(): boolean {
    const saved = this.cplv;
    try {
      // Data segments are loaded at CPL 0, then an IRET to RPL(CS) loads CS and SS.
      this.cplv = 0;
      this.mmu.setUser(false);
      // (Named locals, not a list: this runs at every guest entry.)
      const es = checkDataSegment(this, this.segs[SEG_ES]!.selector, 0);
      const ds = checkDataSegment(this, this.segs[SEG_DS]!.selector, 0);
      const fs = checkDataSegment(this, this.segs[SEG_FS]!.selector, 0);
      const gs = checkDataSegment(this, this.segs[SEG_GS]!.selector, 0);
      const csSel = this.segs[SEG_CS]!.selector;
      const newCpl = csSel & 3;
      const cs = checkReturnCode(this, csSel);
      const stack = checkStackSegment(this, this.segs[SEG_SS]!.selector, newCpl);
      this.setSegmentCache(SEG_ES, es);
      this.setSegmentCache(SEG_DS, ds);
      this.setSegmentCache(SEG_FS, fs);
      this.setSegmentCache(SEG_GS, gs);
      this.setSegmentCache(SEG_SS, stack);
      this.setSegmentCache(SEG_CS, cs);
      nullInaccessibleSegments(this, newCpl);
      return true;
    } catch (e) {
      if (!(e instanceof CpuFault)) throw e;
      this.cplv = saved;
      this.mmu.setUser(saved === 3);
      return false;
    }
  }

  setTaskRegister(selector: number, base: number, limit: number): void {
    // A busy 32-bit TSS (type 0xB), present, DPL 0.
    this.tr = { selector: selector & 0xffff, base: base >>> 0, limit: limit >>> 0, flags: 0x8b00 };
  }

  get cr0(): number {
    return this.cr0v >>> 0;
  }
  set cr0(v: number) {
    const changed = (this.cr0v ^ v) & (CR0_PG | 0x10000 | CR0_PE);
    this.cr0v = v | CR0_ET;
    this.mmu.cr0 = this.cr0v;
    if (changed) this.flushTlb();
  }
  get cr3(): number {
    return this.cr3v >>> 0;
  }
  set cr3(v: number) {
    this.cr3v = v | 0;
    this.mmu.cr3 = this.cr3v;
    this.flushTlb();
  }
  get cr4(): number {
    return this.cr4v >>> 0;
  }
  set cr4(v: number) {
    this.cr4v = v | 0;
    this.mmu.cr4 = this.cr4v;
    this.flushTlb();
  }

  flushTlb(): void {
    this.mmu.flush();
    this.fLinPage = -1;
  }

  invalidatePage(linear: number): void {
    this.mmu.invalidatePage(linear);
    this.fLinPage = -1;
  }

  exportState(): CpuState {
    const x = this.x87;
    syncRegisters(x);
    return {
      gpr: this.gpr.slice(),
      eip: this.ip >>> 0,
      eflags: this.eflags,
      segs: this.segs.map((s) => ({ ...s })),
      gdtr: { ...this.gdtr },
      idtr: { ...this.idtr },
      ldtr: { ...this.ldtr },
      tr: { ...this.tr },
      cr0: this.cr0,
      cr2: this.cr2 >>> 0,
      cr3: this.cr3,
      cr4: this.cr4,
      x87: { ...x, regs: x.regs.slice() },
      instructionCount: this.icount,
    };
  }

  importState(st: CpuState): void {
    this.gpr.set(st.gpr);
    this.ip = st.eip >>> 0;
    this.flags = (st.eflags & OWNER_WRITABLE) | 2;
    this.lazy = 0;
    for (let s = 0; s < 6; s++) this.setSegmentCache(s, st.segs[s]!);
    this.gdtr = { ...st.gdtr };
    this.idtr = { ...st.idtr };
    this.ldtr = { ...st.ldtr };
    this.tr = { ...st.tr };
    this.cr0v = st.cr0 | 0;
    this.mmu.cr0 = this.cr0v;
    this.cr2 = st.cr2 >>> 0;
    this.cr3v = st.cr3 | 0;
    this.mmu.cr3 = this.cr3v;
    this.cr4v = st.cr4 | 0;
    this.mmu.cr4 = this.cr4v;
    this.x87 = { ...st.x87, regs: st.x87.regs.slice() };
    this.icount = st.instructionCount;
    this.dropCaches();
  }

  dropCaches(): void {
    this.mmu.flush();
    this.dcache.clear();
    this.regions = [];
    this.fLinPage = -1;
    this.fPhysPage = -1;
    this.fArr = null;
    this.epoch++;
  }
}
