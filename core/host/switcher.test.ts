// The emulated Switcher (copy_in_guest_info): the effective GDT, IDT and TSS in the read-only
// state page at 0xFFC02000, PDE 1023 of every shadow, CR0/EFLAGS on entry, the changed flags.

import { describe, expect, it } from 'vitest';
import { initedFakeGuest, type FakeGuest } from './testing/fake-guest';
import { shadowPde } from './page-tables';
import { guestNewPagetable } from './page-tables';

function stateWords(g: FakeGuest): Int32Array {
  return g.mem.hostFrameWords(g.lg.state.switcherState);
}
const gdtEntry = (g: FakeGuest, i: number): [number, number] => [
  stateWords(g)[i * 2]! >>> 0,
  stateWords(g)[i * 2 + 1]! >>> 0,
];
const idtEntry = (g: FakeGuest, v: number): [number, number] => [
  stateWords(g)[64 + v * 2]! >>> 0,
  stateWords(g)[64 + v * 2 + 1]! >>> 0,
];

describe('the Switcher', () => {
  it('points GDTR/IDTR/TR into the state page and sets CR0, CR3 and EFLAGS for the entry', () => {
    const g = initedFakeGuest();
    g.cpu.eflags = 0x3002; // IOPL 3, IF 0: both corrected on entry
    g.cpu.hypercall(8, 8);
    g.file.run({ budget: 2 });
    expect(g.cpu.gdtr).toEqual({ base: 0xffc02000, limit: 255 });
    expect(g.cpu.idtr).toEqual({ base: 0xffc02100, limit: 2047 });
    expect(g.cpu.tr).toEqual({ selector: 0x80, base: 0xffc02900, limit: 0x67 });
    expect(g.cpu.cr0 >>> 0).toBe((0x80010033 | 8) >>> 0); // PG WP NE ET MP PE + TS (virtual TS set)
    expect(g.cpu.cr3).toBe(g.lg.state.pgdirs[0]!.pgdir);
    expect(g.cpu.eflags & 0x3200).toBe(0x200);
  });

  it('effective GDT: host entries 10, 11, 16, 31; guest entries otherwise', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(0);
    g.file.run({ budget: 2 });
    expect(gdtEntry(g, 10)).toEqual([0x0000ffff, 0x00cf9b00]);
    expect(gdtEntry(g, 11)).toEqual([0x0000ffff, 0x00cf9300]);
    expect(gdtEntry(g, 12)).toEqual([0x0000ffff, 0x00cfbb00]);
    expect(gdtEntry(g, 16)).toEqual([0x29000067, 0xff008bc0]); // busy TSS at 0xffc02900
    expect(gdtEntry(g, 31)).toEqual([0, 0]);
  });

  it('effective IDT: direct trap gates only for allowed vectors; 0x1F has DPL 1; the rest exit', () => {
    const g = initedFakeGuest();
    const gate = (v: number, type: number, dpl = 0): void =>
      g.cpu.hypercall(6, v, 0x00605000 + v, (0xc0108000 | (dpl << 13) | (type << 8)) >>> 0);
    gate(0, 0xf);
    gate(1, 0xe);
    gate(13, 0xf);
    gate(14, 0xf);
    gate(7, 0xf);
    gate(0x21, 0xf);
    gate(0x80, 0xf, 3);
    g.file.run({ budget: 8 });
    g.file.run({ budget: 1 });
    expect(idtEntry(g, 0)).toEqual([0x00615000, 0xc0108f00]);
    for (const v of [1, 7, 13, 14, 0x21, 0x40, 0xff]) {
      const [lo, hi] = idtEntry(g, v);
      expect(lo >>> 16).toBe(0x50);
      expect(hi & 0xef00).toBe(0x8e00); // present, DPL 0, interrupt gate
    }
    expect(idtEntry(g, 0x1f)[1] & 0xff00).toBe(0xae00);
    expect(idtEntry(g, 0x80)).toEqual([0x00615080, 0xc010ef00]);
  });

  it('the TSS carries ss1/esp1 from SET_STACK', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(7, 0x69, 0xc0009000, 1);
    g.cpu.hypercall(0);
    g.file.run({ budget: 3 });
    const w = stateWords(g);
    expect([w[576 + 3]! >>> 0, w[576 + 4]! & 0xffff]).toEqual([0xc0009000, 0x69]);
  });

  it('only what changed is rewritten', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(0);
    g.file.run({ budget: 2 });
    g.lg.state.gdt[12 * 2 + 1] = 0x1234; // behind the host's back: not marked changed
    g.cpu.hypercall(0);
    g.file.run({ budget: 1 });
    expect(gdtEntry(g, 12)[1]).toBe(0x00cfbb00);
    g.cpu.hypercall(16, 0x5000, 0); // LOAD_TLS marks only the TLS entries
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    expect(gdtEntry(g, 12)[1]).toBe(0x00cfbb00);
    expect(gdtEntry(g, 6)[1]).toBe(0x2100);
  });

  it('PDE 1023 of every shadow maps the Switcher supervisor-only: code RO, regs RW, state RO', () => {
    const g = initedFakeGuest();
    guestNewPagetable(g.lg, 0x60000);
    for (const slot of [0, 1]) expect(shadowPde(g.lg, slot, 0xffc00000)).toBe((g.lg.state.switcherPte | 0x63) >>> 0);
    const pte = g.mem.hostFrameWords(g.lg.state.switcherPte);
    expect([pte[0]! & 0xfff, pte[1]! & 0xfff, pte[2]! & 0xfff]).toEqual([0x21, 0x63, 0x21]);
    expect((pte[2]! & ~0xfff) >>> 0).toBe(g.lg.state.switcherState);
  });
});
