// Shared networks (--sharenet): one page of struct lguest_net peer entries that every guest on the
// network maps; keys in it are shared, so the host itself moves frames between the guests.

import type { SharedPageMapping } from '../host/api';
import { HostTables, HostTablesFullError, MAX_REGION_PEERS } from '../host/host-tables';
import { LGUEST_DEVICE_T_NET, LGUEST_NET_F_NOCSUM, type DeviceDescriptor } from './device-table';
import type { LauncherDevice } from './device';

export const NET_DEVICE_TYPE = LGUEST_DEVICE_T_NET;
/** Peer slots in one page: 4096 / 6. */
export const MAX_NET_PEERS = MAX_REGION_PEERS;

/**
 * One named network on one host: its region name and which peer slots are taken. The real Launcher
 * mapped one file MAP_SHARED into every guest and locked a byte of it per slot; here the slots
 * and the region's page live in the host's shared tables (core/host/host-tables.ts), so Launchers
 * on different threads of one host see one network.
 */
export class SharedNetwork {
  private readonly index: number;

  constructor(
    readonly name: string,
    private readonly tables: HostTables,
  ) {
    try {
      this.index = tables.region(this.region);
    } catch (e) {
      if (e instanceof HostTablesFullError) throw new Error(`cannot join network ${name}: ${e.message}`);
      throw e;
    }
  }

  /** Region identity given to the host: keys in this page match across guests by (region, offset). */
  get region(): string {
    return networkRegion(this.name);
  }

  /**
   * The first free peer slot (the original locked the first free byte of the file), or the given
   * one for a machine restored into the slot it had.
   */
  acquireSlot(wanted?: number): number {
    const slot = this.tables.acquirePeer(this.index, wanted);
    if (slot >= 0) return slot;
    if (wanted !== undefined) throw new Error(`network ${this.name}: peer slot ${wanted} is taken`);
    throw new Error(`network ${this.name} is full (${MAX_NET_PEERS} peers)`);
  }

  releaseSlot(slot: number): void {
    this.tables.releasePeer(this.index, slot);
  }

  get peers(): number {
    return this.tables.members(this.index).length;
  }
}

/** The host region of network `name` (its page in the host tables). */
export function networkRegion(name: string): string {
  return `sharenet:${name}`;
}

/** Tables of hosts that bring none (test doubles of the host): one set per host object. */
const tablesByHost = new WeakMap<object, HostTables>();

/** The shared tables of a host (a test double of the host gets tables of its own). */
export function hostTablesOf(host: object): HostTables {
  if ('tables' in host && host.tables instanceof HostTables) return host.tables;
  let t = tablesByHost.get(host);
  if (!t) tablesByHost.set(host, (t = HostTables.create()));
  return t;
}

/** The network `name` of a host; guests on different hosts can never share one. */
export function sharedNetwork(host: object, name: string): SharedNetwork {
  return new SharedNetwork(name, hostTablesOf(host));
}

/** The shared pages of a machine's network devices, for INITIALIZE (or a restore). */
export function sharedPagesOf(devices: readonly object[]): SharedPageMapping[] {
  return devices.filter((d): d is SharenetDevice => d instanceof SharenetDevice).map((d) => d.mapping);
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
    return { gpa: this.desc.pageGpa, region: this.network.region, peerSlot: this.slot };
  }

  close(): void {
    this.network.releaseSlot(this.slot);
  }
}
