// A writable disk as the guest sees it: the base image (opened read-only) under a chain of overlays,
// the top one active. A snapshot freezes the active overlay and continues on a new one above it.

import { closeSync, fstatSync, openSync, realpathSync } from 'node:fs';
import { lockDisk } from './disk-lock';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { identifyDiskFile } from '../snapshot/disk-identity';
import type { BlockBackend } from './block-device';
import { readAll } from './file-io';
import { OVERLAY_BLOCK, OVERLAY_SUFFIX, OverlayError, OverlayFile, openOverlayChain } from './disk-overlay';

function baseImageSha256(path: string): string {
  return identifyDiskFile(path).sha256;
}

function newOverlayName(): string {
  return `${Date.now().toString(36)}-${randomBytes(6).toString('hex')}${OVERLAY_SUFFIX}`;
}

export class OverlayDisk implements BlockBackend {
  readonly readOnly = false;
  readonly size: number;
  private readonly baseFd: number;
  /** Frozen layers, bottom first, then the active one last. */
  private chain: OverlayFile[];
  /** Block -> the layer holding its newest copy. */
  private readonly where = new Map<number, OverlayFile>();
  private closed = false;
  /** Releases the base image's lock (a disk being written belongs to one machine at a time). */
  private unlock: () => void = () => {};

  private constructor(
    readonly basePath: string,
    readonly baseSha256: string,
    chain: OverlayFile[],
  ) {
    this.baseFd = openSync(basePath, 'r');
    this.size = fstatSync(this.baseFd).size;
    this.chain = chain;
    // The layers below are tied to the tip by their ids; the tip names the base it was made on.
    const tip = chain[chain.length - 1];
    const problem = tip ? baseMismatch(tip, basePath, baseSha256, this.size) : null;
    if (problem || chain.some((l) => l.header.size !== this.size)) {
      closeSync(this.baseFd);
      throw new OverlayError(problem ?? `the overlays of ${basePath} do not all have its size (${this.size} bytes)`);
    }
    for (const layer of chain) for (const b of layer.blocks.keys()) this.where.set(b, layer);
  }

  /**
   * Opens a base image with an active overlay on top: `tip` is an existing overlay file to continue
   * writing, or null for a new overlay (in `dir`) directly on the base.
   */
  static open(basePath: string, dir: string, tip: string | null): OverlayDisk {
    return OverlayDisk.locked(basePath, () => OverlayDisk.openUnlocked(basePath, dir, tip));
  }

  /** Runs `open` holding the base image's lock (disk-lock.ts), which the disk keeps until closed. */
  private static locked(basePath: string, open: () => OverlayDisk): OverlayDisk {
    // The lock is taken first, so a disk in use is refused before any overlay file is made.
    const unlock = lockDisk(realpathSync(basePath));
    try {
      const disk = open();
      disk.unlock = unlock;
      return disk;
    } catch (e) {
      unlock();
      throw e;
    }
  }

  private static openUnlocked(basePath: string, dir: string, tip: string | null): OverlayDisk {
    const sha256 = baseImageSha256(basePath);
    let chain: OverlayFile[];
    if (tip) {
      chain = openOverlayChain(join(dir, tip), true);
    } else {
      const size = fstatSize(basePath);
      chain = [OverlayFile.create(join(dir, newOverlayName()), { size, base: { sha256 }, parent: null })];
    }
    try {
      return new OverlayDisk(basePath, sha256, chain);
    } catch (e) {
      for (const l of chain) l.close();
      throw e;
    }
  }

  /**
   * Opens a base image with a new active overlay on top of the frozen overlay `frozen` (a snapshot's
   * disk), or directly on the base when `frozen` is null.
   */
  static branch(
    basePath: string,
    dir: string,
    frozen: string | null,
    opts: { allowChangedBase?: boolean } = {},
  ): OverlayDisk {
    return OverlayDisk.locked(basePath, () => OverlayDisk.branchUnlocked(basePath, dir, frozen, opts));
  }

  private static branchUnlocked(
    basePath: string,
    dir: string,
    frozen: string | null,
    opts: { allowChangedBase?: boolean },
  ): OverlayDisk {
    if (frozen === null) return OverlayDisk.openUnlocked(basePath, dir, null);
    const sha256 = baseImageSha256(basePath);
    const below = openOverlayChain(join(dir, frozen), false);
    try {
      const top = below[below.length - 1]!;
      // With the user's override, the frozen blocks go on top of an image that changed since.
      const problem = baseMismatch(top, basePath, sha256, top.header.size);
      if (problem && !opts.allowChangedBase) throw new OverlayError(problem);
      const tip = OverlayFile.create(join(dir, newOverlayName()), {
        size: top.header.size,
        base: { sha256 },
        parent: { file: basename(top.path), id: top.header.id },
      });
      return new OverlayDisk(basePath, sha256, [...below, tip]);
    } catch (e) {
      for (const l of below) l.close();
      throw e;
    }
  }

  /** A read-only view of a snapshot's disk: the base under the frozen overlay `frozen` (or none). */
  static view(basePath: string, dir: string, frozen: string | null): OverlayDisk {
    const sha256 = baseImageSha256(basePath);
    const chain = frozen === null ? [] : openOverlayChain(join(dir, frozen), false);
    try {
      return new OverlayDisk(basePath, sha256, chain);
    } catch (e) {
      for (const l of chain) l.close();
      throw e;
    }
  }

  /**
   * Blocks whose contents differ between this disk and `other` (on the same base): only blocks held
   * by layers the two chains do not share can differ, and those are compared.
   */
  diffBlocks(other: OverlayDisk): number[] {
    const shared = new Set(
      this.chain.map((l) => l.header.id).filter((id) => other.chain.some((o) => o.header.id === id)),
    );
    const candidates = new Set<number>();
    for (const disk of [this, other])
      for (const l of disk.chain) if (!shared.has(l.header.id)) for (const b of l.blocks.keys()) candidates.add(b);
    const x = new Uint8Array(OVERLAY_BLOCK);
    const y = new Uint8Array(OVERLAY_BLOCK);
    return [...candidates]
      .sort((p, q) => p - q)
      .filter((b) => {
        this.readBlock(b, x);
        other.readBlock(b, y);
        return Buffer.compare(x, y) !== 0;
      });
  }

  get active(): OverlayFile {
    return this.chain[this.chain.length - 1]!;
  }

  /** The active overlay's file name (what a snapshot taken now records for this disk). */
  get activeFile(): string {
    return basename(this.active.path);
  }

  get dir(): string {
    return dirname(this.active.path);
  }

  /**
   * Freezes the active overlay and continues on a new one above it. Returns the frozen file's name.
   * Every write to the frozen file was already durable (each write fsyncs before it completes).
   */
  freeze(): string {
    const frozen = this.active;
    const tip = OverlayFile.create(join(this.dir, newOverlayName()), {
      size: this.size,
      base: { sha256: this.baseSha256 },
      parent: { file: basename(frozen.path), id: frozen.header.id },
    });
    frozen.freeze();
    this.chain = [...this.chain, tip];
    return basename(frozen.path);
  }

  /** Every block any layer holds, ascending (a disk diff's raw material). */
  changedBlocks(): number[] {
    return [...this.where.keys()].sort((a, b) => a - b);
  }

  private readBlock(block: number, into: Uint8Array): void {
    const layer = this.where.get(block);
    if (layer) {
      layer.readBlock(block, into);
      return;
    }
    into.fill(0);
    const at = block * OVERLAY_BLOCK;
    readAll(this.baseFd, into.subarray(0, Math.min(OVERLAY_BLOCK, this.size - at)), at);
  }

  read(into: Uint8Array, position: number): number {
    const end = Math.min(this.size, position + into.length);
    const block = new Uint8Array(OVERLAY_BLOCK);
    let at = position;
    while (at < end) {
      const b = Math.floor(at / OVERLAY_BLOCK);
      const off = at - b * OVERLAY_BLOCK;
      const n = Math.min(OVERLAY_BLOCK - off, end - at);
      this.readBlock(b, block);
      into.set(block.subarray(off, off + n), at - position);
      at += n;
    }
    return Math.max(0, end - position);
  }

  write(data: Uint8Array, position: number): void {
    if (position < 0 || position + data.length > this.size) {
      throw new OverlayError(`write of ${data.length} bytes at ${position} is outside the ${this.size}-byte disk`);
    }
    const out: { block: number; data: Uint8Array }[] = [];
    let at = position;
    const end = position + data.length;
    while (at < end) {
      const b = Math.floor(at / OVERLAY_BLOCK);
      const off = at - b * OVERLAY_BLOCK;
      const n = Math.min(OVERLAY_BLOCK - off, end - at);
      const block = new Uint8Array(OVERLAY_BLOCK);
      // A partial block keeps the rest of its current contents.
      if (n < OVERLAY_BLOCK) this.readBlock(b, block);
      block.set(data.subarray(at - position, at - position + n), off);
      out.push({ block: b, data: block });
      at += n;
    }
    const active = this.active;
    active.appendBlocks(out);
    for (const { block } of out) this.where.set(block, active);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.chain) l.close();
    closeSync(this.baseFd);
    this.unlock();
  }
}

function baseMismatch(layer: OverlayFile, basePath: string, sha256: string, size: number): string | null {
  if (layer.header.base.sha256 === sha256 && layer.header.size === size) return null;
  return (
    `overlay ${layer.path} belongs to another base image (sha256 ${layer.header.base.sha256}, ${layer.header.size} bytes) ` +
    `than ${basePath} (sha256 ${sha256}, ${size} bytes)`
  );
}

function fstatSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}
