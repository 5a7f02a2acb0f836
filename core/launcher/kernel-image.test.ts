import { describe, expect, it } from 'vitest';
import { gzipSync } from 'node:zlib';
import { findGzipStream, guessPageOffset } from './bzimage';
import { loadKernelImage } from './kernel-image';
import { LoadError, type LoadErrorCode } from './load-error';
import { bytes, kernelBody, makeBzImage, makeElf, moffsLoads } from './test-images';

const MEM = 16 * 1024 * 1024;
const PO = 0xc0000000;

function refusal(f: () => unknown): LoadError {
  try {
    f();
  } catch (e) {
    if (e instanceof LoadError) return e;
    throw e;
  }
  throw new Error('expected a LoadError');
}

function expectRefused(file: Uint8Array, code: LoadErrorCode, message: RegExp, mem = MEM): LoadError {
  const e = refusal(() => loadKernelImage(file, mem));
  expect(e.code).toBe(code);
  expect(e.message).toMatch(message);
  return e;
}

const goodElf = () =>
  makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: kernelBody(), memsz: 0x2000 }] });

describe('vmlinux (ELF) loading', () => {
  it('places PT_LOAD segments at p_paddr and finds the entry after GenuineLguest', () => {
    const k = loadKernelImage(goodElf(), MEM);
    expect(k.format).toBe('elf');
    expect(k.pageOffset).toBe(PO);
    expect(k.markerGpa).toBe(0x100000 + 64);
    expect(k.entry).toBe(PO + 0x100000 + 64 + 13);
    expect(k.segments).toHaveLength(1);
    expect(k.segments[0]!.gpa).toBe(0x100000);
    expect(k.end).toBe(0x102000);
  });

  it('scans across several segments and skips non-LOAD program headers', () => {
    const first = new Uint8Array(0x1000).fill(0x90);
    const second = kernelBody(Uint8Array.from([0xf4]), 8);
    const elf = makeElf({
      segments: [
        { vaddr: 0, paddr: 0, data: bytes('GenuineLguest'), type: 4 }, // PT_NOTE: not loaded, not scanned
        { vaddr: PO + 0x100000, paddr: 0x100000, data: first },
        { vaddr: PO + 0x101000, paddr: 0x101000, data: second },
      ],
    });
    const k = loadKernelImage(elf, MEM);
    expect(k.segments.map((s) => s.gpa)).toEqual([0x100000, 0x101000]);
    expect(k.markerGpa).toBe(0x101008);
    expect(k.entry).toBe(PO + 0x101008 + 13);
  });

  it('lets a first segment with vaddr == paddr leave the page offset to later ones (as 2.6.23)', () => {
    const elf = makeElf({
      segments: [
        { vaddr: 0x100000, paddr: 0x100000, data: new Uint8Array(16) },
        { vaddr: PO + 0x200000, paddr: 0x200000, data: kernelBody() },
      ],
    });
    expect(loadKernelImage(elf, MEM).pageOffset).toBe(PO);
  });

  it('refuses a file that is neither ELF nor holds a gzip stream', () => {
    const e = expectRefused(new Uint8Array(4096).fill(0x42), 'not-elf-no-gzip', /not an ELF file and no gzip stream/);
    expect(e.offset).toBe(52);
  });

  it('refuses non-i386 machines and 64-bit ELF', () => {
    const x86_64 = makeElf({ machine: 62, segments: [{ vaddr: PO, paddr: 0, data: kernelBody() }] });
    expect(expectRefused(x86_64, 'not-i386', /e_machine is 62 at offset 0x12/).offset).toBe(18);
    const elf64 = makeElf({ elfClass: 2, segments: [{ vaddr: PO, paddr: 0, data: kernelBody() }] });
    expectRefused(elf64, 'not-i386', /ELF class 2/);
  });

  it('refuses ELF files that are not ET_EXEC', () => {
    const dyn = makeElf({ type: 3, segments: [{ vaddr: PO, paddr: 0, data: kernelBody() }] });
    expect(expectRefused(dyn, 'not-exec', /e_type is 3 at offset 0x10/).offset).toBe(16);
  });

  it('refuses malformed program header tables', () => {
    expectRefused(
      makeElf({ phentsize: 40, segments: [{ vaddr: PO, paddr: 0, data: kernelBody() }] }),
      'bad-elf-header',
      /e_phentsize is 40/,
    );
    expectRefused(makeElf({ phnum: 0, segments: [] }), 'bad-elf-header', /e_phnum is 0/);
    expectRefused(makeElf({ phnum: 2049, segments: [] }), 'bad-elf-header', /e_phnum is 2049/);
    expectRefused(
      makeElf({ phnum: 3, segments: [{ vaddr: PO, paddr: 0, data: new Uint8Array(8) }] }),
      'bad-elf-header',
      /runs past the end/,
    );
    expectRefused(new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 1, 1]), 'bad-elf-header', /ELF header truncated/);
  });

  it('names the offset of a truncated segment', () => {
    const elf = goodElf();
    const cut = elf.subarray(0, elf.length - 10);
    const e = expectRefused(cut, 'truncated-segment', /truncated segment at offset 0x54/);
    expect(e.offset).toBe(0x54);
  });

  it('refuses segments outside guest memory (including their BSS)', () => {
    const elf = makeElf({ segments: [{ vaddr: PO + 0xf00000, paddr: 0xf00000, data: kernelBody(), memsz: 0x200000 }] });
    expectRefused(elf, 'segment-outside-memory', /guest-physical 0xf00000\.\.0x1100000 lies outside guest memory/);
  });

  it('refuses inconsistent page offsets between segments', () => {
    const elf = makeElf({
      segments: [
        { vaddr: PO + 0x100000, paddr: 0x100000, data: kernelBody() },
        { vaddr: 0x80000000 + 0x200000, paddr: 0x200000, data: new Uint8Array(4) },
      ],
    });
    const e = expectRefused(
      elf,
      'inconsistent-page-offset',
      /inconsistent page offset: segment 1 .* 0x80000000, earlier segments 0xc0000000/,
    );
    expect(e.offset).toBe(52 + 32);
  });

  it('refuses a page offset inside the Switcher area', () => {
    const elf = makeElf({ segments: [{ vaddr: 0xffc00000 + 0x100000, paddr: 0x100000, data: kernelBody() }] });
    expectRefused(elf, 'bad-page-offset', /collides with the Switcher/);
  });

  it('refuses an image without the GenuineLguest marker', () => {
    const elf = makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: bytes('GenuineLgues', [0x90]) }] });
    expectRefused(elf, 'no-marker', /no GenuineLguest marker/);
  });
});

describe('bzImage loading', () => {
  const kernel = () => bytes(moffsLoads(0xc0, 4), kernelBody(), new Uint8Array(100));

  it('inflates the first gzip member to 1 MiB, guesses PAGE_OFFSET and finds the entry', () => {
    const body = kernel();
    const k = loadKernelImage(makeBzImage({ kernel: body }), MEM);
    expect(k.format).toBe('bzimage');
    expect(k.pageOffset).toBe(PO);
    expect(k.segments[0]!.gpa).toBe(0x100000);
    expect(Array.from(k.segments[0]!.bytes)).toEqual(Array.from(body));
    expect(k.markerGpa).toBe(0x100000 + 20 + 64);
    expect(k.entry).toBe(PO + 0x100000 + 20 + 64 + 13);
  });

  it('ignores bytes after the first member, even another gzip member or garbage', () => {
    const trailing = bytes(new Uint8Array(gzipSync(bytes('GenuineLguest-second'))), 'junk');
    const k = loadKernelImage(makeBzImage({ kernel: kernel(), trailing }), MEM);
    expect(k.segments[0]!.bytes.length).toBe(kernel().length);
  });

  it('accepts a gzip header with a file name field', () => {
    const gz = new Uint8Array(gzipSync(kernel()));
    const named = bytes(
      new Uint8Array(512),
      gz.subarray(0, 3),
      [0x08],
      gz.subarray(4, 10),
      'vmlinux.bin',
      [0],
      gz.subarray(10),
    );
    named[512 + 9] = 3;
    expect(loadKernelImage(named, MEM).pageOffset).toBe(PO);
  });

  it('only looks from offset 52 onwards', () => {
    const gz = new Uint8Array(gzipSync(kernel()));
    gz[9] = 3;
    expect(findGzipStream(bytes(new Uint8Array(10), gz)).offset).toBeNull();
    expect(findGzipStream(bytes(new Uint8Array(52), gz)).offset).toBe(52);
  });

  it('does not re-test a byte after a failed 0x1F 0x8B match (state machine quirk)', () => {
    const gz = new Uint8Array(gzipSync(bytes('x')));
    gz[9] = 3;
    // 0x1F 0x1F 0x8B...: the second 0x1F ends state 1 and is not taken as a new start.
    const file = bytes(new Uint8Array(60), [0x1f], gz);
    const found = findGzipStream(file);
    expect(found.offset).toBeNull();
  });

  it('refuses a gzip stream whose OS byte is not Unix, and never looks further', () => {
    const e = expectRefused(
      makeBzImage({ kernel: kernel(), os: 11, trailing: makeBzImage({ kernel: kernel() }) }),
      'not-elf-no-gzip',
      /not from a Unix host/,
    );
    expect(e.offset).toBe(512);
  });

  it('refuses a corrupt gzip stream', () => {
    const bz = makeBzImage({ kernel: kernel() });
    const cut = bz.subarray(0, 512 + 20);
    expectRefused(cut, 'gzip-corrupt', /gzip stream corrupt \(stream at offset 0x200\)/);
    const wrongMethod = bz.slice();
    wrongMethod[512 + 2] = 7;
    expectRefused(wrongMethod, 'gzip-corrupt', /not deflate/);
  });

  it('refuses a kernel that inflates to more than the memory above 1 MiB', () => {
    const big = bytes(moffsLoads(0xc0, 4), kernelBody(), new Uint8Array(3 * 1024 * 1024));
    expectRefused(makeBzImage({ kernel: big }), 'image-too-large', /image larger than guest memory/, 4 * 1024 * 1024);
    expectRefused(makeBzImage({ kernel: kernel() }), 'image-too-large', /no room/, 1024 * 1024);
  });

  it('refuses when the page offset cannot be determined', () => {
    const body = bytes(moffsLoads(0xc0, 3), kernelBody());
    expectRefused(makeBzImage({ kernel: body }), 'no-page-offset', /could not determine page offset/);
  });

  it('refuses a bzImage without the marker', () => {
    expectRefused(
      makeBzImage({ kernel: bytes(moffsLoads(0xc0, 4), 'GenuineLgueSt') }),
      'no-marker',
      /no GenuineLguest marker/,
    );
  });

  it('takes the first top byte whose count reaches four', () => {
    expect(guessPageOffset(bytes(moffsLoads(0xc0, 3), moffsLoads(0xb0, 4), moffsLoads(0xc0, 5)))).toBe(0xb0000000);
    expect(guessPageOffset(bytes(moffsLoads(0x80, 4)))).toBe(0x80000000);
    // The last A1 must have all four address bytes inside the image (i + 4 < len).
    expect(guessPageOffset(bytes(moffsLoads(0xc0, 3), [0xa1, 0, 0, 0]))).toBeNull();
  });
});
