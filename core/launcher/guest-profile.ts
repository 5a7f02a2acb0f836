// The guest profiler's results: samples of EIP/CPL/CR3 (core/host/guest-sampler.ts) grouped by
// kernel symbol when the machine has symbols, else by 256-byte address range, kernel and user
// apart (user code by address space), as a top-N table and as a speedscope file.

import type { GuestSample } from '../host/guest-sampler';
import type { SymbolTable } from './symbol-table';

/** Bytes per bucket where no symbol names the code. */
export const RANGE_BYTES = 256;

export type ProfileMode = 'kernel' | 'user';

/** One place the guest was found, with how often. */
export interface ProfileRow {
  mode: ProfileMode;
  /** A symbol ("cmd_bench") or an address range ("0x08048100-0x080481ff"). */
  name: string;
  /** Start of the symbol or range. */
  address: number;
  /** For user code: the guest page directory (address space) it ran in. */
  cr3: number | null;
  samples: number;
  /** samples / all samples, 0..1. */
  share: number;
}

export interface GuestProfile {
  /** Guest instructions between samples. */
  interval: number;
  samples: number;
  kernelSamples: number;
  userSamples: number;
  /** Whether kernel code was named by symbols. */
  symbols: boolean;
  /** Most frequent first. */
  rows: ProfileRow[];
}

function hex8(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** Where a sample was: its row key parts. */
function placeOf(s: GuestSample, symbols: SymbolTable | null): Omit<ProfileRow, 'samples' | 'share'> {
  const mode: ProfileMode = s.cpl === 3 ? 'user' : 'kernel';
  const sym = mode === 'kernel' && symbols ? symbols.lookup(s.eip) : null;
  if (sym) return { mode, name: sym.name, address: sym.address, cr3: null };
  const start = (s.eip - (s.eip % RANGE_BYTES)) >>> 0;
  return {
    mode,
    name: `${hex8(start)}-${hex8(start + RANGE_BYTES - 1)}`,
    address: start,
    cr3: mode === 'user' ? s.cr3 : null,
  };
}

/** The samples grouped into rows, most frequent first (ties by address); at most `top` rows. */
export function aggregateProfile(
  samples: readonly GuestSample[],
  symbols: SymbolTable | null,
  interval: number,
  top = 50,
): GuestProfile {
  const rows = new Map<string, ProfileRow>();
  let user = 0;
  for (const s of samples) {
    const place = placeOf(s, symbols);
    if (place.mode === 'user') user++;
    const key = `${place.mode} ${place.cr3 ?? ''} ${place.name}`;
    const row = rows.get(key);
    if (row) row.samples++;
    else rows.set(key, { ...place, samples: 1, share: 0 });
  }
  const sorted = [...rows.values()].sort((a, b) => b.samples - a.samples || a.address - b.address);
  for (const r of sorted) r.share = samples.length ? r.samples / samples.length : 0;
  return {
    interval,
    samples: samples.length,
    kernelSamples: samples.length - user,
    userSamples: user,
    symbols: symbols !== null && symbols.size > 0,
    rows: sorted.slice(0, top),
  };
}

/** speedscope's file format (the parts a sampled profile uses). */
export interface SpeedscopeFile {
  $schema: 'https://www.speedscope.app/file-format-schema.json';
  exporter: string;
  name: string;
  activeProfileIndex: number;
  shared: { frames: { name: string }[] };
  profiles: {
    type: 'sampled';
    name: string;
    unit: 'none';
    startValue: number;
    endValue: number;
    samples: number[][];
    weights: number[];
  }[];
}

/**
 * The samples as a speedscope sampled profile: each sample's stack is its mode ("kernel" or
 * "user"), for user code the address space, then the symbol or range; weights are instructions.
 */
export function speedscopeProfile(
  samples: readonly GuestSample[],
  symbols: SymbolTable | null,
  interval: number,
  name: string,
): SpeedscopeFile {
  const frames: { name: string }[] = [];
  const index = new Map<string, number>();
  const frame = (n: string): number => {
    let i = index.get(n);
    if (i === undefined) {
      i = frames.length;
      frames.push({ name: n });
      index.set(n, i);
    }
    return i;
  };
  const stacks = samples.map((s) => {
    const p = placeOf(s, symbols);
    const stack = [frame(p.mode)];
    if (p.cr3 !== null) stack.push(frame(`address space ${hex8(p.cr3)}`));
    stack.push(frame(p.name));
    return stack;
  });
  return {
    $schema: 'https://www.speedscope.app/file-format-schema.json',
    exporter: 'lguest workbench',
    name,
    activeProfileIndex: 0,
    shared: { frames },
    profiles: [
      {
        type: 'sampled',
        name,
        unit: 'none',
        startValue: 0,
        endValue: samples.length * interval,
        samples: stacks,
        weights: samples.map(() => interval),
      },
    ],
  };
}
