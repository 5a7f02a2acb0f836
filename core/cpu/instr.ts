// A decoded instruction: prefixes, ModRM/SIB addressing form, immediates and the handler that
// executes it (Intel SDM vol. 2, "Instruction Format"). Cached by physical address.

import type { I386 } from './cpu';
import type { Region } from './jit';

export type Handler = (c: I386, i: Instr) => void;

export class Instr {
  fn: Handler;
  len = 0;
  /** Opcode: one-byte opcodes as is, 0F xx as 0x100 | xx. */
  op = 0;
  /** Operand size in bits for this instruction (8, 16 or 32). */
  sz = 32;
  /** Operand-size attribute is 16 bits (0x66 in a 32-bit segment). */
  o16 = false;
  /** Address-size attribute is 16 bits. */
  a16 = false;
  modrm = 0;
  mod = 3;
  reg = 0;
  rm = 0;
  /** Segment register used for the memory operand (default or override). */
  seg = 3;
  /** True when a segment override prefix was given. */
  segOverride = false;
  base = -1;
  index = -1;
  scale = 0;
  disp = 0;
  imm = 0;
  imm2 = 0;
  /** 0 none, 1 REP/REPE (F3), 2 REPNE (F2). */
  rep = 0;
  lock = false;
  /** The instruction's bytes, to revalidate the cache entry against memory. */
  bytes: Uint8Array = EMPTY;
  /** Run epoch in which the bytes were last verified. */
  epoch = -1;
  /** Default operand size of the code segment it was decoded for. */
  d32 = true;
  /** The cached instruction that follows in the same page (a derived shortcut for the fetch). */
  next: Instr | null = null;
  /** How the form may take part in compiled code (ROLE_* in optable.ts). */
  role = 0;
  /** Times the run loop reached this instruction by a fetch (branch target or region exit). */
  hits = 0;
  /** The compiled region that may be entered here, if any (derived; see jit.ts). */
  region: Region | null = null;

  constructor(fn: Handler) {
    this.fn = fn;
  }
}

const EMPTY = new Uint8Array(0);
