// The Debugger tab's symbols come from the kernel's System.map when the kernel carries no symbol
// table: breakpoints by name and the labels of the view use them.

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveGuestFile } from '../launcher/kernel-path';
import { launchGuest } from '../launcher/launch';
import { elfSymbols } from '../launcher/symbol-table';
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
      expect(session.view('intel').breakpoints).toEqual([
        { address: bench.address, label: 'cmd_bench' },
        { address: jiffies.address, label: 'jiffies' },
      ]);
      expect(() => session.command({ op: 'break', target: 'no_such_symbol' })).toThrow(/neither a symbol/);
      session.detach();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
