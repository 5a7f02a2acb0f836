// The paging unit's write entries never map a page that holds cached code: a store that hits one
// skips the code check, so once a page becomes code (markCode) every store there must take the
// slow path and reach onCodeWrite, whichever linear pages had write entries for it.

import { describe, expect, test } from 'vitest';
import { PhysicalMemory } from './memory';
import { Mmu } from './mmu';

const PD = 0x1000;
/** The frame that holds code in these tests, and how many 4 MiB directory entries map RAM. */
const FRAME = 0x5000;
const LARGE_PAGES = 20;

/** Paging on, each of the first LARGE_PAGES directory entries a writable 4 MiB page at physical 0. */
function aliasedMmu(): { mmu: Mmu; codeWrites: number[] } {
  const mem = new PhysicalMemory(8 * 1024 * 1024);
  for (let k = 0; k < LARGE_PAGES; k++) mem.ramView.setUint32(PD + k * 4, 0x87, true);
  const mmu = new Mmu(mem);
  mmu.cr3 = PD;
  mmu.cr4 = 0x10;
  mmu.cr0 = 0x80000001 | 0;
  const codeWrites: number[] = [];
  mmu.onCodeWrite = (p) => codeWrites.push(p);
  return { mmu, codeWrites };
}

describe('a page that becomes code', () => {
  const cases = [
    { name: 'written through one linear page', aliases: 1, fillTlb: false },
    { name: 'written through two linear pages', aliases: 2, fillTlb: false },
    {
      name: 'written through two linear pages, with more TLB entries than the list of filled ones holds',
      aliases: 2,
      fillTlb: true,
    },
  ];
  for (const { name, aliases, fillTlb } of cases) {
    test(`loses its write entries: ${name}`, () => {
      const { mmu, codeWrites } = aliasedMmu();
      // Linear FRAME + k * 4 MiB all map physical FRAME.
      const linears = Array.from({ length: aliases }, (_, k) => FRAME + k * 0x400000);
      if (fillTlb) for (let v = 0; v < LARGE_PAGES * 1024; v++) mmu.read8(v * 4096);
      for (const l of linears) {
        mmu.write32(l, 1);
        mmu.write32(l + 4, 2);
      }
      expect(codeWrites).toEqual([]);
      mmu.markCode(FRAME >>> 12);
      for (const l of linears) {
        mmu.write8(l + 8, 3);
        mmu.write32(l + 12, 4);
      }
      // Each store reached the check, the ones after the first in a page included.
      expect(codeWrites).toEqual(linears.flatMap(() => [FRAME + 8, FRAME + 12, FRAME + 13, FRAME + 14, FRAME + 15]));
      expect(mmu.read32(FRAME + 12)).toBe(4);
    });
  }
});
