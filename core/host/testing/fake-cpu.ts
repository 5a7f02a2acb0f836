// A scripted stand-in for the i386 (tests only): it executes nothing, but each run() plays the
// next step of a script - change registers, then report an exit - so host logic can be tested
// exit by exit without the real CPU.

import type { PhysicalMemory } from '../../cpu/memory';
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
} from '../../cpu/types';

export interface FakeStep {
  /** Mutate the CPU as if instructions ran (set registers, write memory...). */
  act?: (cpu: FakeCpu) => void;
  /** Instructions "retired" by this step (default 1). */
  instructions?: number;
  /** The exit to report; omitted = budget exit. */
  exit?: { vector: number; errorCode?: number; cr2?: number };
}

export class FakeCpu implements Cpu {
  gpr = new Uint32Array(8);
  eip = 0;
  eflags = 0x2;
  segs: SegmentRegister[] = Array.from({ length: 6 }, () => ({ selector: 0, base: 0, limit: 0, flags: 0 }));
  gdtr: TableRegister = { base: 0, limit: 0 };
  idtr: TableRegister = { base: 0, limit: 0 };
  tr = { selector: 0, base: 0, limit: 0 };
  cr0 = 0;
  cr2 = 0;
  cr3 = 0;
  cr4 = 0;
  instructionCount = 0;
  /** Not noted: host tests that sample run the real CPU. */
  marks: SampleMarks | null = null;
  script: FakeStep[] = [];
  /** Budgets passed to run(), for tests that check slicing. */
  budgets: number[] = [];
  tlbFlushes = 0;
  invalidated: number[] = [];
  segmentLoadFails = false;
  entries = 0;

  constructor(
    readonly mem: PhysicalMemory,
    public owner: CpuOwner,
  ) {}

  get cpl(): number {
    return this.segs[1]!.selector & 3;
  }

  run(budget: number): CpuExit {
    this.budgets.push(budget);
    this.entries++;
    const step = this.script.shift();
    if (!step) {
      // Nothing scripted: spin through the whole budget.
      this.instructionCount += budget;
      return { kind: 'budget' };
    }
    step.act?.(this);
    const n = Math.min(step.instructions ?? 1, budget);
    this.instructionCount += n;
    if (!step.exit || (step.instructions ?? 1) > budget) return { kind: 'budget' };
    return { kind: 'exit', vector: step.exit.vector, errorCode: step.exit.errorCode ?? 0, cr2: step.exit.cr2 ?? 0 };
  }

  getReg(r: Reg32): number {
    return this.gpr[r]! >>> 0;
  }
  setReg(r: Reg32, value: number): void {
    this.gpr[r] = value >>> 0;
  }
  getSegment(s: SegReg): Readonly<SegmentRegister> {
    return this.segs[s]!;
  }
  setSelector(s: SegReg, selector: number): void {
    this.segs[s]!.selector = selector & 0xffff;
  }
  loadSegmentsFromSelectors(): boolean {
    return !this.segmentLoadFails;
  }
  setTaskRegister(selector: number, base: number, limit: number): void {
    this.tr = { selector, base, limit };
  }
  flushTlb(): void {
    this.tlbFlushes++;
  }
  invalidatePage(linear: number): void {
    this.invalidated.push(linear >>> 0);
  }
  exportState(): CpuState {
    throw new Error('FakeCpu has no exportable state');
  }
  importState(_state: CpuState): void {
    throw new Error('FakeCpu has no importable state');
  }
  dropCaches(): void {}

  /** Script helpers. */
  hypercall(eax: number, edx = 0, ebx = 0, ecx = 0): void {
    this.script.push({
      act: (c) => {
        c.setReg(0, eax);
        c.setReg(2, edx);
        c.setReg(3, ebx);
        c.setReg(1, ecx);
        c.eip = (c.eip + 2) >>> 0;
      },
      exit: { vector: 0x1f },
    });
  }
  trap(vector: number, errorCode = 0, cr2 = 0, act?: (c: FakeCpu) => void): void {
    this.script.push({ act, exit: { vector, errorCode, cr2 } });
  }
}
