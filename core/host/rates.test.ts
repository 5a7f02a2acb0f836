// Counter rates between two readings: per-second figures, sync and ring hypercalls apart.

import { describe, expect, it } from 'vitest';
import { emptyRingCounts, emptyStats } from './lg';
import { counterRates, readCounters } from './rates';

describe('counterRates', () => {
  it('turns two readings half a second apart into per-second figures', () => {
    const s = emptyStats();
    const ring = emptyRingCounts();
    const a = readCounters(s, ring, 1000, 10_000);
    s.exits[14] = 50;
    s.exits[31] = 20;
    s.budgetExits = 3;
    s.demandPageFixes = 40;
    s.hypercalls[13] = 12;
    ring[13] = 2;
    s.hypercalls[14] = 8;
    ring[14] = 8;
    s.irqsInjected[0] = 5;
    s.irqsInjected[3] = 1;
    const b = readCounters(s, ring, 2_001_000, 10_500);
    const r = counterRates(a, b);
    expect(r.seconds).toBe(0.5);
    expect(r.instructionsPerSecond).toBe(4_000_000);
    expect(r.exitsPerSecond).toEqual({ 14: 100 }); // hypercall exits are counted by number
    expect(r.sliceExitsPerSecond).toBe(6);
    expect(r.hypercallsPerSecond.sync[13]).toBe(20);
    expect(r.hypercallsPerSecond.ring[13]).toBe(4);
    expect(r.hypercallsPerSecond.sync[14]).toBe(0);
    expect(r.hypercallsPerSecond.ring[14]).toBe(16);
    expect(r.irqsPerSecond).toBe(12);
    expect(r.pageFaultsPerSecond).toBe(100);
    expect(r.demandPagedPerSecond).toBe(80);
  });

  it('copies the counters it reads, and an empty interval gives zeros', () => {
    const s = emptyStats();
    const ring = emptyRingCounts();
    const a = readCounters(s, ring, 0, 5);
    s.exits[13] = 7;
    ring[2] = 1;
    expect(a.stats.exits[13]).toBe(0);
    expect(a.ring[2]).toBe(0);
    const r = counterRates(a, readCounters(s, ring, 100, 5));
    expect(r.instructionsPerSecond).toBe(0);
    expect(r.exitsPerSecond).toEqual({});
  });
});
