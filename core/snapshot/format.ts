// The snapshot file format: a tree of plain data (numbers, strings, booleans, null, arrays,
// objects, typed arrays) to bytes and back, versioned and checksummed so a bad file is refused.
//
// Layout (all integers little-endian):
//   0   8  magic "LGWSNAP\0"
//   8   4  format version (SNAPSHOT_FORMAT_VERSION)
//   12  4  header length H in bytes
//   16  H  header: UTF-8 JSON of the tree, with each typed array replaced by {"$blob": i}
//   ..     blobs, each 8-byte aligned, in index order; the header's "blobs" table gives type/offset/length
//   end-32 32 SHA-256 of every byte before it

import { createHash } from 'node:crypto';

export const SNAPSHOT_MAGIC = 'LGWSNAP\0';
export const SNAPSHOT_FORMAT_VERSION = 1;

export type TypedArray = Uint8Array | Int32Array | Uint32Array | Float64Array | Uint16Array | Int16Array | Int8Array;
export type SnapshotValue =
  | number
  | string
  | boolean
  | null
  | TypedArray
  | SnapshotValue[]
  | { [key: string]: SnapshotValue };

const TYPED_ARRAYS = {
  Uint8Array,
  Int8Array,
  Uint16Array,
  Int16Array,
  Int32Array,
  Uint32Array,
  Float64Array,
} as const;
type TypedArrayName = keyof typeof TYPED_ARRAYS;

interface BlobEntry {
  type: TypedArrayName;
  offset: number;
  byteLength: number;
}

interface Header {
  tree: unknown;
  blobs: BlobEntry[];
}

export class SnapshotFormatError extends Error {
  constructor(message: string) {
    super(`invalid snapshot: ${message}`);
    this.name = 'SnapshotFormatError';
  }
}

const CHECKSUM_BYTES = 32;
const FIXED_HEADER_BYTES = 16;

function typedArrayName(v: object): TypedArrayName | null {
  for (const name of Object.keys(TYPED_ARRAYS) as TypedArrayName[]) {
    if (v instanceof TYPED_ARRAYS[name]) return name;
  }
  return null;
}

/** Serializes a state tree. Throws TypeError naming the path of any value it cannot store. */
export function encodeSnapshot(tree: SnapshotValue): Uint8Array {
  const blobs: TypedArray[] = [];
  const entries: BlobEntry[] = [];
  const replaced = replaceBlobs(tree, '', blobs, entries);

  let blobBytes = 0;
  for (const [i, blob] of blobs.entries()) {
    entries[i]!.offset = blobBytes;
    blobBytes += align8(blob.byteLength);
  }
  const headerJson = new TextEncoder().encode(JSON.stringify({ tree: replaced, blobs: entries } satisfies Header));
  const headerPadded = align8(FIXED_HEADER_BYTES + headerJson.byteLength);
  const total = headerPadded + blobBytes + CHECKSUM_BYTES;
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(SNAPSHOT_MAGIC), 0);
  view.setUint32(8, SNAPSHOT_FORMAT_VERSION, true);
  view.setUint32(12, headerJson.byteLength, true);
  out.set(headerJson, FIXED_HEADER_BYTES);
  for (const [i, blob] of blobs.entries()) {
    out.set(new Uint8Array(blob.buffer, blob.byteOffset, blob.byteLength), headerPadded + entries[i]!.offset);
  }
  out.set(sha256(out.subarray(0, total - CHECKSUM_BYTES)), total - CHECKSUM_BYTES);
  return out;
}

function replaceBlobs(v: SnapshotValue, path: string, blobs: TypedArray[], entries: BlobEntry[]): unknown {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new TypeError(`snapshot value at ${path || '/'} is not a finite number`);
    return v;
  }
  if (Array.isArray(v)) return v.map((item, i) => replaceBlobs(item, `${path}/${i}`, blobs, entries));
  if (typeof v === 'object') {
    const name = typedArrayName(v);
    if (name) {
      blobs.push(v as TypedArray);
      entries.push({ type: name, offset: 0, byteLength: (v as TypedArray).byteLength });
      return { $blob: blobs.length - 1 };
    }
    if (Object.getPrototypeOf(v) !== Object.prototype) {
      throw new TypeError(`snapshot value at ${path || '/'} is not plain data`);
    }
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(v)) {
      if (key === '$blob') throw new TypeError(`snapshot key at ${path}/$blob is reserved`);
      out[key] = replaceBlobs(item, `${path}/${key}`, blobs, entries);
    }
    return out;
  }
  throw new TypeError(`snapshot value at ${path || '/'} has unsupported type ${typeof v}`);
}

/** Parses and verifies a snapshot file; every defect is reported with the offset or path it was found at. */
export function decodeSnapshot(bytes: Uint8Array): SnapshotValue {
  if (bytes.byteLength < FIXED_HEADER_BYTES + CHECKSUM_BYTES) {
    throw new SnapshotFormatError(`file is ${bytes.byteLength} bytes, too short to be a snapshot`);
  }
  const magic = new TextDecoder().decode(bytes.subarray(0, 8));
  if (magic !== SNAPSHOT_MAGIC) throw new SnapshotFormatError('bad magic at offset 0 (not a workbench snapshot)');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(8, true);
  if (version !== SNAPSHOT_FORMAT_VERSION) {
    throw new SnapshotFormatError(
      `format version ${version} at offset 8 is not supported (this build reads version ${SNAPSHOT_FORMAT_VERSION})`,
    );
  }
  const bodyEnd = bytes.byteLength - CHECKSUM_BYTES;
  const expected = sha256(bytes.subarray(0, bodyEnd));
  const stored = bytes.subarray(bodyEnd);
  if (!expected.every((b, i) => b === stored[i])) {
    throw new SnapshotFormatError(`checksum at offset ${bodyEnd} does not match the contents (file is corrupt)`);
  }
  const headerLength = view.getUint32(12, true);
  if (FIXED_HEADER_BYTES + headerLength > bodyEnd) {
    throw new SnapshotFormatError(`header length ${headerLength} at offset 12 runs past the end of the file`);
  }
  let header: Header;
  try {
    header = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(16, 16 + headerLength)),
    ) as Header;
  } catch (e) {
    throw new SnapshotFormatError(`header at offset 16 is not valid JSON (${(e as Error).message})`);
  }
  if (!header || typeof header !== 'object' || !Array.isArray(header.blobs)) {
    throw new SnapshotFormatError('header at offset 16 lacks its blob table');
  }
  const blobBase = align8(FIXED_HEADER_BYTES + headerLength);
  const blobs = header.blobs.map((entry, i) => readBlob(bytes, entry, i, blobBase, bodyEnd));
  return restoreBlobs(header.tree, '', blobs);
}

function readBlob(bytes: Uint8Array, entry: BlobEntry, i: number, base: number, end: number): TypedArray {
  const ctor = TYPED_ARRAYS[entry?.type];
  if (!ctor) throw new SnapshotFormatError(`blob ${i} has unknown type ${String(entry?.type)}`);
  const { offset, byteLength } = entry;
  if (!Number.isInteger(offset) || !Number.isInteger(byteLength) || offset < 0 || byteLength < 0) {
    throw new SnapshotFormatError(`blob ${i} has a bad offset or length`);
  }
  const start = base + offset;
  if (start + byteLength > end) {
    throw new SnapshotFormatError(`blob ${i} at offset ${start} (${byteLength} bytes) runs past the end of the data`);
  }
  if (byteLength % ctor.BYTES_PER_ELEMENT !== 0) {
    throw new SnapshotFormatError(`blob ${i} length ${byteLength} is not a whole number of ${entry.type} elements`);
  }
  // Uint8Array's own slice always copies; a Node Buffer's slice() would return a view into its pool.
  const copy = Uint8Array.prototype.slice.call(bytes, start, start + byteLength);
  return new ctor(copy.buffer, 0, byteLength / ctor.BYTES_PER_ELEMENT);
}

function restoreBlobs(v: unknown, path: string, blobs: TypedArray[]): SnapshotValue {
  if (v === null || typeof v === 'string' || typeof v === 'boolean' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map((item, i) => restoreBlobs(item, `${path}/${i}`, blobs));
  if (typeof v === 'object') {
    const record = v as Record<string, unknown>;
    if ('$blob' in record) {
      const blob = blobs[record.$blob as number];
      if (!blob) throw new SnapshotFormatError(`${path || '/'} refers to missing blob ${String(record.$blob)}`);
      return blob;
    }
    const out: Record<string, SnapshotValue> = {};
    for (const [key, item] of Object.entries(record)) out[key] = restoreBlobs(item, `${path}/${key}`, blobs);
    return out;
  }
  throw new SnapshotFormatError(`${path || '/'} holds an unsupported value`);
}

function align8(n: number): number {
  return (n + 7) & ~7;
}

function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(data).digest());
}
