// Bytes of a memory view that differ from a snapshot's RAM (the memory viewer's "changed since"):
// each page with bytes and a guest-physical address in RAM gets a per-byte mask.

import { PAGE_SIZE } from '../cpu/memory';
import type { RamPages } from '../snapshot/machine-snapshot';
import type { MemoryView } from './inspector-types';

/** The view with `changed` set on every page whose bytes lie in the snapshot's RAM. */
export function markChangedBytes(view: MemoryView, ram: RamPages): MemoryView {
  if (ram.base !== null) throw new Error('the snapshot RAM to compare with must be a full image');
  const at = new Map<number, number>();
  ram.present.forEach((p, i) => at.set(p, i * PAGE_SIZE));
  const ramBytes = ram.pages * PAGE_SIZE;
  return {
    ...view,
    pages: view.pages.map((page) => {
      const { bytes, phys } = page;
      if (!bytes || phys === null || phys + bytes.length > ramBytes) return page;
      const changed = new Uint8Array(bytes.length);
      for (let i = 0; i < bytes.length; i++) {
        const a = phys + i;
        const offset = at.get(Math.floor(a / PAGE_SIZE));
        const then = offset === undefined ? 0 : ram.data[offset + (a % PAGE_SIZE)]!;
        if (bytes[i] !== then) changed[i] = 1;
      }
      return { ...page, changed };
    }),
  };
}
