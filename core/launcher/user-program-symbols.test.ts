// User programs' symbol maps: what a map must hold, the maps beside a kernel (with the ones that
// cannot be used reported), and telling which program an address space runs by its signature.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LHCALL_NEW_PGTABLE } from '../host/constants';
import type { Lguest } from '../host/lg';
import {
  guestHolds,
  parseUserProgramMap,
  recognizeProgram,
  RunningProgram,
  userProgramSymbols,
} from './user-program-symbols';

const map = (signature: string, ...symbols: string[]) =>
  ['# user program', `# signature ${signature}`, ...symbols].join('\n') + '\n';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('parseUserProgramMap', () => {
  it('reads the signature and the System.map symbols', () => {
    const p = parseUserProgramMap('loop', map('08048000 44454d4f0102', '08048010 T _start', '08048060 T main'));
    expect(p.signature.address).toBe(0x08048000);
    expect([...p.signature.bytes]).toEqual([0x44, 0x45, 0x4d, 0x4f, 0x01, 0x02]);
    expect(p.symbols.lookup(0x08048070)?.name).toBe('main');
  });

  it('refuses a map without a signature, with a bad one, or without symbols, saying which', () => {
    expect(() => parseUserProgramMap('a', '08048060 T main\n')).toThrow(/user program map a: no "# signature/);
    expect(() => parseUserProgramMap('b', map('08048000 4', '08048060 T main'))).toThrow(
      /user program map b: bad signature line "# signature 08048000 4"/,
    );
    expect(() => parseUserProgramMap('c', map('08048000 ' + '00'.repeat(257), '08048060 T main'))).toThrow(
      /bad signature line/,
    );
    expect(() => parseUserProgramMap('d', map('08048000 00'))).toThrow(/user program map d: no symbols/);
  });
});

describe('userProgramSymbols', () => {
  it('reads user-symbols/*.map beside the kernel; bad maps and look-alikes are left out and reported', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'user-symbols-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'kernel.elf'), '');
    mkdirSync(join(dir, 'user-symbols'));
    const w = (f: string, text: string) => writeFileSync(join(dir, 'user-symbols', f), text);
    w('one.map', map('08048000 aa01', '08048060 T main'));
    w('two.map', map('08048000 bb02', '08048060 T main'));
    w('three.map', map('08048000 bb02', '08048080 T loop'));
    w('broken.map', '08048060 T main\n');
    w('notes.txt', 'not a map');
    const { programs, problems } = await userProgramSymbols(join(dir, 'kernel.elf'));
    expect(programs.map((p) => p.name)).toEqual(['one']);
    expect(problems).toEqual([
      'user program map broken: no "# signature ADDRESS HEX" line',
      'user program map three: same signature as two; neither is named',
      'user program map two: same signature as three; neither is named',
    ]);
  });

  it('a kernel without user-symbols/ has no user programs and no problem', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'user-symbols-'));
    dirs.push(dir);
    expect(await userProgramSymbols(join(dir, 'kernel.elf'))).toEqual({ programs: [], problems: [] });
  });

  it("the demo guest ships a map for each of its programs, bench's with its main", async () => {
    const { programs, problems } = await userProgramSymbols('builtin:demo');
    expect(problems).toEqual([]);
    expect(programs.find((p) => p.name === 'bench')?.symbols.named('main')?.kind).toBe('function');
  });
});

describe('recognizeProgram', () => {
  const programs = [
    parseUserProgramMap('short', map('08048000 4445', '08048060 T main')),
    parseUserProgramMap('long', map('08048000 44454d4f', '08048060 T main')),
    parseUserProgramMap('elsewhere', map('10000000 4445', '10000060 T main')),
  ];
  const memory = new Map<number, number[]>();
  const asked: string[] = [];
  const matches = (va: number, bytes: Uint8Array) => {
    asked.push(`${va.toString(16)}:${bytes.length}`);
    const m = memory.get(va);
    return m !== undefined && bytes.every((b, i) => m[i] === b);
  };

  it('finds the first program whose signature bytes are in memory at its address', () => {
    memory.clear();
    memory.set(0x08048000, [0x44, 0x45, 0x4d, 0x4f, 0x99]);
    expect(recognizeProgram(programs, matches)).toBe(0);
    expect(recognizeProgram(programs.slice(1), matches)).toBe(0);
    memory.set(0x08048000, [0x44, 0x46, 0, 0]);
    expect(recognizeProgram(programs, matches)).toBe(-1);
    memory.delete(0x08048000);
    memory.set(0x10000000, [0x44, 0x45]);
    expect(recognizeProgram(programs, matches)).toBe(2);
  });

  it('checks the likely program first, and the others only when it is not there', () => {
    memory.clear();
    memory.set(0x10000000, [0x44, 0x45]);
    asked.length = 0;
    expect(recognizeProgram(programs, matches, 2)).toBe(2);
    expect(asked).toEqual(['10000000:2']);
    memory.clear();
    memory.set(0x08048000, [0x44, 0x45, 0x4d, 0x4f]);
    asked.length = 0;
    expect(recognizeProgram(programs, matches, 2)).toBe(0);
    expect(asked).toEqual(['10000000:2', '8048000:2']);
  });

  it('an unmapped signature address is no program', () => {
    expect(recognizeProgram(programs, () => false, 1)).toBe(-1);
  });
});

describe('RunningProgram', () => {
  // A guest reduced to what recognition reads: RAM with one page directory (at 0x1000) mapping
  // 0x08048000 to the page at 0x3000, the current directory, and the NEW_PGTABLE count.
  const ram = new Uint8Array(0x4000);
  const view = new DataView(ram.buffer);
  view.setUint32(0x1000 + (0x08048000 >>> 22) * 4, 0x2000 | 1, true);
  view.setUint32(0x2000 + ((0x08048000 >>> 12) & 1023) * 4, 0x3000 | 1, true);
  const hypercalls = new Array<number>(32).fill(0);
  const lg = {
    mem: { ram, ramView: view, isRam: (a: number, n: number) => a >= 0 && a + n <= ram.length },
    state: { pgdirs: [{ cr3: 0x1000 }], currentPgdir: 0, stats: { hypercalls } },
  } as unknown as Lguest;
  const programs = [
    parseUserProgramMap('a', map('08048000 aa01', '08048060 T main')),
    parseUserProgramMap('b', map('08048000 bb02', '08048060 T main')),
  ];
  const load = (bytes: number[]) => ram.set(bytes, 0x3000);

  it('recognises a program and keeps the answer until the guest switches address space', () => {
    const running = new RunningProgram(() => programs);
    load([0xaa, 0x01]);
    expect(running.of(lg)).toBe(0);
    load([0xbb, 0x02]); // another program in the same address space, no switch: not looked at
    expect(running.of(lg)).toBe(0);
    hypercalls[LHCALL_NEW_PGTABLE]!++;
    expect(running.of(lg)).toBe(1);
    expect(guestHolds(lg, 0x08048000, Uint8Array.of(0xbb, 0x02))).toBe(true);
  });

  it('an unrecognised address space is looked at again at the next call', () => {
    let lists = 0;
    const running = new RunningProgram(() => (lists++, programs));
    load([0, 0]);
    expect(running.of(lg)).toBe(-1);
    load([0xaa, 0x01]);
    expect(running.of(lg)).toBe(0);
    expect(running.of(lg)).toBe(0);
    expect(lists).toBe(2);
  });
});
