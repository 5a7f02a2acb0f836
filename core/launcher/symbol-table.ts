// Guest symbols for the profiler and the debugger: the functions, objects and untyped (assembly)
// labels of an i386 ELF's .symtab (or .dynsym), or of a System.map ("c0100000 T _text"), sorted
// so an address finds the symbol that holds it and a name finds its address.

import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { isElf } from './elf-image';
import { readGuestImage } from './guest-file';
import { resolveGuestFile } from './kernel-path';

export type SymbolKind = 'function' | 'object' | 'untyped';

export interface GuestSymbol {
  address: number;
  /** Bytes covered; 0 when unknown (then the symbol reaches to the next one). */
  size: number;
  name: string;
  kind: SymbolKind;
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_KINDS: Record<number, SymbolKind> = { 0: 'untyped', 1: 'object', 2: 'function' };
const SECTION_HEADER_BYTES = 40;
const SYMBOL_BYTES = 16;
/** Reaching past the last symbol by more than this is "no symbol" (end of the kernel's text). */
const MAX_UNSIZED_REACH = 0x10000;

function isCode(s: GuestSymbol): boolean {
  return s.kind !== 'object';
}

/** The symbol of sorted `symbols` whose range holds `address`, or null. */
function holding(symbols: readonly GuestSymbol[], address: number): GuestSymbol | null {
  const a = address >>> 0;
  let lo = 0;
  let hi = symbols.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (symbols[mid]!.address <= a) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  if (found < 0) return null;
  const s = symbols[found]!;
  if (s.size > 0) return a < s.address + s.size ? s : null;
  const next = symbols[found + 1];
  return a < (next ? next.address : s.address + MAX_UNSIZED_REACH) ? s : null;
}

export class SymbolTable {
  private readonly symbols: GuestSymbol[];
  /** The functions and untyped labels alone: where an EIP is attributed. */
  private readonly code: GuestSymbol[];
  private readonly byName = new Map<string, GuestSymbol>();

  constructor(symbols: readonly GuestSymbol[]) {
    this.symbols = [...symbols].sort((a, b) => a.address - b.address || b.size - a.size);
    this.code = this.symbols.filter(isCode);
    for (const s of symbols) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The first symbol called `name` (of any kind), or null. */
  named(name: string): GuestSymbol | null {
    return this.byName.get(name) ?? null;
  }

  /** The code symbol (function or untyped) whose range holds `address`, or null. */
  lookup(address: number): GuestSymbol | null {
    return holding(this.code, address);
  }

  /** The symbol of any kind whose range holds `address`, or null. */
  containing(address: number): GuestSymbol | null {
    return holding(this.symbols, address);
  }

  /** "name+0xoff" for the symbol of any kind holding `address` ("name" at its start); null if none. */
  describe(address: number): string | null {
    const s = this.containing(address);
    if (!s) return null;
    const off = (address >>> 0) - s.address;
    return off === 0 ? s.name : `${s.name}+0x${off.toString(16)}`;
  }
}

function cString(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder('latin1').decode(bytes.subarray(at, end));
}

/**
 * The function, object and untyped symbols of a 32-bit little-endian ELF's .symtab (its .dynsym
 * when it has no .symtab); empty if it has neither or is no such ELF.
 */
export function elfSymbols(file: Uint8Array): SymbolTable {
  if (!isElf(file) || file.length < 52 || file[4] !== 1 || file[5] !== 1) return new SymbolTable([]);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const shoff = view.getUint32(32, true);
  const shentsize = view.getUint16(46, true);
  const shnum = view.getUint16(48, true);
  if (shentsize !== SECTION_HEADER_BYTES || shoff + shnum * SECTION_HEADER_BYTES > file.length)
    return new SymbolTable([]);
  const section = (i: number) => {
    const at = shoff + i * SECTION_HEADER_BYTES;
    return {
      type: view.getUint32(at + 4, true),
      offset: view.getUint32(at + 16, true),
      size: view.getUint32(at + 20, true),
      link: view.getUint32(at + 24, true),
    };
  };
  const headers = Array.from({ length: shnum }, (_, i) => section(i));
  const tableType = headers.some((h) => h.type === SHT_SYMTAB) ? SHT_SYMTAB : SHT_DYNSYM;
  const out: GuestSymbol[] = [];
  for (const sec of headers) {
    if (sec.type !== tableType || sec.link >= shnum || sec.offset + sec.size > file.length) continue;
    const strtab = headers[sec.link]!;
    if (strtab.offset + strtab.size > file.length) continue;
    const strings = file.subarray(strtab.offset, strtab.offset + strtab.size);
    for (let at = sec.offset; at + SYMBOL_BYTES <= sec.offset + sec.size; at += SYMBOL_BYTES) {
      const kind = STT_KINDS[file[at + 12]! & 0xf];
      const shndx = view.getUint16(at + 14, true);
      // Only symbols defined in a section (not undefined 0, absolute 0xfff1 or common 0xfff2).
      if (kind === undefined || shndx === 0 || shndx >= 0xff00) continue;
      const name = cString(strings, view.getUint32(at, true));
      if (name === '' || name.startsWith('.')) continue;
      out.push({ address: view.getUint32(at + 4, true), size: view.getUint32(at + 8, true), name, kind });
    }
  }
  return new SymbolTable(out);
}

/** The kind a System.map type letter stands for: t/T code, d/b/r (either case) data. */
function mapKind(letter: string): SymbolKind {
  if (letter === 't' || letter === 'T') return 'function';
  return 'dDbBrR'.includes(letter) ? 'object' : 'untyped';
}

/** The symbols of a System.map ("c0100000 T _text"); lines of another shape are ignored. */
export function systemMapSymbols(text: string): SymbolTable {
  const out: GuestSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{1,8})\s+([a-zA-Z])\s+(\S+)/.exec(line);
    if (m) out.push({ address: parseInt(m[1]!, 16) >>> 0, size: 0, name: m[3]!, kind: mapKind(m[2]!) });
  }
  return new SymbolTable(out);
}

/** The largest kernel image read for its symbols (a vmlinux with symbols is a few MiB). */
const MAX_KERNEL_BYTES = 256 * 1024 * 1024;

async function readSymbols(read: () => Promise<SymbolTable>): Promise<SymbolTable | null> {
  try {
    const table = await read();
    return table.size > 0 ? table : null;
  } catch {
    return null;
  }
}

/**
 * The symbols of the file a machine's config names (`symbols`): an ELF's symbol table or a
 * System.map. Throws an error naming the file when it cannot be read or holds no symbols.
 */
export async function symbolFile(name: string, baseDir?: string): Promise<SymbolTable> {
  const bytes = await readGuestImage(resolveGuestFile(name, baseDir), 'symbols file', MAX_KERNEL_BYTES);
  const table = isElf(bytes) ? elfSymbols(bytes) : systemMapSymbols(new TextDecoder('latin1').decode(bytes));
  if (table.size === 0)
    throw new Error(`symbols file ${name} holds no symbols (expected a System.map or an ELF with a symbol table)`);
  return table;
}

/**
 * The symbols of a machine's kernel: its ELF symbol table, else a System.map in the kernel's
 * directory; null when neither gives any or they cannot be read (the Launcher already refused or
 * loaded the kernel, and a profile or a debugger without names still works). Never rejects.
 */
export async function kernelSymbols(kernel: string, baseDir?: string): Promise<SymbolTable | null> {
  const path = () => resolveGuestFile(kernel, baseDir);
  return (
    (await readSymbols(async () => elfSymbols(await readGuestImage(path(), 'kernel', MAX_KERNEL_BYTES)))) ??
    (await readSymbols(async () => systemMapSymbols(await readFile(join(dirname(path()), 'System.map'), 'latin1'))))
  );
}
