// The Debugger tab's side of a machine worker: a Debugger on the worker's guest, the machine's
// symbols (its kernel's), and the view the tab shows after each request.

import type { LauncherEvents } from '../launcher/api';
import { Debugger, type DebugStatus, type StopReason } from '../launcher/debug/debugger';
import { disassemble } from '../launcher/debug/disassemble';
import { listenForGdb, type GdbListener, type GdbMachineControl } from '../launcher/debug/gdb-listener';
import { addressOf, resolveName } from '../launcher/debug/expression';
import { GDB_REG_COUNT, GDB_REG_NAMES, readGdbRegister, readVirtual } from '../launcher/debug/guest-access';
import { Launcher } from '../launcher/launch';
import type { MachineConfig } from '../launcher/machine-config';
import { kernelSymbols, symbolFile, SymbolTable } from '../launcher/symbol-table';
import type { DebugCommand, DebugView, DebugViewOptions, MemoryDump, WatchValue } from './debug-types';

const EBP = 5;
/** Instructions shown in the disassembly, and how far back from EIP a function start may be. */
const LINES = 24;
const FUNCTION_LOOKBACK = 96;
const MAX_FRAMES = 16;
/** Bytes the memory viewer shows. */
const MEMORY_BYTES = 64;
/** Grid steps a step request may take before it answers "running" (the worker carries on). */
const STEP_PATIENCE = 200;

/**
 * The machine's symbols: the file its config names (rejects naming that file when it is unusable),
 * else its kernel's (its ELF symbol table or a System.map beside it; none when neither).
 */
export async function machineSymbols(config: MachineConfig, baseDir?: string): Promise<SymbolTable> {
  if (config.symbols !== undefined) return symbolFile(config.symbols, baseDir);
  return (await kernelSymbols(config.kernel, baseDir)) ?? new SymbolTable([]);
}

function describeStop(r: StopReason, symbols: SymbolTable): string {
  const at = (a: number) => symbols.describe(a) ?? `0x${a.toString(16)}`;
  switch (r.kind) {
    case 'breakpoint':
      return `breakpoint at ${at(r.address)}`;
    case 'watchpoint':
      return `watchpoint (${r.access}) at ${at(r.address)}`;
    case 'step':
      return 'stepped';
    case 'pause':
      return 'paused';
    case 'exit':
      return `exit ${r.vector}`;
    case 'hypercall':
      return `hypercall ${r.call}`;
    case 'history-start':
      return 'at the start of the recorded history';
    case 'dead':
      return `dead: ${r.reason}`;
  }
}

export class DebugSession {
  readonly dbg: Debugger;
  private previous: number[];
  private current: number[];
  private gdb: GdbListener | null = null;

  constructor(
    guest: Launcher,
    events: LauncherEvents,
    private readonly symbols: SymbolTable,
  ) {
    this.dbg = new Debugger(guest, { events });
    this.current = this.registers();
    this.previous = this.current;
  }

  static attach(guest: unknown, events: LauncherEvents, symbols: SymbolTable): DebugSession {
    if (!(guest instanceof Launcher)) throw new Error('the debugger needs the built-in Launcher');
    return new DebugSession(guest, events, symbols);
  }

  private registers(): number[] {
    return Array.from({ length: GDB_REG_COUNT }, (_, n) => readGdbRegister(this.dbg.processor, n));
  }

  /** The machine stopped again: registers that differ from the last stop get highlighted. */
  private noteStop(): void {
    this.previous = this.current;
    this.current = this.registers();
  }

  /** Starts (or stops) the gdb server of this machine; `control` lets gdb drive the worker. */
  async setGdb(enable: boolean, control: GdbMachineControl): Promise<void> {
    if (!enable) {
      this.gdb?.close();
      this.gdb = null;
    } else this.gdb ??= await listenForGdb(this.dbg, 0, control);
  }

  /** The machine stopped: a gdb waiting for it hears so. */
  tellGdb(status: DebugStatus): void {
    this.gdb?.onStop(status);
  }

  /** Ends the session: the gdb server closes, the machine runs on undebugged. */
  detach(): void {
    this.gdb?.close();
    this.gdb = null;
    this.dbg.detach();
  }

  /** Carries out `cmd`; true when the machine should now run (the worker drives it). */
  command(cmd: DebugCommand): boolean {
    const d = this.dbg;
    switch (cmd.op) {
      case 'attach':
      case 'view':
      case 'detach':
      case 'gdb':
        return false;
      case 'break':
        d.addBreakpoint(addressOf(cmd.target, d.processor, this.symbols), {
          condition: cmd.condition?.trim() ? cmd.condition.trim() : null,
        });
        return false;
      case 'clear':
        d.removeBreakpointsAt(cmd.address);
        return false;
      case 'pause':
        d.pause();
        this.noteStop();
        return false;
      case 'step-back':
      case 'step-back-over':
      case 'seek':
        if (d.stopped === null) d.pause();
        if (cmd.op === 'step-back') d.reverseStep();
        else if (cmd.op === 'step-back-over') d.reverseStepOver();
        else d.seek(cmd.count);
        this.noteStop();
        return false;
      case 'continue':
        d.resume();
        return true;
      case 'step':
      case 'step-over':
      case 'step-out':
        if (cmd.op === 'step') d.stepInstruction();
        else if (cmd.op === 'step-over') d.stepOver();
        else d.runTo(this.returnAddress() ?? 0xffffffff);
        return !this.runBriefly();
    }
  }

  /** Runs a step to its end when that is quick; false when it is still going. */
  private runBriefly(): boolean {
    for (let i = 0; i < STEP_PATIENCE; i++) {
      const r = this.dbg.run(1);
      if (r.state === 'stopped') {
        this.noteStop();
        return true;
      }
      if (r.state === 'idle') return false;
    }
    return false;
  }

  /** One slice of a run the worker drives; a stop is remembered for the register highlights. */
  run(): DebugStatus {
    const r = this.dbg.run(10);
    if (r.state === 'stopped') this.noteStop();
    return r;
  }

  /** The return address of the current function: [EBP+4] (its frame is set up past the prologue). */
  private returnAddress(): number | null {
    const cpu = this.dbg.processor;
    const b = readVirtual(this.dbg.lguest, (readGdbRegister(cpu, EBP) + 4) >>> 0, 4);
    return b === null ? null : new DataView(b.buffer).getUint32(0, true);
  }

  /** The watch list's values at this stop. */
  private watchValues(expressions: string[]): WatchValue[] {
    const cpu = this.dbg.processor;
    return expressions.map((expression) => {
      try {
        const n = resolveName(expression, cpu, this.symbols);
        if (n.kind === 'register') return { expression, value: n.value, error: null };
        const b = readVirtual(this.dbg.lguest, n.address, 4);
        if (b === null) return { expression, value: null, error: `nothing mapped at 0x${n.address.toString(16)}` };
        return { expression, value: new DataView(b.buffer).getUint32(0, true), error: null };
      } catch (err) {
        return { expression, value: null, error: err instanceof Error ? err.message : String(err) };
      }
    });
  }

  /** The memory viewer's bytes from where its expression points at this stop. */
  private memoryDump(expression: string): MemoryDump {
    let address: number;
    try {
      address = addressOf(expression, this.dbg.processor, this.symbols);
    } catch (err) {
      return { expression, address: null, bytes: [], error: err instanceof Error ? err.message : String(err) };
    }
    const lg = this.dbg.lguest;
    const whole = readVirtual(lg, address, MEMORY_BYTES);
    const bytes = Array.from({ length: MEMORY_BYTES }, (_, i) => {
      const b = whole?.[i] ?? readVirtual(lg, (address + i) >>> 0, 1)?.[0];
      return b === undefined ? null : b.toString(16).padStart(2, '0');
    });
    return { expression, address, bytes, error: null };
  }

  view({ syntax, watches, memory }: DebugViewOptions): DebugView {
    const d = this.dbg;
    const lg = d.lguest;
    const eip = d.processor.eip;
    const label = (a: number) => this.symbols.describe(a) ?? `0x${a.toString(16).padStart(8, '0')}`;
    const symStart = this.symbols.containing(eip)?.address;
    const start = symStart !== undefined && eip - symStart < FUNCTION_LOOKBACK ? symStart : eip;
    const bytes =
      readVirtual(lg, start, 16 * LINES) ?? readVirtual(lg, start, 4096 - (start & 0xfff)) ?? new Uint8Array();
    const bps = new Set([...d.breakpoints.values()].map((b) => b.address));
    const stack: { address: number; label: string }[] = [{ address: eip, label: label(eip) }];
    let ebp = readGdbRegister(d.processor, EBP);
    for (let i = 0; i < MAX_FRAMES && ebp !== 0; i++) {
      const frame = readVirtual(lg, ebp, 8);
      if (frame === null) break;
      const v = new DataView(frame.buffer);
      const ret = v.getUint32(4, true);
      if (ret === 0) break;
      stack.push({ address: ret, label: label(ret) });
      const next = v.getUint32(0, true);
      if (next <= ebp) break;
      ebp = next;
    }
    return {
      attached: true,
      stopped: d.stopped === null ? null : describeStop(d.stopped, this.symbols),
      instructionCount: d.count,
      registers: this.current.map((value, n) => ({
        name: GDB_REG_NAMES[n]!,
        value: readGdbRegister(d.processor, n),
        changed: value !== this.previous[n],
      })),
      disassembly: disassemble(bytes, start, LINES, syntax).map((ins) => ({
        address: ins.address,
        symbol: this.symbols.describe(ins.address),
        bytes: Buffer.from(ins.bytes).toString('hex'),
        text: ins.text,
        current: ins.address === eip,
        breakpoint: bps.has(ins.address),
      })),
      breakpoints: [...d.breakpoints.values()].map((b) => ({
        address: b.address,
        label: label(b.address),
        condition: b.conditionText,
      })),
      stack,
      historyStart: d.timeline?.checkpoints[0]?.count ?? null,
      historyEnd: d.recordedUntil,
      watches: this.watchValues(watches),
      memory: memory === null ? null : this.memoryDump(memory),
      gdb: this.gdb === null ? null : `target remote 127.0.0.1:${this.gdb.port}`,
    };
  }
}
