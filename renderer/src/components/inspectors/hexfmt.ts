// Pure number formatting for the inspector panels: hex addresses, sizes, and parsing a typed address.

export function hex(n: number, digits = 8): string {
  return '0x' + (n >>> 0).toString(16).padStart(digits, '0');
}

export function hexShort(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** Bytes as "4 KiB" / "64 KiB" / "123 B". */
export function sizeText(n: number): string {
  if (n >= 1 << 20 && n % (1 << 20) === 0) return `${n / (1 << 20)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} B`;
}

/** Parses a user-typed address: hex with or without 0x (digits only). Null if not a 32-bit number. */
export function parseAddress(text: string): number | null {
  const t = text.trim().replace(/_/g, '').toLowerCase();
  const digits = t.startsWith('0x') ? t.slice(2) : t;
  if (!/^[0-9a-f]{1,8}$/.test(digits)) return null;
  return parseInt(digits, 16) >>> 0;
}

function ascii(b: number): string {
  return b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.';
}

export interface DumpCell {
  /** Two hex digits, or two spaces outside the dumped range. */
  hex: string;
  /** The ASCII column's character (a space outside the range). */
  text: string;
  /** The byte differs from the snapshot it is compared with. */
  changed: boolean;
}

export interface DumpRow {
  /** Address of the row's first column (16-byte aligned). */
  addr: number;
  hex: string;
  text: string;
  /** The 16 columns one by one (for highlighting single bytes). */
  cells: DumpCell[];
  /** Some byte of the row is marked changed. */
  anyChanged: boolean;
}

/**
 * Rows of a classic 16-byte hex + ASCII dump of `bytes` starting at `address` (any alignment);
 * `changed`, if given, marks bytes (1 per byte of `bytes`) to highlight.
 */
export function dumpRows(address: number, bytes: Uint8Array, changed?: Uint8Array): DumpRow[] {
  address >>>= 0;
  const out: DumpRow[] = [];
  const end = address + bytes.length;
  // Unsigned throughout: kernel addresses (0xC0000000 and up) are negative as int32.
  for (let row = (address & ~0xf) >>> 0; row < end; row += 16) {
    let h = '';
    let t = '';
    const cells: DumpCell[] = [];
    for (let i = 0; i < 16; i++) {
      const a = row + i;
      const inside = a >= address && a < end;
      const b = inside ? bytes[a - address]! : -1;
      const cell = {
        hex: b < 0 ? '  ' : b.toString(16).padStart(2, '0'),
        text: b < 0 ? ' ' : ascii(b),
        changed: inside && changed !== undefined && changed[a - address] === 1,
      };
      cells.push(cell);
      h += cell.hex + (i === 7 ? '  ' : ' ');
      t += cell.text;
    }
    out.push({ addr: row, hex: h.trimEnd(), text: t, cells, anyChanged: cells.some((c) => c.changed) });
  }
  return out;
}
