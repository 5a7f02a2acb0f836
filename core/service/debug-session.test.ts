// The Debugger tab's session: symbols from the kernel's System.map when the kernel carries no
// symbol table, and the view's watch list, memory viewer, conditions and moves in the past.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveGuestFile } from '../launcher/kernel-path';
import { launchGuest } from '../launcher/launch';
import { elfSymbols } from '../launcher/symbol-table';
import { readVirtual } from '../launcher/debug/guest-access';
import { DebugSession, machineSymbols } from './debug-session';

const hex = (n: number) => n.toString(16).padStart(8, '0');

describe('debug session symbols', () => {
  it('finds System.map symbols of a kernel stripped of its section headers', async () => {
    const elf = new Uint8Array(readFileSync(resolveGuestFile('builtin:demo')));
    const demo = elfSymbols(elf);
    const bench = demo.named('cmd_bench')!;
    const jiffies = demo.named('jiffies')!;
    // No section headers: no symbol table; the program headers still load it.
    const stripped = elf.slice();
    new DataView(stripped.buffer).setUint16(48, 0, true);
    expect(elfSymbols(stripped).size).toBe(0);
    const dir = mkdtempSync(join(tmpdir(), 'lguest-debug-map-'));
    try {
      writeFileSync(join(dir, 'kernel'), stripped);
      const config = { name: 'map', kernel: 'kernel', memoryMB: 32 };
      expect((await machineSymbols(config, dir)).size).toBe(0);
      writeFileSync(join(dir, 'System.map'), `${hex(bench.address)} T cmd_bench\n${hex(jiffies.address)} D jiffies\n`);
      const symbols = await machineSymbols(config, dir);
      const events = { consoleOutput: () => undefined };
      const guest = await launchGuest({ ...config, kernel: join(dir, 'kernel') }, events);
      const session = DebugSession.attach(guest, events, symbols);
      session.command({ op: 'break', target: 'cmd_bench' });
      session.command({ op: 'break', target: 'jiffies' });
      expect(session.view({ syntax: 'intel', watches: [], memory: null }).breakpoints).toEqual([
        { address: bench.address, label: 'cmd_bench', condition: null },
        { address: jiffies.address, label: 'jiffies', condition: null },
      ]);
      expect(() => session.command({ op: 'break', target: 'no_such_symbol' })).toThrow(/neither a register, a symbol/);
      session.detach();
      // The config may name the symbols: a System.map anywhere, or an ELF with a symbol table.
      writeFileSync(join(dir, 'other.map'), `${hex(bench.address)} T renamed_bench\n`);
      expect((await machineSymbols({ ...config, symbols: 'other.map' }, dir)).named('renamed_bench')?.address).toBe(
        bench.address,
      );
      const fromElf = await machineSymbols({ ...config, symbols: resolveGuestFile('builtin:demo') }, dir);
      expect(fromElf.named('jiffies')?.address).toBe(jiffies.address);
      await expect(machineSymbols({ ...config, symbols: 'absent.map' }, dir)).rejects.toThrow(
        /cannot read symbols file .*absent\.map/,
      );
      writeFileSync(join(dir, 'empty.map'), 'not a map\n');
      await expect(machineSymbols({ ...config, symbols: 'empty.map' }, dir)).rejects.toThrow(
        /symbols file empty\.map holds no symbols/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('shows the watch list and memory at a register, keeps conditions, and moves in the recorded past', async () => {
    const symbols = elfSymbols(new Uint8Array(readFileSync(resolveGuestFile('builtin:demo'))));
    const events = { consoleOutput: () => undefined };
    const guest = await launchGuest({ name: 'demo', kernel: 'builtin:demo', memoryMB: 32 }, events);
    const session = DebugSession.attach(guest, events, symbols);
    session.command({ op: 'break', target: 'console_write', condition: ' esp != 0 ' });
    session.command({ op: 'continue' });
    while (session.run().state !== 'stopped');
    const look = { syntax: 'intel' as const, watches: ['ESP', 'jiffies', 'nope'], memory: 'esp' };
    const v = session.view(look);
    const esp = v.registers.find((r) => r.name === 'esp')!.value;
    const jiffies = readVirtual(session.dbg.lguest, symbols.named('jiffies')!.address, 4)!;
    expect(v.breakpoints).toEqual([
      { address: symbols.named('console_write')!.address, label: 'console_write', condition: 'esp != 0' },
    ]);
    expect(v.watches).toEqual([
      { expression: 'ESP', value: esp, error: null },
      { expression: 'jiffies', value: new DataView(jiffies.buffer).getUint32(0, true), error: null },
      { expression: 'nope', value: null, error: expect.stringMatching(/"nope" is neither/) },
    ]);
    const stack = readVirtual(session.dbg.lguest, esp, 64)!;
    expect(v.memory).toEqual({
      expression: 'esp',
      address: esp,
      bytes: [...stack].map((b) => b.toString(16).padStart(2, '0')),
      error: null,
    });
    // The memory viewer follows ESP: a step (a PUSH) moves it.
    session.command({ op: 'step' });
    expect(session.view(look).memory!.address).toBe(esp - 4);
    // Back and forth in the recorded past.
    const at = v.instructionCount;
    session.command({ op: 'seek', count: at - 1000 });
    expect(session.view(look).instructionCount).toBe(at - 1000);
    session.command({ op: 'seek', count: at });
    expect(session.view(look).memory).toEqual(v.memory);
    session.command({ op: 'step-back-over' });
    expect(session.view(look).instructionCount).toBe(at - 1);
    session.detach();
  }, 60_000);
});
