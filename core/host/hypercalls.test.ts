// Hypercalls (ABI §2) driven exit by exit on the scripted CPU: what the Launcher and the Guest observe.

import { describe, expect, it } from 'vitest';
import { EAX } from '../cpu/types';
import { fakeGuest, initedFakeGuest, LGUEST_DATA_GPA as LD } from './testing/fake-guest';
import { TSC_KHZ } from './constants';

const u32 = (g: { mem: { ramView: DataView } }, a: number): number => g.mem.ramView.getUint32(a, true);

describe('LHCALL_LGUEST_INIT (1)', () => {
  it('records lguest_data, caches noirq, writes reserve_mem, tsc_khz, guestid and time', () => {
    const g = fakeGuest({ bootEpochSeconds: 1000 });
    g.mem.ramView.setUint32(LD + 1120, 0xc0101000, true);
    g.mem.ramView.setUint32(LD + 1124, 0xc0101010, true);
    g.cpu.hypercall(1, LD);
    expect(g.file.run({ budget: 1 })).toEqual({ kind: 'slice' });
    expect(g.lg.state.lguestData).toBe(LD);
    expect(u32(g, LD + 1108)).toBe(0x400000);
    expect(u32(g, LD + 1116)).toBe(TSC_KHZ);
    expect(g.mem.ramView.getUint16(LD + 1112, true)).toBe(0);
    expect(u32(g, LD + 12)).toBe(1000); // 1 instruction = 10 ns: still second 0 of boot
    expect(u32(g, LD + 16)).toBe(10);
    // Cached: later Guest edits are not seen.
    g.mem.ramView.setUint32(LD + 1120, 0, true);
    expect(g.lg.state.noirqStart).toBe(0xc0101000);
    expect(g.lg.state.noirqEnd).toBe(0xc0101010);
    expect(g.cpu.getReg(EAX)).toBe(1);
  });

  it('a second guest on the host gets guestid 1', () => {
    const a = initedFakeGuest();
    const b = initedFakeGuest({ host: a.host });
    expect(b.mem.ramView.getUint16(LD + 1112, true)).toBe(1);
  });
});

describe('LHCALL_FLUSH_ASYNC (0) and the async ring', () => {
  it('processes ready ring slots in order, marks them done, before the synchronous call', () => {
    const g = initedFakeGuest();
    // Ring: slot 0 = LOAD_IDT_ENTRY(0x21, ...), slot 1 = TS(8); then sync TS(0).
    const slot = (n: number, eax: number, edx: number, ebx: number, ecx: number): void => {
      const a = LD + 84 + n * 16;
      g.mem.ramView.setUint32(a, eax, true);
      g.mem.ramView.setUint32(a + 4, edx, true);
      g.mem.ramView.setUint32(a + 8, ebx, true);
      g.mem.ramView.setUint32(a + 12, ecx, true);
      g.mem.ram[LD + 20 + n] = 0;
    };
    slot(0, 8, 8, 0, 0); // TS(8)
    slot(1, 6, 0x21, 0x1234, 0xc0108e00); // LOAD_IDT_ENTRY
    g.cpu.hypercall(8, 0); // synchronous TS(0) runs AFTER the ring's TS(8)
    g.file.run({ budget: 2 });
    expect(g.lg.state.ts).toBe(0);
    expect(g.lg.state.idt[0x21 * 2 + 1]).toBe(0xc0108e00);
    expect(g.mem.ram[LD + 20]).toBe(0xff);
    expect(g.mem.ram[LD + 21]).toBe(0xff);
    expect(g.lg.state.nextHcall).toBe(2);
    expect(g.lg.state.stats.hypercalls[8]).toBe(2);
  });

  it('the ring cursor wraps at 64 and stops at the first empty slot', () => {
    const g = initedFakeGuest();
    g.lg.state.nextHcall = 63;
    for (const n of [63, 0]) {
      const a = LD + 84 + n * 16;
      g.mem.ramView.setUint32(a, 8, true);
      g.mem.ramView.setUint32(a + 4, n === 63 ? 8 : 0, true);
      g.mem.ram[LD + 20 + n] = 0;
    }
    g.mem.ram[LD + 20 + 2] = 0; // not reached: slot 1 is empty
    g.cpu.hypercall(0);
    g.file.run({ budget: 2 });
    expect(g.lg.state.nextHcall).toBe(1);
    expect(g.lg.state.ts).toBe(0);
    expect(g.mem.ram[LD + 20 + 2]).toBe(0);
  });

  it('a SEND_DMA to the Launcher in the ring stops the ring; the sync call waits for the next run', () => {
    const g = initedFakeGuest();
    const put = (n: number, eax: number, edx: number, ebx: number): void => {
      const a = LD + 84 + n * 16;
      g.mem.ramView.setUint32(a, eax, true);
      g.mem.ramView.setUint32(a + 4, edx, true);
      g.mem.ramView.setUint32(a + 8, ebx, true);
      g.mem.ram[LD + 20 + n] = 0;
    };
    put(0, 13, 0, 0x3000); // SEND_DMA(key 0, dma 0x3000)
    put(1, 8, 8, 0); // TS(8)
    g.cpu.hypercall(8, 0); // sync TS(0)
    expect(g.file.run({ budget: 10 })).toEqual({ kind: 'dma', dma: 0x3000, key: 0 });
    expect(g.lg.state.ts).toBe(0); // neither TS ran yet
    expect(g.mem.ram[LD + 21]).toBe(0);
    g.file.run({ budget: 10 });
    expect(g.mem.ram[LD + 21]).toBe(0xff);
    expect(g.lg.state.ts).toBe(0); // ring TS(8) first, then the pending sync TS(0)
    expect(g.lg.state.stats.hypercalls[8]).toBe(2);
  });

  it('a ring hypercall that kills the guest is the last one served: later slots and the sync call are not', () => {
    const g = initedFakeGuest();
    const put = (n: number, eax: number, edx: number): void => {
      const a = LD + 84 + n * 16;
      g.mem.ramView.setUint32(a, eax, true);
      g.mem.ramView.setUint32(a + 4, edx, true);
      g.mem.ram[LD + 20 + n] = 0;
    };
    put(0, 99, 0); // no such hypercall: kills
    put(1, 8, 8); // TS(8)
    g.cpu.hypercall(8, 8); // sync TS(8)
    expect(g.file.run({ budget: 10 })).toEqual({ kind: 'dead', reason: 'Bad hypercall 99\n' });
    expect(g.lg.state.ts).toBe(0);
    expect(g.lg.state.stats.hypercalls[8]).toBe(0);
    expect(g.mem.ram[LD + 21]).toBe(0); // slot 1 still pending: never served
    const last = g.lg.trace.last(1)[0]!;
    expect(last).toMatchObject({ decision: 'killed', hypercall: { number: 99 } });
  });
});

describe('the other hypercalls', () => {
  it('LOAD_GDT (3) fixes DPL 0 -> 1 and sets accessed on all 32 entries, except host entries', () => {
    const g = initedFakeGuest();
    const t = 0x5000;
    for (let i = 0; i < 32; i++) {
      g.mem.ramView.setUint32(t + i * 8, 0x0000ffff, true);
      g.mem.ramView.setUint32(t + i * 8 + 4, i === 14 ? 0x00cffa00 : 0x00cf9a00, true);
    }
    g.cpu.hypercall(3, t, 32);
    g.file.run({ budget: 2 });
    expect(g.lg.state.gdt[12 * 2 + 1]).toBe(0x00cfbb00);
    expect(g.lg.state.gdt[14 * 2 + 1]).toBe(0x00cffb00);
    expect(g.lg.state.gdt[10 * 2 + 1]).toBe(0x00cf9a00); // stored, not fixed up
    expect(g.lg.state.gdt[16 * 2 + 1]).toBe(0x00cf9a00);
  });

  it('LOAD_GDT with fewer entries keeps the rest; empty entries become 0x2100', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(3, 0x5000, 1);
    g.file.run({ budget: 2 });
    expect(g.lg.state.gdt[1]).toBe(0x2100);
    expect(g.lg.state.gdt[12 * 2 + 1]).toBe(0x00cfbb00);
    expect(g.lg.state.gdt[5 * 2 + 1]).toBe(0x2100);
  });

  it('LOAD_TLS (16) loads entries 6..8 only', () => {
    const g = initedFakeGuest();
    for (let i = 0; i < 3; i++) g.mem.ramView.setUint32(0x5000 + i * 8 + 4, 0x00c0f200 + i, true);
    g.cpu.hypercall(16, 0x5000, 0);
    g.file.run({ budget: 2 });
    expect([6, 7, 8].map((i) => g.lg.state.gdt[i * 2 + 1])).toEqual([0x00c0f300, 0x00c0f301, 0x00c0f302]);
    expect(g.lg.state.gdt[5 * 2 + 1]).toBe(0);
  });

  it('LOAD_IDT_ENTRY (6): ignores 2, 8, 15, 0x1F and >= 64 except 0x80; forces selector, masks hi', () => {
    const g = initedFakeGuest();
    for (const v of [2, 8, 15, 0x1f, 0x40, 0xff]) g.cpu.hypercall(6, v, 0x00101234, 0xc010ff00 | 0x1000);
    g.cpu.hypercall(6, 0x80, 0x00605678, 0xc010ef00);
    g.cpu.hypercall(6, 3, 0x00101234, 0xc010ffff);
    g.cpu.hypercall(6, 4, 0x00101234, 0xc0100f00); // not present -> cleared
    g.file.run({ budget: 10 });
    expect(g.lg.state.idt.slice(2 * 2, 2 * 2 + 2)).toEqual([0, 0]);
    expect(g.lg.state.idt.slice(0x1f * 2, 0x1f * 2 + 2)).toEqual([0, 0]);
    expect(g.lg.state.syscallIdt).toEqual([0x00615678, 0xc010ef00]);
    expect(g.lg.state.idt.slice(3 * 2, 3 * 2 + 2)).toEqual([0x00611234, 0xc010ef00]);
    expect(g.lg.state.idt.slice(4 * 2, 4 * 2 + 2)).toEqual([0, 0]);
  });

  it('SET_STACK (7) stores ss1/esp1/pages and pins the stack (A and D set in the Guest PTE)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(7, 0x69, 0xc0009000, 2);
    g.file.run({ budget: 2 });
    expect([g.lg.state.ss1, g.lg.state.esp1, g.lg.state.stackPages]).toEqual([0x69, 0xc0009000, 2]);
    const pte = (va: number): number => u32(g, g.pgdir - 4096 + ((va - 0xc0000000) >>> 12) * 4);
    expect(pte(0xc0008fff) & 0x63).toBe(0x63);
    expect(pte(0xc0007fff) & 0x63).toBe(0x63);
    expect(pte(0xc0006fff) & 0x60).toBe(0);
  });

  it('TS (8) sets virtual TS: CR0.TS on entry, #NM then reflected; clear TS swallows #NM', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(6, 7, 0x00100000, 0xc0108f00);
    g.cpu.hypercall(8, 8);
    g.cpu.trap(7, 0, 0, (c) => c.setReg(4, 0xc0009000));
    g.cpu.script.push({ instructions: 1 });
    g.mem.ramView.setUint32(LD, 0x200, true);
    g.cpu.setSelector(2, 0x69);
    g.file.run({ budget: 3 });
    expect(g.cpu.cr0 & 8).toBe(8);
    expect(g.cpu.eip).toBe(0xc0100000); // reflected to the gate
    const h = initedFakeGuest();
    h.cpu.trap(7);
    h.cpu.script.push({ instructions: 1 });
    const eip = h.cpu.eip;
    h.file.run({ budget: 2 });
    expect(h.lg.state.dead).toBeNull();
    expect(h.cpu.eip).toBe(eip);
    expect(h.cpu.cr0 & 8).toBe(0);
  });

  it('SET_CLOCKEVENT (9) arms a one-shot timer; 0 cancels', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(9, 5000);
    g.file.run({ budget: 2 });
    expect(g.lg.state.clockDeadlineNs).toBe(g.file.virtualTimeNs + 5000 - 10);
    g.cpu.hypercall(9, 0);
    g.file.run({ budget: 1 });
    expect(g.lg.state.clockDeadlineNs).toBeNull();
  });

  it('HALT (10) with nothing pending returns idle; wakeAtNs is the clock deadline', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(9, 1000);
    g.cpu.hypercall(10);
    const r = g.file.run({ budget: 100 });
    expect(r).toEqual({ kind: 'idle', wakeAtNs: g.lg.state.clockDeadlineNs });
    expect(g.file.hasPendingWork()).toBe(false);
  });

  it('BIND_DMA (12) returns 1 in EAX (0 for irq >= 32 or when all 32 slots are used)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(12, 0x6000, 0x7000, (1 << 8) | 3);
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    expect(g.cpu.getReg(EAX)).toBe(1);
    g.cpu.hypercall(12, 0x6000, 0x7000, (1 << 8) | 32);
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    expect(g.cpu.getReg(EAX)).toBe(0);
    for (let i = 0; i < 31; i++) g.cpu.hypercall(12, 0x6000 + 4 * i, 0x7000, (1 << 8) | 3);
    g.cpu.hypercall(12, 0x6100, 0x7000, (1 << 8) | 3);
    g.file.run({ budget: 40 });
    expect(g.cpu.getReg(EAX)).toBe(0);
    // Unbind needs the same key and array.
    g.cpu.hypercall(12, 0x6000, 0x7001, 0);
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    expect(g.cpu.getReg(EAX)).toBe(0);
    g.cpu.hypercall(12, 0x6000, 0x7000, 0);
    g.file.run({ budget: 1 });
    g.file.run({ budget: 1 });
    expect(g.cpu.getReg(EAX)).toBe(1);
  });

  it('every call but BIND_DMA leaves EAX holding the call number', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(0);
    g.cpu.hypercall(8, 0);
    g.file.run({ budget: 2 });
    g.file.run({ budget: 1 });
    expect(g.cpu.getReg(EAX)).toBe(8);
  });

  it('SEND_DMA (13) to a private key returns [dma, key] to the Launcher', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(13, 0x400000, 0x3000);
    expect(g.file.run({ budget: 5 })).toEqual({ kind: 'dma', dma: 0x3000, key: 0x400000 });
    // The next run() resumes the Guest, it does not repeat the DMA.
    expect(g.file.run({ budget: 5 })).toEqual({ kind: 'slice' });
  });

  it('NEW_PGTABLE (4), SET_PTE (14), SET_PMD (15), FLUSH_TLB (5) through the run loop', () => {
    const g = initedFakeGuest();
    const pde = g.mem.ramView.getUint32(g.pgdir + 0x300 * 4, true);
    g.mem.ramView.setUint32(0x60000 + 0x300 * 4, pde, true);
    g.cpu.trap(14, 0, 0xc0050000); // shadow one kernel page in slot 0
    g.cpu.hypercall(4, 0x60000); // new slot 1
    g.cpu.trap(14, 0, 0xc0050000);
    g.cpu.hypercall(14, 0x60000, 0xc0050000, 0x51000 | 0x67); // kernel: both slots
    g.file.run({ budget: 5 });
    expect(g.lg.state.currentPgdir).toBe(1);
    const spte = (slot: number): number => {
      const dir = g.mem.hostFrameWords(g.lg.state.pgdirs[slot]!.pgdir);
      const pt = (dir[0x300]! & ~0xfff) >>> 0;
      return pt ? g.mem.hostFrameWords(pt)[0x50]! >>> 0 : 0;
    };
    expect([spte(0), spte(1)]).toEqual([0x51067, 0x51067]);
    g.cpu.hypercall(15, g.pgdir, 0x300); // slot 0 only
    g.file.run({ budget: 2 });
    expect(g.mem.hostFrameWords(g.lg.state.pgdirs[0]!.pgdir)[0x300]).toBe(0);
    expect(spte(1)).toBe(0x51067);
    g.cpu.hypercall(5, 1);
    g.file.run({ budget: 2 });
    expect(g.mem.hostFrameWords(g.lg.state.pgdirs[1]!.pgdir)[0x300]).toBe(0);
    expect(g.lg.state.stats.hypercalls.slice(4, 6)).toEqual([1, 1]);
    expect(g.lg.state.stats.hypercalls.slice(14, 16)).toEqual([1, 1]);
  });
});
