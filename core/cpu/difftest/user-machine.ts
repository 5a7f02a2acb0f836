// A flat 32-bit user-mode machine around the CPU: the environment a Linux process sees, built
// in physical memory (GDT with ring-3 flat segments, an IDT whose gates all target ring 0, a TSS,
// two-level page tables with user pages). Every exception therefore leaves the CPU as an exit,
// which is how the differential tests and the benchmark observe "the process trapped".

import { PhysicalMemory, PAGE_SIZE } from '../memory';
import type { Cpu, CpuExit, CpuOwner, CpuState, SegmentRegister } from '../types';
import { createX87State } from '../x87';
import { USER_CS, USER_DS, USER_GS } from './layout';

/** Builds the CPU under test on a given physical memory. */
export type CpuFactory = (mem: PhysicalMemory, owner: CpuOwner) => Cpu;

export interface UserRegion {
  linear: number;
  bytes: number;
  writable: boolean;
}

/** The state a user-mode run starts from. */
export interface UserEntry {
  /** EAX..EDI (ESP included). */
  regs: ArrayLike<number>;
  eip: number;
  /** Only the user-settable bits are taken (IF and bit 1 are forced on, as for a process). */
  eflags: number;
  /** x87 control word after FNINIT. */
  fcw: number;
}

// Physical layout of the system structures.
const GDT_PHYS = 0x1000;
const IDT_PHYS = 0x2000;
const TSS_PHYS = 0x3000;
const PGDIR_PHYS = 0x4000;
const FIRST_TABLE_PHYS = 0x5000;
const FIRST_FRAME_PHYS = 0x10_0000;
/**
 * GDTR/IDTR/TR hold linear addresses, so the structures above are also mapped, supervisor-only,
 * at the top of the address space (where a kernel keeps them; user code cannot touch them).
 */
const SYSTEM_LINEAR = 0xffc0_0000;

const KERNEL_CS = 0x08;
const KERNEL_DS = 0x10;
const TSS_SEL = 0x80;
const GDT_ENTRIES = 17;

/** EFLAGS bits a ring-3 POPF can set (CF PF AF ZF SF TF DF OF NT AC ID, minus TF/AC/NT here). */
const USER_FLAGS = 0x0001 | 0x0004 | 0x0010 | 0x0040 | 0x0080 | 0x0400 | 0x0800;

function descriptor(base: number, limit: number, hiType: number): [number, number] {
  const lo = ((base & 0xffff) << 16) | (limit & 0xffff);
  const hi = (base & 0xff000000) | ((base >>> 16) & 0xff) | (limit & 0xf0000) | hiType;
  return [lo >>> 0, hi >>> 0];
}

function flatSegment(selector: number, hi: number): SegmentRegister {
  return { selector, base: 0, limit: 0xffffffff, flags: (hi & 0x00f0ff00) >>> 0 };
}

export class UserMachine {
  readonly mem: PhysicalMemory;
  readonly cpu: Cpu;
  private nextTable = FIRST_TABLE_PHYS;
  private nextFrame = FIRST_FRAME_PHYS;
  private readonly regions: { linear: number; bytes: number; phys: number }[] = [];
  private readonly template: CpuState;
  tsc = 0;

  constructor(factory: CpuFactory, ramBytes: number, regions: UserRegion[]) {
    this.mem = new PhysicalMemory(ramBytes);
    this.buildTables();
    this.mapPages(SYSTEM_LINEAR, 0, FIRST_TABLE_PHYS, false, true);
    for (const r of regions) this.mapRegion(r);
    this.cpu = factory(this.mem, { readTsc: () => this.tsc });
    this.template = this.initialState();
  }

  /** Physical address backing a linear address of a mapped region. */
  physOf(linear: number): number {
    for (const r of this.regions) {
      if (linear >= r.linear && linear < r.linear + r.bytes) return r.phys + (linear - r.linear);
    }
    throw new RangeError(`linear 0x${(linear >>> 0).toString(16)} is not mapped`);
  }

  /** Copies bytes to a mapped linear range (which must lie in one region). */
  write(linear: number, bytes: Uint8Array): void {
    this.mem.ram.set(bytes, this.physOf(linear));
  }

  /** A view of a mapped linear range (which must lie in one region). */
  view(linear: number, length: number): Uint8Array {
    const p = this.physOf(linear);
    return this.mem.ram.subarray(p, p + length);
  }

  /** Loads the complete CPU state for a fresh ring-3 entry. */
  enter(e: UserEntry): void {
    const s = this.template;
    const state: CpuState = {
      ...s,
      gpr: Int32Array.from(Array.from(e.regs, (v) => v | 0)),
      eip: e.eip >>> 0,
      eflags: ((e.eflags & USER_FLAGS) | 0x202) >>> 0,
      segs: s.segs.map((x) => ({ ...x })),
      gdtr: { ...s.gdtr },
      idtr: { ...s.idtr },
      ldtr: { ...s.ldtr },
      tr: { ...s.tr },
      x87: { ...createX87State(), control: e.fcw & 0x1f7f },
      instructionCount: 0,
    };
    state.x87.control |= 0x40;
    this.cpu.importState(state);
  }

  run(budget: number): CpuExit {
    return this.cpu.run(budget);
  }

  private buildTables(): void {
    const m = this.mem;
    const gdt: [number, number][] = [];
    for (let i = 0; i < GDT_ENTRIES; i++) gdt.push([0, 0]);
    gdt[KERNEL_CS >> 3] = descriptor(0, 0xfffff, 0x00c09b00);
    gdt[KERNEL_DS >> 3] = descriptor(0, 0xfffff, 0x00c09300);
    gdt[USER_CS >> 3] = descriptor(0, 0xfffff, 0x00c0fb00);
    gdt[USER_DS >> 3] = descriptor(0, 0xfffff, 0x00c0f300);
    gdt[USER_GS >> 3] = descriptor(0, 0xfffff, 0x00c0f300);
    gdt[TSS_SEL >> 3] = descriptor(SYSTEM_LINEAR + TSS_PHYS, 0x67, 0x00008b00);
    gdt.forEach(([lo, hi], i) => {
      m.writeU32(GDT_PHYS + i * 8, lo);
      m.writeU32(GDT_PHYS + i * 8 + 4, hi);
    });
    // Every vector is an interrupt gate into ring 0, i.e. an exit. As on (64-bit) Linux, only
    // INT3, INTO and INT 0x80 are reachable from ring 3 (DPL 3); any other INT n is #GP.
    for (let v = 0; v < 256; v++) {
      const dpl = v === 3 || v === 4 || v === 0x80 ? 3 : 0;
      m.writeU32(IDT_PHYS + v * 8, (KERNEL_CS << 16) | 0);
      m.writeU32(IDT_PHYS + v * 8 + 4, 0x8e00 | (dpl << 13));
    }
    m.writeU32(TSS_PHYS + 4, 0x9000); // ESP0 (never used: ring 0 is an exit)
    m.writeU32(TSS_PHYS + 8, KERNEL_DS);
  }

  private mapRegion(r: UserRegion): void {
    if (r.linear % PAGE_SIZE || r.bytes % PAGE_SIZE) throw new RangeError('regions must be page aligned');
    const phys = this.nextFrame;
    this.nextFrame += r.bytes;
    if (this.nextFrame > this.mem.ramBytes) throw new RangeError('user machine RAM too small for its regions');
    this.regions.push({ linear: r.linear, bytes: r.bytes, phys });
    this.mapPages(r.linear, phys, r.bytes, r.writable, false);
  }

  private mapPages(linear: number, phys: number, bytes: number, writable: boolean, supervisor: boolean): void {
    for (let off = 0; off < bytes; off += PAGE_SIZE) {
      const lin = (linear + off) >>> 0;
      const pdeAddr = PGDIR_PHYS + (lin >>> 22) * 4;
      let pde = this.mem.readU32(pdeAddr);
      if (!(pde & 1)) {
        pde = this.nextTable | 0x7;
        this.nextTable += PAGE_SIZE;
        if (this.nextTable > FIRST_FRAME_PHYS) throw new RangeError('too many page tables');
        this.mem.writeU32(pdeAddr, pde);
      }
      const pteAddr = (pde & ~0xfff) + ((lin >>> 12) & 0x3ff) * 4;
      this.mem.writeU32(pteAddr, (phys + off) | 0x1 | (supervisor ? 0 : 0x4) | (writable || supervisor ? 0x2 : 0));
    }
  }

  private initialState(): CpuState {
    const base = this.cpu.exportState();
    const code = flatSegment(USER_CS | 0, 0x00cffb00);
    const data = (): SegmentRegister => flatSegment(USER_DS, 0x00cff300);
    const nullSeg: SegmentRegister = { selector: 0, base: 0, limit: 0, flags: 0 };
    return {
      ...base,
      gpr: new Int32Array(8),
      eip: 0,
      eflags: 0x202,
      segs: [data(), code, data(), data(), { ...nullSeg }, flatSegment(USER_GS, 0x00cff300)],
      gdtr: { base: SYSTEM_LINEAR + GDT_PHYS, limit: GDT_ENTRIES * 8 - 1 },
      idtr: { base: SYSTEM_LINEAR + IDT_PHYS, limit: 256 * 8 - 1 },
      ldtr: { ...nullSeg },
      tr: { selector: TSS_SEL, base: SYSTEM_LINEAR + TSS_PHYS, limit: 0x67, flags: 0x00008b00 },
      cr0: (0x1 | 0x2 | 0x10 | 0x20 | 0x10000 | 0x80000000) >>> 0, // PE MP ET NE WP PG
      cr2: 0,
      cr3: PGDIR_PHYS,
      cr4: 0,
      x87: createX87State(),
      instructionCount: 0,
    };
  }
}
