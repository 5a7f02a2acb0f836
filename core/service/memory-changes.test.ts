// The memory viewer's "changed since a snapshot" marks: byte for byte against the snapshot's RAM
// (absent pages are zeros), none for unmapped pages or bytes outside RAM.

import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../cpu/memory';
import type { RamPages } from '../snapshot/machine-snapshot';
import type { MemoryPage, MemoryView } from './inspector-types';
import { markChangedBytes } from './memory-changes';

function view(pages: MemoryPage[]): MemoryView {
  return {
    space: 'physical',
    address: 0,
    length: 0,
    ramBytes: 2 * PAGE_SIZE,
    guestCr3: null,
    shadowDirectory: null,
    pages,
  };
}

describe('bytes changed since a snapshot', () => {
  // Page 0 held 7s, page 1 was zeros (not stored).
  const ram: RamPages = {
    pages: 2,
    present: Uint32Array.of(0),
    data: new Uint8Array(PAGE_SIZE).fill(7),
    base: null,
    depth: 0,
  };

  it('marks each byte that differs, across pages and in pages the snapshot did not store', () => {
    const bytes = new Uint8Array([7, 8, 7, 0, 5]);
    const at = PAGE_SIZE - 3;
    const [page] = markChangedBytes(view([{ address: at, length: 5, phys: at, bytes }]), ram).pages;
    expect([...page!.changed!]).toEqual([0, 1, 0, 0, 1]);
  });

  it('leaves unmapped pages and bytes beyond RAM unmarked', () => {
    const unmapped: MemoryPage = { address: 0xc0000000, length: 16, phys: null, bytes: null };
    const beyond: MemoryPage = { address: 2 * PAGE_SIZE, length: 4, phys: 2 * PAGE_SIZE, bytes: new Uint8Array(4) };
    const out = markChangedBytes(view([unmapped, beyond]), ram).pages;
    expect(out.map((p) => p.changed)).toEqual([undefined, undefined]);
  });

  it('needs the snapshot RAM as a full image', () => {
    expect(() => markChangedBytes(view([]), { ...ram, base: 'x.lgsnap', depth: 1 })).toThrow(/full image/);
  });
});
