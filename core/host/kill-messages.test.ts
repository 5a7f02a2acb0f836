// Every kill message of ABI §1.7, byte for byte, as the Launcher receives it from run().
// Guest-reachable ones are driven through exits; the few that only a broken host memory
// layout can reach are unit tests on the host functions.

import { describe, expect, it } from 'vitest';
import { fakeGuest, initedFakeGuest, LGUEST_DATA_GPA as LD, writeDma, type FakeGuest } from './testing/fake-guest';
import { lgwrite } from './guest-memory';
import { writeTimestamp } from './clock';
import { buildFrame, maybeDeliverInterrupt } from './interrupts-and-traps';
import { dmaTransfer, localReceiver } from './io';
import { LguestHost } from './lguest-user';
import { FakeCpu } from './testing/fake-cpu';

function deathOf(g: FakeGuest, budget = 50): string {
  const r = g.file.run({ budget });
  if (typeof r === 'number' || r.kind !== 'dead') throw new Error(`guest did not die: ${JSON.stringify(r)}`);
  return r.reason;
}

describe('kill messages reachable by a guest', () => {
  it('bad read address %#lx (PDE read through a cr3 beyond pfn_limit)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(4, 0x7ffff000);
    g.cpu.trap(14, 0, 0xc0000000);
    expect(deathOf(g)).toBe('bad read address 0x7ffffc00');
  });

  it('bad write address %#lx (trap frame pushed below the bottom of memory)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(6, 6, 0x00100000, 0xc0108f00);
    g.cpu.trap(6, 0, 0, (c) => c.setReg(4, 0xc0000008)); // esp = PO + 8: third push hits -4
    expect(deathOf(g)).toBe('bad write address 0xfffffffc');
  });

  it('bad read address %#lx len %u (CRASH text out of range)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(2, 0x401000 - 64);
    expect(deathOf(g)).toBe('bad read address 0x400fc0 len 128');
  });

  it('unhandled trap %li at %#lx (%#lx): no gate; errcode, or cr2 for #PF', () => {
    const g = initedFakeGuest();
    g.cpu.trap(6, 0, 0, (c) => (c.eip = 0xc0123456));
    expect(deathOf(g)).toBe('unhandled trap 6 at 0xc0123456 (0x0)');
    const h = initedFakeGuest();
    h.cpu.trap(13, 0x1a, 0, (c) => (c.eip = 0xc0100010));
    expect(deathOf(h)).toBe('unhandled trap 13 at 0xc0100010 (0x1a)');
    const p = initedFakeGuest();
    p.cpu.trap(14, 4, 0x1234, (c) => (c.eip = 0x8048000));
    expect(deathOf(p)).toBe('unhandled trap 14 at 0x8048000 (0x1234)');
  });

  it('unhandled trap before LGUEST_INIT (no reflection possible)', () => {
    const g = fakeGuest();
    g.cpu.trap(6, 0, 0, (c) => (c.eip = 0xc0100002));
    expect(deathOf(g)).toBe('unhandled trap 6 at 0xc0100002 (0x0)');
  });

  it('unhandled trap 256 when the segment registers cannot be loaded on entry', () => {
    const g = initedFakeGuest();
    g.cpu.segmentLoadFails = true;
    expect(deathOf(g)).toMatch(/^unhandled trap 256 at 0x[0-9a-f]+ \(0x[0-9a-f]+\)$/);
  });

  it('hypercall %li before LGUEST_INIT (signed)', () => {
    const g = fakeGuest();
    g.cpu.hypercall(5, 1);
    expect(deathOf(g)).toBe('hypercall 5 before LGUEST_INIT');
    const h = fakeGuest();
    h.cpu.hypercall(0xffffffff);
    expect(deathOf(h)).toBe('hypercall -1 before LGUEST_INIT');
  });

  it('bad guest page %p (lguest_data range fails the strict end check)', () => {
    const g = fakeGuest();
    g.cpu.hypercall(1, 0x401000 - 1128); // ends exactly at pfn_limit*4096: refused
    expect(deathOf(g)).toBe('bad guest page 00400b98');
  });

  it('already have lguest_data (second INIT, also through the ring)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(1, LD);
    expect(deathOf(g)).toBe('already have lguest_data');
  });

  it('CRASH: %s (128 bytes read, byte 127 forced to NUL)', () => {
    const g = initedFakeGuest();
    g.mem.ram.set(new TextEncoder().encode('Power down\0junk'), 0x5000);
    g.cpu.hypercall(2, 0x5000);
    expect(deathOf(g)).toBe('CRASH: Power down');
    const h = initedFakeGuest();
    h.mem.ram.fill(0x41, 0x5000, 0x5000 + 200);
    h.cpu.hypercall(2, 0x5000);
    expect(deathOf(h)).toBe('CRASH: ' + 'A'.repeat(127));
  });

  it('Bad hypercall %li\\n (11, > 16, negative) keeps the trailing newline', () => {
    for (const [n, text] of [
      [11, '11'],
      [17, '17'],
      [0xffffffff, '-1'],
    ] as const) {
      const g = initedFakeGuest();
      g.cpu.hypercall(n);
      expect(deathOf(g)).toBe(`Bad hypercall ${text}\n`);
    }
  });

  it('bad stack segment %i / bad stack pages %u / bad stack page %#lx', () => {
    const a = initedFakeGuest();
    a.cpu.hypercall(7, 0x68, 0xc0009000, 1);
    expect(deathOf(a)).toBe('bad stack segment 104');
    const b = initedFakeGuest();
    b.cpu.hypercall(7, 0x69, 0xc0009000, 3);
    expect(deathOf(b)).toBe('bad stack pages 3');
    const c = initedFakeGuest();
    c.cpu.hypercall(7, 0x69, 0x10000, 1); // user address: no Guest PDE there
    expect(deathOf(c)).toBe('bad stack page 0xffff');
  });

  it('bad IDT type %i (present task gate)', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(6, 0, 0x00100000, 0xc0108500);
    expect(deathOf(g)).toBe('bad IDT type 5');
  });

  it('too many gdt entries %i', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(3, 0x5000, 33);
    expect(deathOf(g)).toBe('too many gdt entries 33');
  });

  it('attempt to access switcher pages (SET_PTE, demand fault with Guest PDE 1023 present, pinning)', () => {
    const a = initedFakeGuest();
    a.cpu.hypercall(14, a.pgdir, 0xffc01000, 0x5067);
    expect(deathOf(a)).toBe('attempt to access switcher pages');
    const b = initedFakeGuest();
    b.mem.ramView.setUint32(b.pgdir + 1023 * 4, 0x3000 | 0x67, true);
    b.cpu.trap(14, 0, 0xffc00000);
    expect(deathOf(b)).toBe('attempt to access switcher pages');
    const c = initedFakeGuest();
    c.cpu.hypercall(7, 0x69, 0xffc02000, 1);
    expect(deathOf(c)).toBe('attempt to access switcher pages');
  });

  it('a fault at the Switcher with no Guest PDE 1023 is reflected, not a kill', () => {
    const g = initedFakeGuest();
    g.cpu.trap(14, 5, 0xffc00000, (c) => (c.eip = 0x8048000));
    expect(deathOf(g)).toBe('unhandled trap 14 at 0x8048000 (0xffc00000)');
  });

  it('bad page table entry (PWT, PSE, pfn >= pfn_limit)', () => {
    for (const bad of [0x5000 | 0x0f, 0x5000 | 0x87, 0x401000 | 0x07]) {
      const g = initedFakeGuest();
      g.mem.ramView.setUint32(g.pgdir - 4096 + 0x10 * 4, bad, true);
      g.cpu.trap(14, 0, 0xc0010000);
      expect(deathOf(g)).toBe('bad page table entry');
    }
  });

  it('bad page table entry through SET_PTE prefill of a present entry', () => {
    const g = initedFakeGuest();
    g.cpu.trap(14, 0, 0xc0010000); // shadow the PDE first
    g.cpu.hypercall(14, g.pgdir, 0xc0011000, 0x5000 | 0x29);
    expect(deathOf(g)).toBe('bad page table entry');
  });

  it('bad page directory entry (flag outside 0x067, or pfn >= pfn_limit)', () => {
    for (const flagOrPfn of [0x10, 0x80, 0x100, 0x401000]) {
      const g = initedFakeGuest();
      const pde = g.mem.ramView.getUint32(g.pgdir + 0x300 * 4, true);
      g.mem.ramView.setUint32(g.pgdir + 0x300 * 4, flagOrPfn >= 0x1000 ? flagOrPfn | 7 : pde | flagOrPfn, true);
      g.cpu.trap(14, 0, 0xc0010000);
      expect(deathOf(g)).toBe('bad page directory entry');
    }
  });

  it('bad dma key %#lx / bad sending DMA key / bad registered DMA buffer', () => {
    const a = initedFakeGuest();
    a.cpu.hypercall(12, 0x1002, 0x7000, (1 << 8) | 1);
    expect(deathOf(a)).toBe('bad dma key 0x1002');
    const b = initedFakeGuest();
    b.cpu.hypercall(13, 0x401000, 0x3000);
    expect(deathOf(b)).toBe('bad sending DMA key');
    const c = initedFakeGuest();
    expect(c.file.getDma(3)).toBe(-2);
    expect(deathOf(c)).toBe('bad registered DMA buffer');
  });
});

describe('kill messages of inter-guest DMA (two guests sharing a page)', () => {
  function pair(): { a: FakeGuest; b: FakeGuest } {
    const a = initedFakeGuest({ sharedPages: [{ gpa: 0x10000, region: 'net' }] });
    const b = initedFakeGuest({ host: a.host, sharedPages: [{ gpa: 0x20000, region: 'net' }] });
    return { a, b };
  }
  const dma = writeDma;

  it('bad DMA entry: %u@%#lx (receiver section crosses a page) kills the receiver', () => {
    const { a, b } = pair();
    dma(b, 0x30000, [[0x5f80, 256]]);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    dma(a, 0x30000, [[0x6000, 16]]);
    a.cpu.hypercall(13, 0x10008, 0x30000);
    a.file.run({ budget: 2 });
    expect(b.lg.state.dead).toBe('bad DMA entry: 256@0x5f80');
    expect(a.lg.state.dead).toBeNull();
  });

  it("bad DMA entry for the sender's section kills the sender", () => {
    const { a, b } = pair();
    dma(b, 0x30000, [[0x5000, 256]]);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    dma(a, 0x30000, [[0x6000, 4097]]);
    a.cpu.hypercall(13, 0x10008, 0x30000);
    expect(deathOf(a)).toBe('bad DMA entry: 4097@0x6000');
  });

  it('bad address in registered DMA struct (receiver array out of range)', () => {
    const { a, b } = pair();
    b.cpu.hypercall(12, 0x20008, 0x400fd0, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    dma(a, 0x30000, [[0x6000, 16]]);
    a.cpu.hypercall(13, 0x10008, 0x30000);
    a.file.run({ budget: 2 });
    expect(b.lg.state.dead).toBe('bad address in registered DMA struct');
  });

  it('Error mapping DMA pages / bad address in sending DMA (memory smaller than pfn_limit: host-layout unit test)', () => {
    const { a, b } = pair();
    b.lg.state.pfnLimit = 0x2000; // the Launcher claimed more than it mapped
    dma(b, 0x30000, [[0x500000, 16]]);
    dma(a, 0x30000, [[0x6000, 16]]);
    expect(
      dmaTransfer(a.lg, 0x30000, localReceiver(b.lg), { dmas: 0x30000, numDmas: 1, nextDma: 0, interrupt: 2 }),
    ).toEqual({ empty: false, copied: 0 });
    expect(b.lg.state.dead).toBe('Error mapping DMA pages');
    const p = pair();
    p.a.lg.state.pfnLimit = 0x2000;
    dma(p.b, 0x30000, [[0x5000, 16]]);
    dma(p.a, 0x30000, [[0x500000, 16]]);
    dmaTransfer(p.a.lg, 0x30000, localReceiver(p.b.lg), { dmas: 0x30000, numDmas: 1, nextDma: 0, interrupt: 2 });
    expect(p.a.lg.state.dead).toBe('bad address in sending DMA');
  });
});

describe('kill messages only a host-memory fault can reach (unit tests)', () => {
  it('bad write address %#lx len %u (checked block write)', () => {
    const g = initedFakeGuest();
    expect(lgwrite(g.lg, 0x400ff0, new Uint8Array(16))).toBe(false);
    expect(g.lg.state.dead).toBe('bad write address 0x400ff0 len 16');
  });

  it('Writing cr2 (lguest_data not writable)', () => {
    const g = initedFakeGuest();
    g.lg.state.lguestData = 0xfffff000;
    g.cpu.trap(14, 0, 0x1000);
    expect(deathOf(g)).toBe('Writing cr2');
  });

  it('Writing timestamp', () => {
    const g = initedFakeGuest();
    g.lg.state.lguestData = 0x401000 - 14;
    writeTimestamp(g.lg);
    expect(g.lg.state.dead).toBe('Writing timestamp');
  });

  it('Disabling interrupts (interrupt gate, irq_enabled unwritable)', () => {
    const g = initedFakeGuest();
    g.lg.state.lguestData = 0xfffff000;
    g.cpu.setReg(4, 0xc0009000);
    buildFrame(g.lg, 0x00610000, 0xc0108e00, false);
    expect(g.lg.state.dead).toBe('Disabling interrupts');
  });

  it('Re-enabling interrupts (halted wake-up, irq_enabled unwritable)', () => {
    const g = initedFakeGuest();
    g.lg.state.lguestData = 0xfffffffc; // blocked_interrupts wraps to GPA 0 (readable)
    g.lg.state.halted = true;
    g.lg.state.irqsPending = 1;
    g.mem.ramView.setUint32(0, 0, true);
    maybeDeliverInterrupt(g.lg);
    expect(g.lg.state.dead).toBe('Re-enabling interrupts');
  });

  it('Fetching async hypercalls (ring entry unreadable)', () => {
    const g = initedFakeGuest();
    g.lg.state.lguestData = 0x401000 - 84; // status bytes readable, hcalls[0] not
    g.mem.ram[0x401000 - 84 + 20] = 0;
    g.cpu.hypercall(0);
    expect(deathOf(g)).toBe('Fetching async hypercalls');
  });

  it('Writing result for async hypercall (status byte becomes unwritable after it was read)', () => {
    const g = initedFakeGuest();
    const status0 = LD + 20;
    g.mem.ram[status0] = 0; // slot 0 ready: FLUSH_ASYNC (eax 0)
    const isRam = g.mem.isRam.bind(g.mem);
    g.mem.isRam = (phys: number, len: number) => !(phys === status0 && len === 1) && isRam(phys, len);
    g.cpu.hypercall(0);
    expect(deathOf(g)).toBe('Writing result for async hypercall');
  });

  it('bad address writing to registered DMA (receiver used_len unwritable after the read)', () => {
    const a = initedFakeGuest({ sharedPages: [{ gpa: 0x10000, region: 'net' }] });
    const b = initedFakeGuest({ host: a.host, sharedPages: [{ gpa: 0x20000, region: 'net' }] });
    b.mem.ramView.setUint32(0x30000 + 4, 0x5000, true);
    b.mem.ramView.setUint16(0x30000 + 68, 16, true);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    const isRam = b.mem.isRam.bind(b.mem);
    b.mem.isRam = (phys: number, len: number) => !(phys === 0x30000 && len === 4) && isRam(phys, len);
    a.mem.ramView.setUint32(0x31000 + 4, 0x6000, true);
    a.mem.ramView.setUint16(0x31000 + 68, 16, true);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    a.file.run({ budget: 2 });
    expect(b.lg.state.dead).toBe('bad address writing to registered DMA');
  });

  it('failed to get page %u (pfn below pfn_limit but beyond the memory supplied)', () => {
    const g = initedFakeGuest();
    g.lg.state.pfnLimit = 0x1000;
    g.mem.ramView.setUint32(g.pgdir - 4096 + 0x10 * 4, 0x500000 | 0x07, true);
    g.cpu.trap(14, 0, 0xc0010000);
    expect(deathOf(g)).toBe('failed to get page 1280');
  });

  it('out of memory allocating pte page (host frame allocation fails)', () => {
    const g = initedFakeGuest();
    g.mem.allocHostFrame = () => {
      throw new RangeError('no frames');
    };
    g.cpu.trap(14, 0, 0xc0010000);
    expect(deathOf(g)).toBe('out of memory allocating pte page');
  });

  it('a FakeCpu host with 16 guests refuses the 17th with -ENOSPC', () => {
    const host = new LguestHost((m, o) => new FakeCpu(m, o));
    for (let i = 0; i < 16; i++) fakeGuest({ host });
    expect(() => fakeGuest({ host })).toThrow('initialize failed: -28');
  });
});
