// The symbols of a guest's user programs, for the profiler: one map per program in a
// `user-symbols` directory beside the kernel (assets/guests/demo/build.sh writes the demo's), and
// which of those programs an address space runs, told by the bytes each program starts with.
//
// A map is a System.map ("08048060 T main") whose first lines are comments, one of them
//   # signature 08048000 44454d4f...
// : the guest-virtual address where the program's first bytes lie once loaded, and those bytes.

import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
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

/**
 * The user programs whose maps lie in `user-symbols/` beside the machine's kernel, by name. Maps
 * that cannot be read or parsed are left out and reported in `problems`, as are programs whose
 * signatures are the same as another's (no sample could tell them apart). Never rejects.
 */
export async function userProgramSymbols(
  kernel: string,
  baseDir?: string,
): Promise<{ programs: UserProgram[]; problems: string[] }> {
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
 * is in memory there, else -1. `read` gives the bytes at a guest-virtual address (null: unmapped).
 */
export function recognizeProgram(
  programs: readonly UserProgram[],
  read: (address: number, length: number) => Uint8Array | null,
): number {
  let at = -1;
  let bytes: Uint8Array | null = null;
  for (let i = 0; i < programs.length; i++) {
    const sig = programs[i]!.signature;
    // Programs mostly share the signature address: read it once, long enough for all.
    if (bytes === null || at !== sig.address || bytes.length < sig.bytes.length) {
      at = sig.address;
      bytes = read(at, MAX_SIGNATURE_BYTES) ?? read(at, sig.bytes.length);
    }
    if (bytes !== null && sig.bytes.every((b, k) => bytes![k] === b)) return i;
  }
  return -1;
}
