import { describe, expect, test } from 'vitest';
import { loopNest, seenFrom } from './region-loops';

/** Each block's loops from the innermost out, as [head, tail] pairs. */
const chains = (count: number, edges: [number, number][]): [number, number][][] =>
  loopNest(count, edges).map((l) => {
    const out: [number, number][] = [];
    for (; l !== null; l = l.parent) out.push([l.head, l.tail]);
    return out;
  });

describe('loopNest', () => {
  test('keeps loops apart or nested, and merges ones that overlap or share a head', () => {
    // 1..2 inside 0..3; 5..7 and 6..8 overlap: 5..8; 9..10 and 9..11 share a head: 9..11.
    expect(
      chains(12, [
        [1, 2],
        [0, 3],
        [5, 7],
        [6, 8],
        [9, 10],
        [9, 11],
      ]),
    ).toEqual([
      [[0, 3]],
      [
        [1, 2],
        [0, 3],
      ],
      [
        [1, 2],
        [0, 3],
      ],
      [[0, 3]],
      [],
      [[5, 8]],
      [[5, 8]],
      [[5, 8]],
      [[5, 8]],
      [[9, 11]],
      [[9, 11]],
      [[9, 11]],
    ]);
  });

  test('merges until no two overlap (a merge can make a new overlap)', () => {
    // 2..4 and 3..6 make 2..6, which then overlaps 5..8: one loop 2..8; 0..1 stays apart.
    expect(
      chains(9, [
        [2, 4],
        [3, 6],
        [5, 8],
        [0, 1],
      ]).map((c) => c[0] ?? null),
    ).toEqual([
      [0, 1],
      [0, 1],
      [2, 8],
      [2, 8],
      [2, 8],
      [2, 8],
      [2, 8],
      [2, 8],
      [2, 8],
    ]);
  });

  test('seenFrom names the block, or the loop inside the level that holds it', () => {
    const nest = loopNest(6, [
      [1, 3],
      [2, 3],
    ]);
    const outer = nest[1]!;
    expect(seenFrom(nest, null, 0)).toEqual({ first: 0, loop: false });
    expect(seenFrom(nest, null, 3)).toEqual({ first: 1, loop: true });
    expect(seenFrom(nest, outer, 3)).toEqual({ first: 2, loop: true });
    expect(seenFrom(nest, outer, 1)).toEqual({ first: 1, loop: false });
    expect(seenFrom(nest, nest[2]!, 3)).toEqual({ first: 3, loop: false });
  });
});
