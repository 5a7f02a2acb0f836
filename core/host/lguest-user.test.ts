// The /dev/lguest file interface (ABI §9): INITIALIZE errors, run before/after death, GETDMA,
// IRQ, BREAK, close; plus the virtual clock and snapshot export/import of host state.

import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../cpu/memory';
import { EBUSY, EINVAL, ENOENT, ENOSPC } from './api';
import { fakeGuest, fakeHost, initedFakeGuest, LGUEST_DATA_GPA as LD } from './testing/fake-guest';
import { fmtLi, fmtLx, fmtP, fmtU } from './format';
import { lguestAddressOk } from './guest-memory';
import { MAX_EXITS_WITHOUT_PROGRESS } from './core';

describe('printf conversions of the kill messages', () => {
  it('%#lx prints 0x0 for zero; %p is 8 digits; %li signed; %u unsigned', () => {
    expect(fmtLx(0)).toBe('0x0');
    expect(fmtLx(0xc0100000)).toBe('0xc0100000');
    expect(fmtP(0x1000)).toBe('00001000');
    expect(fmtLi(0xffffffff)).toBe('-1');
    expect(fmtU(-1)).toBe('4294967295');
  });
});

describe('lguest_address_ok (strict end check)', () => {
  it('refuses a range ending exactly at pfn_limit*4096 and ranges that wrap', () => {
    expect(lguestAddressOk(16, 0xfff0, 15)).toBe(true);
    expect(lguestAddressOk(16, 0xfff0, 16)).toBe(false);
    expect(lguestAddressOk(16, 0xfffffff0, 0x20)).toBe(false);
    expect(lguestAddressOk(16, 0, 0)).toBe(true);
  });
});

describe('LHREQ_INITIALIZE', () => {
  const args = (mem: PhysicalMemory, pageOffset = 0xc0000000) => ({
    memory: mem,
    pfnLimit: 17,
    pgdir: 0xf000,
    start: 0xc0001000,
    pageOffset,
  });

  it('succeeds with 16; -EBUSY the second time; registers as 2.6.23 set them', () => {
    const host = fakeHost();
    const f = host.open();
    const mem = new PhysicalMemory(0x11000);
    expect(f.initialize(args(mem))).toBe(16);
    expect(f.initialize(args(mem))).toBe(EBUSY);
    const cpu = f.guest!.cpu;
    expect([0, 1, 2, 3, 4, 5].map((s) => cpu.getSegment(s as 0).selector)).toEqual([0x69, 0x61, 0x69, 0x69, 0, 0]);
    expect(cpu.eflags).toBe(0x202);
    expect(cpu.eip).toBe(0xc0001000);
    expect(cpu.getReg(6)).toBe(0);
    expect(f.guest!.state.gdt.slice(24, 28)).toEqual([0xffff, 0x00cfbb00, 0xffff, 0x00cfb300]);
  });

  it('-EINVAL when page_offset >> 22 >= 1023 (slot not consumed)', () => {
    const host = fakeHost();
    expect(host.open().initialize(args(new PhysicalMemory(0x11000), 0xffc00000))).toBe(EINVAL);
    expect(host.open().initialize(args(new PhysicalMemory(0x11000)))).toBe(16);
    expect(host.guests[0]!.state.guestid).toBe(0);
  });

  it('-ENOSPC beyond 16 guests; close() frees the lowest slot for reuse', () => {
    const host = fakeHost();
    const files = Array.from({ length: 16 }, () => {
      const f = host.open();
      expect(f.initialize(args(new PhysicalMemory(0x11000)))).toBe(16);
      return f;
    });
    expect(host.open().initialize(args(new PhysicalMemory(0x11000)))).toBe(ENOSPC);
    files[3]!.close();
    const f = host.open();
    expect(f.initialize(args(new PhysicalMemory(0x11000)))).toBe(16);
    expect(f.guest!.state.guestid).toBe(3);
  });

  it('requests before initialize are -EINVAL', () => {
    const f = fakeHost().open();
    expect(f.run({ budget: 1 })).toBe(EINVAL);
    expect(f.getDma(0)).toBe(EINVAL);
    expect(f.sendIrq(0)).toBe(EINVAL);
    expect(f.breakOut(true)).toBe(EINVAL);
  });
});

describe('run, IRQ, BREAK, death', () => {
  it('sendIrq sets the pending bit only; >= 32 is -EINVAL', () => {
    const g = initedFakeGuest();
    expect(g.file.sendIrq(32)).toBe(EINVAL);
    expect(g.file.sendIrq(3)).toBe(0);
    expect(g.lg.state.irqsPending).toBe(8);
  });

  it('breakOut(true) makes run() return break until breakOut(false)', () => {
    const g = initedFakeGuest();
    expect(g.file.breakOut(true)).toBe(0);
    expect(g.file.run({ budget: 10 })).toEqual({ kind: 'break' });
    expect(g.file.run({ budget: 10 })).toEqual({ kind: 'break' });
    g.file.breakOut(false);
    expect(g.file.run({ budget: 10 })).toEqual({ kind: 'slice' });
  });

  it('a dead guest: run keeps returning the reason; other requests -ENOENT; initialize -ENOENT', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(11);
    const r = g.file.run({ budget: 10 });
    expect(r).toEqual({ kind: 'dead', reason: 'Bad hypercall 11\n' });
    expect(g.file.run({ budget: 10 })).toEqual(r);
    expect(g.file.getDma(0)).toBe(ENOENT);
    expect(g.file.sendIrq(0)).toBe(ENOENT);
    expect(g.file.breakOut(false)).toBe(ENOENT);
    expect(g.file.initialize({ memory: g.mem, pfnLimit: 1, pgdir: 0, start: 0, pageOffset: 0xc0000000 })).toBe(ENOENT);
  });

  it('endless exits without progress (a fault the shadow "fixes" forever) still return a slice', () => {
    const g = initedFakeGuest();
    for (let i = 0; i < MAX_EXITS_WITHOUT_PROGRESS + 5; i++)
      g.cpu.script.push({ instructions: 0, exit: { vector: 14, cr2: 0xc0050000 } });
    expect(g.file.run({ budget: 1000 })).toEqual({ kind: 'slice' });
    expect(g.cpu.script.length).toBe(5);
    expect(g.lg.state.dead).toBeNull();
  });

  it('the slice budget bounds the instructions of one run() call', () => {
    const g = initedFakeGuest();
    const before = g.cpu.instructionCount;
    expect(g.file.run({ budget: 1234 })).toEqual({ kind: 'slice' });
    expect(g.cpu.instructionCount - before).toBe(1234);
  });
});

describe('LHREQ_GETDMA (§8.7)', () => {
  function bound(numDmas: number, used: number[]): ReturnType<typeof initedFakeGuest> {
    const g = initedFakeGuest();
    used.forEach((u, j) => g.mem.ramView.setUint32(0x7000 + j * 100, u, true));
    g.cpu.hypercall(12, 0x6000, 0x7000, (numDmas << 8) | 3);
    g.file.run({ budget: 2 });
    return g;
  }
  it('returns the first free buffer and stashes the IRQ in its used_len', () => {
    const g = bound(3, [5, 0, 0]);
    expect(g.file.getDma(0x6000)).toBe(0x7000 + 100);
    expect(g.mem.ramView.getUint32(0x7000 + 100, true)).toBe(3);
  });
  it('quirk: with every buffer in use the LAST one is returned and overwritten', () => {
    const g = bound(3, [5, 6, 7]);
    expect(g.file.getDma(0x6000)).toBe(0x7000 + 200);
    expect(g.mem.ramView.getUint32(0x7000 + 200, true)).toBe(3);
  });
  it('-ENOENT with no binding on the key, or numDmas 0', () => {
    expect(bound(1, [0]).file.getDma(0x6004)).toBe(ENOENT);
    expect(bound(0, []).file.getDma(0x6000)).toBe(ENOENT);
  });
  it('the most recent binding on a key wins', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(12, 0x6000, 0x7000, (1 << 8) | 3);
    g.cpu.hypercall(12, 0x6000, 0x7400, (1 << 8) | 4);
    g.file.run({ budget: 3 });
    expect(g.file.getDma(0x6000)).toBe(0x7400);
  });
});

describe('the virtual clock', () => {
  it('advances 10 ns per instruction and jumps with advanceClockTo (never backwards)', () => {
    const g = initedFakeGuest();
    const t0 = g.file.virtualTimeNs;
    g.file.run({ budget: 1000 });
    expect(g.file.virtualTimeNs - t0).toBe(10_000);
    g.file.advanceClockTo(t0 + 1_000_000);
    expect(g.file.virtualTimeNs).toBe(t0 + 1_000_000);
    g.file.advanceClockTo(5);
    expect(g.file.virtualTimeNs).toBe(t0 + 1_000_000);
  });

  it('the TSC reads virtual ns * tsc_khz / 1e6', () => {
    const g = initedFakeGuest();
    g.file.advanceClockTo(123_456_789);
    expect(g.cpu.owner.readTsc()).toBe(Math.floor((g.file.virtualTimeNs * 100_000) / 1e6));
  });

  it('the CPU runs in budgets that end at the clock deadline; expiry makes IRQ 0 pending', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(9, 1000); // 100 instructions after the hypercall is served
    g.file.run({ budget: 1 });
    g.cpu.budgets.length = 0;
    g.file.run({ budget: 10_000 });
    expect(g.cpu.budgets[0]).toBe(100);
    expect(g.lg.state.irqsPending & 1).toBe(1);
    expect(g.lg.state.clockDeadlineNs).toBeNull();
  });

  it('a halted guest with a pending timer reports idle(wakeAtNs) and is woken after the clock advances', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(6, 0x20, 0x00105000, 0xc0108e00);
    g.file.run({ budget: 1 });
    g.mem.ramView.setUint32(LD + 4, 0, true);
    g.cpu.hypercall(9, 50_000);
    g.cpu.hypercall(10);
    const r = g.file.run({ budget: 100 });
    expect(r).toMatchObject({ kind: 'idle' });
    if (typeof r === 'number' || r.kind !== 'idle') throw new Error('not idle');
    g.file.advanceClockTo(r.wakeAtNs!);
    g.cpu.setReg(4, 0xc0009000);
    g.file.run({ budget: 1 });
    expect(g.lg.state.halted).toBe(false);
    expect(g.cpu.eip).toBe(0xc0105000);
    expect(g.mem.ramView.getUint32(LD, true)).toBe(0); // interrupt gate after the 0x200 wake
  });
});

describe('snapshots of the host state', () => {
  it('exportState is plain data; importState restores it', () => {
    const g = initedFakeGuest();
    g.cpu.hypercall(7, 0x69, 0xc0009000, 1);
    g.file.run({ budget: 2 });
    const snap = g.file.exportState()!;
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    g.cpu.hypercall(7, 0x69, 0xc000a000, 2);
    g.file.run({ budget: 2 });
    expect(g.lg.state.esp1).toBe(0xc000a000);
    g.file.importState(snap);
    expect(g.file.guest!.state.esp1).toBe(0xc0009000);
    expect(g.file.guest!.state.stackPages).toBe(1);
    expect(() => g.file.importState({ guest: { ...snap.guest, version: 99 } })).toThrow('version 99');
  });

  it('host state: binding sequence and shared regions round-trip', () => {
    const g = initedFakeGuest({ sharedPages: [{ gpa: 0x10000, region: 'r' }] });
    const st = g.host.exportState();
    expect(st.regions.map((r) => r.name)).toEqual(['r']);
    g.host.importState(st);
    expect(g.host.exportState()).toEqual(st);
  });
});

describe('fakeGuest sanity', () => {
  it('a fresh guest has no lguest_data and runs', () => {
    const g = fakeGuest();
    expect(g.lg.state.lguestData).toBeNull();
    expect(g.file.run({ budget: 5 })).toEqual({ kind: 'slice' });
  });
});
