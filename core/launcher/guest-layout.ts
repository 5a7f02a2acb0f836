// Where everything goes in guest-physical memory (ABI §10.3): RAM [0, mem), the initrd at the top
// of RAM, the initial page tables just below it, the kernel low; refuses layouts that overlap.

import { PAGE_SIZE } from '../cpu/memory';
import { LoadError, hex } from './load-error';

export const BOOT_PARAMS_GPA = 0;
export const COMMAND_LINE_GPA = 0x1000;
export const PTES_PER_PAGE = 1024;

export interface PageTablePlan {
  pgdir: number;
  /** GPA of the first PTE page. */
  ptes: number;
  ptePages: number;
  /** Pages of RAM linearly mapped at PAGE_OFFSET. */
  mappedPages: number;
}

export interface GuestLayout extends PageTablePlan {
  mem: number;
  initrd: { gpa: number; size: number } | null;
}

export function roundUpToPage(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** §10.7: the linear map covers all RAM, or everything up to 4 GiB above PAGE_OFFSET. */
export function planPageTables(mem: number, belowGpa: number, pageOffset: number): PageTablePlan {
  const room = 2 ** 32 - pageOffset;
  const mappedPages = (mem <= room ? mem : room) / PAGE_SIZE;
  const ptePages = Math.ceil(mappedPages / PTES_PER_PAGE);
  const pgdir = belowGpa - PAGE_SIZE;
  return { pgdir, ptes: pgdir - ptePages * PAGE_SIZE, ptePages, mappedPages };
}

/**
 * Plans RAM given the kernel's extent and the initrd's size (null for none); throws a LoadError if
 * the initrd or the kernel does not fit beside the page tables.
 */
export function planGuestLayout(
  mem: number,
  kernelEnd: number,
  pageOffset: number,
  initrdBytes: number | null,
): GuestLayout {
  let initrd: GuestLayout['initrd'] = null;
  let below = mem;
  if (initrdBytes !== null) {
    const size = roundUpToPage(initrdBytes);
    if (size >= mem - kernelEnd) {
      throw new LoadError(
        'initrd-too-large',
        `initrd too large: ${initrdBytes} bytes (${size} rounded to pages) do not fit between the kernel's end at ${hex(kernelEnd)} and the top of guest memory at ${hex(mem)}`,
      );
    }
    initrd = { gpa: mem - size, size };
    below = initrd.gpa;
  }
  const tables = planPageTables(mem, below, pageOffset);
  if (tables.ptes < kernelEnd || tables.ptes < COMMAND_LINE_GPA + PAGE_SIZE) {
    const what = initrd ? 'initrd too large' : 'image larger than guest memory';
    throw new LoadError(
      initrd ? 'initrd-too-large' : 'image-too-large',
      `${what}: the kernel ends at ${hex(kernelEnd)} but the initial page tables must start at ${hex(tables.ptes)} (guest memory ${hex(mem)})`,
    );
  }
  return { mem, initrd, ...tables };
}
