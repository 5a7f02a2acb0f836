// The counters `lguest --verbose` prints: found on the real host's file (its guest's state).
import { describe, expect, it } from 'vitest';
import { emptyStats } from '../host/lg';
import { LguestHost } from '../host/lguest-user';
import { exitStatsOf, formatExitStats } from './exit-stats';
import { ScriptedLguestFile } from './test-lguest-file';

describe('exitStatsOf', () => {
  it('reads the real host file structurally, and has nothing before INITIALIZE or on a test double', () => {
    const file = new LguestHost().open();
    expect(exitStatsOf(file)).toBeNull();
    expect(exitStatsOf(new ScriptedLguestFile())).toBeNull();
  });

  it('formats exits, hypercalls and interrupts, skipping zero counts', () => {
    const stats = emptyStats();
    stats.exits[13] = 2;
    stats.exits[256] = 1;
    stats.exits[40] = 4;
    stats.hypercalls[1] = 1;
    stats.hypercalls[17] = 3;
    const lines = formatExitStats(stats);
    expect(lines).toEqual([
      'exits: #GP 2, trap 40 4, entry failed 1, time slice/clock 0',
      'hypercalls (sync and async): LGUEST_INIT 1, bad 3',
      'interrupts injected: none; traps reflected 0',
    ]);
  });
});
