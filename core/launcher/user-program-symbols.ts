// The symbols of a guest's user programs, for the profiler: one map per program in a
// `user-symbols` directory beside the kernel (assets/guests/demo/build.sh writes the demo's), and
// which of those programs an address space runs, told by the bytes each program starts with.
//
// A map is a System.map ("08048060 T main") whose first lines are comments, one of them
//   # signature 08048000 44454d4f...
// : the guest-virtual address where the program's first bytes lie once loaded, and those bytes.

import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { LHCALL_NEW_PGTABLE } from '../host/constants';
import { guestTranslate } from '../host/inspect';
import type { Lguest } from '../host/lg';
import { resolveGuestFile } from './kernel-path';
import { systemMapSymbols, type SymbolTable } from './symbol-table';

export interface UserProgram {
  name: string;
  symbols: SymbolTable;
  /** Where the program's first bytes lie in an address space that runs it, and those bytes. */
  signature: { address: number; bytes: Uint8Array };
}

/** Longest signature read (a sample reads it from guest memory). */
const MAX_SIGNATURE_BYTES = 256;
/** The most maps read from one directory. */
const MAX_PROGRAMS = 256;
const MAP_SUFFIX = '.map';

/** Program `name`'s map; throws naming what is wrong when it has no valid signature or no symbols. */
export function parseUserProgramMap(name: string, text: string): UserProgram {
  const line = text.split('\n').find((l) => l.startsWith('# signature'));
  if (line === undefined) throw new Error(`user program map ${name}: no "# signature ADDRESS HEX" line`);
  const m = /^# signature ([0-9a-fA-F]{1,8}) ((?:[0-9a-fA-F]{2})+)\s*$/.exec(line);
  if (!m || m[2]!.length / 2 > MAX_SIGNATURE_BYTES)
    throw new Error(
      `user program map ${name}: bad signature line "${line}" (want an 8-digit hex address and 1 to ${MAX_SIGNATURE_BYTES} hex bytes)`,
    );
  const hex = m[2]!;
  const bytes = new Uint8Array(hex.length / 2);
  for (let i = 0; i < bytes.length; i++) bytes[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  const symbols = systemMapSymbols(text);
  if (symbols.size === 0) throw new Error(`user program map ${name}: no symbols`);
  return { name, symbols, signature: { address: parseInt(m[1]!, 16) >>> 0, bytes } };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** A machine's user program maps: the programs they name, and why the others were left out. */
export interface UserProgramMaps {
  programs: UserProgram[];
  problems: string[];
}

/**
 * The user programs whose maps lie in `user-symbols/` beside the machine's kernel, by name. Maps
 * that cannot be read or parsed are left out and reported in `problems`, as are programs whose
 * signatures are the same as another's (no sample could tell them apart). Never rejects.
 */
export async function userProgramSymbols(kernel: string, baseDir?: string): Promise<UserProgramMaps> {
  let dir: string;
  let files: string[];
  try {
    dir = join(dirname(resolveGuestFile(kernel, baseDir)), 'user-symbols');
    files = (await readdir(dir)).filter((f) => f.endsWith(MAP_SUFFIX)).sort();
  } catch {
    return { programs: [], problems: [] };
  }
  const problems: string[] = [];
  if (files.length > MAX_PROGRAMS) {
    problems.push(`${dir}: ${files.length} maps, only the first ${MAX_PROGRAMS} are read`);
    files = files.slice(0, MAX_PROGRAMS);
  }
  const parsed: UserProgram[] = [];
  for (const f of files) {
    const name = basename(f, MAP_SUFFIX);
    try {
      parsed.push(parseUserProgramMap(name, await readFile(join(dir, f), 'latin1')));
    } catch (e) {
      problems.push(e instanceof Error ? e.message : String(e));
    }
  }
  const programs = parsed.filter((p) => {
    const twin = parsed.find(
      (q) => q !== p && q.signature.address === p.signature.address && sameBytes(q.signature.bytes, p.signature.bytes),
    );
    if (twin) problems.push(`user program map ${p.name}: same signature as ${twin.name}; neither is named`);
    return !twin;
  });
  return { programs, problems };
}

/**
 * Which of `programs` the address space being run holds: the index of the first whose signature
 * is in memory there, else -1. `matches(address, bytes)` says whether guest-virtual `address`
 * holds `bytes`. `likely` (a previous answer) is checked first: a sampler asks again and again
 * while one program runs, and each check costs a page walk and a compare.
 */
export function recognizeProgram(
  programs: readonly UserProgram[],
  matches: (address: number, bytes: Uint8Array) => boolean,
  likely = -1,
): number {
  const guess = programs[likely];
  if (guess && matches(guess.signature.address, guess.signature.bytes)) return likely;
  for (let i = 0; i < programs.length; i++) {
    const sig = programs[i]!.signature;
    if (i !== likely && matches(sig.address, sig.bytes)) return i;
  }
  return -1;
}

/**
 * Whether guest-virtual `address`, in the address space the guest runs now (through its own page
 * tables, never the CPU's TLB), holds `bytes`; false where any of them is unmapped. Reads in
 * place: no copy.
 */
export function guestHolds(lg: Lguest, address: number, bytes: Uint8Array): boolean {
  const cr3 = lg.state.pgdirs[lg.state.currentPgdir]?.cr3 ?? 0;
  const ram = lg.mem.ram;
  for (let done = 0; done < bytes.length; ) {
    const at = (address + done) >>> 0;
    const phys = guestTranslate(lg, cr3, at).phys;
    const n = Math.min(bytes.length - done, 4096 - (at & 0xfff));
    if (phys === null || !lg.mem.isRam(phys, n)) return false;
    for (let k = 0; k < n; k++) if (ram[phys + k] !== bytes[done + k]) return false;
    done += n;
  }
  return true;
}

/** NEW_PGTABLE hypercalls so far (the count takes in those from the ring): address-space switches. */
function addressSpaceSwitches(lg: Lguest): number {
  return lg.state.stats.hypercalls[LHCALL_NEW_PGTABLE]!;
}

/**
 * Which of a guest's user programs it runs, asked at every user-mode sample: a program once
 * recognised stays the answer until the guest switches address space (NEW_PGTABLE), so a sample
 * costs a page walk and a compare only after a switch (or while nothing is recognised). A guest
 * that loads another program into the address space it runs, without a switch, keeps the old name.
 */
export class RunningProgram {
  private index = -1;
  private cr3 = -1;
  private switches = -1;

  /** `programs`: read at each recognition (they may load after sampling began). */
  constructor(private readonly programs: () => readonly UserProgram[]) {}

  of(lg: Lguest): number {
    const cr3 = lg.state.pgdirs[lg.state.currentPgdir]?.cr3 ?? 0;
    const switches = addressSpaceSwitches(lg);
    if (this.index >= 0 && cr3 === this.cr3 && switches === this.switches) return this.index;
    this.index = recognizeProgram(this.programs(), (va, bytes) => guestHolds(lg, va, bytes), this.index);
    this.cr3 = cr3;
    this.switches = switches;
    return this.index;
  }
}
