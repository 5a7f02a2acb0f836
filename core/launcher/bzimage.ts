// Reading a bzImage as the 2.6.23 Launcher did: find the first gzip header after the boot sector
// with a byte-wise state machine, inflate that one member, and guess PAGE_OFFSET from mov moffs32.

import { inflateRawSync } from 'node:zlib';
import { LoadError, hex } from './load-error';

/** The Launcher had already read one ELF header's worth of bytes; its scan starts after them. */
export const GZIP_SCAN_START = 52;
/** A bzImage's kernel always goes to 1 MiB. */
export const BZIMAGE_LOAD_GPA = 0x100000;
const GZIP_OS_UNIX = 3;

/**
 * Offset of the gzip stream, or null. Only the first 1F 8B candidate is considered: if its OS byte
 * (the tenth header byte) is not Unix, the search gives up for good, as the original did.
 */
export function findGzipStream(file: Uint8Array): { offset: number } | { offset: null; rejectedAt?: number } {
  let state = 0;
  for (let i = GZIP_SCAN_START; i < file.length; i++) {
    const b = file[i]!;
    if (state === 0) {
      if (b === 0x1f) state = 1;
    } else if (state === 1) {
      state = b === 0x8b ? 2 : 0;
    } else if (state < 9) {
      state++;
    } else {
      return b === GZIP_OS_UNIX ? { offset: i - 9 } : { offset: null, rejectedAt: i - 9 };
    }
  }
  return { offset: null };
}

/** Skips the gzip member header (RFC 1952) and returns where its deflate data starts. */
function deflateDataStart(file: Uint8Array, at: number): number {
  const flags = file[at + 3]!;
  if (file[at + 2] !== 8) {
    throw new LoadError(
      'gzip-corrupt',
      `gzip stream corrupt at offset ${hex(at + 2)}: compression method ${file[at + 2]} is not deflate`,
      at + 2,
    );
  }
  let p = at + 10;
  if (flags & 4) {
    if (p + 2 > file.length)
      throw new LoadError('gzip-corrupt', `gzip stream corrupt at offset ${hex(p)}: truncated extra field`, p);
    p += 2 + (file[p]! | (file[p + 1]! << 8));
  }
  for (const flag of [8, 16]) {
    if (flags & flag) {
      while (p < file.length && file[p] !== 0) p++;
      p++;
    }
  }
  if (flags & 2) p += 2;
  if (p >= file.length)
    throw new LoadError(
      'gzip-corrupt',
      `gzip stream corrupt at offset ${hex(at)}: header runs past the end of the file`,
      at,
    );
  return p;
}

/** Inflates the first gzip member at `at`; bytes after it are ignored. */
export function inflateFirstMember(file: Uint8Array, at: number, maxBytes: number): Uint8Array {
  const start = deflateDataStart(file, at);
  try {
    const out = inflateRawSync(file.subarray(start), { maxOutputLength: Math.max(1, maxBytes) });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (e) {
    const code = e instanceof Error ? (e as Error & { code?: string }).code : undefined;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new LoadError(
        'image-too-large',
        `image larger than guest memory: the kernel inflated from offset ${hex(at)} exceeds the ${maxBytes} bytes available above ${hex(BZIMAGE_LOAD_GPA)}`,
        at,
      );
    }
    const why = e instanceof Error ? e.message : String(e);
    throw new LoadError('gzip-corrupt', `gzip stream corrupt (stream at offset ${hex(at)}): ${why}`, at);
  }
}

/**
 * The kernel's PAGE_OFFSET, guessed as the original did: count the top address byte after every
 * 0xA1 (mov moffs32,%eax) opcode; the first value seen four times wins. Null if none is.
 */
export function guessPageOffset(img: Uint8Array): number | null {
  const counts = new Uint16Array(256);
  for (let i = 0; i + 4 < img.length; i++) {
    if (img[i] !== 0xa1) continue;
    const top = img[i + 4]!;
    if (++counts[top]! > 3) return (top << 24) >>> 0;
  }
  return null;
}

export interface BzImageLayout {
  pageOffset: number;
  /** The inflated kernel, placed at BZIMAGE_LOAD_GPA. */
  kernel: Uint8Array;
  gzipOffset: number;
}

export function parseBzImage(file: Uint8Array, ramBytes: number): BzImageLayout {
  const found = findGzipStream(file);
  if (found.offset === null) {
    const where =
      found.rejectedAt === undefined
        ? ''
        : ` (the gzip header at offset ${hex(found.rejectedAt)} is not from a Unix host)`;
    throw new LoadError(
      'not-elf-no-gzip',
      `not an ELF file and no gzip stream found after offset ${hex(GZIP_SCAN_START)}: not a vmlinux or bzImage${where}`,
      found.rejectedAt ?? GZIP_SCAN_START,
    );
  }
  const room = ramBytes - BZIMAGE_LOAD_GPA;
  if (room <= 0) {
    throw new LoadError(
      'image-too-large',
      `image larger than guest memory: ${ramBytes} bytes of RAM leave no room at ${hex(BZIMAGE_LOAD_GPA)}`,
      found.offset,
    );
  }
  const kernel = inflateFirstMember(file, found.offset, room);
  const pageOffset = guessPageOffset(kernel);
  if (pageOffset === null) {
    throw new LoadError(
      'no-page-offset',
      `could not determine page offset: no address byte follows 0xA1 four times in the ${kernel.length} bytes inflated from offset ${hex(found.offset)}`,
      found.offset,
    );
  }
  return { pageOffset, kernel, gzipOffset: found.offset };
}
