// RAM chains on small synthetic snapshots: which page wins, what a chain that cannot be followed
// says, the pages two chains can differ in, and folding a delta onto its base.

import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../cpu/memory';
import type { MachineSnapshot, RamPages } from './machine-snapshot';
import { unpackToBytes } from './sparse-pages';
import { foldRam, loadRamChain, pagesBetween, resolveRam, writeChainPages, type RamLink } from './ram-chain';

/** A RamPages of `pages` pages holding `fill` (page -> byte value) over `base`. */
function ram(pages: number, fill: Record<number, number>, base: string | null, depth: number): RamPages {
  const present = Object.keys(fill)
    .map(Number)
    .sort((a, b) => a - b);
  const data = new Uint8Array(present.length * PAGE_SIZE);
  present.forEach((p, i) => data.fill(fill[p]!, i * PAGE_SIZE, (i + 1) * PAGE_SIZE));
  return { pages, present: Uint32Array.from(present), data, base, depth };
}

function loader(files: Record<string, RamPages>): (f: string) => MachineSnapshot {
  return (f) => {
    const r = files[f];
    if (!r) throw new Error(`ENOENT: ${f}`);
    return { state: { memory: { ram: r } } } as unknown as MachineSnapshot;
  };
}

/** The first byte of each page. */
function firstBytes(bytes: Uint8Array): number[] {
  return Array.from({ length: bytes.length / PAGE_SIZE }, (_, p) => bytes[p * PAGE_SIZE]!);
}

const full = ram(4, { 0: 1, 1: 1, 2: 1 }, null, 0);
const d1 = ram(4, { 1: 2, 3: 2 }, 'full', 1);
const d2 = ram(4, { 1: 0, 2: 3 }, 'd1', 2);
const files = { full, d1, d2 };

describe('RAM chains', () => {
  it('reads each page from the newest snapshot holding it (zero where none does)', () => {
    const chain = loadRamChain('d2', d2, loader(files));
    expect(chain.map((l) => l.file)).toEqual(['d2', 'd1', 'full']);
    const bytes = new Uint8Array(4 * PAGE_SIZE).fill(9);
    writeChainPages(bytes, chain, null);
    expect(firstBytes(bytes)).toEqual([1, 0, 3, 2]);
    expect(firstBytes(unpackToBytes(resolveRam(chain)))).toEqual([1, 0, 3, 2]);
    // Only the pages asked for are written.
    const some = new Uint8Array(4 * PAGE_SIZE).fill(9);
    writeChainPages(some, chain, Uint32Array.from([1, 3]));
    expect(firstBytes(some)).toEqual([9, 0, 9, 2]);
  });

  it('names the link that cannot be followed', () => {
    expect(() => loadRamChain('d2', d2, loader({ d1 }))).toThrow(
      'd1 stores its RAM as changes over full, which cannot be read: ENOENT: full',
    );
    expect(() => loadRamChain('x', ram(4, {}, 'd1', 1), loader(files))).toThrow(/delta depth 1 but its base d1 at 1/);
    expect(() => loadRamChain('x', ram(8, {}, 'full', 1), loader(files))).toThrow(
      /8 RAM pages but its base full has 4/,
    );
  });

  it('finds the pages two chains can differ in from their newest common snapshot', () => {
    const load = loader({ ...files, b: ram(4, { 0: 7 }, 'd1', 2) });
    const a = loadRamChain('d2', d2, load);
    const b = loadRamChain('b', load('b').state.memory.ram, load);
    expect([...pagesBetween(a, b)!]).toEqual([0, 1, 2]);
    expect([...pagesBetween(a, a)!]).toEqual([]);
    const stranger: RamLink[] = [{ file: 'other', ram: ram(4, {}, null, 0) }];
    expect(pagesBetween(a, stranger)).toBeNull();
  });

  it('folds a delta onto its base: same pages, over the base of its base', () => {
    const folded = foldRam(d2, d1);
    expect(folded.base).toBe('full');
    expect(folded.depth).toBe(1);
    const chain = loadRamChain('f', folded, loader(files));
    const bytes = new Uint8Array(4 * PAGE_SIZE);
    writeChainPages(bytes, chain, null, true);
    expect(firstBytes(bytes)).toEqual([1, 0, 3, 2]);
    expect(foldRam(d1, full)).toMatchObject({ base: null, depth: 0 });
  });
});
