// A minimal Launcher for the host's tests: guest memory with a device page, the linear initial
// page tables of the 2.6.23 Launcher (PO+x -> x, flags 7), an image at GPA 0x100000 and
// LHREQ_INITIALIZE. (The real Launcher is core/launcher; this one only serves host tests.)

import { PhysicalMemory } from '../cpu/memory';
import type { SharedPageMapping } from './api';
import { LguestHost, type CpuFactory, type LguestFileImpl } from './lguest-user';
import type { Lguest } from './lg';

export const TEST_PAGE_OFFSET = 0xc0000000;
export const TEST_LOAD_GPA = 0x100000;

export interface TestGuestOptions {
  createCpu?: CpuFactory;
  host?: LguestHost;
  /** RAM bytes (default 4 MiB); one device page follows it, so pfn_limit = ram/4096 + 1. */
  ramBytes?: number;
  pageOffset?: number;
  image?: Uint8Array;
  sharedPages?: SharedPageMapping[];
  bootEpochSeconds?: number;
  /** Guest RAM in a SharedArrayBuffer, as for a guest other threads' Guests can DMA into. */
  sharedRam?: boolean;
}

export interface TestGuest {
  host: LguestHost;
  file: LguestFileImpl;
  mem: PhysicalMemory;
  lg: Lguest;
  pgdir: number;
  pfnLimit: number;
  ramBytes: number;
  pageOffset: number;
  start: number;
}

/** Build the Launcher's initial page tables below the top of RAM; returns the pgdir GPA. */
export function buildInitialPageTables(mem: PhysicalMemory, ramBytes: number, pageOffset: number): number {
  const mapped = Math.min(ramBytes, 2 ** 32 - pageOffset) / 4096;
  const ptePages = Math.ceil(mapped / 1024);
  const pgdir = ramBytes - 4096;
  const ptes = pgdir - ptePages * 4096;
  for (let i = 0; i < mapped; i++) mem.writeU32(ptes + 4 * i, (i * 4096) | 7);
  for (let i = 0; i < mapped; i += 1024) {
    mem.writeU32(pgdir + 4 * ((i + pageOffset / 4096) / 1024), (ptes + 4 * i) | 7);
  }
  return pgdir;
}

export function launchTestGuest(opts: TestGuestOptions): TestGuest {
  const ramBytes = opts.ramBytes ?? 0x400000;
  const pageOffset = opts.pageOffset ?? TEST_PAGE_OFFSET;
  const host = opts.host ?? new LguestHost(opts.createCpu ?? noCpu);
  const mem = new PhysicalMemory(ramBytes + 4096, opts.sharedRam === true);
  if (opts.image) mem.ram.set(opts.image, TEST_LOAD_GPA);
  const pgdir = buildInitialPageTables(mem, ramBytes, pageOffset);
  const pfnLimit = ramBytes / 4096 + 1;
  const file = host.open();
  const start = (pageOffset + TEST_LOAD_GPA) >>> 0;
  const r = file.initialize({
    memory: mem,
    pfnLimit,
    pgdir,
    start,
    pageOffset,
    sharedPages: opts.sharedPages,
    bootEpochSeconds: opts.bootEpochSeconds,
  });
  if (r !== 16) throw new Error(`initialize failed: ${r}`);
  return { host, file, mem, lg: file.guest!, pgdir, pfnLimit, ramBytes, pageOffset, start };
}

function noCpu(): never {
  throw new Error('no CPU factory given');
}
