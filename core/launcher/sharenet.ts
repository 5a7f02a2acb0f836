// Shared networks (--sharenet): one page of struct lguest_net peer entries that every guest on the
// network maps; keys in it are shared, so the host itself moves frames between the guests.

import type { SharedPageMapping } from '../host/api';
import { PAGE_SIZE } from '../cpu/memory';
import { LGUEST_DEVICE_T_NET, LGUEST_NET_F_NOCSUM, type DeviceDescriptor } from './device-table';
import type { LauncherDevice } from './device';

export const NET_DEVICE_TYPE = LGUEST_DEVICE_T_NET;
export const LGUEST_NET_BYTES = 6;
/** Peer slots in one page: 4096 / 6. */
export const MAX_NET_PEERS = Math.floor(PAGE_SIZE / LGUEST_NET_BYTES);

/**
 * One named network on one host: its region name and which peer slots are taken. The real Launcher
 * mapped one file MAP_SHARED into every guest; here each guest has its own RAM, and the host keeps
 * the page's bytes common to all guests that map the region (InitializeArgs.sharedPages).
 */
export class SharedNetwork {
  private readonly slots = new Set<number>();

  constructor(readonly name: string) {}

  /** Region identity given to the host: keys in this page match across guests by (region, offset). */
  get region(): string {
    return `sharenet:${this.name}`;
  }

  /** The first free peer slot (the original locked the first free byte of the file). */
  acquireSlot(): number {
    for (let slot = 0; slot < MAX_NET_PEERS; slot++) {
      if (!this.slots.has(slot)) {
        this.slots.add(slot);
        return slot;
      }
    }
    throw new Error(`network ${this.name} is full (${MAX_NET_PEERS} peers)`);
  }

  releaseSlot(slot: number): void {
    this.slots.delete(slot);
  }

  get peers(): number {
    return this.slots.size;
  }
}

/** The networks of each host, by name; guests on different hosts can never share one. */
const networksByHost = new WeakMap<object, Map<string, SharedNetwork>>();

export function sharedNetwork(host: object, name: string): SharedNetwork {
  let byName = networksByHost.get(host);
  if (!byName) networksByHost.set(host, (byName = new Map()));
  let net = byName.get(name);
  if (!net) byName.set(name, (net = new SharedNetwork(name)));
  return net;
}

/** The guest reads its slot from the low bits of features; 0x4000 asks for no checksumming. */
export function sharenetFeatures(slot: number): number {
  return slot | LGUEST_NET_F_NOCSUM;
}

/** MAC the 2.6.23 guest driver gives itself: 02:00 then the guest id's two bytes little-endian. */
export function guestMac(guestId: number): string {
  const b = [2, 0, guestId & 0xff, (guestId >> 8) & 0xff, 0, 0];
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export class SharenetDevice implements LauncherDevice {
  /** No handler: every key in the page is shared, so no SEND_DMA on it comes to the Launcher. */
  readonly watchKey = null;

  constructor(
    readonly desc: DeviceDescriptor,
    readonly network: SharedNetwork,
    readonly slot: number,
  ) {}

  get mapping(): SharedPageMapping {
    return { gpa: this.desc.pageGpa, region: this.network.region };
  }

  close(): void {
    this.network.releaseSlot(this.slot);
  }
}
