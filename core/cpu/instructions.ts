// The one instruction table: every opcode form the CPU implements, with its operands and flag
// effects. The decoder is driven by it and the differential tests are generated from it, so an
// instruction the CPU claims is tested by construction.

/** Operand templates in NASM (Intel) order and spelling. */
export type OperandTemplate =
  | 'r/m8'
  | 'r/m16'
  | 'r/m32'
  | 'r8'
  | 'r16'
  | 'r32'
  | 'm'
  | 'm8'
  | 'm16'
  | 'm32'
  | 'm64'
  | 'imm8'
  | 'imm16'
  | 'imm32'
  | 'simm8'
  | 'AL'
  | 'AX'
  | 'EAX'
  | 'CL'
  | 'DX'
  | '1'
  | 'sreg'
  | 'moffs8'
  | 'moffs16'
  | 'moffs32'
  | 'rel8'
  | 'rel16'
  | 'rel32';

export interface InstructionForm {
  /** NASM mnemonic, e.g. 'add', 'shld', 'cmovne'. */
  mnemonic: string;
  /** Opcode bytes after prefixes, e.g. [0x0f, 0xa4]. */
  opcode: number[];
  /** ModRM reg field for group opcodes (the /digit), if any. */
  digit?: number;
  operands: OperandTemplate[];
  /** Operand size of the form (16-bit forms are the 32-bit encodings behind a 0x66 prefix). */
  size: 8 | 16 | 32;
  /** EFLAGS bits the instruction writes with architecturally defined values. */
  flagsDefined: number;
  /** EFLAGS bits Intel documents as undefined after it (masked in differential comparisons). */
  flagsUndefined: number;
  /** Observable from ring 3 and falls through: eligible for generated differential tests. */
  differential: boolean;
}

export const INSTRUCTION_TABLE: InstructionForm[] = [];
