// The worker-side inspectors on a real booted demo guest: what they report matches what the host
// holds (segments, GDT/IDT, both translations, the shadow cache, counters) and reading changes nothing.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchGuest, type Launcher } from '../launcher/launch';
import type { Lguest } from '../host/lg';
import {
  answerInspect,
  inspectCounters,
  inspectDescriptors,
  inspectMemory,
  inspectPageTables,
  inspectRegisters,
  InspectError,
  lguestOf,
  replyToInspect,
} from './inspectors';
import type { MemoryView } from './inspector-types';

let guest: Launcher;
let lg: Lguest;
let console = '';

beforeAll(async () => {
  guest = await launchGuest(
    { name: 'demo', kernel: 'builtin:demo', memoryMB: 16 },
    { consoleOutput: (b) => (console += new TextDecoder().decode(b)) },
  );
  for (let i = 0; i < 2000 && !console.includes('demo$ '); i++) {
    const s = guest.step(200_000);
    if (s.kind === 'idle' && s.wakeAtNs !== null) guest.advanceClockTo(s.wakeAtNs);
    if (s.kind === 'dead') break;
  }
  lg = lguestOf(guest)!;
}, 120_000);

afterAll(() => guest?.close());

function bytesOf(view: MemoryView): number[] {
  return view.pages.flatMap((p) => (p.bytes ? [...p.bytes] : []));
}

function find(hay: number[], needle: string): number {
  const n = [...new TextEncoder().encode(needle)];
  outer: for (let i = 0; i + n.length <= hay.length; i++) {
    for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
    return i;
  }
  return -1;
}

describe('inspectors on the booted demo guest', () => {
  it('booted to the prompt and exposes the host record', () => {
    expect(console).toContain('demo$ ');
    expect(lg).toBeTruthy();
    expect(lg.state.dead).toBeNull();
  });

  it('registers: CS is the guest kernel or user code selector with a flat 32-bit cache', () => {
    const r = inspectRegisters(lg, guest.virtualTimeNs);
    const cs = r.segments.find((s) => s.name === 'cs')!;
    expect([0x61, 0x73]).toContain(cs.selector);
    expect(r.cpl).toBe(cs.rpl);
    expect(cs).toMatchObject({ base: 0, limit: 0xffffffff, s: true, present: true, db: true, g: true });
    expect(cs.typeName).toMatch(/^code/);
    expect(cs.dpl).toBe(cs.selector === 0x61 ? 1 : 3);
    expect(r.flags.find((f) => f.name === 'IF')).toBeDefined();
    expect(r.cr0Flags.find((f) => f.name === 'PG')!.set).toBe(true);
    // The CPU walks the shadow directory; the guest's own cr3 is what that directory shadows.
    const current = lg.state.pgdirs[lg.state.currentPgdir]!;
    expect(r.cr3).toBe(current.pgdir);
    expect(r.guestCr3).toBe(current.cr3);
    expect(r.gdtr).toEqual({ base: 0xffc02000, limit: 32 * 8 - 1 });
    expect(r.instructionCount).toBe(lg.cpu.instructionCount);
    expect(r.instructionCount).toBeGreaterThan(0);
    expect(r.virtualTimeNs).toBe(guest.virtualTimeNs);
    expect(r.x87.st).toHaveLength(8);
    expect(r.tr.selector).toBe(0x80);
  });

  it('descriptors: GDT 12 is flat code DPL 1; IDT 0x80 is a DPL-3 trap gate, direct in the effective IDT', () => {
    const d = inspectDescriptors(lg);
    expect(d.guestGdt).toHaveLength(32);
    const kcs = d.guestGdt[12]!;
    expect(kcs).toMatchObject({ base: 0, limit: 0xffffffff, dpl: 1, present: true, s: true, db: true, g: true });
    expect(kcs.typeName).toMatch(/^code RX/);
    const eff = d.effectiveGdt;
    expect(eff[10]).toMatchObject({ hostOwned: true, dpl: 0 });
    expect(eff[16]).toMatchObject({ hostOwned: true, typeName: '32-bit TSS (busy)' });
    expect(eff[12]!.hostOwned).toBe(false);
    expect(d.guestIdt).toHaveLength(65);
    const sys = d.guestIdt.find((g) => g.vector === 0x80)!;
    expect(sys).toMatchObject({ typeName: '32-bit trap gate', dpl: 3, present: true });
    expect(d.effectiveIdt).toHaveLength(256);
    expect(d.effectiveIdt[0x80]).toMatchObject({ route: 'direct', dpl: 3, offset: sys.offset, type: 0xf });
    // The Host must see page faults, hypercalls and interrupts itself.
    expect(d.effectiveIdt[14]!.route).toBe('host');
    expect(d.effectiveIdt[0x1f]).toMatchObject({ route: 'host', dpl: 1 });
    expect(d.effectiveIdt[0x20]!.route).toBe('host');
  });

  it('memory: the kernel image at physical 0x100000 holds "GenuineLguest"', () => {
    const m = inspectMemory(lg, 'physical', 0x100000, 0x10000);
    expect(m.pages).toHaveLength(16);
    expect(find(bytesOf(m), 'GenuineLguest')).toBeGreaterThanOrEqual(0);
  });

  it('memory: 0xC0100000 translates to physical 0x100000 through the guest tables and the shadow', () => {
    const m = inspectMemory(lg, 'guest-virtual', 0xc0100000, 16);
    const p = m.pages[0]!;
    expect(p.guest).toMatchObject({ phys: 0x100000, stop: null });
    expect(p.guest!.directory).toBe(lg.state.pgdirs[lg.state.currentPgdir]!.cr3);
    if (p.shadow!.phys !== null) expect(p.shadow!.phys).toBe(0x100000);
    else expect(p.shadow!.stop).toMatch(/not-present/); // not faulted in yet: demand paging
    const phys = inspectMemory(lg, 'physical', 0x100000, 16);
    expect([...p.bytes!]).toEqual([...phys.pages[0]!.bytes!]);
    // Through the shadow, a page the guest has used is mapped: the kernel text at EIP.
    const eip = inspectRegisters(lg, 0).eip;
    const sv = inspectMemory(lg, 'shadow-virtual', eip, 1).pages[0]!;
    expect(sv.shadow!.phys).not.toBeNull();
    expect(sv.shadow!.phys).toBe(sv.guest!.phys);
  });

  it('memory: unmapped virtual pages come back without bytes, and reading sets no A/D bits', () => {
    const before = lg.mem.ram.slice();
    const m = inspectMemory(lg, 'guest-virtual', 0x00000ff0, 32); // straddles two user pages
    expect(m.pages).toHaveLength(2);
    for (const p of m.pages) {
      expect(p.bytes).toBeNull();
      expect(p.phys).toBeNull();
    }
    inspectMemory(lg, 'guest-virtual', 0xc0000000, 0x10000);
    inspectMemory(lg, 'shadow-virtual', 0xc0000000, 0x10000);
    inspectPageTables(lg, undefined, 0x300);
    expect(Buffer.compare(before, lg.mem.ram)).toBe(0);
  });

  it("memory: the Switcher's state page is visible through the shadow only, holding the effective GDT", () => {
    const sv = inspectMemory(lg, 'shadow-virtual', 0xffc02000, 32 * 8).pages[0]!;
    expect(sv.shadow!.phys).toBe(lg.state.switcherState); // a host frame, not guest RAM
    expect(sv.guest!.phys).toBeNull(); // the guest's own tables do not map the Switcher
    const words = new DataView(sv.bytes!.buffer, sv.bytes!.byteOffset, sv.bytes!.byteLength);
    const gdt = inspectDescriptors(lg).effectiveGdt;
    expect(words.getUint32(12 * 8, true)).toBe(gdt[12]!.lo);
    expect(words.getUint32(12 * 8 + 4, true)).toBe(gdt[12]!.hi);
    expect(inspectMemory(lg, 'guest-virtual', 0xffc02000, 16).pages[0]!.bytes).toBeNull();
  });

  it('memory: out-of-range requests are typed errors', () => {
    expect(() => inspectMemory(lg, 'physical', lg.mem.ramBytes - 8, 16)).toThrow(InspectError);
    expect(() => inspectMemory(lg, 'physical', 0, 65537)).toThrow(/length/);
    expect(() => inspectMemory(lg, 'guest-virtual', 0xfffffff0, 32)).toThrow(/4 GiB/);
    expect(replyToInspect(guest, { kind: 'memory', space: 'physical', address: 0x7fffffff, length: 1 })).toMatchObject({
      ok: false,
      code: 'out-of-range',
    });
    expect(replyToInspect(null, { kind: 'registers' })).toMatchObject({ ok: false, code: 'bad-state' });
  });

  it("page tables: a cached slot shadows the guest's current cr3, side by side with the guest's PDEs", () => {
    const guestCr3 = lg.state.pgdirs[lg.state.currentPgdir]!.cr3;
    const v = inspectPageTables(lg);
    expect(v.slots.length).toBeGreaterThanOrEqual(1);
    const cur = v.slots.filter((s) => s.cr3 === guestCr3 && s.current);
    expect(cur).toHaveLength(1);
    expect(cur[0]!.lruRank).toBe(0);
    expect(cur[0]!.presentPdes).toBeGreaterThanOrEqual(2);
    expect(v.guestCr3).toBe(guestCr3);
    const sw = v.pdes.find((p) => p.index === 1023)!;
    expect(sw.note).toBe('switcher');
    const kernel = v.pdes.find((p) => p.index === 0x300)!;
    expect(kernel.guest! & 1).toBe(1);
    expect(v.ptes).toBeNull();
    const drill = inspectPageTables(lg, cur[0]!.slot, 0x300);
    const row = drill.ptes!.rows.find((r) => r.index === 0x100)!; // 0xC0100000
    expect(row.guest! >>> 12).toBe(0x100);
    expect(['mapped', 'read-only-not-dirty', 'not-faulted']).toContain(row.note);
    if (row.note !== 'not-faulted') expect(row.shadow >>> 12).toBe(0x100);
    // Every read-only-not-dirty row really is writable-but-clean in the guest and read-only in the shadow.
    for (const r of drill.ptes!.rows.filter((x) => x.note === 'read-only-not-dirty')) {
      expect(r.guest! & 0x42).toBe(0x02);
      expect(r.shadow & 0x2).toBe(0);
    }
    const empty = lg.state.pgdirs.findIndex((s) => s === null);
    if (empty >= 0) expect(() => inspectPageTables(lg, empty)).toThrow(/is empty/);
  });

  it('counters: at least one LGUEST_INIT hypercall, page-fault exits split into fixes and reflections', () => {
    const c = inspectCounters(lg);
    const init = c.hypercalls.find((h) => h.name === 'LGUEST_INIT')!;
    expect(init).toMatchObject({ number: 1 });
    expect(init.count).toBeGreaterThanOrEqual(1);
    const pf = c.exits.find((e) => e.number === 14)!;
    expect(pf.name).toBe('#PF page fault');
    expect(c.demandPageFixes).toBeGreaterThan(0);
    expect(c.demandPageFixes + c.pageFaultsReflected).toBe(pf.count);
    expect(c.instructionCount).toBe(lg.cpu.instructionCount);
    expect(c.exits.find((e) => e.number === 0x1f)!.name).toBe('hypercall (int $0x1f)');
    expect(c.hostFramesInUse).toBe(lg.mem.hostFramesInUse);
  });

  it('answerInspect dispatches every kind and the answers survive structured cloning', () => {
    for (const q of [
      { kind: 'registers' },
      { kind: 'descriptors' },
      { kind: 'pagetables' },
      { kind: 'counters' },
      { kind: 'memory', space: 'shadow-virtual', address: 0xc0100000, length: 64 },
    ] as const) {
      const r = answerInspect(guest, q);
      expect(structuredClone(r)).toEqual(r);
    }
  });
});
