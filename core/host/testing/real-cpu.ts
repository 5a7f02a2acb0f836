// Loads the i386 from core/cpu for the guest-program tests, if it is there and loads: the host
// tests that only need host logic run on the FakeCpu and never wait for it.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { PhysicalMemory } from '../../cpu/memory';
import type { Cpu, CpuOwner } from '../../cpu/types';
import type { CpuFactory } from '../lguest-user';

type CpuClass = new (mem: PhysicalMemory, owner: CpuOwner) => Cpu;

export interface RealCpu {
  factory: CpuFactory | null;
  /** Why it is not available (shown by skipped tests). */
  error: string;
}

export async function loadRealCpu(): Promise<RealCpu> {
  const path = '../../cpu/cpu';
  try {
    const mod = (await import(/* @vite-ignore */ path)) as { I386?: CpuClass };
    const I386 = mod.I386;
    if (!I386) return { factory: null, error: 'core/cpu/cpu.ts exports no I386' };
    return { factory: (mem, owner) => new I386(mem, owner), error: '' };
  } catch (e) {
    return { factory: null, error: String(e) };
  }
}

/** The committed image of a test guest. */
export function guestImage(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fileURLToPath(new URL(`../test-guests/${name}.bin`, import.meta.url))));
}
