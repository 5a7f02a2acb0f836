// Test fixtures: a guest on the scripted FakeCpu, with a 2.6.23-style lguest_data in its memory.

import { LD_HCALL_STATUS } from '../constants';
import { FakeCpu } from './fake-cpu';
import { launchTestGuest, type TestGuest, type TestGuestOptions } from '../test-launcher';
import { LguestHost } from '../lguest-user';

export const LGUEST_DATA_GPA = 0x2000;

export interface FakeGuest extends TestGuest {
  cpu: FakeCpu;
}

export function fakeHost(): LguestHost {
  return new LguestHost((mem, owner) => new FakeCpu(mem, owner));
}

export function fakeGuest(opts: Omit<TestGuestOptions, 'createCpu'> = {}): FakeGuest {
  const g = launchTestGuest({ ...opts, host: opts.host ?? fakeHost() });
  // The Guest image initialises the ring status bytes to 0xFF (empty).
  g.mem.ram.fill(0xff, LGUEST_DATA_GPA + LD_HCALL_STATUS, LGUEST_DATA_GPA + LD_HCALL_STATUS + 64);
  return { ...g, cpu: g.lg.cpu as FakeCpu };
}

/** Script LGUEST_INIT and run it; returns the guest. */
export function initedFakeGuest(opts: Omit<TestGuestOptions, 'createCpu'> = {}): FakeGuest {
  const g = fakeGuest(opts);
  g.cpu.hypercall(1, LGUEST_DATA_GPA);
  g.file.run({ budget: 1 });
  return g;
}

/** Writes a struct lguest_dma at `at`: used_len, then (addr, len) sections. */
export function writeDma(g: TestGuest, at: number, sections: [number, number][], used = 0): void {
  g.mem.ram.fill(0, at, at + 100);
  g.mem.ramView.setUint32(at, used, true);
  sections.forEach(([addr, len], i) => {
    g.mem.ramView.setUint32(at + 4 + i * 4, addr, true);
    g.mem.ramView.setUint16(at + 68 + i * 2, len, true);
  });
}
