// Breakpoint conditions: comparisons of registers and numbers joined by && and ||, evaluated at
// the breakpoint's instruction boundary ("eax == 4 && ecx > 0x10"; unsigned 32-bit compares).

import type { I386 } from '../../cpu/cpu';
import { GDB_REG_NAMES, readGdbRegister } from './guest-access';

export type Condition = (cpu: I386) => boolean;

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '==': (a, b) => a === b,
  '!=': (a, b) => a !== b,
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
};

type Operand = (cpu: I386) => number;

function operand(text: string, whole: string): Operand {
  const t = text.trim().toLowerCase();
  const reg = GDB_REG_NAMES.indexOf(t);
  if (reg >= 0) return (cpu) => readGdbRegister(cpu, reg);
  if (/^(0x[0-9a-f]+|\d+)$/.test(t)) {
    const n = Number(t) >>> 0;
    return () => n;
  }
  throw new SyntaxError(`condition "${whole}": "${text.trim()}" is neither a register nor a number`);
}

/** Parses a condition; throws SyntaxError naming the part it cannot read. */
export function parseCondition(text: string): Condition {
  const ors = text.split('||').map((part) =>
    part.split('&&').map((cmp) => {
      const m = /^(.*?)(==|!=|<=|>=|<|>)(.*)$/.exec(cmp);
      if (!m) throw new SyntaxError(`condition "${text}": "${cmp.trim()}" is not a comparison (==, !=, <, <=, >, >=)`);
      const a = operand(m[1]!, text);
      const b = operand(m[3]!, text);
      const op = COMPARE[m[2]!]!;
      return (cpu: I386) => op(a(cpu), b(cpu));
    }),
  );
  return (cpu) => ors.some((ands) => ands.every((c) => c(cpu)));
}
