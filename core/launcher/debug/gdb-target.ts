// The register file gdb is told about (target.xml): gdb's "org.gnu.gdb.i386.core" feature, the
// 16 integer registers then the x87 stack and its control registers, and their values in the
// order of the 'g' packet.

import type { I386 } from '../../cpu/cpu';
import { GDB_REG_COUNT, GDB_REG_NAMES, readGdbRegister } from './guest-access';
import { le32Hex, toHex } from './gdb-packets';

const INT_TYPES: Record<string, string> = {
  esp: 'data_ptr',
  ebp: 'data_ptr',
  eip: 'code_ptr',
  eflags: 'i386_eflags',
};
const X87_CONTROL = ['fctrl', 'fstat', 'ftag', 'fiseg', 'fioff', 'foseg', 'fooff', 'fop'];
/** Registers in the 'g' packet: 16 integer, 8 x87 stack (10 bytes each), 8 x87 control. */
export const TARGET_REGS = GDB_REG_COUNT + 16;

export const TARGET_XML = `<?xml version="1.0"?>
<!DOCTYPE target SYSTEM "gdb-target.dtd">
<target version="1.0">
<architecture>i386</architecture>
<feature name="org.gnu.gdb.i386.core">
<flags id="i386_eflags" size="4">
<field name="CF" start="0" end="0"/><field name="" start="1" end="1"/><field name="PF" start="2" end="2"/>
<field name="AF" start="4" end="4"/><field name="ZF" start="6" end="6"/><field name="SF" start="7" end="7"/>
<field name="TF" start="8" end="8"/><field name="IF" start="9" end="9"/><field name="DF" start="10" end="10"/>
<field name="OF" start="11" end="11"/><field name="NT" start="14" end="14"/><field name="RF" start="16" end="16"/>
<field name="VM" start="17" end="17"/><field name="AC" start="18" end="18"/><field name="VIF" start="19" end="19"/>
<field name="VIP" start="20" end="20"/><field name="ID" start="21" end="21"/>
</flags>
${GDB_REG_NAMES.map((n, i) => `<reg name="${n}" bitsize="32" type="${INT_TYPES[n] ?? 'int32'}" regnum="${i}"/>`).join('\n')}
${Array.from({ length: 8 }, (_, i) => `<reg name="st${i}" bitsize="80" type="i387_ext"/>`).join('\n')}
${X87_CONTROL.map((n) => `<reg name="${n}" bitsize="32" type="int" group="float"/>`).join('\n')}
</feature>
</target>
`;

/** Register `n` as target-order hex (x87 stack registers in their 80-bit form). */
export function registerHex(cpu: I386, n: number): string | null {
  if (n < GDB_REG_COUNT) return le32Hex(readGdbRegister(cpu, n));
  const x = cpu.x87;
  const top = (x.status >>> 11) & 7;
  if (n < GDB_REG_COUNT + 8) {
    // Physical register p is three words: significand low, significand high, sign and exponent.
    const at = ((top + n - GDB_REG_COUNT) & 7) * 3;
    const b = new Uint8Array(10);
    const v = new DataView(b.buffer);
    v.setUint32(0, x.regs[at]!, true);
    v.setUint32(4, x.regs[at + 1]!, true);
    v.setUint16(8, x.regs[at + 2]! & 0xffff, true);
    return toHex(b);
  }
  const control = [x.control, x.status, x.tag, x.fcs, x.fip, x.fds, x.fdp, x.fop][n - GDB_REG_COUNT - 8];
  return control === undefined ? null : le32Hex(control);
}
