// The inspectors a machine's worker answers between run slices: read-only queries over what the
// host really holds (CPU registers, guest RAM, the GDT/IDT copies, shadow tables, counters).

import type { LaunchedGuest } from '../launcher/api';
import type { Lguest } from '../host/lg';
import { effectiveGdt, effectiveIdt } from '../host/inspect';
import { HYPERCALL_NAMES } from '../host/constants';
import type { SegmentRegister } from '../cpu/types';
import { x87RegisterValue } from '../cpu/x87';
import type {
  CountersView,
  DescriptorView,
  DescriptorsView,
  ExitEvent,
  FlagBit,
  GateView,
  InspectQuery,
  InspectResult,
  MemoryPage,
  MemorySpace,
  MemoryView,
  NamedCount,
  PageTablesView,
  PdeRow,
  PteRow,
  RegistersView,
  SegmentView,
  ShadowSlotInfo,
  WalkView,
  X87Register,
} from './inspector-types';
import type { InspectReply } from './worker-protocol';
import type { MachineObserver } from './machine-observer';
import { exitKind } from '../launcher/exit-trace-lines';
import type { ExitRecord } from '../host/exit-trace';

/** A traced exit as the UI gets it: with its kind named. */
export function exitEvent(e: ExitRecord): ExitEvent {
  return { ...e, kind: exitKind(e) };
}

/** The longest memory read one query may ask for. */
export const MAX_MEMORY_READ = 64 * 1024;

/** A query the machine cannot answer: the code is an ApiErrorCode. */
export class InspectError extends Error {
  constructor(
    readonly code: 'bad-state' | 'out-of-range',
    message: string,
  ) {
    super(message);
    this.name = 'InspectError';
  }
}

// --- reaching the host's record of the guest ----------------------------------------------------

interface WithHostFile {
  readonly file: { readonly guest?: Lguest | null };
}

/** The host's struct lguest behind a launched guest (the real host exposes it read-only). */
export function lguestOf(guest: LaunchedGuest): Lguest | null {
  if (!('file' in guest)) return null;
  const file = (guest as LaunchedGuest & WithHostFile).file;
  if (typeof file !== 'object' || file === null || !('guest' in file)) return null;
  return file.guest ?? null;
}

/** Answers one query against a launched guest; throws InspectError when it cannot. */
export function answerInspect(guest: LaunchedGuest, query: InspectQuery, observer?: MachineObserver): InspectResult {
  const lg = lguestOf(guest);
  if (!lg) throw new InspectError('bad-state', 'this machine runs on a host without inspectors');
  switch (query.kind) {
    case 'trace':
      return { recorded: lg.trace.recorded, events: lg.trace.last(query.limit).map(exitEvent) };
    case 'profile':
      if (!observer) throw new InspectError('bad-state', 'this machine has no profiler');
      return observer.profile(query);
    case 'registers':
      return inspectRegisters(lg, guest.virtualTimeNs);
    case 'memory':
      return inspectMemory(lg, query.space, query.address, query.length);
    case 'descriptors':
      return inspectDescriptors(lg);
    case 'pagetables':
      return inspectPageTables(lg, query.slot, query.pde);
    case 'counters':
      return inspectCounters(lg);
  }
}

// --- registers ----------------------------------------------------------------------------------

const SEG_NAMES = ['es', 'cs', 'ss', 'ds', 'fs', 'gs'];

const EFLAGS_BITS: [string, number][] = [
  ['CF', 0],
  ['PF', 2],
  ['AF', 4],
  ['ZF', 6],
  ['SF', 7],
  ['TF', 8],
  ['IF', 9],
  ['DF', 10],
  ['OF', 11],
  ['NT', 14],
  ['RF', 16],
  ['VM', 17],
  ['AC', 18],
  ['ID', 21],
];

const CR0_BITS: [string, number][] = [
  ['PE', 0],
  ['MP', 1],
  ['EM', 2],
  ['TS', 3],
  ['ET', 4],
  ['NE', 5],
  ['WP', 16],
  ['AM', 18],
  ['NW', 29],
  ['CD', 30],
  ['PG', 31],
];

function bits(value: number, table: [string, number][]): FlagBit[] {
  return table.map(([name, bit]) => ({ name, bit, set: ((value >>> bit) & 1) === 1 }));
}

const SYSTEM_TYPES: Record<number, string> = {
  0x1: '16-bit TSS (avail)',
  0x2: 'LDT',
  0x3: '16-bit TSS (busy)',
  0x4: '16-bit call gate',
  0x5: 'task gate',
  0x6: '16-bit interrupt gate',
  0x7: '16-bit trap gate',
  0x9: '32-bit TSS (avail)',
  0xb: '32-bit TSS (busy)',
  0xc: '32-bit call gate',
  0xe: '32-bit interrupt gate',
  0xf: '32-bit trap gate',
};

/** The name of a descriptor type (type field, S bit). */
export function descriptorTypeName(type: number, s: boolean): string {
  if (!s) return SYSTEM_TYPES[type] ?? 'reserved';
  if (type & 8) {
    return `code ${type & 2 ? 'RX' : 'X'}${type & 4 ? ' conforming' : ''}${type & 1 ? ' A' : ''}`;
  }
  return `data ${type & 2 ? 'RW' : 'R'}${type & 4 ? ' expand-down' : ''}${type & 1 ? ' A' : ''}`;
}

function segmentView(name: string, r: Readonly<SegmentRegister>): SegmentView {
  const f = r.flags >>> 0;
  const type = (f >>> 8) & 0xf;
  const s = ((f >>> 12) & 1) === 1;
  return {
    name,
    selector: r.selector & 0xffff,
    index: (r.selector & 0xffff) >>> 3,
    ti: (r.selector >>> 2) & 1,
    rpl: r.selector & 3,
    base: r.base >>> 0,
    limit: r.limit >>> 0,
    flags: f,
    type,
    typeName: f === 0 && (r.selector & 0xfffc) === 0 ? 'null' : descriptorTypeName(type, s),
    s,
    dpl: (f >>> 13) & 3,
    present: ((f >>> 15) & 1) === 1,
    avl: ((f >>> 20) & 1) === 1,
    db: ((f >>> 22) & 1) === 1,
    g: ((f >>> 23) & 1) === 1,
  };
}

function x87Text(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (Object.is(v, -0)) return '-0';
  return String(v);
}

const TAG_NAMES: X87Register['tag'][] = ['valid', 'zero', 'special', 'empty'];

export function inspectRegisters(lg: Lguest, virtualTimeNs: number): RegistersView {
  const st = lg.cpu.exportState();
  const g = st.gpr;
  const s = lg.state;
  const top = (st.x87.status >>> 11) & 7;
  const current = s.pgdirs[s.currentPgdir];
  return {
    gpr: {
      eax: g[0]! >>> 0,
      ecx: g[1]! >>> 0,
      edx: g[2]! >>> 0,
      ebx: g[3]! >>> 0,
      esp: g[4]! >>> 0,
      ebp: g[5]! >>> 0,
      esi: g[6]! >>> 0,
      edi: g[7]! >>> 0,
    },
    eip: st.eip >>> 0,
    eflags: st.eflags >>> 0,
    flags: bits(st.eflags, EFLAGS_BITS),
    iopl: (st.eflags >>> 12) & 3,
    cpl: lg.cpu.cpl,
    segments: st.segs.map((r, i) => segmentView(SEG_NAMES[i]!, r)),
    ldtr: segmentView('ldtr', st.ldtr),
    tr: segmentView('tr', st.tr),
    gdtr: { base: st.gdtr.base >>> 0, limit: st.gdtr.limit >>> 0 },
    idtr: { base: st.idtr.base >>> 0, limit: st.idtr.limit >>> 0 },
    cr0: st.cr0 >>> 0,
    cr0Flags: bits(st.cr0, CR0_BITS),
    cr2: st.cr2 >>> 0,
    cr3: st.cr3 >>> 0,
    cr4: st.cr4 >>> 0,
    guestCr3: current ? current.cr3 >>> 0 : null,
    x87: {
      control: st.x87.control & 0xffff,
      status: st.x87.status & 0xffff,
      tag: st.x87.tag & 0xffff,
      top,
      st: Array.from({ length: 8 }, (_, i): X87Register => {
        const physical = (top + i) & 7;
        const v = x87RegisterValue(st.x87, physical);
        return {
          index: i,
          physical,
          tag: TAG_NAMES[(st.x87.tag >>> (physical * 2)) & 3]!,
          value: Number.isFinite(v) ? v : null,
          text: x87Text(v),
        };
      }),
    },
    instructionCount: st.instructionCount,
    virtualTimeNs,
    host: {
      trapnum: s.trapnum,
      errcode: s.errcode >>> 0,
      cr2: s.cr2 >>> 0,
      halted: s.halted,
      irqsPending: s.irqsPending >>> 0,
      ts: s.ts !== 0,
    },
  };
}

// --- memory and translations --------------------------------------------------------------------

const PTE_P = 1;
const PAGE = 4096;

function readRamU32(lg: Lguest, gpa: number): number | null {
  return lg.mem.isRam(gpa >>> 0, 4) ? lg.mem.ramView.getUint32(gpa >>> 0, true) : null;
}

/** Walks the Guest's own tables at cr3 with plain reads: no accessed or dirty bit is touched. */
export function walkGuest(lg: Lguest, cr3: number, va: number): WalkView {
  va >>>= 0;
  const directory = (cr3 & 0xfffff000) >>> 0;
  const pde = readRamU32(lg, directory + (va >>> 22) * 4);
  if (pde === null) return { directory, pde: 0, pte: 0, phys: null, stop: 'table-outside-ram' };
  if (!(pde & PTE_P)) return { directory, pde, pte: 0, phys: null, stop: 'pde-not-present' };
  const pte = readRamU32(lg, ((pde & 0xfffff000) >>> 0) + ((va >>> 12) & 1023) * 4);
  if (pte === null) return { directory, pde, pte: 0, phys: null, stop: 'table-outside-ram' };
  if (!(pte & PTE_P)) return { directory, pde, pte, phys: null, stop: 'pte-not-present' };
  return { directory, pde, pte, phys: ((pte & 0xfffff000) | (va & 0xfff)) >>> 0, stop: null };
}

function hostWords(lg: Lguest, phys: number): Int32Array | null {
  try {
    return lg.mem.hostFrameWords((phys & 0xfffff000) >>> 0);
  } catch {
    return null;
  }
}

/** Walks a shadow directory (host frames) exactly as the CPU's MMU would, without touching it. */
export function walkShadow(lg: Lguest, slot: number, va: number): WalkView {
  va >>>= 0;
  const s = lg.state.pgdirs[slot];
  if (!s) return { directory: 0, pde: 0, pte: 0, phys: null, stop: 'no-directory' };
  const dir = hostWords(lg, s.pgdir);
  if (!dir) return { directory: s.pgdir, pde: 0, pte: 0, phys: null, stop: 'no-directory' };
  const pde = dir[va >>> 22]! >>> 0;
  if (!(pde & PTE_P)) return { directory: s.pgdir, pde, pte: 0, phys: null, stop: 'pde-not-present' };
  const table = hostWords(lg, pde);
  if (!table) return { directory: s.pgdir, pde, pte: 0, phys: null, stop: 'table-outside-ram' };
  const pte = table[(va >>> 12) & 1023]! >>> 0;
  if (!(pte & PTE_P)) return { directory: s.pgdir, pde, pte, phys: null, stop: 'pte-not-present' };
  return { directory: s.pgdir, pde, pte, phys: ((pte & 0xfffff000) | (va & 0xfff)) >>> 0, stop: null };
}

/** Copies [phys, phys+len) from guest RAM or a host frame (within one page); null if unbacked. */
function readPhysical(lg: Lguest, phys: number, len: number): Uint8Array | null {
  if (lg.mem.isRam(phys, len)) return lg.mem.ram.slice(phys, phys + len);
  const words = hostWords(lg, phys);
  if (!words) return null;
  const off = phys & 0xfff;
  return new Uint8Array(words.buffer, words.byteOffset, PAGE).slice(off, off + len);
}

export function inspectMemory(lg: Lguest, space: MemorySpace, address: number, length: number): MemoryView {
  if (!Number.isInteger(address) || address < 0 || address > 0xffffffff) {
    throw new InspectError('out-of-range', `address ${address} is not a 32-bit address`);
  }
  if (!Number.isInteger(length) || length < 1 || length > MAX_MEMORY_READ) {
    throw new InspectError('out-of-range', `length must be 1..${MAX_MEMORY_READ} bytes`);
  }
  if (address + length > 0x1_0000_0000) {
    throw new InspectError('out-of-range', `${hex(address)} + ${length} runs past the 4 GiB address space`);
  }
  const ramBytes = lg.mem.ramBytes;
  if (space === 'physical' && address + length > ramBytes) {
    throw new InspectError(
      'out-of-range',
      `physical ${hex(address)}..${hex(address + length - 1)} is outside guest RAM (0..${hex(ramBytes - 1)})`,
    );
  }
  const s = lg.state;
  const current = s.pgdirs[s.currentPgdir] ?? null;
  const pages: MemoryPage[] = [];
  for (let at = address; at < address + length; ) {
    const len = Math.min(PAGE - (at & 0xfff), address + length - at);
    if (space === 'physical') {
      pages.push({ address: at, length: len, phys: at, bytes: lg.mem.ram.slice(at, at + len) });
    } else {
      const guest = current ? walkGuest(lg, current.cr3, at) : noDirectory();
      const shadow = walkShadow(lg, s.currentPgdir, at);
      const phys = space === 'guest-virtual' ? guest.phys : shadow.phys;
      // The Guest's tables name guest-physical frames only; shadows may also map host frames.
      const bytes =
        phys === null
          ? null
          : space === 'guest-virtual' && !lg.mem.isRam(phys, len)
            ? null
            : readPhysical(lg, phys, len);
      pages.push({ address: at, length: len, phys: bytes ? phys : null, bytes, guest, shadow });
    }
    at += len;
  }
  return {
    space,
    address,
    length,
    ramBytes,
    guestCr3: current ? current.cr3 >>> 0 : null,
    shadowDirectory: current ? current.pgdir >>> 0 : null,
    pages,
  };
}

function noDirectory(): WalkView {
  return { directory: 0, pde: 0, pte: 0, phys: null, stop: 'no-directory' };
}

// --- descriptor tables --------------------------------------------------------------------------

/** Entries of the effective GDT the Host writes itself (LGUEST_CS, LGUEST_DS, TSS, double-fault TSS). */
export const HOST_OWNED_GDT = [10, 11, 16, 31];
const LGUEST_CS = 10 * 8;

export function decodeDescriptor(index: number, lo: number, hi: number, hostOwned: boolean): DescriptorView {
  lo >>>= 0;
  hi >>>= 0;
  const type = (hi >>> 8) & 0xf;
  const s = ((hi >>> 12) & 1) === 1;
  const g = ((hi >>> 23) & 1) === 1;
  const rawLimit = (lo & 0xffff) | (hi & 0x000f0000);
  const present = ((hi >>> 15) & 1) === 1;
  return {
    index,
    lo,
    hi,
    present,
    base: ((lo >>> 16) | ((hi & 0xff) << 16) | (hi & 0xff000000)) >>> 0,
    limit: g ? ((rawLimit << 12) | 0xfff) >>> 0 : rawLimit,
    type,
    // An unused entry the host fixed up (DPL 1, accessed) is still just "not present".
    typeName: lo === 0 && hi === 0 ? 'null' : present ? descriptorTypeName(type, s) : 'not present',
    s,
    dpl: (hi >>> 13) & 3,
    db: ((hi >>> 22) & 1) === 1,
    g,
    avl: ((hi >>> 20) & 1) === 1,
    hostOwned,
  };
}

export function decodeGate(vector: number, lo: number, hi: number): GateView {
  lo >>>= 0;
  hi >>>= 0;
  const type = (hi >>> 8) & 0xf;
  const present = ((hi >>> 15) & 1) === 1;
  return {
    vector,
    name: exitName(vector),
    lo,
    hi,
    present,
    selector: lo >>> 16,
    offset: ((hi & 0xffff0000) | (lo & 0xffff)) >>> 0,
    type,
    typeName: !present ? 'not present' : (SYSTEM_TYPES[type] ?? 'reserved'),
    dpl: (hi >>> 13) & 3,
  };
}

export function inspectDescriptors(lg: Lguest): DescriptorsView {
  const s = lg.state;
  const guestGdt = Array.from({ length: 32 }, (_, i) => decodeDescriptor(i, s.gdt[i * 2]!, s.gdt[i * 2 + 1]!, false));
  const effectiveGdtView = effectiveGdt(lg).map(([lo, hi], i) =>
    decodeDescriptor(i, lo, hi, HOST_OWNED_GDT.includes(i)),
  );
  const guestIdt: GateView[] = [];
  for (let v = 0; v < s.idt.length / 2; v++) guestIdt.push(decodeGate(v, s.idt[v * 2]!, s.idt[v * 2 + 1]!));
  guestIdt.push(decodeGate(0x80, s.syscallIdt[0], s.syscallIdt[1]));
  const effectiveIdtView = effectiveIdt(lg).map(([lo, hi], v): GateView => {
    const gate = decodeGate(v, lo, hi);
    // A Host gate targets the Switcher's ring-0 code segment: taking it is an exit.
    return { ...gate, route: gate.selector === LGUEST_CS ? 'host' : 'direct' };
  });
  const cpu = lg.cpu;
  return {
    guestGdt,
    effectiveGdt: effectiveGdtView,
    guestIdt,
    effectiveIdt: effectiveIdtView,
    gdtr: { base: cpu.gdtr.base >>> 0, limit: cpu.gdtr.limit >>> 0 },
    idtr: { base: cpu.idtr.base >>> 0, limit: cpu.idtr.limit >>> 0 },
  };
}

// --- shadow page tables -------------------------------------------------------------------------

const SWITCHER_PDE = 1023;
const PTE_RW = 2;
const PTE_D = 0x40;

function slotInfos(lg: Lguest): ShadowSlotInfo[] {
  const s = lg.state;
  const used = s.pgdirs
    .map((slot, i) => (slot ? { i, lastUsed: slot.lastUsed } : null))
    .filter((x): x is { i: number; lastUsed: number } => x !== null)
    .sort((a, b) => b.lastUsed - a.lastUsed);
  const out: ShadowSlotInfo[] = [];
  s.pgdirs.forEach((slot, i) => {
    if (!slot) return;
    const dir = hostWords(lg, slot.pgdir);
    let present = 0;
    let own = 0;
    if (dir) {
      for (let p = 0; p < 1024; p++) {
        if (dir[p]! & PTE_P) {
          present++;
          if (p !== SWITCHER_PDE) own++;
        }
      }
    }
    out.push({
      slot: i,
      cr3: slot.cr3 >>> 0,
      pgdir: slot.pgdir >>> 0,
      current: i === s.currentPgdir,
      lastUsed: slot.lastUsed,
      lruRank: used.findIndex((u) => u.i === i),
      presentPdes: present,
      hostFrames: 1 + own,
    });
  });
  return out;
}

function countPresent(words: Int32Array | null): number {
  if (!words) return 0;
  let n = 0;
  for (let i = 0; i < 1024; i++) if (words[i]! & PTE_P) n++;
  return n;
}

export function inspectPageTables(lg: Lguest, slotArg?: number, pdeArg?: number): PageTablesView {
  const s = lg.state;
  const slotIndex = slotArg ?? s.currentPgdir;
  const slot = s.pgdirs[slotIndex];
  if (!slot) {
    throw new InspectError('out-of-range', `shadow slot ${slotIndex} is empty (slots 0..${s.pgdirs.length - 1})`);
  }
  const dir = hostWords(lg, slot.pgdir);
  const guestDir = (slot.cr3 & 0xfffff000) >>> 0;
  const pdes: PdeRow[] = [];
  for (let p = 0; p < 1024; p++) {
    const shadow = dir ? dir[p]! >>> 0 : 0;
    const guest = readRamU32(lg, guestDir + p * 4);
    const sp = (shadow & PTE_P) !== 0;
    const gp = guest !== null && (guest & PTE_P) !== 0;
    if (!sp && !gp) continue;
    const note = p === SWITCHER_PDE ? 'switcher' : sp && gp ? 'mapped' : gp ? 'not-faulted' : 'shadow-only';
    pdes.push({
      index: p,
      va: (p << 22) >>> 0,
      shadow,
      guest,
      shadowPtes: sp ? countPresent(hostWords(lg, shadow)) : 0,
      note,
    });
  }
  let ptes: PageTablesView['ptes'] = null;
  if (pdeArg !== undefined) {
    const shadowPde = dir ? dir[pdeArg]! >>> 0 : 0;
    const guestPde = readRamU32(lg, guestDir + pdeArg * 4);
    const table = shadowPde & PTE_P ? hostWords(lg, shadowPde) : null;
    const guestTable = guestPde !== null && guestPde & PTE_P ? (guestPde & 0xfffff000) >>> 0 : null;
    const rows: PteRow[] = [];
    for (let t = 0; t < 1024; t++) {
      const shadow = table ? table[t]! >>> 0 : 0;
      const guest = guestTable === null ? null : readRamU32(lg, guestTable + t * 4);
      const sp = (shadow & PTE_P) !== 0;
      const gp = guest !== null && (guest & PTE_P) !== 0;
      if (!sp && !gp) continue;
      let note: PteRow['note'];
      if (pdeArg === SWITCHER_PDE) note = 'switcher';
      else if (!sp) note = 'not-faulted';
      else if (!gp) note = 'shadow-only';
      else if (guest! & PTE_RW && !(guest! & PTE_D) && !(shadow & PTE_RW)) note = 'read-only-not-dirty';
      else note = 'mapped';
      rows.push({ index: t, va: ((pdeArg << 22) | (t << 12)) >>> 0, shadow, guest, note });
    }
    ptes = { pde: pdeArg, rows };
  }
  return { slots: slotInfos(lg), slot: slotIndex, guestCr3: slot.cr3 >>> 0, pdes, ptes };
}

// --- counters -----------------------------------------------------------------------------------

const EXCEPTION_NAMES = [
  '#DE divide error',
  '#DB debug',
  'NMI',
  '#BP breakpoint',
  '#OF overflow',
  '#BR bound',
  '#UD invalid opcode',
  '#NM device not available',
  '#DF double fault',
  'coprocessor overrun',
  '#TS invalid TSS',
  '#NP segment not present',
  '#SS stack fault',
  '#GP general protection',
  '#PF page fault',
  'reserved',
  '#MF x87 error',
  '#AC alignment check',
  '#MC machine check',
  '#XM SIMD exception',
];

export function exitName(vector: number): string {
  if (vector < EXCEPTION_NAMES.length) return EXCEPTION_NAMES[vector]!;
  if (vector === 0x1f) return 'hypercall (int $0x1f)';
  if (vector === 0x80) return 'system call (int $0x80)';
  if (vector === 256) return 'entry failed';
  if (vector >= 0x20) return `IRQ ${vector - 0x20}`;
  return 'reserved';
}

export function inspectCounters(lg: Lguest): CountersView {
  const st = lg.state.stats;
  const exits: NamedCount[] = [];
  st.exits.forEach((count, v) => {
    if (count > 0) exits.push({ number: v, name: exitName(v), count });
  });
  const hypercalls = st.hypercalls.map(
    (count, n): NamedCount => ({ number: n, name: HYPERCALL_NAMES[n] ?? '(bad number)', count }),
  );
  const irqsInjected: NamedCount[] = [];
  st.irqsInjected.forEach((count, irq) => {
    if (count > 0) irqsInjected.push({ number: irq, name: irq === 0 ? 'timer' : `IRQ ${irq}`, count });
  });
  const fixes = st.demandPageFixes ?? 0;
  return {
    exits,
    budgetExits: st.budgetExits,
    hypercalls,
    irqsInjected,
    trapsReflected: st.trapsReflected,
    demandPageFixes: fixes,
    pageFaultsReflected: Math.max(0, (st.exits[14] ?? 0) - fixes),
    instructionCount: lg.cpu.instructionCount,
    hostFramesInUse: lg.mem.hostFramesInUse,
  };
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** The worker's side of a query: the answer, or a typed refusal (never a throw). */
export function replyToInspect(
  guest: LaunchedGuest | null,
  query: InspectQuery,
  observer?: MachineObserver,
): InspectReply {
  if (!guest) return { ok: false, code: 'bad-state', message: 'the machine is still starting' };
  try {
    return { ok: true, result: answerInspect(guest, query, observer) };
  } catch (err) {
    if (err instanceof InspectError) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: 'internal', message: err instanceof Error ? err.message : String(err) };
  }
}
