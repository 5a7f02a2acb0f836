// The memory panel's formatting: typed addresses, sizes and the hex + ASCII rows, kernel addresses included.

import { describe, expect, it } from 'vitest';
import { dumpRows, hex, parseAddress, sizeText } from './hexfmt';

describe('inspector formatting', () => {
  it('parses hex addresses with or without 0x and refuses anything else', () => {
    expect(parseAddress('c0100000')).toBe(0xc0100000);
    expect(parseAddress(' 0x100000 ')).toBe(0x100000);
    expect(parseAddress('0XFFFF_F000')).toBe(0xfffff000);
    expect(parseAddress('')).toBeNull();
    expect(parseAddress('0x')).toBeNull();
    expect(parseAddress('123456789')).toBeNull(); // more than 32 bits
    expect(parseAddress('xyz')).toBeNull();
  });

  it('formats hex and sizes', () => {
    expect(hex(0x61, 4)).toBe('0x0061');
    expect(hex(-1)).toBe('0xffffffff');
    expect(sizeText(4096)).toBe('4 KiB');
    expect(sizeText(32 << 20)).toBe('32 MiB');
    expect(sizeText(100)).toBe('100 B');
  });

  it('dumps rows at kernel addresses (above 2 GiB) and unaligned starts', () => {
    const bytes = new TextEncoder().encode('GenuineLguest\x00\x01ABC');
    const rows = dumpRows(0xc0100000, bytes);
    expect(rows).toHaveLength(2);
    expect(rows[0]!.addr).toBe(0xc0100000);
    expect(rows[0]!.hex).toBe('47 65 6e 75 69 6e 65 4c  67 75 65 73 74 00 01 41');
    expect(rows[0]!.text).toBe('GenuineLguest..A');
    expect(rows[1]!.text.trimEnd()).toBe('BC');

    const odd = dumpRows(0xfffffffd, new Uint8Array([1, 2, 3]));
    expect(odd).toHaveLength(1);
    expect(odd[0]!.addr).toBe(0xfffffff0);
    expect(odd[0]!.hex.trim().endsWith('01 02 03')).toBe(true);
  });

  it('marks the bytes that changed since a snapshot, column by column', () => {
    const bytes = new Uint8Array([0x41, 0x42, 0x43, 0x44]);
    const rows = dumpRows(0x1006, bytes, new Uint8Array([0, 1, 0, 1]));
    expect(rows).toHaveLength(1);
    expect(rows[0]!.anyChanged).toBe(true);
    expect(rows[0]!.cells.flatMap((c, i) => (c.changed ? [i] : []))).toEqual([7, 9]);
    expect(rows[0]!.cells[7]).toEqual({ hex: '42', text: 'B', changed: true });
    expect(dumpRows(0x1006, bytes)[0]!.anyChanged).toBe(false);
  });
});
