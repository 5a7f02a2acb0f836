// The memory operands read and access watchpoints look at: ModRM, stack (PUSH/POP/CALL/RET/...)
// and string (MOVS/STOS/CMPS/SCAS/LODS, REP forms) operands, each checked against the address
// computation by hand and, for the bytes an instruction writes, against what running it changes.

import { describe, expect, test } from 'vitest';
import { CODE, DATA, PD, PT, STACK1, asm, makeMachine } from '../../cpu/test-machine';
import { memoryOperands, type MemoryOperand } from './memory-operands';

const EBX = DATA,
  ESI = DATA + 0x100,
  EDI = DATA + 0x200,
  EBP = STACK1 + 0x40;

/** The operands of `source` (one instruction) with fixed registers, and the bytes running it changed. */
function operandsOf(
  source: string,
  setup: { ecx?: number; eax?: number; df?: boolean; data?: [number, number[]][] } = {},
): { ops: MemoryOperand[]; written: number[] } {
  const m = makeMachine();
  m.load(CODE, asm(`${source}\nint 0x1f`));
  const regs: [number, number][] = [
    [0, setup.eax ?? 0x11223344],
    [1, setup.ecx ?? 0],
    [3, EBX],
    [5, EBP],
    [6, ESI],
    [7, EDI],
  ];
  for (const [r, v] of regs) m.cpu.setReg(r as 0, v);
  m.mem.ram.fill(0x5a, DATA, DATA + 0x1000);
  for (const [at, bytes] of setup.data ?? []) m.load(at, bytes);
  if (setup.df) m.cpu.eflags = m.cpu.eflags | 0x400;
  const ops = memoryOperands(m.cpu, (lin, len) => m.mem.ram.slice(lin, lin + len));
  const before = m.mem.ram.slice();
  m.cpu.run(1);
  const written: number[] = [];
  // (The page tables change too: the MMU sets accessed and dirty bits.)
  for (let a = 0; a < before.length; a++) if (before[a] !== m.mem.ram[a] && (a < PD || a >= PT + 4096)) written.push(a);
  return { ops, written };
}

/** Every byte the instruction changed lies in one of its write operands. */
function writesCovered({ ops, written }: { ops: MemoryOperand[]; written: number[] }): void {
  expect(written.length).toBeGreaterThan(0);
  for (const a of written) expect(ops.some((o) => !o.reads && a >= o.lin && a < o.lin + o.len)).toBe(true);
}

const op = (lin: number, len: number, reads: boolean): MemoryOperand => ({ lin, len, reads });

describe('memory operands of an instruction', () => {
  test('PUSH register, immediate and memory; PUSHA; 16-bit PUSH', () => {
    const push = operandsOf('push eax');
    expect(push.ops).toEqual([op(STACK1 - 4, 4, false)]);
    writesCovered(push);
    expect(operandsOf('push 7').ops).toEqual([op(STACK1 - 4, 4, false)]);
    const pushMem = operandsOf('push dword [ebx + 8]');
    expect(pushMem.ops).toEqual([op(EBX + 8, 4, true), op(STACK1 - 4, 4, false)]);
    writesCovered(pushMem);
    const pusha = operandsOf('pushad');
    expect(pusha.ops).toEqual([op(STACK1 - 32, 32, false)]);
    writesCovered(pusha);
    expect(operandsOf('push ax').ops).toEqual([op(STACK1 - 2, 2, false)]);
  });

  test('POP register and memory; POPA; LEAVE', () => {
    expect(operandsOf('pop ecx').ops).toEqual([op(STACK1, 4, true)]);
    const popMem = operandsOf('pop dword [ebx]');
    expect(popMem.ops).toEqual([op(EBX, 4, false), op(STACK1, 4, true)]);
    writesCovered(popMem);
    expect(operandsOf('popad').ops).toEqual([op(STACK1, 32, true)]);
    expect(operandsOf('leave').ops).toEqual([op(EBP, 4, true)]);
  });

  test('CALL direct and through memory; RET and RET n', () => {
    const call = operandsOf('call next\nnext:');
    expect(call.ops).toEqual([op(STACK1 - 4, 4, false)]);
    writesCovered(call);
    const callMem = operandsOf('call [ebx]', { data: [[EBX, [0x00, 0x00, 0x01, 0x00]]] });
    expect(callMem.ops).toEqual([op(EBX, 4, true), op(STACK1 - 4, 4, false)]);
    writesCovered(callMem);
    expect(operandsOf('ret').ops).toEqual([op(STACK1, 4, true)]);
    expect(operandsOf('ret 8').ops).toEqual([op(STACK1, 4, true)]);
  });

  test('MOVS, STOS, LODS single and REP, both directions', () => {
    const movs = operandsOf('movsd', { data: [[ESI, [1, 2, 3, 4]]] });
    expect(movs.ops).toEqual([op(ESI, 4, true), op(EDI, 4, false)]);
    writesCovered(movs);
    const rep = operandsOf('rep movsb', { ecx: 10, data: [[ESI, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]] });
    expect(rep.ops).toEqual([op(ESI, 10, true), op(EDI, 10, false)]);
    writesCovered(rep);
    const down = operandsOf('rep movsb', { ecx: 10, df: true, data: [[ESI - 9, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]]] });
    expect(down.ops).toEqual([op(ESI - 9, 10, true), op(EDI - 9, 10, false)]);
    writesCovered(down);
    const stos = operandsOf('rep stosd', { ecx: 3 });
    expect(stos.ops).toEqual([op(EDI, 12, false)]);
    writesCovered(stos);
    expect(operandsOf('lodsw').ops).toEqual([op(ESI, 2, true)]);
    expect(operandsOf('rep movsd', { ecx: 0 }).ops).toEqual([]);
  });

  test('REPE CMPS and REPNE SCAS as far as their comparisons go', () => {
    const same = [1, 2, 3, 9, 5, 6, 7, 8, 9, 10];
    const other = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const cmps = operandsOf('repe cmpsb', {
      ecx: 10,
      data: [
        [ESI, same],
        [EDI, other],
      ],
    });
    // Equal for three elements, the fourth differs: four compared.
    expect(cmps.ops).toEqual([op(ESI, 4, true), op(EDI, 4, true)]);
    const scas = operandsOf('repne scasb', { ecx: 100, eax: 0, data: [[EDI, [0x61, 0x62, 0x63, 0]]] });
    expect(scas.ops).toEqual([op(EDI, 4, true)]);
    // Without a prefix: one element.
    expect(operandsOf('scasd', { ecx: 100 }).ops).toEqual([op(EDI, 4, true)]);
  });

  test('plain ModRM operands: loads read, stores only write, LEA touches nothing', () => {
    expect(operandsOf('mov eax, [ebx + 4]').ops).toEqual([op(EBX + 4, 4, true)]);
    expect(operandsOf('mov [ebx + 4], al').ops).toEqual([op(EBX + 4, 1, false)]);
    expect(operandsOf('add [ebx], eax').ops).toEqual([op(EBX, 4, true)]);
    expect(operandsOf('lea eax, [ebx + 4]').ops).toEqual([]);
    expect(operandsOf('mov eax, [0x20010]').ops).toEqual([op(0x20010, 4, true)]);
  });
});
