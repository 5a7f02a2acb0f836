import { describe, expect, it } from 'vitest';
import {
  decodeSnapshot,
  encodeSnapshot,
  SNAPSHOT_FORMAT_VERSION,
  SnapshotFormatError,
  type SnapshotValue,
} from './format';

function sample(): SnapshotValue {
  const ram = new Uint8Array(8192);
  ram[0] = 0x12;
  ram[8191] = 0xfe;
  return {
    cpu: { gpr: new Int32Array([1, -2, 3, 0x7fffffff, -0x80000000, 0, 0, 7]), eip: 0xc0100000, halted: false },
    regs: new Float64Array([1.5, -0, Number.MAX_VALUE]),
    ram,
    devices: [{ kind: 'console', queue: 'abc', pending: null }],
  };
}

describe('snapshot format', () => {
  it('round-trips plain data and typed arrays exactly', () => {
    const bytes = encodeSnapshot(sample());
    const back = decodeSnapshot(bytes) as Record<string, SnapshotValue>;
    expect(back).toEqual(sample());
    const cpu = back.cpu as Record<string, SnapshotValue>;
    expect(cpu.gpr).toBeInstanceOf(Int32Array);
    expect(Object.is((back.regs as Float64Array)[1], -0)).toBe(true);
  });

  it('decodes from a Node Buffer that is a view into a larger pool', () => {
    const bytes = encodeSnapshot(sample());
    const pool = Buffer.alloc(bytes.length + 100, 0xaa);
    pool.set(bytes, 37);
    expect(decodeSnapshot(pool.subarray(37, 37 + bytes.length))).toEqual(sample());
  });

  it('is deterministic: the same state gives the same bytes', () => {
    expect(encodeSnapshot(sample())).toEqual(encodeSnapshot(sample()));
  });

  it('records the format version', () => {
    const bytes = encodeSnapshot({ a: 1 });
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(SNAPSHOT_FORMAT_VERSION);
  });

  it('refuses a file whose bytes were changed, naming the checksum offset', () => {
    const bytes = encodeSnapshot(sample());
    bytes[100] ^= 1;
    expect(() => decodeSnapshot(bytes)).toThrow(/checksum at offset \d+ does not match/);
  });

  it('refuses a truncated file', () => {
    const bytes = encodeSnapshot(sample());
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 10))).toThrow(SnapshotFormatError);
    expect(() => decodeSnapshot(bytes.subarray(0, 20))).toThrow(/too short/);
  });

  it('refuses another file type and another format version', () => {
    expect(() =>
      decodeSnapshot(new TextEncoder().encode('{"this is": "json, not a snapshot", "pad": "xxxxxxxxxxxx"}')),
    ).toThrow(/bad magic at offset 0/);
    const bytes = encodeSnapshot({ a: 1 });
    new DataView(bytes.buffer).setUint32(8, 99, true);
    expect(() => decodeSnapshot(bytes)).toThrow(/format version 99 at offset 8/);
  });

  it('refuses values that are not plain data, naming their path', () => {
    expect(() => encodeSnapshot({ a: [1, { f: Number.NaN }] })).toThrow('/a/1/f');
    expect(() => encodeSnapshot({ m: new Map() as unknown as SnapshotValue })).toThrow('/m is not plain data');
  });
});
