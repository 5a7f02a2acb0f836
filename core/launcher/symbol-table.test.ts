// Kernel symbols for the profiler: the demo kernel's ELF .symtab, a System.map, and lookups at
// the edges of sized and unsized symbols.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { resolveGuestFile } from './kernel-path';
import { elfSymbols, kernelSymbols, SymbolTable, systemMapSymbols } from './symbol-table';

describe('SymbolTable', () => {
  it('finds the symbol holding an address: sized ones end at their size, unsized at the next', () => {
    const t = new SymbolTable([
      { address: 0x1000, size: 0x10, name: 'sized' },
      { address: 0x1100, size: 0, name: 'unsized' },
      { address: 0x1200, size: 4, name: 'last' },
    ]);
    expect(t.lookup(0xfff)).toBeNull();
    expect(t.lookup(0x1000)?.name).toBe('sized');
    expect(t.lookup(0x100f)?.name).toBe('sized');
    expect(t.lookup(0x1010)).toBeNull();
    expect(t.lookup(0x1100)?.name).toBe('unsized');
    expect(t.lookup(0x11ff)?.name).toBe('unsized');
    expect(t.lookup(0x1203)?.name).toBe('last');
    expect(t.lookup(0x1204)).toBeNull();
  });

  it('reads the demo kernel: functions with their sizes, nothing for a file without a symtab', async () => {
    const bytes = new Uint8Array(readFileSync(resolveGuestFile('builtin:demo')));
    const t = elfSymbols(bytes);
    expect(t.size).toBeGreaterThan(100);
    const bench = t.named('cmd_bench')!;
    expect(bench.size).toBeGreaterThan(0);
    expect(t.lookup(bench.address)?.name).toBe('cmd_bench');
    expect(t.lookup(bench.address + bench.size - 1)?.name).toBe('cmd_bench');
    const divdi3 = t.named('__divdi3')!;
    expect((await kernelSymbols('builtin:demo'))?.lookup(divdi3.address + 0x20)?.name).toBe('__divdi3');
    expect(t.named('no_such_symbol')).toBeNull();
    expect(elfSymbols(new Uint8Array(64)).size).toBe(0);
    expect(await kernelSymbols('/no/such/kernel')).toBeNull();
  });

  it('reads the text symbols of a System.map and ignores data and junk lines', () => {
    const t = systemMapSymbols(
      ['c0100000 T _text', 'c0100100 t startup_32', 'c0300000 D some_data', 'garbage', 'c0100200 W weak_fn', ''].join(
        '\n',
      ),
    );
    expect(t.size).toBe(3);
    expect(t.lookup(0xc0100150)?.name).toBe('startup_32');
    expect(t.lookup(0xc0100204)?.name).toBe('weak_fn');
  });
});
