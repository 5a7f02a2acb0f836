// The guest profiler's sampling: every N retired instructions the Host notes where the Guest is
// (EIP, CPL, the Guest's CR3, i.e. which address space, and in user mode which program runs
// there when the profiler can tell). Samples are taken by splitting the
// CPU's run at the sample points, never by running the Host's loop more often: see runSampled.

import type { Cpu, CpuExit } from '../cpu/types';
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
 * code runs some 2G instructions per second: this is still about 20,000 samples a second. Each
 * sample splits the CPU's run, and compiled loops pay for being re-entered: in
 * bench/observability.ts's paired measurement sampling every 20,000 cost 4-5% of throughput,
 * every 100,000 1-2%.
 */
export const DEFAULT_SAMPLE_INTERVAL = 100_000;
export const SAMPLE_CAPACITY = 1 << 18;

export class GuestSampler {
  private readonly instruction: Float64Array;
  private readonly eip: Uint32Array;
  private readonly cpl: Uint8Array;
  private readonly cr3: Uint32Array;
  private readonly program: Int32Array;
  private total = 0;
  /** The instruction count at which the next sample is due (a multiple of the interval; 0 = not yet known). */
  private next: number;

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
   * cpu.run(budget) with a sample at every multiple of the interval the run passes. The CPU is
   * stopped exactly at each sample point and resumed right away, without the Host's loop top
   * (which injects interrupts and serves the async ring, so running it more often than the
   * unsampled loop would change what the Guest sees). Splitting a run is invisible: the CPU
   * honours budgets exactly and keeps no state across run() calls beyond its registers.
   */
  runSampled(lg: Lguest, budget: number): CpuExit {
    const cpu = lg.cpu;
    const end = cpu.instructionCount + budget;
    if (this.next <= cpu.instructionCount) this.next = this.nextPointAfter(cpu.instructionCount);
    for (;;) {
      const stop = Math.min(end, this.next);
      const exit = cpu.run(stop - cpu.instructionCount);
      if (cpu.instructionCount >= this.next) this.take(lg, cpu);
      if (exit.kind !== 'budget' || cpu.instructionCount >= end) return exit;
    }
  }

  private take(lg: Lguest, cpu: Cpu): void {
    const i = this.total % this.capacity;
    this.instruction[i] = cpu.instructionCount;
    this.eip[i] = cpu.eip;
    this.cpl[i] = cpu.cpl;
    const slot = lg.state.pgdirs[lg.state.currentPgdir];
    this.cr3[i] = slot ? slot.cr3 : 0;
    this.program[i] = cpu.cpl === 3 && this.programOf !== null ? this.programOf(lg) : -1;
    this.total++;
    this.next = this.nextPointAfter(cpu.instructionCount);
  }

  private nextPointAfter(count: number): number {
    return (Math.floor(count / this.interval) + 1) * this.interval;
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
