// A snapshot's RAM stored as a chain: the snapshot's own pages, then those of the snapshot it is a
// delta over, and so on down to a full image. Resolving reads the chain newest first (the first
// link holding a page has its bytes; a page no link holds is zero), writing only the pages asked for.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { markedPages, PAGE_SIZE } from '../cpu/memory';
import { SnapshotFormatError } from './format';
import { decodeMachineSnapshot, type MachineSnapshot, type RamPages } from './machine-snapshot';

/** One snapshot's RAM in a chain, with the file it came from (null: not in a folder). */
export interface RamLink {
  file: string | null;
  ram: RamPages;
}

/** A chain that cannot be followed: a base is missing, unreadable, or does not fit. */
export class SnapshotChainError extends SnapshotFormatError {
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotChainError';
  }
}

/** Reads a snapshot by file name (the snapshots of one machine share a folder). */
export type SnapshotLoader = (file: string) => MachineSnapshot;

/** Reads snapshots from `dir`. */
export function folderLoader(dir: string): SnapshotLoader {
  return (file) => decodeMachineSnapshot(new Uint8Array(readFileSync(join(dir, file))));
}

/**
 * The chain of `ram` (the RAM of snapshot `file`): it first, its base next, down to the full image.
 * Each base must be readable, of the same size, and of a lower depth (so a chain always ends).
 */
export function loadRamChain(file: string | null, ram: RamPages, load: SnapshotLoader): RamLink[] {
  const chain: RamLink[] = [{ file, ram }];
  for (let top = chain[0]!; top.ram.base !== null; top = chain[chain.length - 1]!) {
    const base = top.ram.base;
    const who = top.file ?? 'the snapshot';
    let next: RamPages;
    try {
      next = load(base).state.memory.ram;
    } catch (err) {
      throw new SnapshotChainError(
        `${who} stores its RAM as changes over ${base}, which cannot be read: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (next.pages !== top.ram.pages)
      throw new SnapshotChainError(`${who} has ${top.ram.pages} RAM pages but its base ${base} has ${next.pages}`);
    if (next.depth >= top.ram.depth)
      throw new SnapshotChainError(`${who} is at delta depth ${top.ram.depth} but its base ${base} at ${next.depth}`);
    chain.push({ file: base, ram: next });
  }
  return chain;
}

/**
 * Writes the chain's bytes of `pages` (ascending page numbers; null: every page) into `ram`.
 * `zeroed`: `ram` is all zeros already, so pages no link holds need no writing.
 */
export function writeChainPages(
  ram: Uint8Array,
  chain: readonly RamLink[],
  pages: Uint32Array | null,
  zeroed = false,
): void {
  const count = chain[0]!.ram.pages;
  if (ram.byteLength !== count * PAGE_SIZE)
    throw new RangeError(`RAM of ${ram.byteLength} bytes cannot take a ${count}-page snapshot`);
  const need = new Uint8Array(count);
  let left: number;
  if (pages === null) {
    need.fill(1);
    left = count;
  } else {
    for (const p of pages) need[p] = 1;
    left = pages.length;
  }
  for (const { ram: link } of chain) {
    if (left === 0) break;
    const { present, data } = link;
    for (let i = 0; i < present.length; i++) {
      const p = present[i]!;
      if (need[p] === 0) continue;
      need[p] = 0;
      left--;
      ram.set(data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), p * PAGE_SIZE);
    }
  }
  if (zeroed || left === 0) return;
  for (let p = 0; p < count; p++) if (need[p] !== 0) ram.fill(0, p * PAGE_SIZE, (p + 1) * PAGE_SIZE);
}

/** The chain as one full image (for diffs and exports): each page from the newest link holding it. */
export function resolveRam(chain: readonly RamLink[]): RamPages {
  const count = chain[0]!.ram.pages;
  // Per page: 1 + the index of the link that holds it, or 0.
  const from = new Uint32Array(count);
  const at = new Uint32Array(count);
  let held = 0;
  chain.forEach(({ ram }, k) => {
    ram.present.forEach((p, i) => {
      if (from[p] !== 0) return;
      from[p] = k + 1;
      at[p] = i;
      held++;
    });
  });
  const present = new Uint32Array(held);
  const data = new Uint8Array(held * PAGE_SIZE);
  for (let p = 0, n = 0; p < count; p++) {
    if (from[p] === 0) continue;
    const src = chain[from[p]! - 1]!.ram.data;
    data.set(src.subarray(at[p]! * PAGE_SIZE, (at[p]! + 1) * PAGE_SIZE), n * PAGE_SIZE);
    present[n++] = p;
  }
  return { pages: count, present, data, base: null, depth: 0 };
}

/**
 * The pages whose bytes can differ between the RAM of two chains: every page a delta above their
 * newest common snapshot stored. Null when they share no snapshot (then any page can differ).
 */
export function pagesBetween(a: readonly RamLink[], b: readonly RamLink[]): Uint32Array | null {
  const inB = new Map(b.flatMap((l, k) => (l.file === null ? [] : [[l.file, k] as const])));
  const ka = a.findIndex((l) => l.file !== null && inB.has(l.file));
  if (ka < 0) return null;
  const kb = inB.get(a[ka]!.file!)!;
  const marks = new Uint8Array(a[0]!.ram.pages);
  for (const l of [...a.slice(0, ka), ...b.slice(0, kb)]) for (const p of l.ram.present) marks[p] = 1;
  return markedPages(marks);
}

/**
 * A delta folded onto its base (the base is going away): the base's pages with the delta's on top,
 * over the base's own base. Depths stay upper bounds, so the snapshots above stay valid.
 */
export function foldRam(delta: RamPages, base: RamPages): RamPages {
  if (delta.pages !== base.pages) throw new RangeError('a delta folds only onto a base of its size');
  const merged = resolveRam([
    { file: null, ram: delta },
    { file: null, ram: base },
  ]);
  return { ...merged, base: base.base, depth: base.depth };
}

/** The snapshot `file` with its RAM as one full image (a delta's chain read through `load`). */
export function withFullRam(snap: MachineSnapshot, file: string, load: SnapshotLoader): MachineSnapshot {
  if (snap.state.memory.ram.base === null) return snap;
  const ram = resolveRam(loadRamChain(file, snap.state.memory.ram, load));
  return { ...snap, state: { ...snap.state, memory: { ...snap.state.memory, ram } } };
}
