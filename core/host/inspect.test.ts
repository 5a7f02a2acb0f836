// Inspectors return what the host holds: effective tables, shadows next to guest tables, saved regs.

import { describe, expect, it } from 'vitest';
import { initedFakeGuest } from './testing/fake-guest';
import { effectiveGdt, effectiveIdt, guestTranslate, savedRegs, shadowDirectories, shadowTranslate } from './inspect';
import { demandPage } from './page-tables';

describe('inspectors', () => {
  it('effective tables, shadow cache and both translations agree with the host state', () => {
    const g = initedFakeGuest();
    g.cpu.trap(14, 0, 0xc0050123, (c) => (c.eip = 0xc0100010));
    g.file.run({ budget: 1 });
    expect(effectiveGdt(g.lg)[10]).toEqual([0xffff, 0x00cf9b00]);
    expect(effectiveIdt(g.lg)[0x1f]![1] & 0x6000).toBe(0x2000);
    const dirs = shadowDirectories(g.lg);
    expect(dirs).toHaveLength(1);
    expect(dirs[0]!.current).toBe(true);
    expect(dirs[0]!.pdes.map((p) => p.index)).toEqual([0x300, 1023]);
    expect(guestTranslate(g.lg, g.pgdir, 0xc0050123).phys).toBe(0x50123);
    expect(shadowTranslate(g.lg, 0, 0xc0050123)).toMatchObject({ phys: 0x50123, pte: 0x50025 });
    expect(shadowTranslate(g.lg, 0, 0xc0060000).phys).toBeNull();
    expect(savedRegs(g.lg)).toMatchObject({ trapnum: 14, eip: 0xc0100010, cs: 0x61, ss: 0x69 });
    demandPage(g.lg, 0xc0060000, 2);
    expect(shadowTranslate(g.lg, 0, 0xc0060000).pte & 0x2).toBe(2);
  });
});
