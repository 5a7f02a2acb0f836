// Inter-guest DMA on shared keys (ABI §8.4-8.6) on the scripted CPU: data copy, used_len on both
// sides, IRQ even with no free buffer, one retry, nextDma stepping, truncation, coherence.

import { describe, expect, it } from 'vitest';
import { initedFakeGuest, type FakeGuest } from './testing/fake-guest';

function pair(): { a: FakeGuest; b: FakeGuest } {
  const a = initedFakeGuest({ sharedPages: [{ gpa: 0x10000, region: 'net' }] });
  const b = initedFakeGuest({ host: a.host, sharedPages: [{ gpa: 0x20000, region: 'net' }] });
  return { a, b };
}

function dma(g: FakeGuest, at: number, sections: [number, number][], used = 0): void {
  g.mem.ram.fill(0, at, at + 100);
  g.mem.ramView.setUint32(at, used, true);
  sections.forEach(([addr, len], i) => {
    g.mem.ramView.setUint32(at + 4 + i * 4, addr, true);
    g.mem.ramView.setUint16(at + 68 + i * 2, len, true);
  });
}

const u32 = (g: FakeGuest, a: number): number => g.mem.ramView.getUint32(a, true);

describe('inter-guest DMA', () => {
  it('copies scatter-gather data, writes used_len to both, raises the IRQ and sends nothing to the Launcher', () => {
    const { a, b } = pair();
    dma(b, 0x30000, [
      [0x5000, 4],
      [0x5100, 100],
    ]);
    dma(b, 0x30064, [[0x5200, 100]]);
    b.cpu.hypercall(12, 0x20008, 0x30000, (2 << 8) | 5);
    b.file.run({ budget: 2 });
    a.mem.ram.set(new TextEncoder().encode('0123456789'), 0x6000);
    dma(a, 0x31000, [
      [0x6000, 3],
      [0x6003, 7],
    ]);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    expect(a.file.run({ budget: 2 })).toEqual({ kind: 'slice' });
    expect(u32(a, 0x31000)).toBe(10);
    expect(u32(b, 0x30000)).toBe(10);
    expect(new TextDecoder().decode(b.mem.ram.subarray(0x5000, 0x5004))).toBe('0123');
    expect(new TextDecoder().decode(b.mem.ram.subarray(0x5100, 0x5106))).toBe('456789');
    expect(b.lg.state.irqsPending).toBe(1 << 5);
    expect(b.lg.state.dma.find((d) => d.interrupt === 5)!.nextDma).toBe(1);
    // The next send goes into the second buffer; data beyond it is truncated.
    a.mem.ram.fill(0x41, 0x7000, 0x7000 + 200);
    dma(a, 0x31000, [[0x7000, 200]]);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    a.file.run({ budget: 2 });
    expect(u32(a, 0x31000)).toBe(100);
    expect(u32(b, 0x30064)).toBe(100);
  });

  it('no free buffer: no copy, sender used_len untouched, the receiver still gets its IRQ (and the send terminates)', () => {
    const { a, b } = pair();
    dma(b, 0x30000, [[0x5000, 16]], 7);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    dma(a, 0x31000, [[0x6000, 16]], 0x1234);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    a.file.run({ budget: 2 });
    expect(u32(a, 0x31000)).toBe(0x1234);
    expect(u32(b, 0x30000)).toBe(7);
    expect(b.lg.state.irqsPending).toBe(4);
  });

  it('own bindings are ignored; with no other guest bound nothing happens', () => {
    const { a } = pair();
    dma(a, 0x30000, [[0x5000, 16]]);
    a.cpu.hypercall(12, 0x10008, 0x30000, (1 << 8) | 2);
    dma(a, 0x31000, [[0x6000, 16]], 0x99);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    expect(a.file.run({ budget: 3 })).toEqual({ kind: 'slice' });
    expect(u32(a, 0x31000)).toBe(0x99);
    expect(a.lg.state.irqsPending).toBe(0);
  });

  it('an empty send (len[0] = 0) to a free buffer completes with used_len 0 and an IRQ', () => {
    const { a, b } = pair();
    dma(b, 0x30000, [[0x5000, 16]]);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.file.run({ budget: 2 });
    dma(a, 0x31000, [], 0x55);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    a.file.run({ budget: 2 });
    expect(u32(a, 0x31000)).toBe(0);
    expect(b.lg.state.irqsPending).toBe(4);
  });

  it('shared pages stay coherent: a write by one guest is seen by the other at its next run', () => {
    const { a, b } = pair();
    a.cpu.script.push({ act: (c) => c.mem.ramView.setUint32(0x10010, 0xfeedface, true) });
    a.file.run({ budget: 1 });
    expect(u32(b, 0x20010)).not.toBe(0xfeedface);
    b.file.run({ budget: 1 });
    expect(u32(b, 0x20010)).toBe(0xfeedface);
  });

  it('a halted receiver reports pending work after the transfer (wake-up)', () => {
    const { a, b } = pair();
    b.cpu.hypercall(6, 0x22, 0x00105000, 0xc0108e00);
    b.cpu.hypercall(12, 0x20008, 0x30000, (1 << 8) | 2);
    b.cpu.hypercall(10);
    dma(b, 0x30000, [[0x5000, 16]]);
    b.mem.ramView.setUint32(0x2000 + 4, 0, true);
    expect(b.file.run({ budget: 10 })).toEqual({ kind: 'idle', wakeAtNs: null });
    expect(b.file.hasPendingWork()).toBe(false);
    dma(a, 0x31000, [[0x6000, 16]]);
    a.cpu.hypercall(13, 0x10008, 0x31000);
    a.file.run({ budget: 2 });
    expect(b.file.hasPendingWork()).toBe(true);
    b.cpu.setReg(4, 0xc0009000);
    b.file.run({ budget: 1 });
    expect(b.cpu.eip).toBe(0xc0105000);
  });
});
