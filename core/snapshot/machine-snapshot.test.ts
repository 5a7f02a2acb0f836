// The machine snapshot's own pieces: page-sparse memory, tree diffs, and content checks that name
// the field of a file whose container is intact but whose contents are not a machine.

import { describe, expect, it } from 'vitest';
import { encodeSnapshot, SnapshotFormatError, type SnapshotValue } from './format';
import { decodeMachineSnapshot, SnapshotContentError } from './machine-snapshot';
import { packNonZeroPages, packPageList, sparsePagesProblem, unpackToBytes, unpackToPageList } from './sparse-pages';
import { diffTrees } from './tree-diff';

describe('sparse pages', () => {
  it('stores only non-zero pages and restores every byte', () => {
    const ram = new Uint8Array(4096 * 6);
    ram[4096 * 1 + 7] = 1;
    ram[4096 * 4 + 4095] = 0xff;
    const packed = packNonZeroPages(ram);
    expect([...packed.present]).toEqual([1, 4]);
    expect(packed.data.length).toBe(2 * 4096);
    expect(unpackToBytes(packed)).toEqual(ram);
    expect(packNonZeroPages(ram.subarray(4096, 4096 * 3)).present).toEqual(new Uint32Array([0]));
  });

  it('keeps allocated-but-zero frames apart from free ones', () => {
    const frames = [new Uint8Array(4096), null, new Uint8Array(4096).fill(3)];
    const packed = packPageList(frames);
    expect([...packed.present]).toEqual([0, 2]);
    expect(unpackToPageList(packed)).toEqual(frames);
  });

  it('finds malformed page lists', () => {
    const p = packNonZeroPages(new Uint8Array(4096 * 2).fill(1));
    expect(sparsePagesProblem(p)).toBeNull();
    expect(sparsePagesProblem({ ...p, present: new Uint32Array([1, 0]) })).toMatch(/ascending/);
    expect(sparsePagesProblem({ ...p, present: new Uint32Array([0, 5]) })).toMatch(/beyond/);
    expect(sparsePagesProblem({ ...p, data: new Uint8Array(10) })).toMatch(/data length/);
  });
});

describe('tree diff', () => {
  it('names the differing leaves and typed-array elements', () => {
    const a: SnapshotValue = { cpu: { eip: 1, gpr: new Int32Array([1, 2, 3]) }, list: [1, 2] };
    const b: SnapshotValue = { cpu: { eip: 2, gpr: new Int32Array([1, 9, 3]) }, list: [1, 2, 3] };
    expect(diffTrees(a, b)).toEqual(['/cpu/eip: 1 vs 2', '/cpu/gpr[1]: 2 vs 9', '/list: length 2 vs 3']);
    expect(diffTrees(a, a)).toEqual([]);
  });
});

describe('machine snapshot contents', () => {
  it('refuses an intact file that is not a machine snapshot, naming the field', () => {
    expect(() => decodeMachineSnapshot(encodeSnapshot({ kind: 'photo' }))).toThrow(
      'invalid snapshot: /kind must be "lguest-machine"',
    );
    const noCpu = encodeSnapshot({
      kind: 'lguest-machine',
      layout: 1,
      meta: { createdAt: 'x', machine: 'm', instructionCount: 0, virtualTimeNs: 0, scrollback: new Uint8Array(0) },
      state: { config: { name: 'm' }, boot: {} },
    });
    expect(() => decodeMachineSnapshot(noCpu)).toThrow(SnapshotContentError);
    expect(() => decodeMachineSnapshot(noCpu)).toThrow('/state/cpu must be an object');
    expect(() => decodeMachineSnapshot(encodeSnapshot({ kind: 'lguest-machine', layout: 7 }))).toThrow(
      /\/layout is 7; this build reads 4/,
    );
    expect(new SnapshotContentError('/x', 'bad')).toBeInstanceOf(SnapshotFormatError);
  });
});
