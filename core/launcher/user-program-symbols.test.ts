// User programs' symbol maps: what a map must hold, the maps beside a kernel (with the ones that
// cannot be used reported), and telling which program an address space runs by its signature.

import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseUserProgramMap, recognizeProgram, userProgramSymbols } from './user-program-symbols';

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

  it('finds the first program whose signature bytes are in memory at its address', () => {
    const memory = new Map<number, number[]>([[0x08048000, [0x44, 0x45, 0x4d, 0x4f, 0x99]]]);
    const read = (va: number, n: number) => {
      const m = memory.get(va);
      return m && m.length >= n ? Uint8Array.from(m.slice(0, n)) : null;
    };
    expect(recognizeProgram(programs, read)).toBe(0);
    expect(recognizeProgram(programs.slice(1), read)).toBe(0);
    memory.set(0x08048000, [0x44, 0x46, 0, 0]);
    expect(recognizeProgram(programs, read)).toBe(-1);
    memory.delete(0x08048000);
    memory.set(0x10000000, [0x44, 0x45]);
    expect(recognizeProgram(programs, read)).toBe(2);
  });

  it('an unmapped signature address is no program', () => {
    expect(recognizeProgram(programs, () => null)).toBe(-1);
  });
});
