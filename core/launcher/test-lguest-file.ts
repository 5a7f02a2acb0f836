// TEST DOUBLE (not the real host): a scripted "/dev/lguest" file that implements the real LguestFile
// interface, with GETDMA/IRQ semantics of 2.6.23 (§8.7, §9.4), so device code can be tested alone.

import { EINVAL, ENOENT, type InitializeArgs, type LguestFile, type RunOptions, type RunResult } from '../host/api';

/** What the scripted guest does on one run() call: a result, or a function acting as the guest. */
export type ScriptStep = RunResult | ((file: ScriptedLguestFile) => RunResult);

interface Binding {
  key: number;
  dmas: number;
  num: number;
  irq: number;
}

export class ScriptedLguestFile implements LguestFile {
  args: InitializeArgs | null = null;
  initializeResult = 16;
  readonly script: ScriptStep[] = [];
  readonly irqsSent: number[] = [];
  readonly runBudgets: number[] = [];
  closed = false;
  breakOn = false;
  virtualTimeNs = 0;
  instructionCount = 0;
  /** Instructions each scripted run() pretends to have executed. */
  instructionsPerRun = 0;
  private readonly bindings: Binding[] = [];

  initialize(args: InitializeArgs): number {
    if (this.args) return -16;
    if (this.initializeResult === 16) this.args = args;
    return this.initializeResult;
  }

  get view(): DataView {
    if (!this.args) throw new Error('not initialized');
    return this.args.memory.ramView;
  }

  get ram(): Uint8Array {
    if (!this.args) throw new Error('not initialized');
    return this.args.memory.ram;
  }

  run(opts: RunOptions): RunResult | number {
    if (!this.args) return EINVAL;
    this.runBudgets.push(opts.budget);
    this.instructionCount += this.instructionsPerRun;
    const next = this.script.shift();
    if (next === undefined) return { kind: 'idle', wakeAtNs: null };
    return typeof next === 'function' ? next(this) : next;
  }

  /** Acts as the guest's BIND_DMA: the most recent binding on a key is found first. */
  bind(key: number, dmas: number, num: number, irq: number): void {
    this.bindings.unshift({ key, dmas, num, irq });
  }

  getDma(key: number): number {
    const b = this.bindings.find((x) => x.key === key);
    if (!b) return ENOENT;
    let ret = 0;
    for (let j = 0; j < b.num; j++) {
      ret = b.dmas + 100 * j;
      if (this.view.getUint32(ret, true) === 0) break;
    }
    if (ret === 0) return ENOENT;
    this.view.setUint32(ret, b.irq, true);
    return ret;
  }

  sendIrq(irq: number): number {
    if (irq >= 32) return EINVAL;
    this.irqsSent.push(irq);
    return 0;
  }

  breakOut(on: boolean): number {
    this.breakOn = on;
    return 0;
  }

  /** What hasPendingWork() answers (the script decides). */
  pendingWork = false;

  hasPendingWork(): boolean {
    return this.pendingWork;
  }

  advanceClockTo(ns: number): void {
    if (ns > this.virtualTimeNs) this.virtualTimeNs = ns;
  }

  close(): void {
    this.closed = true;
  }
}

/** TEST DOUBLE host: opens ScriptedLguestFiles and remembers them. */
export class ScriptedHost {
  readonly files: ScriptedLguestFile[] = [];
  prepare?: (file: ScriptedLguestFile) => void;

  open(): ScriptedLguestFile {
    const f = new ScriptedLguestFile();
    this.prepare?.(f);
    this.files.push(f);
    return f;
  }
}

/** Writes a struct lguest_dma with the given sections at `gpa` (used_len 0). */
export function writeDma(view: DataView, gpa: number, sections: { addr: number; len: number }[], usedLen = 0): void {
  view.setUint32(gpa, usedLen, true);
  for (let i = 0; i < 16; i++) {
    view.setUint32(gpa + 4 + 4 * i, sections[i]?.addr ?? 0, true);
    view.setUint16(gpa + 68 + 2 * i, sections[i]?.len ?? 0, true);
  }
}
