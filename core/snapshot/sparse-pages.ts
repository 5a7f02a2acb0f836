// Page-sparse storage for big byte arrays in a snapshot: only the 4 KiB pages that are present
// (non-zero RAM pages, or allocated host frames) are stored, with their page numbers.

import { PAGE_SIZE } from '../cpu/memory';

/** A byte array of `pages` pages of which only `present` (ascending page numbers) are stored. */
export interface SparsePages {
  pages: number;
  present: Uint32Array;
  /** present.length pages of data, in the order of `present`. */
  data: Uint8Array;
}

const ZERO_PAGE = new Uint8Array(PAGE_SIZE);

/** Stores the non-zero pages of `bytes` (whose length is a multiple of the page size). */
export function packNonZeroPages(bytes: Uint8Array): SparsePages {
  if (bytes.byteLength % PAGE_SIZE !== 0) throw new RangeError(`${bytes.byteLength} bytes is not whole pages`);
  const pages = bytes.byteLength / PAGE_SIZE;
  // One memcmp per page against a zero page: several times faster than a word loop in JavaScript.
  const present: number[] = [];
  for (let p = 0; p < pages; p++) {
    if (Buffer.compare(bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), ZERO_PAGE) !== 0) present.push(p);
  }
  const data = new Uint8Array(present.length * PAGE_SIZE);
  present.forEach((p, i) => data.set(bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return { pages, present: Uint32Array.from(present), data };
}

/** Stores the listed pages of `bytes` (ascending page numbers), whatever they hold. */
export function packPages(bytes: Uint8Array, pages: Uint32Array): SparsePages {
  const data = new Uint8Array(pages.length * PAGE_SIZE);
  pages.forEach((p, i) => data.set(bytes.subarray(p * PAGE_SIZE, (p + 1) * PAGE_SIZE), i * PAGE_SIZE));
  return { pages: bytes.byteLength / PAGE_SIZE, present: pages.slice(), data };
}

/** Stores a list of optional pages (null = absent), e.g. host frames where null is a free frame. */
export function packPageList(list: (Uint8Array | null)[]): SparsePages {
  const present: number[] = [];
  list.forEach((f, i) => {
    if (f) {
      if (f.byteLength !== PAGE_SIZE) throw new RangeError(`page ${i} has ${f.byteLength} bytes`);
      present.push(i);
    }
  });
  const data = new Uint8Array(present.length * PAGE_SIZE);
  present.forEach((p, i) => data.set(list[p]!, i * PAGE_SIZE));
  return { pages: list.length, present: Uint32Array.from(present), data };
}

/** Checks the shape of a SparsePages (from a file); returns a problem or null. */
export function sparsePagesProblem(s: SparsePages): string | null {
  if (!Number.isInteger(s.pages) || s.pages < 0) return 'page count is not a whole number';
  if (s.data.byteLength !== s.present.length * PAGE_SIZE) return 'data length does not match the page list';
  for (let i = 0; i < s.present.length; i++) {
    const p = s.present[i]!;
    if (p >= s.pages) return `page ${p} lies beyond the ${s.pages} pages`;
    if (i > 0 && p <= s.present[i - 1]!) return 'page list is not strictly ascending';
  }
  return null;
}

export function unpackToBytes(s: SparsePages): Uint8Array {
  const out = new Uint8Array(s.pages * PAGE_SIZE);
  s.present.forEach((p, i) => out.set(s.data.subarray(i * PAGE_SIZE, (i + 1) * PAGE_SIZE), p * PAGE_SIZE));
  return out;
}

export function unpackToPageList(s: SparsePages): (Uint8Array | null)[] {
  const out = new Array<Uint8Array | null>(s.pages).fill(null);
  s.present.forEach((p, i) => (out[p] = s.data.slice(i * PAGE_SIZE, (i + 1) * PAGE_SIZE)));
  return out;
}
