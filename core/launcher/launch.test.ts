// Launch and run-loop tests against ScriptedHost/ScriptedLguestFile (TEST DOUBLES of the host that
// implement the real LguestFile interface).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchGuest, launchGuestOn } from './launch';
import { LoadError } from './load-error';
import type { MachineConfig } from './machine-config';
import { kernelBody, makeElf } from './test-images';
import { ScriptedHost } from './test-lguest-file';

const PO = 0xc0000000;
const MIB = 1024 * 1024;
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-launch-'));
  writeFileSync(
    join(dir, 'vmlinux'),
    makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: kernelBody(), memsz: 0x3000 }] }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const cfg = (c: Partial<MachineConfig> = {}): MachineConfig => ({ name: 't', kernel: 'vmlinux', memoryMB: 8, ...c });
const noEvents = { consoleOutput: () => {} };

describe('launchGuest', () => {
  it('lays out memory and sends INITIALIZE(pfn_limit, pgdir, start, page_offset)', async () => {
    writeFileSync(join(dir, 'initrd'), new Uint8Array(5000).fill(0x5a));
    const host = new ScriptedHost();
    const g = await launchGuestOn(host, cfg({ initrd: 'initrd', cmdline: 'root=/dev/lgba' }), noEvents, {
      baseDir: dir,
    });
    const a = host.files[0]!.args!;
    expect(a.pfnLimit).toBe(8 * 256 + 1); // RAM, descriptor page, no device pages; console has none
    expect(a.memory.ram.length).toBe(a.pfnLimit * 4096);
    expect(a.pageOffset).toBe(PO);
    expect(a.start).toBe(PO + 0x100000 + 64 + 13);
    expect(a.pgdir).toBe(8 * MIB - 8192 - 4096);
    expect(a.sharedPages).toEqual([]);
    const ram = a.memory.ram;
    const view = a.memory.ramView;
    expect(new TextDecoder().decode(ram.subarray(0x100040, 0x10004d))).toBe('GenuineLguest');
    expect(ram[8 * MIB - 8192]).toBe(0x5a);
    expect(ram[8 * MIB - 8192 + 4999]).toBe(0x5a);
    expect(ram[8 * MIB - 8192 + 5000]).toBe(0);
    expect(view.getUint32(0x218, true)).toBe(8 * MIB - 8192);
    expect(view.getUint32(0x21c, true)).toBe(8192);
    expect(new TextDecoder().decode(ram.subarray(0x1000, 0x100f))).toBe('root=/dev/lgba\0');
    expect(view.getUint32(a.pgdir + 4 * 768, true)).toBe(((a.pgdir - 2 * 4096) | 7) >>> 0);
    expect(view.getUint16(8 * MIB, true)).toBe(1); // the console descriptor
    expect(g.config.name).toBe('t');
  });

  it('refuses a bad image before opening the host', async () => {
    writeFileSync(join(dir, 'bad'), new Uint8Array(1000));
    const host = new ScriptedHost();
    await expect(launchGuestOn(host, cfg({ kernel: 'bad' }), noEvents, { baseDir: dir })).rejects.toThrow(LoadError);
    await expect(launchGuestOn(host, cfg({ kernel: 'missing' }), noEvents, { baseDir: dir })).rejects.toThrow(
      /cannot read kernel .*missing/,
    );
    expect(host.files).toEqual([]);
  });

  it('closes the file and devices when INITIALIZE fails, and frees network slots', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) => (f.initializeResult = -28);
    await expect(launchGuestOn(host, cfg({ networks: ['lan'] }), noEvents, { baseDir: dir })).rejects.toThrow(
      'host full: all 16 guest slots of this lguest host are in use (LHREQ_INITIALIZE: ENOSPC)',
    );
    expect(host.files[0]!.closed).toBe(true);
    host.prepare = undefined;
    await launchGuestOn(host, cfg({ networks: ['lan'] }), noEvents, { baseDir: dir });
    expect(host.files[1]!.args!.memory.ramView.getUint16(8 * MIB + 2, true)).toBe(0x4000); // slot 0 again
  });

  it('is also available asynchronously with a given host (what the service calls)', async () => {
    const host = new ScriptedHost();
    const g = await launchGuest(cfg(), noEvents, { host, baseDir: dir });
    expect(host.files).toHaveLength(1);
    g.close();
    expect(host.files[0]!.closed).toBe(true);
  });
});

describe('step', () => {
  it('reports slices, idle wake-ups and death, and stays dead', async () => {
    const host = new ScriptedHost();
    const g = await launchGuestOn(host, cfg(), noEvents, { baseDir: dir });
    const f = host.files[0]!;
    f.script.push(
      { kind: 'slice' },
      { kind: 'idle', wakeAtNs: 123 },
      { kind: 'break' },
      { kind: 'dead', reason: 'CRASH: Power down' },
    );
    expect(g.step(500)).toEqual({ kind: 'running' });
    expect(g.step(500)).toEqual({ kind: 'idle', wakeAtNs: 123 });
    expect(g.step(500)).toEqual({ kind: 'running' });
    expect(g.step(500)).toEqual({ kind: 'dead', reason: 'CRASH: Power down' });
    expect(g.step(500)).toEqual({ kind: 'dead', reason: 'CRASH: Power down' });
    expect(f.runBudgets).toEqual([500, 500, 500, 500]);
  });

  it('turns a run() error into a dead guest with the errno named', async () => {
    const host = new ScriptedHost();
    const g = await launchGuestOn(host, cfg(), noEvents, { baseDir: dir });
    host.files[0]!.run = () => -14;
    expect(g.step(10)).toEqual({ kind: 'dead', reason: 'Running guest failed: EFAULT' });
  });

  it('charges DMA round trips to the budget when the host counts instructions', async () => {
    const host = new ScriptedHost();
    const g = await launchGuestOn(host, cfg(), noEvents, { baseDir: dir });
    const f = host.files[0]!;
    f.instructionsPerRun = 300;
    const dma = (ff: typeof f) => {
      ff.view.setUint16(0x81000 + 68, 0, true);
      return { kind: 'dma' as const, dma: 0x81000, key: 0 };
    };
    f.script.push(dma, dma, dma, { kind: 'slice' });
    expect(g.step(1000)).toEqual({ kind: 'running' });
    expect(f.runBudgets).toEqual([1000, 700, 400, 100]);
    expect(g.instructionCount).toBe(1200);
  });

  it('delegates the clock to the host', async () => {
    const host = new ScriptedHost();
    const g = await launchGuestOn(host, cfg(), noEvents, { baseDir: dir });
    g.advanceClockTo(5e9);
    expect(g.virtualTimeNs).toBe(5e9);
    g.advanceClockTo(1e9);
    expect(g.virtualTimeNs).toBe(5e9);
  });
});

describe('the guest wall clock (LHCALL_GET_WALLCLOCK / lguest_data.time)', () => {
  // 2.6.23 gives the guest the host's time of day; a fixed 2007 date made `date` in a Linux
  // guest print "Tue Oct  9 ... 2007".
  it('is the time of day at launch unless pinned', async () => {
    const host = new ScriptedHost();
    const before = Math.floor(Date.now() / 1000);
    await launchGuestOn(host, cfg(), noEvents, { baseDir: dir });
    const after = Math.floor(Date.now() / 1000);
    const t = host.files[0]!.args!.bootEpochSeconds;
    expect(t).toBeGreaterThanOrEqual(before);
    expect(t).toBeLessThanOrEqual(after);
  });

  it('can be pinned for reproducible runs', async () => {
    const host = new ScriptedHost();
    await launchGuestOn(host, cfg(), noEvents, { baseDir: dir, bootEpochSeconds: 1_000_000_000 });
    expect(host.files[0]!.args!.bootEpochSeconds).toBe(1_000_000_000);
  });
});
