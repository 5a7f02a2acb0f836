// Kernel symbols for the profiler and the debugger: the demo kernel's ELF .symtab, a System.map,
// lookups at the edges of sized and unsized symbols, by name and as "name+0xoff".

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveGuestFile } from './kernel-path';
import { elfSymbols, kernelSymbols, SymbolTable, systemMapSymbols } from './symbol-table';

describe('SymbolTable', () => {
  it('finds the symbol holding an address: sized ones end at their size, unsized at the next', () => {
    const t = new SymbolTable([
      { address: 0x1000, size: 0x10, name: 'sized', kind: 'function' },
      { address: 0x1100, size: 0, name: 'unsized', kind: 'untyped' },
      { address: 0x1200, size: 4, name: 'last', kind: 'function' },
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

  it('falls back to a System.map beside a kernel without a symbol table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'lguest-symbols-'));
    try {
      writeFileSync(join(dir, 'bzImage'), new Uint8Array(4096));
      expect(await kernelSymbols('bzImage', dir)).toBeNull();
      writeFileSync(join(dir, 'System.map'), 'c0100000 T _text\nc0401234 D jiffies\n');
      const t = await kernelSymbols('bzImage', dir);
      expect(t?.named('jiffies')?.address).toBe(0xc0401234);
      expect(t?.lookup(0xc0100010)?.name).toBe('_text');
      expect((await kernelSymbols('builtin:demo'))?.named('jiffies')?.kind).toBe('object');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attributes addresses to code only; objects are found by name, by containing and described', () => {
    const t = new SymbolTable([
      { address: 0x1000, size: 0x20, name: 'fn', kind: 'function' },
      { address: 0x2000, size: 8, name: 'counter', kind: 'object' },
    ]);
    expect(t.lookup(0x2004)).toBeNull();
    expect(t.containing(0x2004)?.name).toBe('counter');
    expect(t.named('counter')?.address).toBe(0x2000);
    expect(t.describe(0x1000)).toBe('fn');
    expect(t.describe(0x1012)).toBe('fn+0x12');
    expect(t.describe(0x2004)).toBe('counter+0x4');
    expect(t.describe(0x1020)).toBeNull();
  });

  it('reads functions and objects of the demo kernel: the debugger finds jiffies, the profiler skips it', () => {
    const t = elfSymbols(new Uint8Array(readFileSync(resolveGuestFile('builtin:demo'))));
    const jiffies = t.named('jiffies')!;
    expect(jiffies.kind).toBe('object');
    expect(t.containing(jiffies.address)?.name).toBe('jiffies');
    expect(t.lookup(jiffies.address)?.name).not.toBe('jiffies');
    expect(t.named('cmd_bench')?.kind).toBe('function');
    expect(t.describe(t.named('cmd_bench')!.address + 3)).toBe('cmd_bench+0x3');
  });

  it('reads a System.map: T/t functions, D/B/R objects, other letters untyped, junk ignored', () => {
    const t = systemMapSymbols(
      ['c0100000 T _text', 'c0100100 t startup_32', 'c0300000 D some_data', 'garbage', 'c0100200 W weak_fn', ''].join(
        '\n',
      ),
    );
    expect(t.size).toBe(4);
    expect(t.lookup(0xc0100150)?.name).toBe('startup_32');
    expect(t.lookup(0xc0100204)?.name).toBe('weak_fn');
    expect(t.named('weak_fn')?.kind).toBe('untyped');
    expect(t.named('some_data')?.kind).toBe('object');
    expect(t.lookup(0xc0300000)).toBeNull();
    expect(t.describe(0xc0300004)).toBe('some_data+0x4');
  });
});
