// Copy-on-write disk overlays: the blocks a guest changed live in an overlay file on top of an
// untouched base image (and of the frozen overlays below it); reads fall through to the first layer
// that holds the block. The overlay file is versioned, checksummed, sparse and append-only.
//
// Overlay file (integers little-endian):
//   0    8  magic "LGWOVL\0\0"
//   8    4  format version (OVERLAY_VERSION)
//   12   4  block size (OVERLAY_BLOCK)
//   16   4  length J of the header JSON
//   20   4  CRC-32 of the header JSON
//   24   J  header JSON: OverlayHeader (id, disk size, base identity, parent overlay file or null)
//   ..      zero padding to OVERLAY_BLOCK
//   then records, appended: 24-byte record header + one block of data
//     0 4 record magic "LGBK"   4 4 block number   8 4 sequence number   12 4 CRC-32 of the data
//     16 4 reserved (0)         20 4 CRC-32 of bytes 0..19
//
// Crash safety: an overlay is created whole (temp file, fsync, rename), so it exists with a valid
// header or not at all. A write appends its records (data and the index entry in one piece, each
// covered by its checksum) and fsyncs before the request completes. On open, records are read in
// order up to the first one whose checksums fail: a write torn by a crash was never acknowledged
// to the guest, and it is cut off. Nothing here ever writes a base image or a frozen overlay.

import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fstatSync, fsyncSync, ftruncateSync, openSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { crc32 } from 'node:zlib';
import { syncDirSync } from './atomic-file';
import { readAll, writeAll } from './file-io';

const OVERLAY_MAGIC = 'LGWOVL\0\0';
const OVERLAY_VERSION = 1;
export const OVERLAY_BLOCK = 4096;
export const OVERLAY_SUFFIX = '.lgov';
const RECORD_MAGIC = 0x4b42474c; // "LGBK"
const RECORD_HEADER = 24;
const RECORD_BYTES = RECORD_HEADER + OVERLAY_BLOCK;
/** Records read at once when an overlay's index is scanned. */
const SCAN_RECORDS = 64;

/** What an overlay sits on: the base image's identity, and the overlay below it (same folder). */
export interface OverlayHeader {
  /** Random, so a parent reference cannot be satisfied by a different file of the same name. */
  id: string;
  /** Size of the virtual disk in bytes (the base image's size). */
  size: number;
  base: { sha256: string };
  /** The overlay below, as a file name in the same folder, with its id; null: directly on the base. */
  parent: { file: string; id: string } | null;
}

export class OverlayError extends Error {
  override readonly name = 'OverlayError';
}

/** One overlay file opened for reading (frozen) or appending (active). */
export class OverlayFile {
  /** Block number -> file offset of its newest record. */
  readonly blocks = new Map<number, number>();
  private end: number;
  private seq = 0;
  private fd: number | null;

  private constructor(
    readonly path: string,
    readonly header: OverlayHeader,
    fd: number,
    private writable: boolean,
  ) {
    this.fd = fd;
    this.end = OVERLAY_BLOCK;
  }

  /** Creates a new, empty overlay atomically (it must not exist yet) and opens it for appending. */
  static create(path: string, header: Omit<OverlayHeader, 'id'>): OverlayFile {
    if (existsSync(path)) throw new OverlayError(`overlay ${path} already exists`);
    const full: OverlayHeader = { id: randomBytes(16).toString('hex'), ...header };
    const json = new TextEncoder().encode(JSON.stringify(full));
    if (24 + json.length > OVERLAY_BLOCK) throw new OverlayError(`overlay header of ${path} is too long`);
    const page = new Uint8Array(OVERLAY_BLOCK);
    const view = new DataView(page.buffer);
    page.set(new TextEncoder().encode(OVERLAY_MAGIC), 0);
    view.setUint32(8, OVERLAY_VERSION, true);
    view.setUint32(12, OVERLAY_BLOCK, true);
    view.setUint32(16, json.length, true);
    view.setUint32(20, crc32(json), true);
    page.set(json, 24);
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeAll(fd, page, 0);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
    syncDirSync(dirname(path));
    return OverlayFile.open(path, true);
  }

  /** Opens an overlay and reads its index; `writable` cuts off a torn tail so appends follow valid data. */
  static open(path: string, writable: boolean): OverlayFile {
    const fd = openSync(path, writable ? 'r+' : 'r');
    try {
      const header = readHeader(fd, path);
      const file = new OverlayFile(path, header, fd, writable);
      file.scan(fstatSync(fd).size);
      return file;
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  /** Reads the record index; stops at the first record that is short or fails its checksums. */
  private scan(fileSize: number): void {
    // Records are read SCAN_RECORDS at a time (one read per batch, not per record).
    const batch = new Uint8Array(RECORD_BYTES * SCAN_RECORDS);
    let batchAt = -1;
    let batchLen = 0;
    let at = OVERLAY_BLOCK;
    while (at + RECORD_BYTES <= fileSize) {
      if (batchAt < 0 || at + RECORD_BYTES > batchAt + batchLen) {
        batchAt = at;
        batchLen = readAll(this.fd!, batch.subarray(0, Math.min(batch.length, fileSize - at)), at);
        if (batchLen < RECORD_BYTES) break;
      }
      const rec = batch.subarray(at - batchAt, at - batchAt + RECORD_BYTES);
      const view = new DataView(rec.buffer, rec.byteOffset, RECORD_BYTES);
      if (view.getUint32(0, true) !== RECORD_MAGIC) break;
      if (crc32(rec.subarray(0, 20)) !== view.getUint32(20, true)) break;
      if (crc32(rec.subarray(RECORD_HEADER)) !== view.getUint32(12, true)) break;
      const block = view.getUint32(4, true);
      if (block * OVERLAY_BLOCK >= this.header.size) break;
      this.blocks.set(block, at + RECORD_HEADER);
      this.seq = view.getUint32(8, true) + 1;
      at += RECORD_BYTES;
    }
    this.end = at;
    if (this.writable && at < fileSize) {
      ftruncateSync(this.fd!, at);
      fsyncSync(this.fd!);
    }
  }

  /** Bytes of valid records (what a snapshot that froze this overlay covers). */
  get validBytes(): number {
    return this.end;
  }

  readBlock(block: number, into: Uint8Array): boolean {
    const at = this.blocks.get(block);
    if (at === undefined) return false;
    if (readAll(this.fd!, into, at) < OVERLAY_BLOCK)
      throw new OverlayError(`overlay ${this.path} ended inside block ${block}`);
    return true;
  }

  /** Appends whole blocks (block number, 4096 bytes each) and makes them durable before returning. */
  appendBlocks(blocks: { block: number; data: Uint8Array }[]): void {
    if (!this.writable || this.fd === null) throw new OverlayError(`overlay ${this.path} is frozen`);
    const out = new Uint8Array(blocks.length * RECORD_BYTES);
    const view = new DataView(out.buffer);
    blocks.forEach(({ block, data }, i) => {
      const at = i * RECORD_BYTES;
      view.setUint32(at, RECORD_MAGIC, true);
      view.setUint32(at + 4, block, true);
      view.setUint32(at + 8, this.seq + i, true);
      view.setUint32(at + 12, crc32(data), true);
      view.setUint32(at + 16, 0, true);
      view.setUint32(at + 20, crc32(out.subarray(at, at + 20)), true);
      out.set(data, at + RECORD_HEADER);
    });
    writeAll(this.fd, out, this.end);
    fsyncSync(this.fd);
    blocks.forEach(({ block }, i) => this.blocks.set(block, this.end + i * RECORD_BYTES + RECORD_HEADER));
    this.seq += blocks.length;
    this.end += out.length;
  }

  /** No more appends, ever (a snapshot froze this overlay; every write so far is durable). */
  freeze(): void {
    this.writable = false;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

/** The overlays from the one directly on the base up to `tipPath` (all in the tip's folder). */
export function openOverlayChain(tipPath: string, tipWritable: boolean): OverlayFile[] {
  const chain: OverlayFile[] = [];
  try {
    let layer = OverlayFile.open(tipPath, tipWritable);
    chain.unshift(layer);
    while (layer.header.parent) {
      const { file, id } = layer.header.parent;
      if (!/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(file))
        throw new OverlayError(`overlay ${layer.path} names a bad parent "${file}"`);
      const parent = OverlayFile.open(join(dirname(tipPath), file), false);
      chain.unshift(parent);
      if (parent.header.id !== id) {
        throw new OverlayError(
          `overlay ${layer.path}: its parent ${parent.path} is another overlay (id ${parent.header.id}, want ${id})`,
        );
      }
      if (chain.length > 10_000) throw new OverlayError(`overlay chain of ${tipPath} does not end`);
      layer = parent;
    }
    return chain;
  } catch (e) {
    for (const l of chain) l.close();
    throw e;
  }
}

/** Reads and checks an overlay's header (the first block of the file). */
function readHeader(fd: number, path: string): OverlayHeader {
  const head = new Uint8Array(OVERLAY_BLOCK);
  return parseOverlayHeader(head.subarray(0, readAll(fd, head, 0)), path);
}

/** Checks and parses an overlay's first block (`path` names it in errors). */
export function parseOverlayHeader(head: Uint8Array, path: string): OverlayHeader {
  if (head.length < OVERLAY_BLOCK) throw new OverlayError(`overlay ${path} is shorter than its header`);
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (new TextDecoder().decode(head.subarray(0, 8)) !== OVERLAY_MAGIC) {
    throw new OverlayError(`${path} is not a disk overlay (bad magic at offset 0)`);
  }
  const version = view.getUint32(8, true);
  if (version !== OVERLAY_VERSION) {
    throw new OverlayError(`overlay ${path}: format version ${version} at offset 8 is not supported`);
  }
  if (view.getUint32(12, true) !== OVERLAY_BLOCK) {
    throw new OverlayError(`overlay ${path}: block size ${view.getUint32(12, true)} at offset 12 is not supported`);
  }
  const len = view.getUint32(16, true);
  const json = head.subarray(24, 24 + len);
  if (24 + len > OVERLAY_BLOCK || crc32(json) !== view.getUint32(20, true)) {
    throw new OverlayError(`overlay ${path}: header checksum at offset 20 does not match (file is corrupt)`);
  }
  return JSON.parse(new TextDecoder().decode(json)) as OverlayHeader;
}

/** The header of the overlay at `path` (without reading its records). */
export function readOverlayHeader(path: string): OverlayHeader {
  const fd = openSync(path, 'r');
  try {
    return readHeader(fd, path);
  } finally {
    closeSync(fd);
  }
}
