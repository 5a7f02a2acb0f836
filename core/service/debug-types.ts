// The Debugger tab's requests and what the machine's worker answers: run control, breakpoints by
// symbol or address, and one view of the stopped machine (registers, disassembly, stack).

/** One debugger request ('debug.command'). Breakpoint targets are symbols or hex addresses. */
export type DebugCommand =
  | { op: 'attach' }
  | { op: 'detach' }
  | { op: 'view' }
  | { op: 'continue' }
  | { op: 'pause' }
  | { op: 'step' }
  | { op: 'step-over' }
  | { op: 'step-out' }
  | { op: 'step-back' }
  | { op: 'break'; target: string }
  | { op: 'clear'; address: number }
  /** Start or stop this machine's gdb server (127.0.0.1, a free port). */
  | { op: 'gdb'; enable: boolean };

export type DisassemblySyntax = 'intel' | 'att';

export interface DebugRegister {
  name: string;
  value: number;
  /** Changed since the previous stop. */
  changed: boolean;
}

export interface DisassemblyLine {
  address: number;
  /** "function+0x12" when the machine's symbols cover the address. */
  symbol: string | null;
  bytes: string;
  text: string;
  current: boolean;
  breakpoint: boolean;
}

export interface DebugView {
  attached: boolean;
  /** Why the machine stands still ("breakpoint at console_write"), or null while it runs. */
  stopped: string | null;
  instructionCount: number;
  registers: DebugRegister[];
  disassembly: DisassemblyLine[];
  breakpoints: { address: number; label: string }[];
  /** Return addresses by frame-pointer walk, innermost first. */
  stack: { address: number; label: string }[];
  /** Instructions the recorded past reaches back to (step back goes no further). */
  historyStart: number | null;
  /** The line to paste into gdb while this machine's gdb server listens. */
  gdb: string | null;
}
