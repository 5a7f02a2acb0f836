// Group snapshots: every machine on one network snapshotted at one consistent point and restored
// together on the shared host. The members' files are ordinary snapshots in their machines'
// folders (written by the per-machine snapshot code); a manifest, written last and atomically,
// makes them one group: <data>/group-snapshots/<network>-<time>.lggroup.

import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { writeFileAtomic } from '../launcher/atomic-file';
import { guestMac, networkRegion } from '../launcher/sharenet';
import { checkDisksAsync, DiskChangedError } from '../snapshot/disk-identity';
import type { MachineSnapshot } from '../snapshot/machine-snapshot';
import { configId, isGroupSnapshotFileName, networkName, snapshotFile } from './api-schemas';
import type { ApiEventMessage, ApiMethods, ApiParams, ApiResult, MachineConfig, MachineStatus } from './api';
import { isErrno, ServiceError } from './errors';
import type {
  GroupSnapshotListing,
  GroupSnapshotManifest,
  GroupSnapshotMember,
  GroupSnapshotMemberListing,
} from './group-snapshot-types';
import type { MachineManager } from './machines';
import type { SnapshotStore } from './snapshots';

export const GROUP_SUFFIX = '.lggroup';
/** How long the members get to reach the end of their current run slice and pause. */
const PAUSE_TIMEOUT_MS = 10_000;
/** How long a stopped member's thread gets to give back its guest and peer slots. */
const SLOTS_FREE_TIMEOUT_MS = 5_000;

const ajv = new Ajv({ allErrors: true, strict: true });
const checkManifest = ajv.compile<GroupSnapshotManifest>({
  type: 'object',
  additionalProperties: false,
  required: ['kind', 'version', 'network', 'createdAt', 'members'],
  properties: {
    kind: { const: 'lguest-group-snapshot' },
    version: { const: 1 },
    network: networkName,
    createdAt: { type: 'string', minLength: 1, maxLength: 100 },
    members: {
      type: 'array',
      minItems: 1,
      maxItems: 16,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['machine', 'file', 'guestId', 'peerSlot', 'mac', 'sha256'],
        properties: {
          machine: configId,
          file: snapshotFile,
          guestId: { type: 'integer', minimum: 0, maximum: 15 },
          peerSlot: { type: 'integer', minimum: 0, maximum: 681 },
          mac: { type: 'string', pattern: '^[0-9a-f]{2}(:[0-9a-f]{2}){5}$' },
          sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
        },
      },
    },
  },
});

/** The group snapshot folder: manifests, each naming its members' files in their machines' folders. */
export class GroupSnapshotStore {
  constructor(
    readonly dir: string,
    private readonly snapshots: SnapshotStore,
  ) {}

  pathOf(file: string): string {
    if (!isGroupSnapshotFileName(file))
      throw new ServiceError('bad-request', `"${file}" is not a group snapshot file name`);
    return join(this.dir, file);
  }

  /** Every group snapshot, oldest first; broken ones (bad manifest, missing or changed member) with the reason. */
  async list(): Promise<GroupSnapshotListing[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dir);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const files = names.filter(isGroupSnapshotFileName).sort();
    return Promise.all(files.map((f) => this.inspect(f)));
  }

  /** The manifest of a group snapshot; a missing or malformed one is an error naming the problem. */
  async manifest(file: string): Promise<GroupSnapshotManifest> {
    let text: string;
    try {
      text = await fs.readFile(this.pathOf(file), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new ServiceError('not-found', `there is no group snapshot ${file}`);
      throw new ServiceError('invalid-snapshot', `cannot read group snapshot ${file}: ${errorText(err)}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new ServiceError(
        'invalid-snapshot',
        `group snapshot ${file}: the manifest is not JSON (${errorText(err)})`,
      );
    }
    if (!checkManifest(parsed)) {
      const e = checkManifest.errors?.[0];
      const where = e ? `${e.instancePath || '/'} ${e.message ?? 'is invalid'}` : 'is invalid';
      throw new ServiceError('invalid-snapshot', `group snapshot ${file}: manifest ${where}`);
    }
    return parsed;
  }

  /** A group snapshot checked in full: its manifest, and each member file against its recorded hash. */
  async inspect(file: string): Promise<GroupSnapshotListing> {
    let manifest: GroupSnapshotManifest;
    try {
      manifest = await this.manifest(file);
    } catch (err) {
      return { file, verified: false, error: errorText(err), members: [] };
    }
    const members = await Promise.all(manifest.members.map((m) => this.inspectMember(m)));
    const broken = members.find((m) => !m.verified);
    return {
      file,
      verified: !broken,
      ...(broken ? { error: `member "${broken.machine}": ${broken.error ?? 'not verified'}` } : {}),
      network: manifest.network,
      createdAt: manifest.createdAt,
      members,
    };
  }

  private async inspectMember(m: GroupSnapshotMember): Promise<GroupSnapshotMemberListing> {
    const base = { machine: m.machine, file: m.file, guestId: m.guestId, peerSlot: m.peerSlot, mac: m.mac };
    let bytes: Buffer;
    try {
      bytes = await fs.readFile(this.snapshots.pathOf(m.machine, m.file));
    } catch (err) {
      const why = isErrno(err, 'ENOENT') ? 'is missing' : `cannot be read (${errorText(err)})`;
      return { ...base, verified: false, error: `snapshot ${m.file} ${why}` };
    }
    if (sha256(bytes) !== m.sha256) {
      return {
        ...base,
        verified: false,
        error: `snapshot ${m.file} changed since the group was taken (SHA-256 differs)`,
      };
    }
    // The store decodes it (and keeps the result while the file is unchanged).
    const listing = (await this.snapshots.list(m.machine)).find((l) => l.file === m.file);
    if (!listing?.verified)
      return { ...base, verified: false, error: `snapshot ${m.file}: ${listing?.error ?? 'unreadable'}` };
    return {
      ...base,
      verified: true,
      ...(listing.instructionCount !== undefined ? { instructionCount: listing.instructionCount } : {}),
      ...(listing.lastLines ? { lastLines: listing.lastLines } : {}),
    };
  }

  /** Writes a new manifest atomically (never over another) and returns its file name. */
  async write(manifest: GroupSnapshotManifest): Promise<string> {
    await fs.mkdir(this.dir, { recursive: true });
    const stem = `${manifest.network}-${manifest.createdAt.replace(/:/g, '-')}`;
    for (let n = 1; ; n++) {
      const file = `${stem}${n === 1 ? '' : `-${n}`}${GROUP_SUFFIX}`;
      try {
        await writeFileAtomic(this.pathOf(file), `${JSON.stringify(manifest, null, 2)}\n`, { overwrite: false });
        return file;
      } catch (err) {
        if (!isErrno(err, 'EEXIST') || n >= 9) throw err;
      }
    }
  }

  /**
   * The group a machine's snapshot file belongs to, as words for a refusal ("group snapshot F of
   * network N, with machine M"), or null. Only manifests are read (a malformed one names nothing).
   */
  async groupOf(machine: string, file: string): Promise<string | null> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter(isGroupSnapshotFileName).sort();
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return null;
      throw err;
    }
    for (const name of names) {
      const manifest = await this.manifest(name).catch(() => null);
      if (!manifest?.members.some((m) => m.machine === machine && m.file === file)) continue;
      const others = manifest.members.filter((m) => m.machine !== machine).map((m) => `"${m.machine}"`);
      return `group snapshot ${name} of network "${manifest.network}"${others.length ? `, with ${others.join(', ')}` : ''}`;
    }
    return null;
  }

  /** Deletes a group: its member files, then its manifest (a group half deleted is listed as broken). */
  async delete(file: string): Promise<GroupSnapshotManifest> {
    const manifest = await this.manifest(file);
    for (const m of manifest.members) {
      await this.snapshots.delete(m.machine, m.file).catch((err: unknown) => {
        if (!(err instanceof ServiceError && err.code === 'not-found')) throw err;
      });
    }
    await fs.unlink(this.pathOf(file));
    return manifest;
  }
}

/** A member of a network as it runs now: its machine and its slots on the host. */
interface RunningMember {
  machine: string;
  guestId: number;
  peerSlot: number;
}

type GroupMethod =
  | 'snapshots.group.take'
  | 'snapshots.group.list'
  | 'snapshots.group.restore'
  | 'snapshots.group.delete';
type GroupHandlers = { [M in GroupMethod & keyof ApiMethods]: (p: ApiParams<M>) => Promise<ApiResult<M>> };

export interface GroupSnapshotDeps {
  groups: GroupSnapshotStore;
  snapshots: SnapshotStore;
  machines: MachineManager;
  emit(msg: ApiEventMessage): void;
}

/** Takes and restores group snapshots; one group operation at a time. */
export class GroupSnapshots {
  private busy = false;

  constructor(private readonly deps: GroupSnapshotDeps) {}

  handlers(): GroupHandlers {
    const { groups } = this.deps;
    return {
      'snapshots.group.take': ({ network }) => this.exclusive(() => this.take(network)),
      'snapshots.group.list': () => groups.list(),
      'snapshots.group.restore': ({ file, allowChangedDisks, paused }) =>
        this.exclusive(() => this.restore(file, allowChangedDisks ?? false, paused ?? false)),
      'snapshots.group.delete': ({ file }) =>
        this.exclusive(async () => {
          const manifest = await groups.delete(file);
          this.changed(manifest.members.map((m) => m.machine));
          return { deleted: file };
        }),
    };
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new ServiceError('bad-state', 'another group snapshot or restore is in progress');
    this.busy = true;
    try {
      return await fn();
    } finally {
      this.busy = false;
    }
  }

  private changed(ids: string[]): void {
    for (const id of ids) this.deps.emit({ kind: 'event', event: 'snapshots.changed', payload: { id } });
  }

  /**
   * The machines on the network now, with their slots. Refused: an empty network, a peer that is
   * not a workbench machine or has not set up its network yet, a member also on another network.
   */
  private runningMembers(network: string): RunningMember[] {
    const { machines } = this.deps;
    const tables = machines.hostTables;
    const names = tables.regionNames();
    const region = networkRegion(network);
    const peers = names.includes(region) ? tables.members(tables.region(region)) : [];
    if (peers.length === 0) throw new ServiceError('bad-state', `no machine is running on network "${network}"`);
    return peers.map((p) => {
      const machine = machines.machineOfHostOwner(p.owner);
      if (machine === null)
        throw new ServiceError(
          'bad-state',
          `peer slot ${p.peerSlot} of network "${network}" is not a workbench machine`,
        );
      if (p.guestid === null || machines.hostGuestId(machine) === null)
        throw new ServiceError('bad-state', `machine "${machine}" is still setting up its network; try again`);
      for (const other of names) {
        if (other === region || !tables.members(tables.region(other)).some((o) => o.owner === p.owner)) continue;
        throw new ServiceError(
          'unsupported',
          `machine "${machine}" is also on ${other.replace(/^sharenet:/, 'network ')}: a group snapshot covers machines on one network only`,
        );
      }
      return { machine, guestId: p.guestid, peerSlot: p.peerSlot };
    });
  }

  /**
   * Pauses every machine on the network, waits until all have stopped between two run slices (no
   * frame moves then: a transfer is done by the sender under the host lock, within a slice), has
   * each fold what the others left for it into its state and write its snapshot, writes the
   * manifest, and lets the machines that were running run on.
   */
  private async take(network: string): Promise<GroupSnapshotListing> {
    const { machines, snapshots, groups } = this.deps;
    const members = this.runningMembers(network);
    const ids = members.map((m) => m.machine);
    const running = ids.filter((id) => machines.status(id).state !== 'paused');
    const written: { machine: string; file: string }[] = [];
    try {
      for (const id of running) machines.pause(id);
      const paused = await withTimeout(
        Promise.all(ids.map((id) => machines.whenPaused(id))),
        PAUSE_TIMEOUT_MS,
        `the machines of network "${network}" did not all pause in time`,
      );
      const gone = paused.find((s) => s.state !== 'paused');
      if (gone)
        throw new ServiceError('bad-state', `machine "${gone.id}" is ${gone.state}: the group snapshot was not taken`);
      const results = await Promise.allSettled(ids.map((id) => machines.snapshot(id, snapshots.dirOf(id), true)));
      results.forEach((r, i) => {
        if (r.status === 'fulfilled') {
          snapshots.remember(r.value);
          written.push({ machine: ids[i]!, file: r.value.file });
        }
      });
      const failed = results.findIndex((r) => r.status === 'rejected');
      if (failed >= 0) {
        const reason = (results[failed] as PromiseRejectedResult).reason as unknown;
        throw new ServiceError(
          reason instanceof ServiceError ? reason.code : 'internal',
          `machine "${ids[failed]}": ${errorText(reason)}`,
        );
      }
      const manifest: GroupSnapshotManifest = {
        kind: 'lguest-group-snapshot',
        version: 1,
        network,
        createdAt: new Date().toISOString(),
        members: await Promise.all(
          members.map(async (m, i) => ({
            machine: m.machine,
            file: written[i]!.file,
            guestId: m.guestId,
            peerSlot: m.peerSlot,
            mac: guestMac(m.guestId),
            sha256: sha256(await fs.readFile(snapshots.pathOf(m.machine, written[i]!.file))),
          })),
        ),
      };
      const file = await groups.write(manifest);
      written.length = 0; // they belong to the group now
      this.changed(ids);
      return await groups.inspect(file);
    } finally {
      // Without a manifest the member files are no group: they go (the machines' disks stay as they are).
      for (const w of written) await snapshots.delete(w.machine, w.file).catch(() => undefined);
      for (const id of running) if (machines.status(id).state === 'paused') machines.resume(id);
    }
  }

  /**
   * Replaces the network's machines with the group's: everything is checked first (the group
   * verified, disks unchanged, no other machine holding the network or a member's guest slot), so
   * a refused restore changes nothing. Then the members are stopped, restored paused in their
   * saved guest and peer slots on the shared host, and resumed together (unless `paused`). A member
   * that fails to restore stops them all: never a half-restored group.
   */
  private async restore(file: string, allowChangedDisks: boolean, paused: boolean): Promise<MachineStatus[]> {
    const { machines, snapshots, groups } = this.deps;
    const listing = await groups.inspect(file);
    if (!listing.verified)
      throw new ServiceError('invalid-snapshot', `group snapshot ${file} is broken: ${listing.error}`);
    const manifest = await groups.manifest(file);
    const members = manifest.members;
    const ids = members.map((m) => m.machine);
    const snaps: MachineSnapshot[] = [];
    for (const m of members) {
      const snap = await snapshots.load(m.machine, m.file);
      try {
        await checkDisksAsync(snap.state.disks, allowChangedDisks);
      } catch (err) {
        if (err instanceof DiskChangedError)
          throw new ServiceError('disk-changed', `machine "${m.machine}": ${err.message}`);
        throw err;
      }
      snaps.push(snap);
    }
    this.checkHostFor(manifest);

    await Promise.all(ids.filter((id) => machines.isActive(id)).map((id) => machines.stop(id)));
    await this.slotsFreed(manifest);
    let failed: string | null = null;
    for (const [i, m] of members.entries()) {
      try {
        machines.start(m.machine, snaps[i]!.state.config as unknown as MachineConfig, {
          path: snapshots.pathOf(m.machine, m.file),
          allowChangedDisks,
          peerSlots: { [manifest.network]: m.peerSlot },
        });
      } catch (err) {
        failed = `machine "${m.machine}" could not be started (${errorText(err)})`;
        break;
      }
    }
    const started = await Promise.all(ids.map((id) => machines.whenStarted(id)));
    const dead = started.find((s) => s.state !== 'paused');
    if (!failed && dead) failed = `machine "${dead.id}" could not be restored (${dead.reason ?? dead.state})`;
    if (failed) {
      await Promise.all(ids.map((id) => machines.stop(id)));
      throw new ServiceError('internal', `${failed}: the group's machines are stopped`);
    }
    if (!paused) for (const id of ids) machines.resume(id);
    return ids.map((id) => machines.status(id));
  }

  /** Refuses a restore that would take the network or a guest slot from a machine outside the group. */
  private checkHostFor(manifest: GroupSnapshotManifest): void {
    const { machines } = this.deps;
    const tables = machines.hostTables;
    const ids = new Set(manifest.members.map((m) => m.machine));
    const holder = (owner: number): string => machines.machineOfHostOwner(owner) ?? 'a guest outside the workbench';
    const region = networkRegion(manifest.network);
    if (tables.regionNames().includes(region)) {
      for (const p of tables.members(tables.region(region))) {
        const who = holder(p.owner);
        if (!ids.has(who))
          throw new ServiceError(
            'bad-state',
            `machine "${who}" is on network "${manifest.network}" but not in the group snapshot: stop it first`,
          );
      }
    }
    for (const m of manifest.members) {
      const owner = tables.guestOwner(m.guestId);
      if (owner === 0 || ids.has(holder(owner))) continue;
      throw new ServiceError(
        'bad-state',
        `guest slot ${m.guestId} of member "${m.machine}" is held by ${JSON.stringify(holder(owner))}: stop it first`,
      );
    }
  }

  /** Waits until the stopped members' threads have given back the guest and peer slots the group needs. */
  private async slotsFreed(manifest: GroupSnapshotManifest): Promise<void> {
    const tables = this.deps.machines.hostTables;
    const region = networkRegion(manifest.network);
    const busy = (): GroupSnapshotMember | undefined =>
      manifest.members.find(
        (m) =>
          tables.guestOwner(m.guestId) !== 0 ||
          (tables.regionNames().includes(region) &&
            tables.members(tables.region(region)).some((p) => p.peerSlot === m.peerSlot)),
      );
    const t0 = Date.now();
    for (let m = busy(); m; m = busy()) {
      if (Date.now() - t0 > SLOTS_FREE_TIMEOUT_MS)
        throw new ServiceError('internal', `the slots of member "${m.machine}" were not given back in time`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new ServiceError('internal', message)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
