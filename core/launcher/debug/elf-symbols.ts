// Symbols of an i386 ELF (its .symtab, or .dynsym when stripped of it): name, address and size of
// every function and object, and the "function+0x12" form a debugger shows for an address.

export interface ElfSymbol {
  name: string;
  address: number;
  size: number;
  kind: 'function' | 'object';
}

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const STT_OBJECT = 1;
const STT_FUNC = 2;

/** Function and object symbols by ascending address; an ELF without a symbol table gives []. */
export function readElfSymbols(file: Uint8Array): ElfSymbol[] {
  const v = new DataView(file.buffer, file.byteOffset, file.byteLength);
  if (file.length < 52 || v.getUint32(0, false) !== 0x7f454c46 || file[4] !== 1)
    throw new Error('not a 32-bit ELF file');
  const shoff = v.getUint32(32, true);
  const shentsize = v.getUint16(46, true);
  const shnum = v.getUint16(48, true);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    if (at + 40 > file.length) throw new Error(`ELF section header ${i} lies past the end of the file`);
    return {
      type: v.getUint32(at + 4, true),
      offset: v.getUint32(at + 16, true),
      size: v.getUint32(at + 20, true),
      link: v.getUint32(at + 24, true),
      entsize: v.getUint32(at + 36, true),
    };
  };
  const headers = Array.from({ length: shnum }, (_, i) => section(i));
  const table = headers.find((h) => h.type === SHT_SYMTAB) ?? headers.find((h) => h.type === SHT_DYNSYM);
  if (!table) return [];
  const strings = headers[table.link];
  if (!strings || table.entsize < 16) throw new Error('ELF symbol table has no string table');
  const decoder = new TextDecoder();
  const out: ElfSymbol[] = [];
  for (let at = table.offset; at + 16 <= table.offset + table.size && at + 16 <= file.length; at += table.entsize) {
    const type = file[at + 12]! & 0xf;
    if (type !== STT_FUNC && type !== STT_OBJECT) continue;
    const nameAt = strings.offset + v.getUint32(at, true);
    let end = nameAt;
    while (end < file.length && file[end] !== 0) end++;
    const name = decoder.decode(file.subarray(nameAt, end));
    if (name === '') continue;
    out.push({
      name,
      address: v.getUint32(at + 4, true),
      size: v.getUint32(at + 8, true),
      kind: type === STT_FUNC ? 'function' : 'object',
    });
  }
  return out.sort((a, b) => a.address - b.address);
}

/** Address lookups over a symbol list. */
export class SymbolTable {
  private readonly byName = new Map<string, ElfSymbol>();

  constructor(readonly symbols: readonly ElfSymbol[]) {
    for (const s of symbols) if (!this.byName.has(s.name)) this.byName.set(s.name, s);
  }

  lookup(name: string): ElfSymbol | undefined {
    return this.byName.get(name);
  }

  /** "name+0xoff" for the symbol covering (or nearest below) `address`; null when none is. */
  describe(address: number): string | null {
    const a = address >>> 0;
    let lo = 0,
      hi = this.symbols.length - 1,
      best: ElfSymbol | null = null;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const s = this.symbols[mid]!;
      if (s.address <= a) {
        best = s;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (best === null || (best.size > 0 && a >= best.address + best.size)) return null;
    const off = a - best.address;
    return off === 0 ? best.name : `${best.name}+0x${off.toString(16)}`;
  }
}
