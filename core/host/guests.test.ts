// Small NASM guests (test-guests/*.asm) running on the real i386 at CPL 1 (and 3) under the host:
// each test asserts what the Launcher observes. Skipped only while core/cpu cannot run code.

import { describe, expect, it } from 'vitest';
import { guestImage, loadRealCpu } from './testing/real-cpu';
import { launchTestGuest, type TestGuest } from './test-launcher';
import type { LguestFile, RunResult } from './api';
import { PhysicalMemory } from '../cpu/memory';
import { LguestHost } from './lguest-user';

const real = await loadRealCpu();
const RESULTS = 0x80000;

function boot(name: string, extra: Parameters<typeof launchTestGuest>[0] = {}): TestGuest {
  return launchTestGuest({ createCpu: real.factory!, image: guestImage(name), ...extra });
}

/** Run until something other than a slice happens (bounded). */
function runToEvent(g: TestGuest, budget = 100_000, rounds = 100): RunResult {
  for (let i = 0; i < rounds; i++) {
    const r = g.file.run({ budget });
    if (typeof r === 'number') throw new Error(`run() = ${r}`);
    if (r.kind !== 'slice') return r;
  }
  throw new Error('guest still running');
}

const u32 = (g: TestGuest, a: number): number => g.mem.ramView.getUint32(a, true);

describe.skipIf(!real.factory)(`guest programs on the i386 ${real.error}`, () => {
  it('hello: console SEND_DMA reaches the Launcher as [dma, key 0], then CRASH', () => {
    const g = boot('hello');
    const r = runToEvent(g);
    expect(r).toMatchObject({ kind: 'dma', key: 0 });
    if (r.kind !== 'dma') return;
    const addr = u32(g, r.dma + 4);
    const len = g.mem.ramView.getUint16(r.dma + 68, true);
    expect(new TextDecoder().decode(g.mem.ram.subarray(addr, addr + len))).toBe('hello from a guest\r\n');
    g.mem.ramView.setUint32(r.dma, len, true); // the Launcher's used_len
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: done' });
    expect(u32(g, RESULTS)).toBe(20);
  });

  it('traps: frames reflected from CPL 1 and CPL 3, byte for byte', () => {
    const g = boot('traps');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: traps done' });
    // Ring 1: EFLAGS (IF cleared: irq_enabled was 0), CS, EIP on the same stack.
    expect(u32(g, RESULTS)).toBe(0xc008fff4);
    expect([u32(g, RESULTS + 4), u32(g, RESULTS + 8), u32(g, RESULTS + 12)]).toEqual([
      u32(g, RESULTS + 16),
      0x61,
      0x002,
    ]);
    // Ring 3: onto esp1 from SET_STACK, with SS:ESP; irq_enabled was 0x200 so IF stays set.
    expect(u32(g, RESULTS + 0x20)).toBe(0xc008ffec);
    const f = [0, 1, 2, 3, 4].map((i) => u32(g, RESULTS + 0x24 + i * 4));
    expect(f).toEqual([u32(g, RESULTS + 0x38), 0x73, 0x202, 0xc0070000, 0x7b]);
    expect(u32(g, RESULTS + 0x3c)).toBe(0); // interrupt gate: irq_enabled = 0
    expect(g.lg.state.stats.exits[6]).toBe(2);
  });

  it('user-pf: a CPL-3 fault the shadow cannot fix reaches the guest handler with cr2 and errcode', () => {
    const g = boot('user-pf');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: pf' });
    expect(u32(g, RESULTS)).toBe(0x08048000);
    expect(u32(g, RESULTS + 4)).toBe(4); // user read, not present
    expect(u32(g, RESULTS + 8)).toBe(u32(g, RESULTS + 12));
    expect(u32(g, RESULTS + 16)).toBe(0x73);
  });

  it('syscall: int $0x80 via a DPL-3 trap gate goes directly to the guest, no host exit', () => {
    const g = boot('syscall');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: syscalls done' });
    expect(u32(g, RESULTS)).toBe(102);
    expect(g.lg.state.stats.exits[0x80]).toBe(0);
    expect(g.lg.state.stats.exits[13]).toBe(0);
  });

  it('int3: #GP(0x1A) through the DPL-0 host gate, reflected as trap 13', () => {
    const g = boot('int3');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: gp' });
    expect(u32(g, RESULTS)).toBe(0x1a);
  });

  it('timer: one-shot clock events wake the halted guest; idle reports the deadline', () => {
    const g = boot('timer', { bootEpochSeconds: 1_000_000 });
    let idles = 0;
    for (let i = 0; i < 50; i++) {
      const r = g.file.run({ budget: 100_000 });
      if (typeof r === 'number') throw new Error(String(r));
      if (r.kind === 'dead') {
        expect(r.reason).toBe('CRASH: ticks');
        break;
      }
      if (r.kind === 'idle') {
        idles++;
        expect(r.wakeAtNs).not.toBeNull();
        expect(g.file.hasPendingWork()).toBe(false);
        g.file.advanceClockTo(r.wakeAtNs!);
        expect(g.file.hasPendingWork()).toBe(true);
      }
    }
    expect(g.lg.state.dead).toBe('CRASH: ticks');
    expect(idles).toBe(5);
    expect(u32(g, RESULTS)).toBe(5);
    expect(g.lg.state.stats.irqsInjected[0]).toBe(5);
    expect(g.file.virtualTimeNs).toBeGreaterThanOrEqual(5_000_000);
    // lguest_data.time = boot epoch + virtual time at the last injection (about 5 ms).
    expect(u32(g, RESULTS + 4)).toBe(1_000_000);
    expect(u32(g, RESULTS + 8)).toBeGreaterThanOrEqual(5_000_000);
    expect(u32(g, RESULTS + 8)).toBeLessThan(6_000_000);
  });

  it('io: in/out emulation with the 0x66 quirk and all-ones reads', () => {
    const g = boot('io');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: io done' });
    expect([0, 4, 8, 12].map((o) => u32(g, RESULTS + o))).toEqual([0x1234ffff, 0xffff5678, 0xffffffff, 0x12345678]);
    expect(g.lg.state.stats.exits[13]).toBe(5);
  });

  it('unhandled: #UD with no gate kills with the exact message', () => {
    const g = boot('unhandled');
    const r = runToEvent(g);
    expect(r).toEqual({ kind: 'dead', reason: `unhandled trap 6 at 0x${u32(g, RESULTS).toString(16)} (0x0)` });
    // Every later request: dead / -ENOENT.
    expect(g.file.run({ budget: 10 })).toEqual(r);
    expect(g.file.sendIrq(1)).toBe(-2);
    expect(g.file.getDma(0)).toBe(-2);
    expect(g.file.breakOut(true)).toBe(-2);
  });

  it('gdt-kill: an unloadable data segment on entry kills with "unhandled trap 256"', () => {
    const g = boot('gdt-kill');
    const r = runToEvent(g);
    expect(r).toMatchObject({ kind: 'dead' });
    if (r.kind === 'dead') expect(r.reason).toMatch(/^unhandled trap 256 at 0x[0-9a-f]+ \(0x[0-9a-f]+\)$/);
  });

  it('pagefault: demand paging sets A and D in the guest PTEs; read-only touched pages map read-only', () => {
    const g = boot('pagefault');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: paged' });
    expect(u32(g, RESULTS)).toBe(0x600d);
    const gpte = (gpa: number): number => u32(g, g.pgdir - 4096 + (gpa >>> 12) * 4);
    expect(gpte(0x200000) & 0x60).toBe(0x60);
    expect(gpte(0x201000) & 0x60).toBe(0x20);
    expect(gpte(0x202000) & 0x60).toBe(0);
  });

  it('dma: inter-guest DMA on a shared key copies the data, raises the IRQ and wakes the halted receiver', () => {
    const rx = boot('dma-rx', { sharedPages: [{ gpa: 0x300000, region: 'net' }] });
    expect(runToEvent(rx)).toEqual({ kind: 'idle', wakeAtNs: null });
    expect(u32(rx, RESULTS)).toBe(1); // BIND_DMA result
    expect(rx.file.hasPendingWork()).toBe(false);
    const tx = boot('dma-tx', { host: rx.host, sharedPages: [{ gpa: 0x310000, region: 'net' }] });
    expect(tx.lg.state.guestid).toBe(1);
    expect(runToEvent(tx)).toEqual({ kind: 'dead', reason: 'CRASH: sent' });
    expect(u32(tx, RESULTS)).toBe(18);
    expect(rx.file.hasPendingWork()).toBe(true);
    expect(runToEvent(rx)).toEqual({ kind: 'dead', reason: 'CRASH: received' });
    expect(u32(rx, RESULTS + 4)).toBe(18);
    const dmaAddr = rx.lg.state.dma.find((b) => b.interrupt === 1)!.dmas;
    const buf = u32(rx, dmaAddr + 4);
    expect(new TextDecoder().decode(rx.mem.ram.subarray(buf, buf + 18))).toBe('ping over sharenet');
  });

  it('snapshot: run N, snapshot, run M == restore, run M (CPU, memory incl. shadows, host state)', () => {
    const drive = (file: LguestFile, steps: number): void => {
      for (let i = 0; i < steps; i++) {
        const r = file.run({ budget: 700 });
        if (typeof r === 'number') throw new Error(String(r));
        if (r.kind === 'idle') file.advanceClockTo(r.wakeAtNs!);
        if (r.kind === 'dead') return;
      }
    };
    const g = boot('timer');
    drive(g.file, 9);
    const snap = {
      mem: g.mem.exportState(),
      cpu: g.lg.cpu.exportState(),
      host: g.host.exportState(),
      file: g.file.exportState()!,
    };
    drive(g.file, 40);
    const a = { mem: g.mem.exportState(), cpu: g.lg.cpu.exportState(), file: g.file.exportState() };
    expect(a.file!.guest.dead).toBe('CRASH: ticks');
    const host2 = new LguestHost(real.factory!);
    host2.importState(snap.host);
    const mem2 = PhysicalMemory.fromState(snap.mem);
    const f2 = host2.open();
    expect(f2.restore({ memory: mem2, state: snap.file, cpu: snap.cpu })).toBe(16);
    drive(f2, 40);
    const b = { mem: mem2.exportState(), cpu: f2.guest!.cpu.exportState(), file: f2.exportState() };
    expect(b.file).toEqual(a.file);
    expect(b.cpu).toEqual(a.cpu);
    expect(Buffer.compare(b.mem.ram, a.mem.ram)).toBe(0);
    expect(b.mem.hostFrames).toEqual(a.mem.hostFrames);
  });

  it('all-hcalls: every hypercall from a real guest, two through the async ring', () => {
    const g = boot('all-hcalls');
    const r = runToEvent(g);
    expect(r).toMatchObject({ kind: 'dma', key: 0x100 });
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: all done' });
    expect(u32(g, RESULTS)).toBe(0xff); // ring slot done
    expect(u32(g, RESULTS + 4)).toBe(1); // BIND_DMA succeeded
    const h = g.lg.state.stats.hypercalls;
    expect(h.slice(0, 17)).toEqual([1, 1, 1, 1, 1, 2, 1, 1, 2, 1, 0, 0, 1, 1, 1, 1, 2]);
    expect(g.lg.state.ts).toBe(0);
    expect(g.lg.state.gdt[6 * 2 + 1]).toBe(0x00cff300);
    expect(g.lg.state.idt[0x21 * 2]).toBe(0x00610000);
  });

  it('user-hcall: int $0x1F from ring 3 is #GP(0xFA), reflected', () => {
    const g = boot('user-hcall');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: gp' });
    expect(u32(g, RESULTS)).toBe(0xfa);
    expect(u32(g, RESULTS + 4)).toBe(0x73);
  });

  it('switcher-peek: ring 3 cannot read the Switcher pages; the fault is reflected', () => {
    const g = boot('switcher-peek');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: peek' });
    expect(u32(g, RESULTS)).toBe(0xffc02000);
    expect(u32(g, RESULTS + 4)).toBe(5);
  });

  it('direct-trap: a ring-3 trap through a guest trap gate uses TSS ss1:esp1 with no host exit', () => {
    const g = boot('direct-trap');
    expect(runToEvent(g)).toEqual({ kind: 'dead', reason: 'CRASH: direct' });
    expect(u32(g, RESULTS)).toBe(0xc008ffec);
    const f = [0, 1, 2, 3, 4].map((i) => u32(g, RESULTS + 4 + i * 4));
    // IF = 1: the real EFLAGS, whatever irq_enabled says. (RF may be set: a fault-class exception
    // pushes RF = 1 on P6 and later processors; the guest does not care.)
    expect([f[0], f[1], f[2]! & ~0x10000, f[3], f[4]]).toEqual([u32(g, RESULTS + 0x18), 0x73, 0x202, 0xc0070000, 0x7b]);
    expect(g.lg.state.stats.exits[6]).toBe(0);
  });

  it('timer-spin: clock expiry forces an exit from a running guest and IRQ 0 is injected', () => {
    const g = boot('timer-spin');
    expect(runToEvent(g, 10_000_000, 5)).toEqual({ kind: 'dead', reason: 'CRASH: spun' });
    expect(u32(g, RESULTS)).toBe(3);
    expect(g.lg.state.stats.irqsInjected[0]).toBe(3);
    // About 3 ms of virtual time: each tick 1 ms after the previous handler re-armed it.
    expect(g.file.virtualTimeNs).toBeGreaterThanOrEqual(3_000_000);
    expect(g.file.virtualTimeNs).toBeLessThan(3_100_000);
  });
});
