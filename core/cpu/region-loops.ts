// The loops of a compiled region's blocks, for WebAssembly's structured control flow (jit-wasm.ts):
// a loop is a run of blocks head..tail (address order) that the last one of them, or one inside
// it, jumps back into. Each becomes a WebAssembly `loop`, so that an iteration stays inside it
// instead of going round the region's dispatch over every block. Loops that overlap without one
// holding the other, or that share their head, are one loop: any two are then apart or nested.

import { directJump, type RegionBlock } from './jit-forms';

/**
 * The back edges of a region's `blocks` (address order, page offsets from linear `base`;
 * `blockAt` numbers them by start EIP): [m, n] where block n ends in a JMP or Jcc to an earlier
 * block m. Both region compilers make their loops from these.
 */
export function backEdges(
  blocks: RegionBlock[],
  blockAt: (eip: number) => number | undefined,
  base: number,
): [number, number][] {
  const edges: [number, number][] = [];
  blocks.forEach(({ end, instrs }, n) => {
    const last = instrs[instrs.length - 1]!;
    if (!directJump(last)) return;
    const m = blockAt((base + end + last.imm) >>> 0);
    if (m !== undefined && m < n) edges.push([m, n]);
  });
  return edges;
}

/** A loop of blocks head..tail, inside `parent` (null: at the top). */
export interface BlockLoop {
  head: number;
  tail: number;
  parent: BlockLoop | null;
}

/**
 * The loops of blocks 0..count-1 made by `backEdges` ([target, source], target < source: block
 * source jumps back to block target), as each block's innermost loop (null: in none).
 */
export function loopNest(count: number, backEdges: [number, number][]): (BlockLoop | null)[] {
  const spans = backEdges.map(([head, tail]) => ({ head, tail }));
  // Merged until any two are apart or nested (and no two share a head).
  for (let merged = true; merged; ) {
    merged = false;
    for (let a = 0; a < spans.length && !merged; a++)
      for (let b = a + 1; b < spans.length && !merged; b++) {
        const x = spans[a]!,
          y = spans[b]!;
        const apart = x.tail < y.head || y.tail < x.head;
        const nested = (x.head < y.head && y.tail <= x.tail) || (y.head < x.head && x.tail <= y.tail);
        if (apart || nested) continue;
        spans[a] = { head: Math.min(x.head, y.head), tail: Math.max(x.tail, y.tail) };
        spans.splice(b, 1);
        merged = true;
      }
  }
  // Outer loops first: each block's innermost loop is the last one holding it.
  spans.sort((x, y) => x.head - y.head || y.tail - x.tail);
  const innermost: (BlockLoop | null)[] = Array<BlockLoop | null>(count).fill(null);
  for (const { head, tail } of spans) {
    const loop: BlockLoop = { head, tail, parent: innermost[head] ?? null };
    for (let b = head; b <= tail; b++) innermost[b] = loop;
  }
  return innermost;
}

/**
 * Where block b is seen from inside `level` (a loop holding it, or null: the top): the first
 * block of what holds it there (b itself, or the head of a loop inside `level`), and whether that
 * is a loop.
 */
export function seenFrom(
  innermost: (BlockLoop | null)[],
  level: BlockLoop | null,
  b: number,
): { first: number; loop: boolean } {
  let first = b,
    loop = false;
  for (let l = innermost[b]!; l !== level; l = l.parent!) {
    first = l.head;
    loop = true;
  }
  return { first, loop };
}
