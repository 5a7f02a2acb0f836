// The Debugger tab's requests and what the machine's worker answers: run control, breakpoints by
// symbol or address (with conditions), moves in the recorded past, and one view of the stopped
// machine (registers, disassembly, stack, watch list, memory).

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
  /** Back one instruction, over a call that returned there (reverse-nexti). */
  | { op: 'step-back-over' }
  /** To this instruction count inside the recorded window. */
  | { op: 'seek'; count: number }
  /** `condition` as breakpoint conditions read it ("eax == 4 && ecx > 0x10"). */
  | { op: 'break'; target: string; condition?: string }
  | { op: 'clear'; address: number }
  /** Start or stop this machine's gdb server (127.0.0.1, a free port). */
  | { op: 'gdb'; enable: boolean };

export type DisassemblySyntax = 'intel' | 'att';

/** What the view shows beyond its fixed parts; the tab sends it with every request. */
export interface DebugViewOptions {
  syntax: DisassemblySyntax;
  /** Watch expressions: a register (its value), or a symbol or hex address (the 32-bit word there). */
  watches: string[];
  /** The memory viewer's address: a register it follows at each stop, a symbol or a hex address. */
  memory: string | null;
}

export interface WatchValue {
  expression: string;
  value: number | null;
  /** Why there is no value (unknown name, memory not mapped). */
  error: string | null;
}

/** Bytes of memory shown from `address` (the viewer's expression evaluated at this stop). */
export interface MemoryDump {
  expression: string;
  address: number | null;
  /** Hex pairs; null where the guest has nothing mapped. */
  bytes: (string | null)[];
  error: string | null;
}

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
  breakpoints: { address: number; label: string; condition: string | null }[];
  /** Return addresses by frame-pointer walk, innermost first. */
  stack: { address: number; label: string }[];
  /** Instructions the recorded past reaches back to (step back goes no further), and forward to. */
  historyStart: number | null;
  historyEnd: number;
  watches: WatchValue[];
  memory: MemoryDump | null;
  /** The line to paste into gdb while this machine's gdb server listens. */
  gdb: string | null;
}
