// Reading an i386 vmlinux: the ELF header checks and PT_LOAD segments the 2.6.23 Launcher used,
// giving each segment's guest-physical place (p_paddr) and the kernel's PAGE_OFFSET (vaddr - paddr).

import { LoadError, hex } from './load-error';

const ELF_HEADER_BYTES = 52;
const PROGRAM_HEADER_BYTES = 32;
const ET_EXEC = 2;
const EM_386 = 3;
const PT_LOAD = 1;
const MAX_PROGRAM_HEADERS = 2048;

/** Bytes to place at a guest-physical address; memBytes >= bytes.length, the rest stays zero. */
export interface LoadSegment {
  gpa: number;
  bytes: Uint8Array;
  memBytes: number;
  /** Where the bytes came from in the image file (for messages). */
  fileOffset: number;
}

export interface ElfLayout {
  pageOffset: number;
  segments: LoadSegment[];
  /** Range searched for the GenuineLguest marker: [min p_paddr, max p_paddr + p_filesz). */
  scanStart: number;
  scanEnd: number;
}

export function isElf(file: Uint8Array): boolean {
  return file.length >= 4 && file[0] === 0x7f && file[1] === 0x45 && file[2] === 0x4c && file[3] === 0x46;
}

/** Parses a vmlinux and checks that every segment fits in `ramBytes` of guest RAM. */
export function parseElfImage(file: Uint8Array, ramBytes: number): ElfLayout {
  if (file.length < ELF_HEADER_BYTES) {
    throw new LoadError(
      'bad-elf-header',
      `ELF header truncated: file has ${file.length} bytes, need ${ELF_HEADER_BYTES}`,
      0,
    );
  }
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  // Class 1 = 32-bit objects, data 1 = little-endian: anything else cannot be an i386 kernel.
  if (file[4] !== 1 || file[5] !== 1) {
    throw new LoadError(
      'not-i386',
      `not an i386 kernel: ELF class ${file[4]}, data encoding ${file[5]} at offset 0x4 (need 32-bit little-endian)`,
      4,
    );
  }
  const type = view.getUint16(16, true);
  const machine = view.getUint16(18, true);
  const phoff = view.getUint32(28, true);
  const phentsize = view.getUint16(42, true);
  const phnum = view.getUint16(44, true);
  if (machine !== EM_386) {
    throw new LoadError('not-i386', `not an i386 kernel: e_machine is ${machine} at offset 0x12 (need 3)`, 18);
  }
  if (type !== ET_EXEC) {
    throw new LoadError('not-exec', `not an executable ELF (ET_EXEC): e_type is ${type} at offset 0x10`, 16);
  }
  if (phentsize !== PROGRAM_HEADER_BYTES) {
    throw new LoadError(
      'bad-elf-header',
      `malformed ELF header: e_phentsize is ${phentsize} at offset 0x2a (need 32)`,
      42,
    );
  }
  if (phnum < 1 || phnum > MAX_PROGRAM_HEADERS) {
    throw new LoadError(
      'bad-elf-header',
      `malformed ELF header: e_phnum is ${phnum} at offset 0x2c (need 1..2048)`,
      44,
    );
  }
  if (phoff + phnum * PROGRAM_HEADER_BYTES > file.length) {
    throw new LoadError(
      'bad-elf-header',
      `program header table at offset ${hex(phoff)} runs past the end of the file (${file.length} bytes)`,
      phoff,
    );
  }

  let pageOffset = 0;
  let scanStart = Infinity;
  let scanEnd = 0;
  const segments: LoadSegment[] = [];
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * PROGRAM_HEADER_BYTES;
    if (view.getUint32(ph, true) !== PT_LOAD) continue;
    const offset = view.getUint32(ph + 4, true);
    const vaddr = view.getUint32(ph + 8, true);
    const paddr = view.getUint32(ph + 12, true);
    const filesz = view.getUint32(ph + 16, true);
    const memsz = Math.max(view.getUint32(ph + 20, true), filesz);
    if (offset + filesz > file.length) {
      throw new LoadError(
        'truncated-segment',
        `truncated segment at offset ${hex(offset)}: segment ${i} needs ${filesz} bytes, file has ${Math.max(0, file.length - offset)} there`,
        offset,
      );
    }
    if (paddr + memsz > ramBytes) {
      throw new LoadError(
        'segment-outside-memory',
        `segment ${i} (file offset ${hex(offset)}) at guest-physical ${hex(paddr)}..${hex(paddr + memsz)} lies outside guest memory (${hex(ramBytes)} bytes)`,
        offset,
      );
    }
    // Like the original, the first segment with a non-zero difference fixes PAGE_OFFSET; a
    // segment whose vaddr == paddr before that leaves it open.
    const diff = (vaddr - paddr) >>> 0;
    if (pageOffset === 0) {
      pageOffset = diff;
    } else if (diff !== pageOffset) {
      throw new LoadError(
        'inconsistent-page-offset',
        `inconsistent page offset: segment ${i} (program header at offset ${hex(ph)}) has vaddr-paddr ${hex(diff)}, earlier segments ${hex(pageOffset)}`,
        ph,
      );
    }
    segments.push({ gpa: paddr, bytes: file.subarray(offset, offset + filesz), memBytes: memsz, fileOffset: offset });
    scanStart = Math.min(scanStart, paddr);
    scanEnd = Math.max(scanEnd, paddr + filesz);
  }
  if (segments.length === 0) {
    throw new LoadError(
      'bad-elf-header',
      `no PT_LOAD segment among the ${phnum} program headers at offset ${hex(phoff)}`,
      phoff,
    );
  }
  return { pageOffset, segments, scanStart, scanEnd };
}
