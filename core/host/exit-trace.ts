// The exit trace: the last N things the Host did for a Guest (exits, hypercalls from the ring,
// injected interrupts) and what it decided, like QEMU's "-d int" kept in a flight recorder.
// Derived data: preallocated typed arrays, one slot overwritten per event, no object per event.

/** What the Host made of one event; the numbers are what the trace stores. */
export const EXIT_DECISIONS = [
  'demand-paged', // a shadow page-table miss, fixed without the Guest noticing
  'reflected', // the trap was handed to the Guest's own handler
  'emulated', // an in/out instruction, emulated by the Host
  'fpu', // device-not-available with the virtual TS clear: resumed
  'hypercall', // a synchronous hypercall (int $0x1f), served
  'ring-hypercall', // a hypercall from the asynchronous ring in lguest_data, served
  'dma', // the hypercall sent DMA that the Launcher must serve
  'injected', // a virtual interrupt delivered to the Guest
  'killed', // the Guest died handling this event
] as const;
export type ExitDecision = (typeof EXIT_DECISIONS)[number];

export const DECISION_DEMAND_PAGED = 0;
export const DECISION_REFLECTED = 1;
export const DECISION_EMULATED = 2;
export const DECISION_FPU = 3;
export const DECISION_HYPERCALL = 4;
export const DECISION_RING_HYPERCALL = 5;
export const DECISION_DMA = 6;
export const DECISION_INJECTED = 7;
export const DECISION_KILLED = 8;

/** One traced event, as plain data (what inspectors, the CLI's --trace and death reports carry). */
export interface ExitRecord {
  /** Guest instructions retired when the event happened (the CPU's count). */
  instruction: number;
  /** The trap vector (0..255), 256 for a failed entry, or 32 + IRQ for an injected interrupt. */
  vector: number;
  eip: number;
  /** The error code, or CR2 for a page fault. */
  code: number;
  /** Hypercall number and arguments (EAX, EDX, EBX, ECX) when the event is a hypercall. */
  hypercall: { number: number; args: [number, number, number] } | null;
  decision: ExitDecision;
}

/** Events kept per Guest. */
export const EXIT_TRACE_CAPACITY = 4096;

/** Vector of hypercall events (LGUEST_TRAP_ENTRY). */
const HCALL_VECTOR = 0x1f;

export class ExitTrace {
  private readonly instruction: Float64Array;
  private readonly vector: Uint16Array;
  private readonly eip: Uint32Array;
  private readonly code: Uint32Array;
  /** Per event: EAX, EDX, EBX, ECX of a hypercall, and whether the event is one. */
  private readonly args: Uint32Array;
  private readonly isHypercall: Uint8Array;
  private readonly decision: Uint8Array;
  /** Events recorded since creation; the newest is at (total - 1) % capacity. */
  private total = 0;

  constructor(readonly capacity = EXIT_TRACE_CAPACITY) {
    this.instruction = new Float64Array(capacity);
    this.vector = new Uint16Array(capacity);
    this.eip = new Uint32Array(capacity);
    this.code = new Uint32Array(capacity);
    this.args = new Uint32Array(capacity * 4);
    this.isHypercall = new Uint8Array(capacity);
    this.decision = new Uint8Array(capacity);
  }

  /** Events recorded so far (also those already overwritten). */
  get recorded(): number {
    return this.total;
  }

  /** Record an exit (no hypercall arguments); returns its sequence number for decide(). */
  record(instruction: number, vector: number, eip: number, code: number, decision: number): number {
    const i = this.total % this.capacity;
    this.instruction[i] = instruction;
    this.vector[i] = vector;
    this.eip[i] = eip;
    this.code[i] = code;
    this.isHypercall[i] = 0;
    this.decision[i] = decision;
    return this.total++;
  }

  /** Record a hypercall (vector 0x1f) with its four registers. */
  recordHypercall(
    instruction: number,
    eip: number,
    eax: number,
    edx: number,
    ebx: number,
    ecx: number,
    decision: number,
  ): number {
    const seq = this.record(instruction, HCALL_VECTOR, eip, 0, decision);
    const i = seq % this.capacity;
    const a = i * 4;
    this.isHypercall[i] = 1;
    this.args[a] = eax;
    this.args[a + 1] = edx;
    this.args[a + 2] = ebx;
    this.args[a + 3] = ecx;
    return seq;
  }

  /** Change the decision of a recorded event (if it is still held). */
  decide(seq: number, decision: number): void {
    if (seq >= 0 && seq < this.total && this.total - seq <= this.capacity)
      this.decision[seq % this.capacity] = decision;
  }

  /** The newest event is the one a kill belongs to: mark it (nothing happens with an empty trace). */
  markNewestKilled(): void {
    if (this.total > 0) this.decision[(this.total - 1) % this.capacity] = DECISION_KILLED;
  }

  /** Up to n of the newest events, oldest first, as plain records. */
  last(n: number = this.capacity): ExitRecord[] {
    return this.since(this.total - n).records;
  }

  /**
   * The events numbered `seq` (as record() returned) and later, oldest first; `lost` counts the
   * ones among them already overwritten. Reading from `recorded` next time continues the stream.
   */
  since(seq: number): { lost: number; records: ExitRecord[] } {
    const from = Math.max(0, seq);
    const first = Math.max(from, this.total - this.capacity);
    const records: ExitRecord[] = [];
    for (let q = first; q < this.total; q++) records.push(this.at(q % this.capacity));
    return { lost: Math.max(0, first - from), records };
  }

  private at(i: number): ExitRecord {
    const a = i * 4;
    return {
      instruction: this.instruction[i]!,
      vector: this.vector[i]!,
      eip: this.eip[i]!,
      code: this.code[i]!,
      hypercall: this.isHypercall[i]
        ? { number: this.args[a]!, args: [this.args[a + 1]!, this.args[a + 2]!, this.args[a + 3]!] }
        : null,
      decision: EXIT_DECISIONS[this.decision[i]!]!,
    };
  }
}
