// Builders of small synthetic guest images for the Launcher's tests: i386 ELF executables with
// chosen header fields and segments, and bzImage-like files (boot sector + one gzip member).

import { gzipSync } from 'node:zlib';

export interface ElfSegmentSpec {
  vaddr: number;
  paddr: number;
  data: Uint8Array;
  memsz?: number;
  type?: number;
}

export interface ElfSpec {
  segments: ElfSegmentSpec[];
  type?: number;
  machine?: number;
  elfClass?: number;
  phentsize?: number;
  /** Overrides the program header count written in the header. */
  phnum?: number;
  entry?: number;
}

const enc = new TextEncoder();

export function bytes(...parts: (string | number[] | Uint8Array)[]): Uint8Array {
  const arrays = parts.map((p) =>
    typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p),
  );
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}

/** A 32-bit little-endian ELF: header, program headers right after it, then segment data. */
export function makeElf(spec: ElfSpec): Uint8Array {
  const phnum = spec.segments.length;
  const dataStart = 52 + 32 * phnum;
  const total = dataStart + spec.segments.reduce((n, s) => n + s.data.length, 0);
  const out = new Uint8Array(total);
  const v = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, spec.elfClass ?? 1, 1, 1]);
  v.setUint16(16, spec.type ?? 2, true);
  v.setUint16(18, spec.machine ?? 3, true);
  v.setUint32(20, 1, true);
  v.setUint32(24, spec.entry ?? spec.segments[0]?.paddr ?? 0, true);
  v.setUint32(28, 52, true);
  v.setUint16(40, 52, true);
  v.setUint16(42, spec.phentsize ?? 32, true);
  v.setUint16(44, spec.phnum ?? phnum, true);
  let at = dataStart;
  spec.segments.forEach((s, i) => {
    const ph = 52 + 32 * i;
    v.setUint32(ph, s.type ?? 1, true);
    v.setUint32(ph + 4, at, true);
    v.setUint32(ph + 8, s.vaddr >>> 0, true);
    v.setUint32(ph + 12, s.paddr >>> 0, true);
    v.setUint32(ph + 16, s.data.length, true);
    v.setUint32(ph + 20, s.memsz ?? s.data.length, true);
    v.setUint32(ph + 24, 7, true);
    out.set(s.data, at);
    at += s.data.length;
  });
  return out;
}

/** A typical kernel body: some code, the marker, then the entry code. */
export function kernelBody(entryCode: Uint8Array = Uint8Array.from([0xf4]), before = 64): Uint8Array {
  return bytes(new Uint8Array(before).fill(0x90), 'GenuineLguest', entryCode);
}

/** `n` mov-moffs32 instructions (A1 + 4 address bytes) loading from addresses with top byte `top`. */
export function moffsLoads(top: number, n: number): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(0xa1, 0x10, 0x20, 0x30, top);
  return Uint8Array.from(out);
}

export interface BzSpec {
  kernel: Uint8Array;
  /** Bytes before the gzip member (the real-mode set-up code); default 512 bytes without 0x1F. */
  prefix?: Uint8Array;
  /** gzip OS byte; 3 = Unix. */
  os?: number;
  trailing?: Uint8Array;
}

export function makeBzImage(spec: BzSpec): Uint8Array {
  const gz = new Uint8Array(gzipSync(spec.kernel));
  gz[9] = spec.os ?? 3;
  return bytes(spec.prefix ?? new Uint8Array(512).fill(0x55), gz, spec.trailing ?? new Uint8Array(0));
}

/** An empty demofs volume of `sectors` 512-byte sectors (the demo guest mounts it; see its mkfs.ts). */
export function emptyDemoFs(sectors: number): Uint8Array {
  const img = new Uint8Array(sectors * 512);
  img.set(enc.encode('DEMOFS01'), 0);
  const v = new DataView(img.buffer);
  // version, total sectors, directory start and length, data start, next free sector
  [1, sectors, 1, 4, 5, 5].forEach((x, i) => v.setUint32(8 + i * 4, x, true));
  return img;
}
