// The workbench's networks: every network name its configs use or its one host holds, with the
// member machines (peer slot, MAC, state) and the host's per-peer traffic counters; starting and
// stopping a network's machines together; and recording a network's frames into pcap files.

import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { HostTables } from '../host/host-tables';
import { PcapFile } from '../launcher/pcap-file';
import { guestMac } from '../launcher/sharenet';
import type { MachineConfig, MachineStatus, NetworkCapture, NetworkMember, NetworkView } from './api';
import type { ConfigStore } from './config-store';
import { ServiceError } from './errors';
import type { MachineManager } from './machines';

/** How often a running capture moves frames from the host tables into its file. */
const CAPTURE_DRAIN_MS = 100;
const REGION_PREFIX = 'sharenet:';

export class Networks {
  private readonly captures = new Map<string, PcapFile>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly machines: MachineManager,
    private readonly store: ConfigStore,
    private readonly captureDir: string,
    /** The valid config of a machine (the service's check before any start). */
    private readonly configFor: (id: string) => Promise<MachineConfig>,
  ) {}

  private get tables(): HostTables {
    return this.machines.hostTables;
  }

  async list(): Promise<NetworkView[]> {
    this.drain();
    const configs = (await this.store.list()).flatMap((c) => (c.ok ? [{ id: c.id, config: c.config }] : []));
    const onHost = new Map<string, number>();
    this.tables.regionNames().forEach((r) => {
      if (r.startsWith(REGION_PREFIX)) onHost.set(r.slice(REGION_PREFIX.length), this.tables.region(r));
    });
    const names = new Set([...onHost.keys(), ...configs.flatMap((c) => c.config.networks ?? [])]);
    return [...names].sort().map((name) => {
      const members: NetworkMember[] = [];
      const region = onHost.get(name);
      for (const m of region === undefined ? [] : this.tables.members(region)) {
        const machine = this.machines.machineOfHostOwner(m.owner);
        members.push({
          machine,
          state: machine ? this.machines.status(machine).state : 'running',
          peerSlot: m.peerSlot,
          mac: m.guestid === null ? null : guestMac(m.guestid),
          txFrames: m.txFrames,
          txBytes: m.txBytes,
          rxFrames: m.rxFrames,
          rxBytes: m.rxBytes,
        });
      }
      for (const c of configs) {
        if (!(c.config.networks ?? []).includes(name) || members.some((m) => m.machine === c.id)) continue;
        const state = this.machines.status(c.id).state;
        members.push({
          machine: c.id,
          state,
          peerSlot: null,
          mac: null,
          txFrames: 0,
          txBytes: 0,
          rxFrames: 0,
          rxBytes: 0,
        });
      }
      return { name, members, capture: this.captureView(name) };
    });
  }

  /** The configured machines of a network, in name order (so that slots come out the same each time). */
  private async machinesOn(name: string): Promise<string[]> {
    const configs = await this.store.list();
    const ids = configs.filter((c) => c.ok && (c.config.networks ?? []).includes(name)).map((c) => c.id);
    if (ids.length === 0) throw new ServiceError('not-found', `no machine is configured on network "${name}"`);
    return ids.sort();
  }

  async start(name: string): Promise<MachineStatus[]> {
    const out: MachineStatus[] = [];
    // One after the other: each takes its guest and peer slots before the next asks for them.
    for (const id of await this.machinesOn(name)) {
      if (!this.machines.isActive(id)) this.machines.start(id, await this.configFor(id));
      out.push(await this.machines.whenStarted(id));
    }
    return out;
  }

  async stop(name: string): Promise<MachineStatus[]> {
    const ids = await this.machinesOn(name);
    return Promise.all(ids.map((id) => this.machines.stop(id)));
  }

  startCapture(name: string): NetworkCapture {
    if (this.captures.has(name)) throw new ServiceError('bad-state', `network "${name}" is already being captured`);
    mkdirSync(this.captureDir, { recursive: true });
    const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*/, '');
    let file: PcapFile;
    try {
      file = new PcapFile(join(this.captureDir, `${name}-${stamp}.pcap`));
    } catch (e) {
      throw new ServiceError(
        'internal',
        `cannot create the capture file: ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    this.captures.set(name, file);
    this.tables.setCapture(this.tables.region(REGION_PREFIX + name), true);
    this.timer ??= setInterval(() => this.drain(), CAPTURE_DRAIN_MS);
    return this.captureView(name)!;
  }

  stopCapture(name: string): NetworkCapture {
    const file = this.captures.get(name);
    if (!file) throw new ServiceError('bad-state', `network "${name}" is not being captured`);
    this.drain();
    this.tables.setCapture(this.tables.region(REGION_PREFIX + name), false);
    const view = this.captureView(name)!;
    this.captures.delete(name);
    if (this.captures.size === 0 && this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
    file.close();
    return view;
  }

  /** Ends every capture (their files are kept, complete). */
  close(): void {
    for (const name of [...this.captures.keys()]) this.stopCapture(name);
  }

  private captureView(name: string): NetworkCapture | null {
    const f = this.captures.get(name);
    return f ? { file: f.path, frames: f.frames, bytes: f.bytes } : null;
  }

  /** Moves the frames the host recorded into their networks' files. */
  private drain(): void {
    if (this.captures.size === 0) return;
    for (const frame of this.tables.drainCapture().frames) {
      this.captures.get(frame.region.slice(REGION_PREFIX.length))?.write(frame.timeMicros, frame.bytes);
    }
  }
}
