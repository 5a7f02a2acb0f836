// The guest profiler's sampling: every N retired instructions the Host notes where the Guest is
// (EIP, CPL, the Guest's CR3, i.e. which address space, and in user mode which program runs
// there when the profiler can tell). The samples are the CPU's marks (SampleMarks): the CPU notes
// each without stopping its run, never by running the Host's loop more often: see runSampled.

import type { CpuExit, SampleMarks } from '../cpu/types';
import type { Lguest } from './lg';

/** One sample, as plain data. */
export interface GuestSample {
  instruction: number;
  eip: number;
  /** 1 = Guest kernel, 3 = Guest user. */
  cpl: number;
  /** Guest-physical address of the Guest page directory in use (0 before any). */
  cr3: number;
  /** In user mode: the user program running, as the sampler's `programOf` numbers it; else -1. */
  program: number;
}

/** Which user program the Guest runs now (called at user-mode samples only); -1 when unknown. */
export type ProgramOf = (lg: Lguest) => number;

/**
 * Default sampling period in guest instructions, and how many samples are kept. Compiled guest
 * code runs some 1-2G instructions per second: this is 10,000-20,000 samples a second. In
 * compiled code a sample costs a return from the region and a call back into it (SampleMarks).
 */
export const DEFAULT_SAMPLE_INTERVAL = 100_000;
export const SAMPLE_CAPACITY = 1 << 18;

export class GuestSampler implements SampleMarks {
  private readonly instruction: Float64Array;
  private readonly eip: Uint32Array;
  private readonly cpl: Uint8Array;
  private readonly cr3: Uint32Array;
  private readonly program: Int32Array;
  private total = 0;
  /** The instruction count at which the next sample is due (a multiple of the interval; 0 = not yet known). */
  next: number;
  /** The guest being run (set by runSampled: the host state a sample reads). */
  private lg: Lguest | null = null;

  constructor(
    readonly interval: number = DEFAULT_SAMPLE_INTERVAL,
    readonly capacity = SAMPLE_CAPACITY,
    private readonly programOf: ProgramOf | null = null,
  ) {
    if (!Number.isInteger(interval) || interval < 1)
      throw new Error(`sampling interval must be a positive integer, got ${interval}`);
    this.instruction = new Float64Array(capacity);
    this.eip = new Uint32Array(capacity);
    this.cpl = new Uint8Array(capacity);
    this.cr3 = new Uint32Array(capacity);
    this.program = new Int32Array(capacity);
    this.next = 0;
  }

  /** Samples taken so far (also those the ring has dropped). */
  get taken(): number {
    return this.total;
  }

  /**
   * cpu.run(budget) with a sample at every multiple of the interval the run passes, noted by the
   * CPU as it goes (Cpu.marks). The run is not split: the Host's loop top (which injects
   * interrupts and serves the async ring) runs exactly as often as without sampling, and the CPU
   * keeps no state that a sample could change, so sampling is invisible to the guest.
   */
  runSampled(lg: Lguest, budget: number): CpuExit {
    const cpu = lg.cpu;
    if (this.next <= cpu.instructionCount) this.next = this.after(cpu.instructionCount);
    this.lg = lg;
    cpu.marks = this;
    try {
      return cpu.run(budget);
    } finally {
      cpu.marks = null;
    }
  }

  after(count: number): number {
    return count - (count % this.interval) + this.interval;
  }

  /** Writes the sample into its ring slot; it counts once confirmed. */
  note(eip: number, cpl: number): void {
    const lg = this.lg!;
    const i = this.total % this.capacity;
    this.instruction[i] = this.next;
    this.eip[i] = eip;
    this.cpl[i] = cpl;
    const slot = lg.state.pgdirs[lg.state.currentPgdir];
    this.cr3[i] = slot ? slot.cr3 : 0;
    this.program[i] = cpl === 3 && this.programOf !== null ? this.programOf(lg) : -1;
  }

  confirm(): void {
    this.total++;
    this.next = this.after(this.next);
  }

  /** The samples numbered `from` (as counted by `taken`) and later that are still held, oldest first. */
  since(from: number): GuestSample[] {
    const first = Math.max(0, from, this.total - this.capacity);
    const out: GuestSample[] = [];
    for (let q = first; q < this.total; q++) {
      const i = q % this.capacity;
      out.push({
        instruction: this.instruction[i]!,
        eip: this.eip[i]!,
        cpl: this.cpl[i]!,
        cr3: this.cr3[i]!,
        program: this.program[i]!,
      });
    }
    return out;
  }
}
