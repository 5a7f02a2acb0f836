// Shadow page tables (ABI §6): demand faulting with A/D emulation, SET_PTE/SET_PMD/FLUSH_TLB,
// the 4-slot cache, stack pinning, frame accounting, plus a property test that random guest
// page-table edits and hypercalls never give the shadows a translation the guest does not.

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { initedFakeGuest, type FakeGuest } from './testing/fake-guest';
import {
  demandPage,
  guestNewPagetable,
  guestPagetableClearAll,
  guestPagetableFlushUser,
  guestSetPmd,
  guestSetPte,
  shadowPde,
  shadowPte,
} from './page-tables';
import { guestSetStack } from './interrupts-and-traps';
import { SWITCHER_PGD_INDEX } from './constants';

const PO = 0xc0000000;
const rd = (g: FakeGuest, a: number): number => g.mem.ramView.getUint32(a, true);
const wr = (g: FakeGuest, a: number, v: number): void => g.mem.ramView.setUint32(a, v >>> 0, true);
/** GPA of the Launcher-built PTE for kernel va. */
const ptePa = (g: FakeGuest, va: number): number => g.pgdir - 4096 + ((va - PO) >>> 12) * 4;

describe('demandPage', () => {
  it('read fault on a clean page: read-only shadow, A set; the write fault then sets D and RW', () => {
    const g = initedFakeGuest();
    const va = 0xc0050000;
    expect(demandPage(g.lg, va, 0)).toBe(true);
    expect(shadowPte(g.lg, 0, va)).toBe(0x50000 | 0x25);
    expect(rd(g, ptePa(g, va))).toBe(0x50000 | 0x27);
    expect(g.cpu.invalidated).toContain(va);
    expect(demandPage(g.lg, va, 2)).toBe(true);
    expect(shadowPte(g.lg, 0, va)).toBe(0x50000 | 0x67);
    expect(rd(g, ptePa(g, va))).toBe(0x50000 | 0x67);
  });

  it('a PTE already dirty maps writable on a read; G is stripped; PDE flags copied verbatim', () => {
    const g = initedFakeGuest();
    wr(g, ptePa(g, 0xc0051000), 0x51000 | 0x147);
    demandPage(g.lg, 0xc0051000, 0);
    expect(shadowPte(g.lg, 0, 0xc0051000)).toBe(0x51000 | 0x67);
    expect(shadowPde(g.lg, 0, 0xc0051000) & 0xfff).toBe(0x007);
  });

  it("not present, write to read-only and user access to supervisor pages are the guest's faults", () => {
    const g = initedFakeGuest();
    wr(g, ptePa(g, 0xc0052000), 0);
    wr(g, ptePa(g, 0xc0053000), 0x53000 | 0x05);
    wr(g, ptePa(g, 0xc0054000), 0x54000 | 0x03);
    expect(demandPage(g.lg, 0xc0052000, 0)).toBe(false);
    expect(demandPage(g.lg, 0xc0053000, 2)).toBe(false);
    expect(demandPage(g.lg, 0xc0054000, 4)).toBe(false);
    expect(demandPage(g.lg, 0x08048000, 4)).toBe(false); // no Guest PDE
    expect(rd(g, ptePa(g, 0xc0053000))).toBe(0x53000 | 0x05); // A not set on a refused fault
  });
});

describe('SET_PTE, SET_PMD, FLUSH_TLB, NEW_PGTABLE', () => {
  function twoDirs(): { g: FakeGuest; dir2: number } {
    const g = initedFakeGuest();
    const dir2 = 0x60000;
    // A second directory sharing the kernel PDE, with its own user mapping at 0x08048000.
    wr(g, dir2 + 0x300 * 4, rd(g, g.pgdir + 0x300 * 4));
    wr(g, dir2 + 0x20 * 4, 0x61000 | 0x67);
    wr(g, 0x61000 + 0x48 * 4, 0x62000 | 0x07);
    wr(g, g.pgdir + 0x20 * 4, 0x63000 | 0x67);
    wr(g, 0x63000 + 0x48 * 4, 0x64000 | 0x07);
    return { g, dir2 };
  }

  it('kernel SET_PTE updates every cached shadow; prefill only with A or D set', () => {
    const { g, dir2 } = twoDirs();
    demandPage(g.lg, 0xc0055000, 0);
    guestNewPagetable(g.lg, dir2);
    demandPage(g.lg, 0xc0055000, 0);
    guestSetPte(g.lg, g.pgdir, 0xc0055000, 0x56000 | 0x27);
    expect(shadowPte(g.lg, 0, 0xc0055000)).toBe(0x56000 | 0x27);
    expect(shadowPte(g.lg, 1, 0xc0055000)).toBe(0x56000 | 0x27); // RW kept although D is clear (reference quirk)
    guestSetPte(g.lg, g.pgdir, 0xc0055000, 0x57000 | 0x07);
    expect(shadowPte(g.lg, 0, 0xc0055000)).toBe(0);
    expect(shadowPte(g.lg, 1, 0xc0055000)).toBe(0);
  });

  it('user SET_PTE only touches the slot whose cr3 matches; non-present PROT_NONE is not a kill', () => {
    const { g, dir2 } = twoDirs();
    demandPage(g.lg, 0x08048000, 4);
    guestNewPagetable(g.lg, dir2);
    demandPage(g.lg, 0x08048000, 4);
    guestSetPte(g.lg, dir2, 0x08048000, 0x65000 | 0x25);
    expect(shadowPte(g.lg, 1, 0x08048000)).toBe(0x65000 | 0x25);
    expect(shadowPte(g.lg, 0, 0x08048000)).toBe(0x64000 | 0x25);
    guestSetPte(g.lg, dir2, 0x08048000, 0x0a0);
    expect(g.lg.state.dead).toBeNull();
  });

  it('SET_PMD drops one PDE of the matching slot only; index >= 1023 ignored', () => {
    const { g, dir2 } = twoDirs();
    demandPage(g.lg, 0xc0055000, 0);
    guestNewPagetable(g.lg, dir2);
    demandPage(g.lg, 0xc0055000, 0);
    guestSetPmd(g.lg, dir2, 0x300);
    expect(shadowPde(g.lg, 1, 0xc0055000)).toBe(0);
    expect(shadowPde(g.lg, 0, 0xc0055000) & 1).toBe(1);
    guestSetPmd(g.lg, g.pgdir, 1023);
    expect(shadowPde(g.lg, 0, 0xffc00000) & 1).toBe(1);
  });

  it('FLUSH_TLB(0) drops the current user PDEs; FLUSH_TLB(1) drops 0..1022 everywhere and re-pins', () => {
    const { g, dir2 } = twoDirs();
    demandPage(g.lg, 0x08048000, 4);
    demandPage(g.lg, 0xc0055000, 0);
    guestSetStack(g.lg, 0x69, 0xc0009000, 1);
    guestPagetableFlushUser(g.lg);
    expect(shadowPde(g.lg, 0, 0x08048000)).toBe(0);
    expect(shadowPde(g.lg, 0, 0xc0055000) & 1).toBe(1);
    guestNewPagetable(g.lg, dir2);
    demandPage(g.lg, 0xc0055000, 0);
    guestPagetableClearAll(g.lg);
    expect(shadowPte(g.lg, 0, 0xc0055000)).toBe(0);
    expect(shadowPte(g.lg, 1, 0xc0055000)).toBe(0);
    expect(shadowPte(g.lg, 1, 0xc0008fff) & 3).toBe(3); // the stack is pinned again in the current slot
    expect(shadowPde(g.lg, 0, 0xffc00000) & 1).toBe(1);
  });

  it('NEW_PGTABLE: 4 slots; a recycled slot (least recently used) loses user PDEs, keeps kernel ones', () => {
    const g = initedFakeGuest();
    const dirs = [g.pgdir, 0x60000, 0x70000, 0x71000, 0x72000];
    for (const d of dirs.slice(1)) wr(g, d + 0x300 * 4, rd(g, g.pgdir + 0x300 * 4));
    demandPage(g.lg, 0xc0055000, 0);
    for (const d of dirs.slice(1, 4)) guestNewPagetable(g.lg, d);
    expect(g.lg.state.pgdirs.map((s) => s?.cr3)).toEqual(dirs.slice(0, 4));
    guestNewPagetable(g.lg, g.pgdir); // slot 0 is now the most recent
    guestNewPagetable(g.lg, dirs[4]!); // evicts slot 1 (0x60000), the least recently used
    expect(g.lg.state.pgdirs.map((s) => s?.cr3)).toEqual([g.pgdir, dirs[4], dirs[2], dirs[3]]);
    expect(g.lg.state.currentPgdir).toBe(1);
  });

  it('a fresh slot pins the kernel stack; switching to a cached slot flushes nothing', () => {
    const g = initedFakeGuest();
    guestSetStack(g.lg, 0x69, 0xc0009000, 2);
    wr(g, 0x60000 + 0x300 * 4, rd(g, g.pgdir + 0x300 * 4));
    guestNewPagetable(g.lg, 0x60000);
    expect(shadowPte(g.lg, 1, 0xc0008fff) & 3).toBe(3);
    expect(shadowPte(g.lg, 1, 0xc0007fff) & 3).toBe(3);
    demandPage(g.lg, 0xc0055000, 0);
    guestNewPagetable(g.lg, g.pgdir);
    guestNewPagetable(g.lg, 0x60000);
    expect(shadowPte(g.lg, 1, 0xc0055000)).not.toBe(0);
  });

  it('shadow PTE pages go back to memory when dropped, and everything on close()', () => {
    const g = initedFakeGuest();
    const base = g.mem.hostFramesInUse;
    demandPage(g.lg, 0xc0055000, 0);
    demandPage(g.lg, 0xc0056000, 0); // same PTE page
    expect(g.mem.hostFramesInUse).toBe(base + 1);
    guestPagetableClearAll(g.lg);
    expect(g.mem.hostFramesInUse).toBe(base);
    g.file.close();
    expect(g.mem.hostFramesInUse).toBe(0);
  });
});

describe('property: shadows never exceed what the guest tables permit', () => {
  // Guest layout: three page directories sharing the kernel PDE (0x300 -> PTE page 0x30000);
  // user PDEs 0 and 1 of directory d point at PTE pages 0x20000 + 0x2000*d + 0x1000*idx.
  const DIRS = [0x10000, 0x11000, 0x12000];
  const KPTE = 0x30000;
  const upte = (d: number, idx: number): number => 0x20000 + 0x2000 * d + 0x1000 * idx;
  const flagSet = [
    0x007, 0x005, 0x003, 0x001, 0x025, 0x021, 0x027, 0x067, 0x047, 0x167, 0x065, 0x045, 0x000, 0x0a0, 0x017, 0x00f,
    0x087,
  ];
  const pdeFlagSet = [0x067, 0x007, 0x005, 0x003, 0x027, 0x001, 0x000, 0x077, 0x0e7];

  type Op =
    | { k: 'pte'; d: number; where: number; i: number; pfn: number; f: number }
    | { k: 'pde'; d: number; where: number; f: number; pfnBad: boolean }
    | { k: 'fault'; where: number; i: number; err: number }
    | { k: 'switch'; d: number }
    | { k: 'flush'; all: boolean }
    | { k: 'stack'; i: number }
    | { k: 'switcher'; i: number };

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      arbitrary: fc.record({
        k: fc.constant('pte' as const),
        d: fc.nat(2),
        where: fc.nat(2),
        i: fc.nat(3),
        pfn: fc.oneof(fc.nat(0xff), fc.integer({ min: 0xfe, max: 0x104 })),
        f: fc.constantFrom(...flagSet),
      }),
      weight: 4,
    },
    {
      arbitrary: fc.record({
        k: fc.constant('pde' as const),
        d: fc.nat(2),
        where: fc.nat(2),
        f: fc.constantFrom(...pdeFlagSet),
        pfnBad: fc.nat(15).map((x) => x === 0),
      }),
      weight: 1,
    },
    {
      arbitrary: fc.record({
        k: fc.constant('fault' as const),
        where: fc.nat(2),
        i: fc.nat(3),
        err: fc.constantFrom(0, 2, 4, 6, 1, 3, 5, 7),
      }),
      weight: 6,
    },
    { arbitrary: fc.record({ k: fc.constant('switch' as const), d: fc.nat(2) }), weight: 2 },
    { arbitrary: fc.record({ k: fc.constant('flush' as const), all: fc.boolean() }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('stack' as const), i: fc.nat(3) }), weight: 1 },
    { arbitrary: fc.record({ k: fc.constant('switcher' as const), i: fc.nat(1023) }), weight: 1 },
  );

  const vaOf = (where: number, i: number): number => (where === 2 ? PO + i * 4096 : (where << 22) + i * 4096) >>> 0;

  it('holds for random edit/hypercall sequences', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const g = initedFakeGuest({ ramBytes: 0x100000 });
        const lg = g.lg;
        const pfnLimit = lg.state.pfnLimit;
        // Build the three directories.
        for (let d = 0; d < 3; d++) {
          g.mem.ram.fill(0, DIRS[d]!, DIRS[d]! + 4096);
          wr(g, DIRS[d]! + 0x300 * 4, KPTE | 0x067);
          wr(g, DIRS[d]! + 0 * 4, upte(d, 0) | 0x067);
          wr(g, DIRS[d]! + 1 * 4, upte(d, 1) | 0x067);
        }
        for (let i = 0; i < 8; i++) wr(g, KPTE + i * 4, ((0x40 + i) * 4096) | 0x003);
        guestNewPagetable(lg, DIRS[0]!);
        const dirOfSlot = (cr3: number): number => DIRS.indexOf(cr3);
        for (const op of ops) {
          if (lg.state.dead !== null) break;
          const curDir = dirOfSlot(lg.state.pgdirs[lg.state.currentPgdir]!.cr3);
          switch (op.k) {
            case 'pte': {
              const va = vaOf(op.where, op.i);
              const page = op.where === 2 ? KPTE : upte(op.d, op.where);
              const val = ((op.pfn << 12) | op.f) >>> 0;
              wr(g, page + op.i * 4, val);
              guestSetPte(lg, DIRS[op.d]!, va, val);
              break;
            }
            case 'pde': {
              const idxs = op.where === 2 ? [0, 1, 2] : [op.d];
              const pdeIdx = op.where === 2 ? 0x300 : op.where;
              for (const d of idxs) {
                const target = op.pfnBad ? 0x200000 : op.where === 2 ? KPTE : upte(d, op.where);
                wr(g, DIRS[d]! + pdeIdx * 4, (target | op.f) >>> 0);
                guestSetPmd(lg, DIRS[d]!, pdeIdx);
              }
              break;
            }
            case 'fault':
              demandPage(lg, vaOf(op.where, op.i), op.err);
              break;
            case 'switch':
              guestNewPagetable(lg, DIRS[op.d]!);
              break;
            case 'flush':
              if (op.all) guestPagetableClearAll(lg);
              else guestPagetableFlushUser(lg);
              break;
            case 'stack':
              guestSetStack(lg, 0x69, PO + (op.i + 1) * 4096, 1);
              break;
            case 'switcher':
              guestSetPte(lg, DIRS[curDir]!, (0xffc00000 + op.i * 4096) >>> 0, 0x5027);
              break;
          }
        }
        // The invariant, over every cached slot.
        lg.state.pgdirs.forEach((slot, s) => {
          if (!slot) return;
          const dir = g.mem.hostFrameWords(slot.pgdir);
          for (let idx = 0; idx < 1024; idx++) {
            const spde = dir[idx]! >>> 0;
            if (!(spde & 1)) continue;
            if (idx === SWITCHER_PGD_INDEX) {
              // Only the Switcher's own page table, supervisor-only.
              expect(spde).toBe((lg.state.switcherPte | 0x63) >>> 0);
              const sw = g.mem.hostFrameWords(lg.state.switcherPte);
              for (let i = 0; i < 1024; i++) expect(sw[i]! & 4).toBe(0);
              continue;
            }
            // Once the guest is dead its last edit was refused, so only the safety checks apply.
            const alive = lg.state.dead === null;
            const gpde = rd(g, slot.cr3 + idx * 4);
            if (alive) expect(gpde & 1).toBe(1);
            if (alive && spde & 4) expect(gpde & 4).toBe(4);
            if (alive && spde & 2) expect(gpde & 2).toBe(2);
            const ptes = g.mem.hostFrameWords((spde & 0xfffff000) >>> 0);
            for (let i = 0; i < 1024; i++) {
              const spte = ptes[i]! >>> 0;
              if (!(spte & 1)) continue;
              expect(spte >>> 12).toBeLessThan(pfnLimit);
              expect(spte & 0x188).toBe(0); // no G, PSE or PWT
              if (!alive) continue;
              const gpte = rd(g, (gpde & 0xfffff000) + i * 4);
              expect(gpte & 1).toBe(1);
              expect(spte >>> 12).toBe(gpte >>> 12);
              if (spte & 2) expect(gpte & 2).toBe(2);
              if (spte & 4) expect(gpte & 4).toBe(4);
            }
          }
          void s;
        });
        g.file.close();
        expect(g.mem.hostFramesInUse).toBe(0);
      }),
      { numRuns: 200 },
    );
  });
});
