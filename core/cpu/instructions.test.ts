// The instruction table drives the decoder test: every row must decode, with the immediate
// sizes its operands promise, to an implemented handler, and must execute without #UD.

import { describe, expect, test } from 'vitest';
import { decodeBytes } from './decode';
import { INSTRUCTION_TABLE, type InstructionForm } from './instructions';
import { OPS, undefinedOpcode } from './optable';
import { CODE, DATA, exitOf, makeMachine } from './test-machine';

const IMM_BYTES: Record<string, number> = { imm8: 1, simm8: 1, imm16: 2, imm32: 4 };

/** Encodes a row: register form of r/m (rm = ECX), memory form ([EBX]) when the row needs memory. */
function encode(row: InstructionForm, memory: boolean): number[] {
  const out: number[] = [];
  if (row.size === 16) out.push(0x66);
  const opcode = row.opcode[0] === 0x0f ? 0x100 | row.opcode[1]! : row.opcode[0]!;
  const spec = OPS[opcode];
  if (!spec) throw new Error(`${row.mnemonic}: opcode not in the map`);
  out.push(...row.opcode.slice(0, spec.modrm || row.opcode[0] === 0x0f ? (row.opcode[0] === 0x0f ? 2 : 1) : 1));
  if (spec.modrm) {
    const reg = row.digit ?? 2; // EDX/DL as the register operand
    out.push(memory ? (reg << 3) | 3 : 0xc0 | (reg << 3) | 1);
  } else if (row.opcode.length > (row.opcode[0] === 0x0f ? 2 : 1)) {
    out.push(...row.opcode.slice(row.opcode[0] === 0x0f ? 2 : 1));
  }
  for (const op of row.operands) for (let k = 0; k < (IMM_BYTES[op] ?? 0); k++) out.push(k === 0 ? 3 : 0);
  return out;
}

const needsMemory = (row: InstructionForm): boolean => row.operands.some((o) => o === 'm' || o === 'm64');

describe('instruction table', () => {
  test('has the expected families', () => {
    const names = new Set(INSTRUCTION_TABLE.map((r) => r.mnemonic));
    for (const n of [
      'add',
      'adc',
      'sbb',
      'rcl',
      'shld',
      'shrd',
      'bsf',
      'bswap',
      'cmpxchg8b',
      'cmovge',
      'setnz'.replace('nz', 'ne'),
      'daa',
      'aad',
      'sahf',
      'cmc',
      'xadd',
      'movsx',
      'imul',
      'idiv',
    ]) {
      expect(names.has(n), n).toBe(true);
    }
    expect(INSTRUCTION_TABLE.length).toBeGreaterThan(300);
  });

  test('flag masks: MUL defines only OF/CF; BSF defines only ZF; logic ops leave AF undefined', () => {
    const mul = INSTRUCTION_TABLE.find((r) => r.mnemonic === 'mul')!;
    expect(mul.flagsDefined).toBe(0x801);
    expect(mul.flagsUndefined).toBe(0xd4);
    const bsf = INSTRUCTION_TABLE.find((r) => r.mnemonic === 'bsf')!;
    expect(bsf.flagsDefined).toBe(0x40);
    const and = INSTRUCTION_TABLE.find((r) => r.mnemonic === 'and')!;
    expect(and.flagsUndefined).toBe(0x10);
    for (const r of INSTRUCTION_TABLE) expect(r.flagsDefined & r.flagsUndefined, r.mnemonic).toBe(0);
  });

  for (const row of INSTRUCTION_TABLE) {
    const forms = needsMemory(row) ? [true] : row.operands.some((o) => o.startsWith('r/m')) ? [false, true] : [false];
    for (const memory of forms) {
      const bytes = encode(row, memory);
      const label = `${row.mnemonic} ${row.operands.join(',')} (${row.size}) ${bytes.map((b) => b.toString(16).padStart(2, '0')).join(' ')}`;
      test(`decodes and executes: ${label}`, () => {
        const ins = decodeBytes((k) => bytes[k] ?? 0x90, true);
        expect(ins.fn).not.toBe(undefinedOpcode);
        expect(ins.len).toBe(bytes.length);
        const m = makeMachine({ cpl: 3 });
        m.load(CODE, [...bytes, 0xcc]);
        m.cpu.setReg(0, 100);
        m.cpu.setReg(1, 3);
        m.cpu.setReg(2, 0);
        m.cpu.setReg(3, DATA);
        m.mem.ramView.setUint32(DATA, 7, true);
        const e = exitOf(m.cpu.run(10));
        // Falls through to the INT3, which CPL 3 may not use: #GP(0x1a) right after the row.
        expect(e).toMatchObject({ vector: 13, errorCode: 0x1a });
        expect(m.cpu.eip).toBe(CODE + bytes.length);
      });
    }
  }
});
