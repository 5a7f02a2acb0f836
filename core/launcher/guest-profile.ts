// The guest profiler's results: samples of EIP/CPL/CR3 (core/host/guest-sampler.ts) grouped by
// symbol where the machine has symbols (the kernel's, and a user program's when the sample's
// program was recognised), else by 256-byte address range, kernel and user apart (user code by
// address space), as a top-N table and as a speedscope file.

import type { GuestSample } from '../host/guest-sampler';
import type { SymbolTable } from './symbol-table';
import type { UserProgram } from './user-program-symbols';

/** What names the places samples fall in. */
export interface ProfileNames {
  kernel: SymbolTable | null;
  /** The user programs, indexed as the samples' `program` numbers them. */
  programs: readonly UserProgram[];
}

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
  /** For user code: the user program it ran in, when recognised (its symbols name the row). */
  program: string | null;
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
  /** The user programs whose code is named by their symbols (when recognised in a sample). */
  programs: string[];
  /** Most frequent first. */
  rows: ProfileRow[];
}

function hex8(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** Where a sample was: its row key parts. */
function placeOf(s: GuestSample, names: ProfileNames): Omit<ProfileRow, 'samples' | 'share'> {
  const mode: ProfileMode = s.cpl === 3 ? 'user' : 'kernel';
  const program = mode === 'user' ? (names.programs[s.program] ?? null) : null;
  const table = mode === 'kernel' ? names.kernel : (program?.symbols ?? null);
  const sym = table ? table.lookup(s.eip) : null;
  const where = { mode, cr3: mode === 'user' ? s.cr3 : null, program: program?.name ?? null };
  if (sym) return { ...where, name: sym.name, address: sym.address };
  const start = (s.eip - (s.eip % RANGE_BYTES)) >>> 0;
  return { ...where, name: `${hex8(start)}-${hex8(start + RANGE_BYTES - 1)}`, address: start };
}

/** The samples grouped into rows, most frequent first (ties by address); at most `top` rows. */
export function aggregateProfile(
  samples: readonly GuestSample[],
  names: ProfileNames,
  interval: number,
  top = 50,
): GuestProfile {
  const rows = new Map<string, ProfileRow>();
  let user = 0;
  for (const s of samples) {
    const place = placeOf(s, names);
    if (place.mode === 'user') user++;
    const key = `${place.mode} ${place.cr3 ?? ''} ${place.program ?? ''} ${place.name}`;
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
    symbols: names.kernel !== null && names.kernel.size > 0,
    programs: names.programs.map((p) => p.name),
    rows: sorted.slice(0, top),
  };
}

/** "address space 0x00123000", or "bench (address space 0x00123000)" when the program is known. */
function addressSpaceLabel(cr3: number, program: string | null): string {
  const space = `address space ${hex8(cr3)}`;
  return program === null ? space : `${program} (${space})`;
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
 * "user"), for user code the address space (and program), then the symbol or range; weights are
 * instructions.
 */
export function speedscopeProfile(
  samples: readonly GuestSample[],
  names: ProfileNames,
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
    const p = placeOf(s, names);
    const stack = [frame(p.mode)];
    if (p.cr3 !== null) stack.push(frame(addressSpaceLabel(p.cr3, p.program)));
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
