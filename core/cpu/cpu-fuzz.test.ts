// Robustness: random instruction bytes at CPL 1 and 3 must only ever end in an exit or the
// budget (never a JavaScript exception), and must run deterministically.

import { describe, expect, test } from 'vitest';
import { CODE, makeMachine, rng } from './test-machine';

describe('random instruction streams', () => {
  for (const cpl of [1, 3] as const) {
    test(`CPL ${cpl}: every run ends in an exit or the budget, identically twice`, () => {
      const next = rng(0x1234 + cpl);
      let exits = 0;
      for (let n = 0; n < 800; n++) {
        const bytes = Array.from({ length: 24 }, () => next() & 0xff);
        const regs = Array.from({ length: 8 }, () => (next() & 1 ? next() : next() & 0x3ffff));
        const outcome = (): unknown => {
          const m = makeMachine({ cpl });
          m.load(CODE, bytes);
          regs.forEach((v, r) => r !== 4 && m.cpu.setReg(r as 0, v));
          const r = m.cpu.run(40);
          return { r, s: m.cpu.exportState() };
        };
        const a = outcome() as { r: { kind: string } };
        expect(['exit', 'budget']).toContain(a.r.kind);
        if (a.r.kind === 'exit') exits++;
        if (n % 50 === 0) expect(outcome()).toEqual(a);
      }
      expect(exits).toBeGreaterThan(50);
    });
  }
});
