// Test-case generation for the differential harness: every differential form of the
// instruction table gets operand-size, register/memory and value variants (interesting values,
// shift counts and seeded random ones, with CF both clear and set); directed cases cover string
// instructions with REP prefixes and both directions, flag rules and divide errors (the x87's
// cases are in x87-cases.ts).

import type { InstructionForm, OperandTemplate } from '../instructions';
import { CASE_ESP, DATA_BASE, WINDOW } from './layout';
import { EAX, EBP, EBX, ECX, EDI, EDX, EFLAGS_CF, EFLAGS_DF, ESI, ESP } from '../types';

/** One differential test case: a snippet plus the state it starts from. */
export interface DiffCase {
  /** What is tested: the form's mnemonic and operand templates, or a directed test's name. */
  form: string;
  /** NASM lines of the snippet (INT3 is appended by the harness). */
  asm: string;
  regs: number[];
  eflags: number;
  fcw: number;
  window: Uint8Array;
  /** EFLAGS bits compared (defined or untouched by the snippet). */
  flagsMask: number;
  /** x87 status-word bits compared (all by default). */
  fswMask?: number;
  /**
   * Tolerance for ST registers in units of the 64th significand bit, for transcendental results
   * (the real FPU is itself within one unit of the true value; default 0: bit for bit).
   */
  fpuUlps?: number;
  /** Window byte ranges [start, end) not compared (e.g. FNSTENV's instruction pointers). */
  ignore?: [number, number][];
  /** Human-readable inputs for failure messages. */
  inputs: string;
}

export const ARITH_FLAGS = 0x0001 | 0x0004 | 0x0010 | 0x0040 | 0x0080 | 0x0800;
const CF = EFLAGS_CF,
  DF = EFLAGS_DF;
const REG32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi'];
const REG16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di'];
const REG8 = ['al', 'cl', 'dl', 'bl', 'ah', 'ch', 'dh', 'bh'];

/** A small deterministic generator (xorshift32) so every run produces the same cases. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  below(n: number): number {
    return this.u32() % n;
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.below(xs.length)]!;
  }
  bytes(n: number): Uint8Array {
    const b = new Uint8Array(n);
    for (let i = 0; i < n; i++) b[i] = this.u32() & 0xff;
    return b;
  }
}

const INTERESTING = [
  0, 1, 2, 3, 0x7f, 0x80, 0x81, 0xfe, 0xff, 0x100, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff, 0x10000, 0x7ffffffe,
  0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe, 0xffffffff,
];
const SHIFT_COUNTS = [0, 1, 2, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 0xff];
const IMPLICIT = new Set<OperandTemplate>(['AL', 'AX', 'EAX', 'CL', 'DX']);
const SHIFTS = new Set(['shl', 'sal', 'shr', 'sar', 'rol', 'ror', 'rcl', 'rcr', 'shld', 'shrd']);
const STRING = /^(rep\w* )?(movs|stos|lods|cmps|scas)[bwd]?$/;

function mask(size: number): number {
  return size === 32 ? 0xffffffff : (1 << size) - 1;
}

function pickValue(rng: Rng, size: number, count: boolean): number {
  const r = rng.below(8);
  if (count && r < 5) return rng.pick(SHIFT_COUNTS) & mask(size);
  if (r < 4) {
    const v = rng.pick(INTERESTING);
    // Interesting values are meaningful per size: truncate, and also try the sign-extended ones.
    return (rng.below(2) ? v : v | (v & (1 << (size - 1)) ? ~mask(size) : 0)) & mask(size);
  }
  if (r === 4) return rng.below(16) & mask(size);
  return rng.u32() & mask(size);
}

function templateSize(t: OperandTemplate, formSize: number): number {
  if (t.endsWith('8') || t === 'AL' || t === 'CL' || t === 'simm8' || t === 'rel8') return 8;
  if (t.endsWith('16') || t === 'AX' || t === 'DX' || t === 'sreg') return 16;
  if (t.endsWith('32') || t === 'EAX') return 32;
  if (t === 'm64') return 64;
  return formSize;
}

function setReg(regs: number[], size: number, reg: number, value: number): void {
  if (size === 32) regs[reg] = value >>> 0;
  else if (size === 16) regs[reg] = ((regs[reg]! & 0xffff0000) | (value & 0xffff)) >>> 0;
  else if (reg < 4) regs[reg] = ((regs[reg]! & 0xffffff00) | (value & 0xff)) >>> 0;
  else regs[reg - 4] = ((regs[reg - 4]! & 0xffff00ff) | ((value & 0xff) << 8)) >>> 0;
}

function regName(size: number, reg: number): string {
  return (size === 8 ? REG8 : size === 16 ? REG16 : REG32)[reg]!;
}

export function le(value: number, bytes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes; i++) out.push(Math.floor(value / 2 ** (8 * i)) & 0xff);
  return out;
}

export function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** Selectors that mean the same in the Linux GDT and the emulated one (see segmentCases). */
const AGREED_SELECTORS = [0, 1, 3, 0x08, 0x10, 0x18, 0x23, 0x2b, 0x2f, 0x80, 0x1234, 0xffff];

/** Whether a form's encoding has a ModRM byte (otherwise register operands are "+r"). */
function hasModrm(f: InstructionForm): boolean {
  if (f.digit !== undefined) return true;
  return f.operands.some(
    (t) => t.startsWith('r/m') || t === 'm' || t === 'm8' || t === 'm16' || t === 'm32' || t === 'm64' || t === 'sreg',
  );
}

export function formName(f: InstructionForm): string {
  return `${f.mnemonic} ${f.operands.join(', ')} [${f.opcode.map((b) => b.toString(16).padStart(2, '0')).join(' ')}${f.digit !== undefined ? ' /' + f.digit : ''}]${f.size === 16 ? ' o16' : ''}`;
}

/** Generates `count` cases for one differential form of the instruction table. */
export function generateFormCases(f: InstructionForm, seed: number, count = 100): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const name = formName(f);
  const modrmForm = hasModrm(f);
  const regTemplate = f.operands.findIndex((t) => t === 'r8' || t === 'r16' || t === 'r32');
  const rmTemplate = f.operands.findIndex((t) => t.startsWith('r/m') || t.startsWith('m'));
  const isShift = SHIFTS.has(f.mnemonic);
  const isString = STRING.test(f.mnemonic);
  // Forms that push or pop need ESP inside the window (a wild ESP could hit the runner's own memory).
  const stackForm = /^(push|pop|call|ret|enter|leave|int|iret|bound)/.test(f.mnemonic);
  // 16-bit SHLD/SHRD results are undefined for counts above 16: stay within the defined range.
  // Loading a segment register: only selectors whose descriptors agree with the Linux GDT.
  const loadsSreg = f.operands[0] === 'sreg';
  const doubleShift16 = (f.mnemonic === 'shld' || f.mnemonic === 'shrd') && f.size === 16;
  for (let k = 0; k < count; k++) {
    const regs = Array.from({ length: 8 }, () => rng.u32());
    regs[ESP] = CASE_ESP;
    const window = rng.bytes(WINDOW);
    let eflags = rng.u32() & ARITH_FLAGS & ~CF;
    eflags |= k & 1 ? CF : 0;
    const desc: string[] = [];
    const bytes: number[] = [];
    if (f.size === 16) bytes.push(0x66);
    const opcode = f.opcode.slice();
    const used = new Set<number>();
    /** A register for an operand: unused so far; ESP now and then unless the form uses the stack. */
    const pickReg = (size: number): number => {
      for (;;) {
        const reg = rng.below(8);
        if (size === 8) {
          if (!used.has(reg & 3)) return reg;
        } else if (!used.has(reg) && (reg !== ESP || (!stackForm && rng.below(8) === 0))) return reg;
      }
    };
    let modrmReg = f.digit ?? 0;
    let rmIsReg = false;
    let rmReg = 0;
    const immBytes: number[] = [];
    let dispAfterOpcode: number[] = [];
    let memOffset = -1;
    let memBytes = 0;
    let memValue = 0;

    // Implicit registers first, then register operands (they claim registers in that order).
    const implicitFirst = f.operands
      .map((t, idx) => [t, idx] as const)
      .sort(([a], [b]) => Number(!IMPLICIT.has(a)) - Number(!IMPLICIT.has(b)));
    implicitFirst.forEach(([t, idx]) => {
      const size = templateSize(t, f.size);
      const isCount = isShift && idx === f.operands.length - 1 && idx > 0;
      if (t === 'AL' || t === 'AX' || t === 'EAX') {
        const v = pickValue(rng, size, false);
        setReg(regs, size, EAX, v);
        used.add(EAX);
        desc.push(`${regName(size, EAX)}=${hex(v)}`);
      } else if (t === 'CL') {
        const v = doubleShift16 ? rng.below(17) : pickValue(rng, 8, isCount);
        setReg(regs, 8, ECX, v);
        used.add(ECX);
        desc.push(`cl=${hex(v)}`);
      } else if (t === 'DX') {
        used.add(EDX);
      } else if (t === 'r8' || t === 'r16' || t === 'r32') {
        const reg = pickReg(size);
        used.add(size === 8 ? reg & 3 : reg);
        const v = pickValue(rng, size, isCount);
        setReg(regs, size, reg, v);
        desc.push(`${regName(size, reg)}=${hex(v)}`);
        if (modrmForm) modrmReg = reg;
        else opcode[opcode.length - 1] = opcode[opcode.length - 1]! + reg;
      } else if (t === 'sreg') {
        // Reading CS/SS/DS/ES is observable and identical; loading one only with the flat data selector.
        const writes = f.operands[0] === 'sreg';
        modrmReg = writes ? rng.pick([0, 3]) : rng.pick([0, 1, 2, 3]);
        desc.push(`sreg=${modrmReg}`);
      }
    });

    // The r/m (or memory) operand.
    if (rmTemplate >= 0) {
      const t = f.operands[rmTemplate]!;
      const size = templateSize(t, f.size);
      const memOnly = t.startsWith('m');
      const isCount = isShift && rmTemplate === f.operands.length - 1 && rmTemplate > 0;
      if (!memOnly && rng.below(2) === 0) {
        let reg: number;
        // Sometimes the same register as the reg operand (xor eax,eax; xchg ebx,ebx).
        if (regTemplate >= 0 && rng.below(10) === 0) reg = modrmReg;
        else reg = pickReg(size);
        rmIsReg = true;
        rmReg = reg;
        used.add(size === 8 ? reg & 3 : reg);
        const v = loadsSreg ? rng.pick(AGREED_SELECTORS) : pickValue(rng, size, isCount);
        setReg(regs, size, reg, v);
        desc.push(`${regName(size, reg)}=${hex(v)}`);
      } else {
        memOffset = 0x100 + rng.below(16);
        memBytes = size === 64 ? 8 : t === 'm' ? 8 : size / 8;
        memValue =
          size === 64 || t === 'm' ? 0 : loadsSreg ? rng.pick(AGREED_SELECTORS) : pickValue(rng, size, isCount);
        if (memBytes <= 4) window.set(le(memValue, memBytes), memOffset);
        desc.push(`[${hex(DATA_BASE + memOffset)}]=${memBytes <= 4 ? hex(memValue) : 'random'}`);
      }
    }

    // Immediates, offsets and relative targets in template order.
    f.operands.forEach((t, idx) => {
      const isCount = isShift && idx === f.operands.length - 1;
      if (t === 'imm8' || t === 'simm8' || t === 'imm16' || t === 'imm32') {
        const size = templateSize(t, f.size);
        let v = doubleShift16 && isCount ? rng.below(17) : pickValue(rng, size, isCount);
        if (f.mnemonic === 'int' && v === 0x80) v = 0x81; // never a real system call
        if (f.mnemonic === 'enter') v = idx === 0 ? rng.below(64) : rng.below(5);
        immBytes.push(...le(v, size / 8));
        desc.push(`imm=${hex(v)}`);
      } else if (t === 'moffs8' || t === 'moffs16' || t === 'moffs32') {
        const size = templateSize(t, f.size);
        memOffset = 0x100 + rng.below(16);
        memBytes = size / 8;
        memValue = pickValue(rng, size, false);
        window.set(le(memValue, memBytes), memOffset);
        dispAfterOpcode = le(DATA_BASE + memOffset, 4);
        desc.push(`[${hex(DATA_BASE + memOffset)}]=${hex(memValue)}`);
      } else if (t === 'rel8' || t === 'rel16' || t === 'rel32') {
        immBytes.push(...le(1, t === 'rel8' ? 1 : t === 'rel16' ? 2 : 4)); // taken: skip one INT3
      }
    });

    // Biases that make the interesting outcome common rather than rare.
    const accSize = f.size;
    if ((f.mnemonic === 'div' || f.mnemonic === 'idiv') && rng.below(4) !== 0) {
      // Keep the quotient in range most of the time: a small high half (or its sign extension).
      const lowMask = mask(accSize);
      const hiReg = accSize === 8 ? -1 : EDX;
      const small = rng.below(2) ? 0 : rng.below(4);
      const signExt = f.mnemonic === 'idiv' && rng.below(2) ? lowMask : 0;
      if (hiReg < 0) regs[EAX] = ((regs[EAX]! & 0xffff00ff) | (((signExt || small) & 0xff) << 8)) >>> 0;
      else setReg(regs, accSize, hiReg, signExt || small);
      if (signExt) setReg(regs, accSize, EAX, (regs[EAX]! | (1 << (accSize - 1))) & lowMask);
    }
    if (f.mnemonic === 'cmpxchg' && rng.below(2)) {
      const v = rmIsReg ? (rmReg < 4 || f.size !== 8 ? regs[rmReg]! : regs[rmReg - 4]! >>> 8) : memValue;
      setReg(regs, f.size, EAX, v & mask(f.size));
    }
    if (f.mnemonic === 'cmpxchg8b' && memOffset >= 0 && rng.below(2)) {
      const dv = new DataView(window.buffer);
      regs[EAX] = dv.getUint32(memOffset, true);
      regs[EDX] = dv.getUint32(memOffset + 4, true);
    }
    if (/^bt[src]?$/.test(f.mnemonic) && !rmIsReg && regTemplate >= 0) {
      // A register bit offset addresses memory beyond the operand: keep it inside the data pages.
      const off = rng.below(6144) - 2048;
      const r = f.size === 16 ? off & 0xffff : off >>> 0;
      setReg(regs, f.size, modrmReg, r);
      desc.push(`bitoffset=${off}`);
    }

    // Control transfers to computed targets go to an address unmapped on both sides (executing
    // whatever happens to be mapped natively would not be comparable).
    const farTarget = (): number => 0x5000_0000 + rng.below(0x100_0000);
    if (/^(ret|retn)$/.test(f.mnemonic)) window.set(le(farTarget(), 4), CASE_ESP - DATA_BASE);
    if (/^(jmp|call)$/.test(f.mnemonic) && rmTemplate >= 0) {
      const t = farTarget();
      if (rmIsReg) setReg(regs, f.size, rmReg, t);
      else window.set(le(t, 4), memOffset);
      desc.push(`target=${hex(t)}`);
    }

    // Registers the instruction uses implicitly point at the window.
    if (isString) {
      regs[ESI] = DATA_BASE + 0x80 + rng.below(32);
      regs[EDI] = DATA_BASE + 0x100 + rng.below(32);
      regs[ECX] = rng.below(8);
      used.add(ESI).add(EDI).add(ECX);
    }
    if (f.mnemonic === 'xlatb' || f.mnemonic === 'xlat') regs[EBX] = DATA_BASE + 0x40;
    if (f.mnemonic === 'leave' || f.mnemonic === 'enter') regs[EBP] = DATA_BASE + 0x180 + 4 * rng.below(8);
    if (f.mnemonic.startsWith('popf')) {
      // Never pop TF (a single-step trap), AC (alignment checks) or NT.
      const o = CASE_ESP - DATA_BASE;
      window[o + 1] = window[o + 1]! & ~0x41;
      window[o + 2] = window[o + 2]! & ~0x04;
    }

    // Encode ModRM / SIB / displacement.
    const modrmBytes: number[] = [];
    if (modrmForm) {
      if (rmTemplate < 0 || rmIsReg) {
        modrmBytes.push(0xc0 | (modrmReg << 3) | (rmTemplate < 0 ? modrmReg : rmReg));
      } else {
        const addr = DATA_BASE + memOffset;
        const free = [EBX, ESI, EDI, EBP, ECX, EDX].filter((r) => !used.has(r));
        const mode = free.length >= 2 ? rng.below(6) : 0;
        const espFree = !used.has(ESP) && regs[ESP] === CASE_ESP;
        if (mode === 4 && espFree) {
          // [esp+disp8]: SIB with ESP as base and no index.
          const disp = addr - CASE_ESP;
          modrmBytes.push(0x44 | (modrmReg << 3), 0x24, disp & 0xff);
          desc.push(`[esp${disp >= 0 ? '+' : ''}${disp}]`);
        } else if (mode === 5) {
          // [index*scale+disp32]: SIB with no base.
          const index = free[0]!;
          const scale = rng.below(4);
          const indexValue = rng.below(64);
          regs[index] = indexValue;
          const disp = (addr - indexValue * (1 << scale)) >>> 0;
          modrmBytes.push(0x04 | (modrmReg << 3), (scale << 6) | (index << 3) | 5, ...le(disp, 4));
          desc.push(`[${REG32[index]}*${1 << scale}+${hex(disp)}]`);
        } else if (mode <= 1 || mode === 4) {
          modrmBytes.push((modrmReg << 3) | 5, ...le(addr, 4));
          desc.push('abs');
        } else if (mode === 2) {
          const base = rng.pick(free);
          const disp = rng.below(256) - 128;
          regs[base] = (addr - disp) >>> 0;
          modrmBytes.push(0x40 | (modrmReg << 3) | base, disp & 0xff);
          desc.push(`[${REG32[base]}${disp >= 0 ? '+' : ''}${disp}]`);
        } else {
          const base = free[0]!;
          const index = free[1]!;
          const scale = rng.below(4);
          const indexValue = rng.below(64);
          const disp = rng.u32();
          regs[index] = indexValue;
          regs[base] = (addr - indexValue * (1 << scale) - disp) >>> 0;
          modrmBytes.push(0x80 | (modrmReg << 3) | 4, (scale << 6) | (index << 3) | base, ...le(disp, 4));
          desc.push(`[${REG32[base]}+${REG32[index]}*${1 << scale}+${hex(disp)}]`);
        }
      }
    }
    bytes.push(...opcode, ...dispAfterOpcode, ...modrmBytes, ...immBytes);
    const tail = f.operands.some((t) => t.startsWith('rel')) ? '\n    int3' : '';
    out.push({
      form: name,
      asm: `    db ${bytes.map((b) => hex(b & 0xff)).join(',')}${tail}`,
      regs,
      eflags,
      fcw: 0x37f,
      window,
      flagsMask: (ARITH_FLAGS | DF) & ~f.flagsUndefined,
      inputs: `${desc.join(' ')} flags=${hex(eflags)}`,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Supplementary forms: common instructions INSTRUCTION_TABLE does not (yet) list, generated the
// same way. Rows the table already has (same opcode, digit and size) are skipped.

function row(
  mnemonic: string,
  opcode: number[],
  operands: OperandTemplate[],
  size: 8 | 16 | 32 = 32,
  digit?: number,
  flagsUndefined = 0,
): InstructionForm {
  const f: InstructionForm = { mnemonic, opcode, operands, size, flagsDefined: 0, flagsUndefined, differential: true };
  if (digit !== undefined) f.digit = digit;
  return f;
}

const CONDITIONS = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];

export const SUPPLEMENTARY_FORMS: InstructionForm[] = [
  ...CONDITIONS.map((cc, i) => row(`j${cc}`, [0x70 + i], ['rel8'])),
  ...CONDITIONS.map((cc, i) => row(`j${cc}`, [0x0f, 0x80 + i], ['rel32'])),
  row('jmp', [0xeb], ['rel8']),
  row('jmp', [0xe9], ['rel32']),
  row('loop', [0xe2], ['rel8']),
  row('loope', [0xe1], ['rel8']),
  row('loopne', [0xe0], ['rel8']),
  row('jecxz', [0xe3], ['rel8']),
  row('call', [0xe8], ['rel32']),
  row('jmp', [0xff], ['r/m32'], 32, 4),
  row('call', [0xff], ['r/m32'], 32, 2),
  row('ret', [0xc3], []),
  row('ret', [0xc2], ['imm16']),
  row('push', [0x50], ['r32']),
  row('push', [0x50], ['r16'], 16),
  row('pop', [0x58], ['r32']),
  row('pop', [0x58], ['r16'], 16),
  row('push', [0x68], ['imm32']),
  row('push', [0x6a], ['simm8']),
  row('push', [0xff], ['r/m32'], 32, 6),
  row('pop', [0x8f], ['r/m32'], 32, 0),
  row('pushfd', [0x9c], []),
  row('popfd', [0x9d], []),
  row('pushad', [0x60], []),
  row('popad', [0x61], []),
  row('enter', [0xc8], ['imm16', 'imm8']),
  row('leave', [0xc9], []),
  row('movsb', [0xa4], [], 8),
  row('movsw', [0xa5], [], 16),
  row('movsd', [0xa5], []),
  row('stosb', [0xaa], [], 8),
  row('stosd', [0xab], []),
  row('lodsb', [0xac], [], 8),
  row('lodsw', [0xad], [], 16),
  row('cmpsb', [0xa6], [], 8),
  row('cmpsd', [0xa7], []),
  row('scasb', [0xae], [], 8),
  row('scasw', [0xaf], [], 16),
  row('xlatb', [0xd7], [], 8),
  row('mov', [0xa0], ['AL', 'moffs8'], 8),
  row('mov', [0xa1], ['EAX', 'moffs32']),
  row('mov', [0xa2], ['moffs8', 'AL'], 8),
  row('mov', [0xa3], ['moffs16', 'AX'], 16),
  row('mov', [0x8c], ['r/m16', 'sreg'], 16),
  row('mov', [0x8e], ['sreg', 'r/m16'], 16),
  row('xchg', [0x90], ['r32', 'EAX']),
  row('int', [0xcd], ['imm8']),
  row('into', [0xce], []),
  row('bound', [0x62], ['r32', 'm']),
];

/** The supplementary forms whose encoding the table does not already have. */
export function supplementaryForms(table: readonly InstructionForm[]): InstructionForm[] {
  const key = (f: InstructionForm): string => `${f.opcode.join(',')}/${f.digit ?? '-'}/${f.size}`;
  const have = new Set(table.map(key));
  return SUPPLEMENTARY_FORMS.filter((f) => !have.has(key(f)));
}

// ---------------------------------------------------------------------------------------------
// Directed cases.

export function baseCase(rng: Rng, form: string, asm: string, inputs: string): DiffCase {
  const regs = Array.from({ length: 8 }, () => rng.u32());
  regs[ESP] = CASE_ESP;
  return {
    form,
    asm,
    regs,
    eflags: rng.u32() & ARITH_FLAGS,
    fcw: 0x37f,
    window: rng.bytes(WINDOW),
    flagsMask: ARITH_FLAGS | DF,
    inputs,
  };
}

/** MOVS/STOS/LODS/CMPS/SCAS with no prefix, REP, REPE and REPNE, both directions, all sizes. */
export function stringCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const ops = ['movs', 'stos', 'lods', 'cmps', 'scas'];
  const prefixes = ['', 'rep ', 'repe ', 'repne '];
  for (const op of ops) {
    for (const sfx of ['b', 'w', 'd']) {
      for (const prefix of prefixes) {
        if ((op === 'movs' || op === 'stos' || op === 'lods') && prefix === 'repne ') continue;
        for (const down of [false, true]) {
          for (let k = 0; k < 6; k++) {
            const c = baseCase(rng, `${prefix}${op}${sfx}${down ? ' DF=1' : ''}`, `    ${prefix}${op}${sfx}`, '');
            const width = sfx === 'b' ? 1 : sfx === 'w' ? 2 : 4;
            const n = k === 0 ? 0 : k === 1 ? 1 : rng.below(20);
            c.regs[ECX] = n;
            const src = down ? 0x0f0 : 0x20;
            const dst = down ? 0x170 : 0x100;
            c.regs[ESI] = DATA_BASE + src + rng.below(4);
            c.regs[EDI] = DATA_BASE + dst + rng.below(4);
            // Make the compared areas equal for a random prefix, so REPE/REPNE stop mid-way.
            const same = rng.below(n * width + 2);
            for (let i = 0; i < same; i++) {
              const a = c.regs[ESI]! - DATA_BASE + (down ? -i : i);
              const b = c.regs[EDI]! - DATA_BASE + (down ? -i : i);
              c.window[b] = c.window[a]!;
            }
            if (op === 'scas' && rng.below(2)) {
              // Put EAX's pattern somewhere in the scanned area (REPNE stops there).
              const at = c.regs[EDI]! - DATA_BASE + (down ? -1 : 1) * width * rng.below(n + 1);
              for (let i = 0; i < width; i++) c.window[at + i] = (c.regs[EAX]! >>> (8 * i)) & 0xff;
            }
            if (rng.below(3) === 0) c.regs[EAX] = (c.window[c.regs[EDI]! - DATA_BASE]! * 0x01010101) >>> 0;
            c.eflags = (c.eflags & ~DF) | (down ? DF : 0);
            c.inputs = `ecx=${n} esi=${hex(c.regs[ESI]!)} edi=${hex(c.regs[EDI]!)} eax=${hex(c.regs[EAX]!)}`;
            out.push(c);
          }
        }
      }
    }
  }
  return out;
}

/** Divide errors (#DE) from zero divisors and quotient overflow, all sizes, DIV and IDIV. */
export function divideCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const rows: [string, number, number, number][] = [
    // instruction, EAX, EDX, divisor
    ['div cl', 0x1234, 0, 0],
    ['div cl', 0x1234, 0, 0x12],
    ['div cl', 0x1234, 0, 0x13],
    ['idiv cl', 0x8000, 0, 0xff],
    ['idiv cl', 0xff80, 0, 0xff],
    ['idiv cl', 0x7f00, 0, 0x80],
    ['div cx', 0x0, 0x1, 0x1],
    ['div cx', 0x0, 0x1, 0x2],
    ['idiv cx', 0x8000, 0xffff, 0xffff],
    ['idiv cx', 0x0, 0x0, 0x0],
    ['div ecx', 0, 0, 0],
    ['div ecx', 5, 1, 1],
    ['div ecx', 5, 1, 2],
    ['idiv ecx', 0x80000000, 0xffffffff, 0xffffffff],
    ['idiv ecx', 0x7fffffff, 0, 0xffffffff],
    ['idiv ecx', 0x80000000, 0xffffffff, 1],
    ['idiv ecx', 0, 0x40000000, 0x7fffffff],
    ['aam 0', 0x55, 0, 0],
  ];
  for (const [ins, eax, edx, divisor] of rows) {
    const c = baseCase(
      rng,
      `#DE ${ins.split(' ')[0]}`,
      `    ${ins}`,
      `${ins} eax=${hex(eax)} edx=${hex(edx)} divisor=${hex(divisor)}`,
    );
    c.regs[EAX] = eax >>> 0;
    c.regs[EDX] = edx >>> 0;
    c.regs[ECX] = divisor >>> 0;
    c.flagsMask = DF; // arithmetic flags are undefined after DIV/IDIV/AAM
    out.push(c);
  }
  return out;
}

/** Flag rules that single-instruction forms do not show: chains, PUSHFD images, CLC/STC/CMC. */
export function flagCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const snippets = [
    'stc\n    cmc\n    pushfd\n    pop eax',
    'clc\n    pushfd\n    pop eax',
    'std\n    pushfd\n    cld\n    pop eax',
    'add eax, ebx\n    pushfd\n    pop ecx',
    'sub eax, ebx\n    lahf',
    'inc eax\n    pushfd\n    pop ecx', // INC keeps CF
    'dec eax\n    pushfd\n    pop ecx',
    'neg eax\n    pushfd\n    pop ecx',
    'shl eax, 0\n    pushfd\n    pop ecx', // a zero count leaves every flag alone
    'mov ah, bl\n    sahf\n    pushfd\n    pop ecx',
    'cmp al, bl\n    setb cl\n    seto ch\n    setp dl\n    setle dh',
    'sub ecx, edx\n    sbb eax, eax',
    'test eax, ebx\n    pushfd\n    pop ecx',
  ];
  for (const s of snippets) {
    for (let k = 0; k < 20; k++) {
      const c = baseCase(rng, `flags: ${s.split('\n')[0]}`, `    ${s}`, '');
      if (k < 6) {
        c.regs[EAX] = rng.pick(INTERESTING);
        c.regs[EBX] = rng.pick(INTERESTING);
      }
      c.eflags = (c.eflags & ~CF) | (k & 1);
      c.inputs = `eax=${hex(c.regs[EAX]!)} ebx=${hex(c.regs[EBX]!)} ecx=${hex(c.regs[ECX]!)} edx=${hex(c.regs[EDX]!)} flags=${hex(c.eflags)}`;
      out.push(c);
    }
  }
  return out;
}

/**
 * Segment-register loads and descriptor queries at CPL 3, with selectors whose descriptors agree
 * between the Linux GDT (native) and the emulated one: null, the flat user code/data segments,
 * ring-0 segments, a TSS and selectors beyond the tables (not the TLS segment, whose base is
 * the process's own). GS is never loaded (the native process's TLS lives there).
 */
export function segmentCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const selectors = [0, 1, 3, 0x08, 0x10, 0x18, 0x20, 0x23, 0x28, 0x2b, 0x2f, 0x80, 0x84, 0x2c, 0x1234, 0xffff];
  const snippets: [string, string][] = [
    ['mov ds, r16 then load', 'mov ds, ax\n    mov ecx, [0x30000100]'],
    ['mov es, r16 then stosb', 'mov es, ax\n    mov edi, 0x30000100\n    stosb'],
    ['mov fs, r16 then read fs', 'mov fs, ax\n    mov ecx, fs'],
    ['mov ss, r16', 'mov ss, ax\n    mov ecx, esp'],
    ['mov ds, m16', 'mov [0x30000100], ax\n    mov ds, [0x30000100]'],
    // A 32-bit push of a segment register writes either 16 bits or the zero-extended selector,
    // depending on the processor model: the slot is cleared first so both read back the same.
    ['push/pop es', 'push eax\n    pop es\n    push dword 0\n    pop edx\n    push es\n    pop edx'],
    ['pop ds', 'push eax\n    pop ds'],
    ['pop ss', 'push eax\n    pop ss'],
    ['les r32, m16:32', 'mov dword [0x30000100], 0x30000040\n    mov [0x30000104], ax\n    les ebx, [0x30000100]'],
    ['lfs r32, m16:32', 'mov dword [0x30000100], 0x11223344\n    mov [0x30000104], ax\n    lfs ebx, [0x30000100]'],
    ['lds r16, m16:16', 'mov word [0x30000100], 0x5566\n    mov [0x30000102], ax\n    o16 lds bx, [0x30000100]'],
    ['lss r32, m16:32', 'mov dword [0x30000100], 0x30000180\n    mov [0x30000104], ax\n    lss esp, [0x30000100]'],
    ['lar', 'mov ecx, 0x12345678\n    lar ecx, ax\n    pushfd\n    pop edx'],
    ['lsl', 'mov ecx, 0x12345678\n    lsl ecx, ax\n    pushfd\n    pop edx'],
    ['verr/verw', 'verr ax\n    setz cl\n    verw ax\n    setz ch'],
    [
      'mov r32, sreg',
      'mov ecx, 0xffffffff\n    mov ecx, ds\n    mov edx, 0xffffffff\n    o16 mov dx, ss\n    mov ebx, cs',
    ],
    ['arpl', 'mov cx, 0x2b\n    arpl ax, cx\n    pushfd\n    pop edx'],
  ];
  const out: DiffCase[] = [];
  for (const [name, body] of snippets) {
    for (const sel of selectors) {
      const c = baseCase(rng, `segments: ${name}`, `    ${body}`, `selector=${hex(sel)}`);
      c.regs[EAX] = ((rng.u32() & 0xffff0000) | sel) >>> 0;
      out.push(c);
    }
  }
  return out;
}

/**
 * Control transfers within the flat user code segment (near and far, IRET to the same ring,
 * ENTER/LEAVE nesting) and address-size (0x67) forms with 16-bit addressing and CX counts.
 */
export function controlCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const snippets: [string, string][] = [
    // `push cs` writes 16 bits on some processor models: its slot is cleared first (see segmentCases).
    [
      'iretd to the same ring',
      'push dword 0\n    push dword 0\n    add esp, 8\n    pushfd\n    push cs\n    push dword .t\n    iretd\n    ud2\n.t: mov ecx, esp',
    ],
    [
      'iretd ignores IF/IOPL at CPL 3',
      'push dword 0\n    push dword 0\n    add esp, 8\n    push dword 0x3046\n    push cs\n    push dword .t\n    iretd\n    ud2\n.t: pushfd\n    pop ecx',
    ],
    ['popfd ignores IF/IOPL at CPL 3', 'push dword 0x3cd7\n    popfd\n    pushfd\n    pop ecx'],
    [
      'call far m16:32 / retf',
      'mov dword [0x30000100], .f\n    mov word [0x30000104], cs\n    call far [0x30000100]\n    jmp .end\n.f: mov ecx, [esp]\n    mov edx, [esp+4]\n    retf\n.end: nop',
    ],
    ['jmp far ptr16:32', 'jmp 0x23:.t\n    ud2\n.t: mov ecx, cs'],
    [
      'call far ptr16:32 / retf imm16',
      'push eax\n    push eax\n    call 0x23:.f\n    jmp .end\n.f: retf 8\n.end: mov ecx, esp',
    ],
    ['jmp far to a ring-0 selector', 'jmp 0x08:.t\n.t: nop'],
    ['call near r/m32 / ret imm16', 'mov eax, .f\n    push ebx\n    call eax\n    jmp .end\n.f: ret 4\n.end: nop'],
    ['enter with nesting levels', 'mov ebp, 0x30000180\n    enter 0x10, 3\n    mov ecx, ebp\n    leave'],
    ['enter level 0 / leave', 'enter 0x20, 0\n    mov dword [ebp-4], 0x55aa55aa\n    leave'],
    ['int 3 (CD 03)', 'int 3'],
    ['int 4 (#OF gate)', 'int 4'],
    ['int 5 (ring-0 gate: #GP)', 'int 5'],
    ['into without overflow', 'xor eax, eax\n    into\n    mov ecx, 1'],
    ['a16 lea', 'a16 lea eax, [bx+si+0x1234]\n    a16 lea ecx, [bp+di-2]\n    a16 lea edx, [0xfffe]'],
    ['a16 memory access (#PF at a low address)', 'mov ebx, 0x12345678\n    a16 mov eax, [bx+0x10]'],
    ['a16 rep stosb with CX=0 keeps ECX', 'mov ecx, 0xabcd0000\n    a16 rep stosb'],
    ['a16 loop uses CX', 'mov ecx, 0x12340002\n.l: a16 loop .l'],
    ['a16 jcxz', 'mov ecx, 0x55550000\n    a16 jcxz .t\n    ud2\n.t: nop'],
    ['o16 push/pop', 'o16 push word 0x1234\n    o16 pop cx\n    o16 push ax\n    pop edx'],
    ['xlatb', 'mov ebx, 0x30000040\n    xlatb'],
    [
      'bound in range',
      'mov dword [0x30000100], -5\n    mov dword [0x30000104], 10\n    mov eax, 3\n    bound eax, [0x30000100]',
    ],
    [
      'o16 bound',
      'mov word [0x30000100], 0xfffb\n    mov word [0x30000102], 10\n    mov ax, 0xfff0\n    o16 bound ax, [0x30000100]',
    ],
  ];
  const out: DiffCase[] = [];
  for (const [name, body] of snippets) {
    for (let k = 0; k < 4; k++) out.push(baseCase(rng, `control: ${name}`, `    ${body}`, ''));
  }
  return out;
}

/**
 * Self-modifying code in the (writable, executable) data window: code is rewritten between
 * calls, and an instruction rewrites the one right after it. A decoded-instruction cache must
 * notice both, as the processor does.
 */
export function selfModifyingCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const code = DATA_BASE + 0x100;
  const out: DiffCase[] = [];
  for (let k = 0; k < 4; k++) {
    const a = rng.u32(),
      b = rng.u32();
    // mov eax, imm32 ; ret — called, patched, called again.
    const c1 = baseCase(
      rng,
      'smc: patch a called routine',
      [
        `    mov byte [${hex(code)}], 0xb8`,
        `    mov dword [${hex(code + 1)}], ${hex(a)}`,
        `    mov byte [${hex(code + 5)}], 0xc3`,
        `    mov ebx, ${hex(code)}`,
        '    call ebx',
        '    mov ecx, eax',
        `    mov dword [${hex(code + 1)}], ${hex(b)}`,
        '    call ebx',
      ].join('\n'),
      `imm ${hex(a)} then ${hex(b)}`,
    );
    out.push(c1);
    // mov byte [next+1], v ; next: mov al, 1 ; ret — the store changes the very next instruction.
    const v = 2 + rng.below(200);
    const c2 = baseCase(
      rng,
      'smc: store into the next instruction',
      `    mov ebx, ${hex(code)}\n    call ebx`,
      `v=${v}`,
    );
    const next = code + 7;
    c2.window.set([0xc6, 0x05, ...le(next + 1, 4), v, 0xb0, 0x01, 0xc3], 0x100);
    out.push(c2);
    // A loop whose body is patched on its last iteration.
    const c3 = baseCase(
      rng,
      'smc: patch a loop body while it runs',
      `    mov ebx, ${hex(code)}\n    mov ecx, 5\n    xor eax, eax\n    call ebx`,
      '',
    );
    // l: add eax, 1 (83 c0 01) ; cmp ecx, 2 (83 f9 02) ; jne s (75 07) ; mov byte [l+2], 0x10 (c6 05 addr 10) ; s: loop l (e2 ..) ; ret
    const body = [0x83, 0xc0, 0x01, 0x83, 0xf9, 0x02, 0x75, 0x07, 0xc6, 0x05, ...le(code + 2, 4), 0x10];
    const loopAt = body.length;
    body.push(0xe2, (0 - (loopAt + 2)) & 0xff, 0xc3);
    c3.window.set(body, 0x100);
    out.push(c3);
  }
  return out;
}

/** Exceptions and traps observable from ring 3 that end a snippet early. */
export function trapCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const rows: [string, string][] = [
    ['#UD ud2', 'ud2'],
    ['#GP int 0x40', 'int 0x40'],
    ['#GP hlt', 'hlt'],
    ['#GP cli', 'cli'],
    ['#OF into', 'mov al, 0x7f\n    add al, 1\n    into'],
    [
      '#BR bound',
      'mov dword [0x30000100], 5\n    mov dword [0x30000104], 10\n    mov eax, 11\n    bound eax, [0x30000100]',
    ],
    ['#PF read guard page', 'mov eax, [0x30002000]'],
    ['#PF write guard page', 'mov [0x30002004], eax'],
    ['#PF write code page', 'mov [0x20000000], eax'],
    ['#PF straddling read', 'mov eax, [0x30001ffe]'],
    ['#PF straddling write leaves memory alone', 'mov dword [0x30001ffe], 0x12345678'],
    ['#PF straddling push', 'mov esp, 0x30000002\n    push dword 0x11223344'],
    ['#PF straddling movsd', 'mov esi, 0x30000100\n    mov edi, 0x30001ffd\n    movsd'],
    ['#PF rep movsb into guard page', 'mov esi, 0x30000000\n    mov edi, 0x30001ff8\n    mov ecx, 64\n    rep movsb'],
    ['#PF read below data', 'mov eax, [0x2ffffffc]'],
    ['#PF rep stosd runs into guard page', 'mov edi, 0x30001ff0\n    mov ecx, 100\n    rep stosd'],
  ];
  return rows.map(([name, asm]) => {
    const c = baseCase(rng, name, `    ${asm}`, asm.replace(/\n\s*/g, '; '));
    if (name.startsWith('#OF')) c.flagsMask = ARITH_FLAGS | DF;
    return c;
  });
}
