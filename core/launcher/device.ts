// What every Launcher device shares: its descriptor, the key whose private SEND_DMAs it serves,
// and the context (guest memory, the /dev/lguest file, the log) it is served with.

import type { LguestFile } from '../host/api';
import type { DeviceDescriptor } from './device-table';
import type { LauncherDma } from './launcher-dma';

export interface DeviceContext {
  ram: Uint8Array;
  view: DataView;
  /** Reports bytes the device wrote into guest RAM (see PhysicalMemory.written). */
  written(gpa: number, len: number): void;
  /** pfn_limit * 4096: the end of everything the guest may name. */
  top: number;
  file: LguestFile;
  log(line: string): void;
}

export interface LauncherDevice {
  readonly desc: DeviceDescriptor;
  /** The SEND_DMA key this device answers (the console's 0, a block device's page), or null. */
  readonly watchKey: number | null;
  /** Serves a SEND_DMA on watchKey; the result becomes the sender's used_len. */
  handleOutput?(dma: LauncherDma, ctx: DeviceContext): number;
  /** Releases files and shared resources. */
  close?(): void;
}
