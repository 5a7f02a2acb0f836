// Guest kernel symbols for the profiler: the code symbols of an i386 ELF's .symtab, or of a
// System.map ("c0100000 T _text"), sorted so an EIP finds the function that contains it.

import { isElf } from './elf-image';
import { readGuestImage } from './guest-file';
import { resolveGuestFile } from './kernel-path';

export interface GuestSymbol {
  address: number;
  /** Bytes covered; 0 when unknown (then the symbol reaches to the next one). */
  size: number;
  name: string;
}

const SHT_SYMTAB = 2;
const STT_NOTYPE = 0;
const STT_FUNC = 2;
const SECTION_HEADER_BYTES = 40;
const SYMBOL_BYTES = 16;
/** Reaching past the last symbol by more than this is "no symbol" (end of the kernel's text). */
const MAX_UNSIZED_REACH = 0x10000;

export class SymbolTable {
  private readonly symbols: GuestSymbol[];

  constructor(symbols: readonly GuestSymbol[]) {
    this.symbols = [...symbols].sort((a, b) => a.address - b.address || b.size - a.size);
  }

  get size(): number {
    return this.symbols.length;
  }

  /** The first symbol called `name`, or null. */
  named(name: string): GuestSymbol | null {
    return this.symbols.find((s) => s.name === name) ?? null;
  }

  /** The symbol whose range holds `address`, or null. */
  lookup(address: number): GuestSymbol | null {
    const a = address >>> 0;
    let lo = 0;
    let hi = this.symbols.length - 1;
    let found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.symbols[mid]!.address <= a) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (found < 0) return null;
    const s = this.symbols[found]!;
    if (s.size > 0) return a < s.address + s.size ? s : null;
    const next = this.symbols[found + 1];
    return a < (next ? next.address : s.address + MAX_UNSIZED_REACH) ? s : null;
  }
}

function cString(bytes: Uint8Array, at: number): string {
  let end = at;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder('latin1').decode(bytes.subarray(at, end));
}

/** Function (and untyped, e.g. assembly) symbols of a 32-bit little-endian ELF; empty if none. */
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
  const out: GuestSymbol[] = [];
  for (let i = 0; i < shnum; i++) {
    const sec = section(i);
    if (sec.type !== SHT_SYMTAB || sec.link >= shnum || sec.offset + sec.size > file.length) continue;
    const strtab = section(sec.link);
    if (strtab.offset + strtab.size > file.length) continue;
    const strings = file.subarray(strtab.offset, strtab.offset + strtab.size);
    for (let at = sec.offset; at + SYMBOL_BYTES <= sec.offset + sec.size; at += SYMBOL_BYTES) {
      const type = file[at + 12]! & 0xf;
      const shndx = view.getUint16(at + 14, true);
      // Only symbols defined in a section (not undefined 0, absolute 0xfff1 or common 0xfff2).
      if ((type !== STT_FUNC && type !== STT_NOTYPE) || shndx === 0 || shndx >= 0xff00) continue;
      const name = cString(strings, view.getUint32(at, true));
      if (name === '' || name.startsWith('.')) continue;
      out.push({ address: view.getUint32(at + 4, true), size: view.getUint32(at + 8, true), name });
    }
  }
  return new SymbolTable(out);
}

/** The text symbols (types t, T, w, W) of a System.map; other lines are ignored. */
export function systemMapSymbols(text: string): SymbolTable {
  const out: GuestSymbol[] = [];
  for (const line of text.split('\n')) {
    const m = /^([0-9a-fA-F]{1,8})\s+([tTwW])\s+(\S+)/.exec(line);
    if (m) out.push({ address: parseInt(m[1]!, 16) >>> 0, size: 0, name: m[3]! });
  }
  return new SymbolTable(out);
}

/** The largest kernel image read for its symbols (a vmlinux with symbols is a few MiB). */
const MAX_KERNEL_BYTES = 256 * 1024 * 1024;

/**
 * The symbols of a machine's kernel image (an ELF with .symtab), or null when it has none or
 * cannot be read: the Launcher already refused or loaded the file, and a profile without names
 * is still a profile. Never rejects.
 */
export async function kernelSymbols(kernel: string, baseDir?: string): Promise<SymbolTable | null> {
  try {
    const table = elfSymbols(await readGuestImage(resolveGuestFile(kernel, baseDir), 'kernel', MAX_KERNEL_BYTES));
    return table.size > 0 ? table : null;
  } catch {
    return null;
  }
}
