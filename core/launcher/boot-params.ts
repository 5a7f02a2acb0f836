// The "zero page" a 2.6.23 guest reads at GPA 0 (struct boot_params: one e820 RAM entry, the
// command-line pointer, the initrd fields) and the NUL-terminated command line at GPA 0x1000.

import { LoadError } from './load-error';
import { BOOT_PARAMS_GPA, COMMAND_LINE_GPA } from './guest-layout';

export const E820_ENTRIES_OFFSET = 0x1e8;
export const E820_MAP_OFFSET = 0x2d0;
export const E820_RAM = 1;
export const TYPE_OF_LOADER_OFFSET = 0x210;
export const RAMDISK_IMAGE_OFFSET = 0x218;
export const RAMDISK_SIZE_OFFSET = 0x21c;
export const CMD_LINE_PTR_OFFSET = 0x228;
/** Written as 1 by the 2.6.23 Launcher; padding that the 2.6.23 guest never reads. */
export const SUBARCH_OFFSET = 0x23c;
/** The guest copies COMMAND_LINE_SIZE (2048) bytes, so the line and its NUL must fit. */
export const COMMAND_LINE_SIZE = 2048;

export interface BootParams {
  mem: number;
  commandLine: string;
  initrd: { gpa: number; size: number } | null;
}

/** The command line as bytes with its terminating NUL; refuses lines the guest would cut off. */
export function encodeCommandLine(line: string): Uint8Array {
  const text = new TextEncoder().encode(line);
  if (text.length + 1 > COMMAND_LINE_SIZE) {
    throw new LoadError(
      'command-line-too-long',
      `kernel command line is ${text.length} bytes; the guest reads at most ${COMMAND_LINE_SIZE - 1}`,
    );
  }
  const out = new Uint8Array(text.length + 1);
  out.set(text);
  return out;
}

/** The original joined its kernel arguments with a space after each one. */
export function joinKernelArgs(args: readonly string[]): string {
  return args.map((a) => a + ' ').join('');
}

/** Fills the zero page and the command line; both are assumed zero beforehand (fresh RAM). */
export function writeBootParams(ram: Uint8Array, params: BootParams): void {
  const view = new DataView(ram.buffer, ram.byteOffset, ram.byteLength);
  const zp = BOOT_PARAMS_GPA;
  view.setUint8(zp + E820_ENTRIES_OFFSET, 1);
  view.setBigUint64(zp + E820_MAP_OFFSET, 0n, true);
  view.setBigUint64(zp + E820_MAP_OFFSET + 8, BigInt(params.mem), true);
  view.setUint32(zp + E820_MAP_OFFSET + 16, E820_RAM, true);
  view.setUint32(zp + CMD_LINE_PTR_OFFSET, COMMAND_LINE_GPA, true);
  view.setUint32(zp + SUBARCH_OFFSET, 1, true);
  if (params.initrd) {
    view.setUint8(zp + TYPE_OF_LOADER_OFFSET, 0xff);
    view.setUint32(zp + RAMDISK_IMAGE_OFFSET, params.initrd.gpa, true);
    view.setUint32(zp + RAMDISK_SIZE_OFFSET, params.initrd.size, true);
  }
  ram.set(encodeCommandLine(params.commandLine), COMMAND_LINE_GPA);
}
