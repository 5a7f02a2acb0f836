// Loading a guest kernel (vmlinux ELF or bzImage) into a plan of guest-physical placements, and
// finding its lguest entry point: the byte after the "GenuineLguest" marker, as a virtual address.

import { BZIMAGE_LOAD_GPA, parseBzImage } from './bzimage';
import { isElf, parseElfImage, type LoadSegment } from './elf-image';
import { LoadError, hex } from './load-error';

export const ENTRY_MARKER = new TextEncoder().encode('GenuineLguest');

export interface KernelLayout {
  format: 'elf' | 'bzimage';
  pageOffset: number;
  /** Virtual address of the first instruction (marker GPA + 13 + PAGE_OFFSET). */
  entry: number;
  /** Guest-physical address of the marker itself. */
  markerGpa: number;
  segments: LoadSegment[];
  /** One past the highest guest-physical byte the kernel occupies (including BSS). */
  end: number;
}

/** First occurrence of the marker in `bytes`, or -1. */
export function findMarker(bytes: Uint8Array): number {
  const first = ENTRY_MARKER[0]!;
  const last = bytes.length - ENTRY_MARKER.length;
  outer: for (let i = bytes.indexOf(first); i !== -1 && i <= last; i = bytes.indexOf(first, i + 1)) {
    for (let j = 1; j < ENTRY_MARKER.length; j++) if (bytes[i + j] !== ENTRY_MARKER[j]) continue outer;
    return i;
  }
  return -1;
}

/** Lays the segments over the scan range the way guest memory would hold them. */
function composeScanRange(segments: LoadSegment[], start: number, end: number): Uint8Array {
  if (segments.length === 1 && segments[0]!.gpa === start) return segments[0]!.bytes;
  const out = new Uint8Array(end - start);
  for (const s of segments) out.set(s.bytes, s.gpa - start);
  return out;
}

/**
 * Plans where a kernel image goes in `ramBytes` of guest RAM. Pure: reads only `file`; throws a
 * LoadError naming the problem and file offset for every image the Launcher must refuse.
 */
export function loadKernelImage(file: Uint8Array, ramBytes: number): KernelLayout {
  let format: KernelLayout['format'];
  let pageOffset: number;
  let segments: LoadSegment[];
  let scan: Uint8Array;
  let scanStart: number;
  if (isElf(file)) {
    const elf = parseElfImage(file, ramBytes);
    format = 'elf';
    pageOffset = elf.pageOffset;
    segments = elf.segments;
    scanStart = elf.scanStart;
    scan = composeScanRange(segments, elf.scanStart, elf.scanEnd);
  } else {
    const bz = parseBzImage(file, ramBytes);
    format = 'bzimage';
    pageOffset = bz.pageOffset;
    segments = [{ gpa: BZIMAGE_LOAD_GPA, bytes: bz.kernel, memBytes: bz.kernel.length, fileOffset: bz.gzipOffset }];
    scanStart = BZIMAGE_LOAD_GPA;
    scan = bz.kernel;
  }
  // The host refuses a PAGE_OFFSET inside the Switcher's top 4 MiB (INITIALIZE gives -EINVAL);
  // say so here, where the user can still tell which file is wrong.
  if (pageOffset >>> 22 >= 1023) {
    throw new LoadError('bad-page-offset', `page offset ${hex(pageOffset)} collides with the Switcher's top 4 MiB`, 0);
  }
  const at = findMarker(scan);
  if (at < 0) {
    throw new LoadError(
      'no-marker',
      `no GenuineLguest marker in the ${scan.length} loaded bytes (guest-physical ${hex(scanStart)}..${hex(scanStart + scan.length)}): is this a genuine lguest kernel?`,
    );
  }
  const markerGpa = scanStart + at;
  const end = Math.max(...segments.map((s) => s.gpa + s.memBytes));
  return { format, pageOffset, entry: (markerGpa + ENTRY_MARKER.length + pageOffset) >>> 0, markerGpa, segments, end };
}
