// The lguest device descriptor page at GPA `mem` (16 descriptors of 12 bytes) and the device
// pages that follow it: descriptor index i gets IRQ i+1, and every device page raises `top`.

import { PAGE_SIZE } from '../cpu/memory';

export const LGUEST_MAX_DEVICES = 16;
export const DEVICE_DESC_BYTES = 12;
export const LGUEST_DEVICE_T_CONSOLE = 1;
export const LGUEST_DEVICE_T_NET = 2;
export const LGUEST_DEVICE_T_BLOCK = 3;
export const LGUEST_NET_F_NOCSUM = 0x4000;
export const LGUEST_DEVICE_F_RANDOMNESS = 0x8000;

export interface DeviceDescriptor {
  index: number;
  type: number;
  features: number;
  numPages: number;
  /** First page frame of device memory, 0 for none. */
  pfn: number;
  /** Guest-physical address of the device memory (0 for none). */
  pageGpa: number;
  /** The IRQ the guest's driver will request for this device. */
  irq: number;
}

export class TooManyDevicesError extends Error {
  override readonly name = 'TooManyDevicesError';
}

/** Hands out descriptor slots and device pages in creation order, as the Launcher's set-up did. */
export class DeviceTable {
  readonly descriptorGpa: number;
  readonly devices: DeviceDescriptor[] = [];
  private nextTop: number;

  constructor(readonly memBytes: number) {
    this.descriptorGpa = memBytes;
    this.nextTop = memBytes + PAGE_SIZE;
  }

  /** One past the last device page: pfn_limit * 4096. */
  get top(): number {
    return this.nextTop;
  }

  add(type: number, features: number, numPages: number): DeviceDescriptor {
    if (this.devices.length >= LGUEST_MAX_DEVICES) {
      throw new TooManyDevicesError(`too many devices: the descriptor page holds ${LGUEST_MAX_DEVICES}`);
    }
    const pageGpa = numPages > 0 ? this.nextTop : 0;
    this.nextTop += numPages * PAGE_SIZE;
    const index = this.devices.length;
    const desc: DeviceDescriptor = {
      index,
      type,
      features,
      numPages,
      pfn: pageGpa / PAGE_SIZE,
      pageGpa,
      irq: index + 1,
    };
    this.devices.push(desc);
    return desc;
  }

  /** Writes the descriptors into guest memory (the page itself was zeroed at allocation). */
  writeTo(ram: DataView): void {
    for (const d of this.devices) {
      const at = this.descriptorGpa + d.index * DEVICE_DESC_BYTES;
      ram.setUint16(at, d.type, true);
      ram.setUint16(at + 2, d.features, true);
      ram.setUint16(at + 4, 0, true);
      ram.setUint16(at + 6, d.numPages, true);
      ram.setUint32(at + 8, d.pfn, true);
    }
  }
}
