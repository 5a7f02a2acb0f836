// What the Debugger tab's text fields name: a register (gdb's names: eax..edi, eip, eflags and the
// segment registers), a symbol of the machine, or a hex address ("0xc0100000" or "c0100000").

import type { I386 } from '../../cpu/cpu';
import type { SymbolTable } from '../symbol-table';
import { GDB_REG_NAMES, readGdbRegister } from './guest-access';

export type Named = { kind: 'register'; name: string; value: number } | { kind: 'address'; address: number };

/** Reads `text`; throws a RangeError naming it when it is none of the three. */
export function resolveName(text: string, cpu: I386, symbols: SymbolTable): Named {
  const t = text.trim();
  const reg = GDB_REG_NAMES.indexOf(t.toLowerCase());
  if (reg >= 0) return { kind: 'register', name: GDB_REG_NAMES[reg]!, value: readGdbRegister(cpu, reg) };
  const sym = symbols.named(t);
  if (sym) return { kind: 'address', address: sym.address };
  if (/^(0x)?[0-9a-f]{1,8}$/i.test(t)) return { kind: 'address', address: parseInt(t, 16) >>> 0 };
  throw new RangeError(`"${text}" is neither a register, a symbol of this machine nor a hex address`);
}

/** The address `text` stands for: a register's value, a symbol's address, or the address itself. */
export function addressOf(text: string, cpu: I386, symbols: SymbolTable): number {
  const n = resolveName(text, cpu, symbols);
  return n.kind === 'register' ? n.value : n.address;
}
