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

// Flag masks (EFLAGS bit positions).
const CF = 0x1,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  DF = 0x400,
  OF = 0x800;
const ALL = CF | PF | AF | ZF | SF | OF;
/** OR/AND/XOR/TEST: OF and CF cleared, SF/ZF/PF from the result, AF undefined. */
const LOGIC = { d: OF | CF | SF | ZF | PF, u: AF };
const ARITH = { d: ALL, u: 0 };
const NONE = { d: 0, u: 0 };
const MULF = { d: OF | CF, u: SF | ZF | AF | PF };
const DIVF = { d: 0, u: ALL };

/** Condition-code suffixes in encoding order (NASM spelling). */
export const CONDITION_SUFFIXES = [
  'o',
  'no',
  'b',
  'ae',
  'e',
  'ne',
  'be',
  'a',
  's',
  'ns',
  'p',
  'np',
  'l',
  'ge',
  'le',
  'g',
];

function buildTable(): InstructionForm[] {
  const t: InstructionForm[] = [];
  const add = (
    mnemonic: string,
    opcode: number[],
    operands: OperandTemplate[],
    size: 8 | 16 | 32,
    f: { d: number; u: number },
    digit?: number,
    differential = true,
  ): void => {
    const row: InstructionForm = {
      mnemonic,
      opcode,
      operands,
      size,
      flagsDefined: f.d,
      flagsUndefined: f.u,
      differential,
    };
    if (digit !== undefined) row.digit = digit;
    t.push(row);
  };
  const w = (n: 16 | 32, a: OperandTemplate, b: OperandTemplate): [OperandTemplate, OperandTemplate] => [
    (n === 16 ? a : a.replace('16', '32')) as OperandTemplate,
    (n === 16 ? b : b.replace('16', '32')) as OperandTemplate,
  ];

  // ALU family: add or adc sbb and sub xor cmp.
  const aluNames = ['add', 'or', 'adc', 'sbb', 'and', 'sub', 'xor', 'cmp'];
  aluNames.forEach((name, k) => {
    const f = k === 1 || k === 4 || k === 6 ? LOGIC : ARITH;
    const b = k << 3;
    add(name, [b], ['r/m8', 'r8'], 8, f);
    add(name, [b + 2], ['r8', 'r/m8'], 8, f);
    add(name, [b + 4], ['AL', 'imm8'], 8, f);
    add(name, [0x80], ['r/m8', 'imm8'], 8, f, k);
    for (const n of [16, 32] as const) {
      add(name, [b + 1], w(n, 'r/m16', 'r16'), n, f);
      add(name, [b + 3], w(n, 'r16', 'r/m16'), n, f);
      add(name, [b + 5], n === 16 ? ['AX', 'imm16'] : ['EAX', 'imm32'], n, f);
      add(name, [0x81], n === 16 ? ['r/m16', 'imm16'] : ['r/m32', 'imm32'], n, f, k);
      add(name, [0x83], [n === 16 ? 'r/m16' : 'r/m32', 'simm8'], n, f, k);
    }
  });
  // TEST
  add('test', [0x84], ['r/m8', 'r8'], 8, LOGIC);
  add('test', [0xa8], ['AL', 'imm8'], 8, LOGIC);
  add('test', [0xf6], ['r/m8', 'imm8'], 8, LOGIC, 0);
  for (const n of [16, 32] as const) {
    add('test', [0x85], w(n, 'r/m16', 'r16'), n, LOGIC);
    add('test', [0xa9], n === 16 ? ['AX', 'imm16'] : ['EAX', 'imm32'], n, LOGIC);
    add('test', [0xf7], n === 16 ? ['r/m16', 'imm16'] : ['r/m32', 'imm32'], n, LOGIC, 0);
  }
  // INC/DEC/NOT/NEG/MUL/IMUL/DIV/IDIV
  const incdec = { d: OF | SF | ZF | AF | PF, u: 0 };
  add('inc', [0xfe], ['r/m8'], 8, incdec, 0);
  add('dec', [0xfe], ['r/m8'], 8, incdec, 1);
  const g3: [string, { d: number; u: number }][] = [
    ['not', NONE],
    ['neg', ARITH],
    ['mul', MULF],
    ['imul', MULF],
    ['div', DIVF],
    ['idiv', DIVF],
  ];
  g3.forEach(([name, f], k) => add(name, [0xf6], ['r/m8'], 8, f, k + 2));
  for (const n of [16, 32] as const) {
    const rm: OperandTemplate = n === 16 ? 'r/m16' : 'r/m32';
    const r: OperandTemplate = n === 16 ? 'r16' : 'r32';
    add('inc', [0x40], [r], n, incdec);
    add('dec', [0x48], [r], n, incdec);
    add('inc', [0xff], [rm], n, incdec, 0);
    add('dec', [0xff], [rm], n, incdec, 1);
    g3.forEach(([name, f], k) => add(name, [0xf7], [rm], n, f, k + 2));
    add('imul', [0x0f, 0xaf], [r, rm], n, MULF);
    add('imul', [0x69], [r, rm, n === 16 ? 'imm16' : 'imm32'], n, MULF);
    add('imul', [0x6b], [r, rm, 'simm8'], n, MULF);
  }
  // Shifts and rotates (group 2). SAL (/6) is the same operation as SHL (/4).
  const shiftNames = ['rol', 'ror', 'rcl', 'rcr', 'shl', 'shr', '', 'sar'];
  shiftNames.forEach((name, k) => {
    if (!name) return;
    const rotate = k < 4;
    for (const n of [8, 16, 32] as const) {
      const rm: OperandTemplate = n === 8 ? 'r/m8' : n === 16 ? 'r/m16' : 'r/m32';
      const one = rotate ? { d: CF | OF, u: 0 } : { d: CF | OF | SF | ZF | PF, u: AF };
      // With a variable count OF is undefined; for 8/16-bit shifts the count can exceed the
      // width, which makes CF undefined too.
      const many = rotate
        ? { d: CF, u: OF }
        : n === 32
          ? { d: CF | SF | ZF | PF, u: OF | AF }
          : { d: SF | ZF | PF, u: CF | OF | AF };
      add(name, [n === 8 ? 0xd0 : 0xd1], [rm, '1'], n, one, k);
      add(name, [n === 8 ? 0xd2 : 0xd3], [rm, 'CL'], n, many, k);
      add(name, [n === 8 ? 0xc0 : 0xc1], [rm, 'imm8'], n, many, k);
    }
  });
  // SHLD/SHRD: 16-bit forms with a count above 16 leave the destination undefined.
  const dbl = { d: CF | SF | ZF | PF, u: OF | AF };
  for (const [name, op] of [
    ['shld', 0xa4],
    ['shrd', 0xac],
  ] as const) {
    for (const n of [16, 32] as const) {
      const [rm, r] = w(n, 'r/m16', 'r16');
      add(name, [0x0f, op], [rm, r, 'imm8'], n, dbl, undefined, n === 32);
      add(name, [0x0f, op + 1], [rm, r, 'CL'], n, dbl, undefined, n === 32);
    }
  }
  // Bit test and scan.
  const btf = { d: CF, u: OF | SF | AF | PF };
  const bts: [string, number, number][] = [
    ['bt', 0xa3, 4],
    ['bts', 0xab, 5],
    ['btr', 0xb3, 6],
    ['btc', 0xbb, 7],
  ];
  for (const n of [16, 32] as const) {
    const [rm, r] = w(n, 'r/m16', 'r16');
    for (const [name, op, digit] of bts) {
      add(name, [0x0f, op], [rm, r], n, btf);
      add(name, [0x0f, 0xba], [rm, 'imm8'], n, btf, digit);
    }
    const scan = { d: ZF, u: CF | OF | SF | AF | PF };
    add('bsf', [0x0f, 0xbc], [r, rm], n, scan);
    add('bsr', [0x0f, 0xbd], [r, rm], n, scan);
  }
  // Moves and exchanges.
  add('mov', [0x88], ['r/m8', 'r8'], 8, NONE);
  add('mov', [0x8a], ['r8', 'r/m8'], 8, NONE);
  add('mov', [0xb0], ['r8', 'imm8'], 8, NONE);
  add('mov', [0xc6], ['r/m8', 'imm8'], 8, NONE, 0);
  add('xchg', [0x86], ['r/m8', 'r8'], 8, NONE);
  add('xadd', [0x0f, 0xc0], ['r/m8', 'r8'], 8, ARITH);
  add('cmpxchg', [0x0f, 0xb0], ['r/m8', 'r8'], 8, ARITH);
  for (const n of [16, 32] as const) {
    const [rm, r] = w(n, 'r/m16', 'r16');
    add('mov', [0x89], [rm, r], n, NONE);
    add('mov', [0x8b], [r, rm], n, NONE);
    add('mov', [0xb8], [r, n === 16 ? 'imm16' : 'imm32'], n, NONE);
    add('mov', [0xc7], [rm, n === 16 ? 'imm16' : 'imm32'], n, NONE, 0);
    add('xchg', [0x87], [rm, r], n, NONE);
    add('xchg', [0x90], [n === 16 ? 'AX' : 'EAX', r], n, NONE);
    add('xadd', [0x0f, 0xc1], [rm, r], n, ARITH);
    add('cmpxchg', [0x0f, 0xb1], [rm, r], n, ARITH);
    add('movzx', [0x0f, 0xb6], [r, 'r/m8'], n, NONE);
    add('movsx', [0x0f, 0xbe], [r, 'r/m8'], n, NONE);
    add('lea', [0x8d], [r, 'm'], n, NONE);
    CONDITION_SUFFIXES.forEach((cc, k) => add('cmov' + cc, [0x0f, 0x40 + k], [r, rm], n, NONE));
  }
  add('movzx', [0x0f, 0xb7], ['r32', 'r/m16'], 32, NONE);
  add('movsx', [0x0f, 0xbf], ['r32', 'r/m16'], 32, NONE);
  add('bswap', [0x0f, 0xc8], ['r32'], 32, NONE);
  add('cmpxchg8b', [0x0f, 0xc7], ['m64'], 32, { d: ZF, u: 0 }, 1);
  CONDITION_SUFFIXES.forEach((cc, k) => add('set' + cc, [0x0f, 0x90 + k], ['r/m8'], 8, NONE));
  // Conversions, BCD, flag transfers.
  add('cbw', [0x98], [], 16, NONE);
  add('cwde', [0x98], [], 32, NONE);
  add('cwd', [0x99], [], 16, NONE);
  add('cdq', [0x99], [], 32, NONE);
  add('daa', [0x27], [], 8, { d: CF | AF | SF | ZF | PF, u: OF });
  add('das', [0x2f], [], 8, { d: CF | AF | SF | ZF | PF, u: OF });
  add('aaa', [0x37], [], 8, { d: AF | CF, u: OF | SF | ZF | PF });
  add('aas', [0x3f], [], 8, { d: AF | CF, u: OF | SF | ZF | PF });
  add('aam', [0xd4, 0x0a], [], 8, { d: SF | ZF | PF, u: OF | AF | CF });
  add('aad', [0xd5, 0x0a], [], 8, { d: SF | ZF | PF, u: OF | AF | CF });
  add('sahf', [0x9e], [], 8, { d: SF | ZF | AF | PF | CF, u: 0 });
  add('lahf', [0x9f], [], 8, NONE);
  add('clc', [0xf8], [], 32, { d: CF, u: 0 });
  add('stc', [0xf9], [], 32, { d: CF, u: 0 });
  add('cmc', [0xf5], [], 32, { d: CF, u: 0 });
  add('cld', [0xfc], [], 32, { d: DF, u: 0 });
  add('std', [0xfd], [], 32, { d: DF, u: 0 });
  add('nop', [0x90], [], 32, NONE);
  return t;
}

/** Every ring-3-observable, fall-through integer instruction form the CPU implements. */
export const INSTRUCTION_TABLE: InstructionForm[] = buildTable();
