// The service's side of machine snapshots: the snapshot folder of each machine (list with
// verification, load, delete), snapshot requests to a machine's worker, and the API handlers.

import type { Worker } from 'node:worker_threads';
import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import { checkDisksAsync, DiskChangedError } from '../snapshot/disk-identity';
import { decodeMachineSnapshot, type MachineSnapshot, type RamPages } from '../snapshot/machine-snapshot';
import { folderLoader, SnapshotChainError, withFullRam } from '../snapshot/ram-chain';
import { deleteSnapshot } from '../launcher/snapshot-folder';
import { isSnapshotFileName } from './api-schemas';
import { removeStaleTempFiles } from '../launcher/atomic-file';
import type { ApiEventMessage, ApiMethods, ApiParams, ApiResult, MachineConfig } from './api';
import { isErrno, ServiceError } from './errors';
import type { MachineManager } from './machines';
import type { DiffReply, RestoreReply, SnapshotDiff, SnapshotListing, SnapshotReply } from './snapshot-types';
import { WorkerRequests } from './worker-requests';
import { diffSnapshots } from '../launcher/snapshot-diff';
import { exportSnapshot, importSnapshot } from '../launcher/snapshot-export';
import { existsSync } from 'node:fs';
import { writeFileAtomic } from '../launcher/atomic-file';

export const SNAPSHOT_SUFFIX = '.lgsnap';
/** Capturing and writing a snapshot of a big guest takes a while; past this the request fails. */
export const SNAPSHOT_TIMEOUT_MS = 120_000;

/** <time>-<instructions>.lgsnap, with the ISO time's colons made safe for every file system. */
export function snapshotFileName(createdAt: string, instructionCount: number): string {
  return `${createdAt.replace(/:/g, '-')}-${instructionCount}${SNAPSHOT_SUFFIX}`;
}

export function listingOf(
  machine: string,
  file: string,
  stat: { size: number; mtimeMs: number },
  snap: MachineSnapshot,
): SnapshotListing {
  return {
    machine,
    file,
    sizeBytes: stat.size,
    modifiedMs: stat.mtimeMs,
    verified: true,
    createdAt: snap.meta.createdAt,
    instructionCount: snap.meta.instructionCount,
    virtualTimeNs: snap.meta.virtualTimeNs,
    scrollbackBytes: snap.meta.scrollback.length,
    disks: snap.state.disks.map((d) => ({ path: d.path, readOnly: d.readOnly })),
    parent: snap.meta.parent,
    ramBase: snap.state.memory.ram.base,
    lastLines: lastLines(snap.meta.scrollback, LAST_LINES),
  };
}

const LAST_LINES = 4;

/** The last `n` non-empty lines of console output, without control characters. */
export function lastLines(scrollback: Uint8Array, n: number): string[] {
  const text = new TextDecoder().decode(scrollback.subarray(Math.max(0, scrollback.length - 4096)));
  return (
    text
      .split(/\r?\n|\r/)
      // eslint-disable-next-line no-control-regex -- removing control characters is the point
      .map((l) => l.replace(/[\x00-\x1f\x7f]/g, ''))
      .filter((l) => l.trim() !== '')
      .slice(-n)
  );
}

/** A snapshot's user-given name and note, kept beside the files (a snapshot file is never rewritten). */
export interface SnapshotLabel {
  name: string;
  note: string;
}
const LABELS_FILE = 'labels.json';

const MACHINE_ID = /^[^./\\\0][^/\\\0]*$/;

/** <data>/snapshots/<machine>/*.lgsnap. Nothing here deletes a file unless asked to. */
export class SnapshotStore {
  /** Verified listings by path, valid while size and mtime are unchanged (decoding is not free). */
  private readonly verified = new Map<string, { key: string; listing: SnapshotListing }>();

  constructor(readonly dir: string) {}

  dirOf(machine: string): string {
    if (!MACHINE_ID.test(machine)) throw new ServiceError('bad-request', `"${machine}" is not a machine id`);
    return join(this.dir, machine);
  }

  /** The folder of the machine's disk overlays (snapshots name the overlays they froze there). */
  readonly disksDirOf = (machine: string): string => join(this.dirOf(machine), 'disks');

  pathOf(machine: string, file: string): string {
    if (!isSnapshotFileName(file)) throw new ServiceError('bad-request', `"${file}" is not a snapshot file name`);
    return join(this.dirOf(machine), file);
  }

  /**
   * Every snapshot file of the machine whose name the API accepts, oldest first; corrupt or
   * unreadable ones carry their error. Other files in the folder are not the API's to touch.
   */
  async list(machine: string): Promise<SnapshotListing[]> {
    let names: string[];
    try {
      names = await fs.readdir(this.dirOf(machine));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return [];
      throw err;
    }
    const labels = await this.labels(machine);
    const out: SnapshotListing[] = [];
    for (const file of names.filter(isSnapshotFileName).sort()) {
      out.push({ ...(await this.inspectFile(machine, file)), ...(labels[file] ?? { name: '', note: '' }) });
    }
    return out;
  }

  private async labels(machine: string): Promise<Record<string, SnapshotLabel>> {
    try {
      const parsed = JSON.parse(await fs.readFile(join(this.dirOf(machine), LABELS_FILE), 'utf8')) as unknown;
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, SnapshotLabel>) : {};
    } catch (err) {
      if (isErrno(err, 'ENOENT')) return {};
      throw err;
    }
  }

  /** Sets a snapshot's name and note (labels.json is rewritten atomically). */
  async label(machine: string, file: string, label: SnapshotLabel): Promise<SnapshotListing> {
    const path = this.pathOf(machine, file);
    if (!(await fs.stat(path).catch(() => null))) {
      throw new ServiceError('not-found', `machine "${machine}" has no snapshot ${file}`);
    }
    const labels = await this.labels(machine);
    labels[file] = { name: label.name, note: label.note };
    await this.writeLabels(machine, labels);
    return (await this.list(machine)).find((l) => l.file === file)!;
  }

  private async writeLabels(machine: string, labels: Record<string, SnapshotLabel>): Promise<void> {
    await writeFileAtomic(join(this.dirOf(machine), LABELS_FILE), `${JSON.stringify(labels, null, 2)}\n`, {
      overwrite: true,
    });
  }

  /** The last snapshot RAM the memory viewer compared with, kept while its file is unchanged. */
  private compared: { path: string; key: string; ram: RamPages } | null = null;

  /** A snapshot's RAM as one full image (the memory viewer highlights what changed since). */
  async fullRamOf(machine: string, file: string): Promise<RamPages> {
    const path = this.pathOf(machine, file);
    const stat = await fs.stat(path).catch(() => null);
    if (!stat) throw new ServiceError('not-found', `machine "${machine}" has no snapshot ${file}`);
    const key = `${stat.size}:${stat.mtimeMs}`;
    if (this.compared?.path !== path || this.compared.key !== key) {
      this.compared = { path, key, ram: (await this.loadFull(machine, file)).state.memory.ram };
    }
    return this.compared.ram;
  }

  /** load() with RAM as one full image however it is stored (diffs compare every page). */
  async loadFull(machine: string, file: string): Promise<MachineSnapshot> {
    const snap = await this.load(machine, file);
    try {
      return withFullRam(snap, file, folderLoader(this.dirOf(machine)));
    } catch (err) {
      throw new ServiceError('invalid-snapshot', `snapshot ${file}: ${errorText(err)}`);
    }
  }

  /** Reads and decodes one snapshot; a bad file is an 'invalid-snapshot' error naming the problem. */
  async load(machine: string, file: string): Promise<MachineSnapshot> {
    const path = this.pathOf(machine, file);
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await fs.readFile(path));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new ServiceError('not-found', `machine "${machine}" has no snapshot ${file}`);
      throw new ServiceError('invalid-snapshot', `cannot read snapshot ${file}: ${errorText(err)}`);
    }
    try {
      return decodeMachineSnapshot(bytes);
    } catch (err) {
      throw new ServiceError('invalid-snapshot', `snapshot ${file}: ${errorText(err)}`);
    }
  }

  /**
   * Deletes a snapshot: the snapshots whose RAM builds on it get it folded in first, and disk
   * overlays nothing needs any more are collected (snapshot-folder.ts).
   */
  async delete(machine: string, file: string): Promise<void> {
    const path = this.pathOf(machine, file);
    try {
      await deleteSnapshot(this.dirOf(machine), this.disksDirOf(machine), file, isSnapshotFileName);
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new ServiceError('not-found', `machine "${machine}" has no snapshot ${file}`);
      if (err instanceof SnapshotChainError) throw new ServiceError('invalid-snapshot', err.message);
      throw err;
    }
    this.verified.delete(path);
    const labels = await this.labels(machine);
    if (labels[file]) {
      delete labels[file];
      await this.writeLabels(machine, labels);
    }
  }

  /**
   * Removes temp files that killed writes left in the machines' folders and their disk folders
   * (at start-up).
   */
  removeStaleTempFiles(): Promise<string[]> {
    return removeStaleTempFiles(this.dir, 2);
  }

  /** A listing the worker verified when it wrote the file. */
  remember(listing: SnapshotListing): void {
    const path = this.pathOf(listing.machine, listing.file);
    this.verified.set(path, { key: `${listing.sizeBytes}:${listing.modifiedMs}`, listing });
  }

  private async inspectFile(machine: string, file: string, chain = new Set<string>()): Promise<SnapshotListing> {
    const path = join(this.dirOf(machine), file);
    let stat: { size: number; mtimeMs: number; isFile(): boolean };
    try {
      stat = await fs.stat(path);
    } catch (err) {
      return { machine, file, sizeBytes: 0, modifiedMs: 0, verified: false, error: errorText(err) };
    }
    const key = `${stat.size}:${stat.mtimeMs}`;
    const base = { machine, file, sizeBytes: stat.size, modifiedMs: stat.mtimeMs, verified: false };
    if (!stat.isFile()) return { ...base, error: 'not a file' };
    let known = this.verified.get(path);
    try {
      // A file is decoded once per version; the snapshots its RAM builds on are checked every time.
      if (known?.key !== key) {
        const snap = decodeMachineSnapshot(new Uint8Array(await fs.readFile(path)));
        known = { key, listing: listingOf(machine, file, stat, snap) };
        this.verified.set(path, known);
      }
    } catch (err) {
      this.verified.delete(path);
      return { ...base, error: errorText(err) };
    }
    const problem = await this.chainProblem(machine, file, known.listing.ramBase ?? null, chain);
    return problem ? { ...known.listing, verified: false, error: problem } : known.listing;
  }

  /** Why the snapshot's RAM chain cannot be followed (a base missing, unreadable or looping), or null. */
  private async chainProblem(
    machine: string,
    file: string,
    base: string | null,
    seen: Set<string>,
  ): Promise<string | null> {
    if (base === null) return null;
    if (seen.has(base) || !isSnapshotFileName(base)) return `its RAM builds on ${base}, which is not a usable snapshot`;
    const below = await this.inspectFile(machine, base, new Set([...seen, file]));
    return below.verified ? null : `its RAM builds on ${base}, which cannot be used: ${below.error}`;
  }
}

/** Snapshot requests in flight to machine workers, matched to their replies by sequence number. */
export class SnapshotRequests extends WorkerRequests<SnapshotReply> {
  send(worker: Worker, dir: string, networkMember = false): Promise<SnapshotListing> {
    return this.request<SnapshotListing>(
      worker,
      (seq) => ({ type: 'snapshot', seq, dir, ...(networkMember ? { networkMember } : {}) }),
      SNAPSHOT_TIMEOUT_MS,
      'the machine did not finish its snapshot in time',
    );
  }
}

/** Restores into running machines in flight to their workers. */
export class RestoreRequests extends WorkerRequests<RestoreReply> {
  send(worker: Worker, path: string, allowChangedDisks: boolean): Promise<null> {
    return this.request<null>(
      worker,
      (seq) => ({ type: 'restore', seq, path, allowChangedDisks }),
      SNAPSHOT_TIMEOUT_MS,
      'the machine did not finish the restore in time',
    );
  }
}

/** Diff requests (a snapshot file against the running machine) in flight to machine workers. */
export class DiffRequests extends WorkerRequests<DiffReply> {
  send(worker: Worker, path: string): Promise<SnapshotDiff> {
    return this.request<SnapshotDiff>(
      worker,
      (seq) => ({ type: 'diff', seq, path }),
      SNAPSHOT_TIMEOUT_MS,
      'the machine did not finish the diff in time',
    );
  }
}

type SnapshotMethod =
  | 'snapshots.take'
  | 'snapshots.list'
  | 'snapshots.restore'
  | 'snapshots.delete'
  | 'snapshots.label'
  | 'snapshots.diff'
  | 'snapshots.export'
  | 'snapshots.import'
  | 'disks.commit';
type SnapshotHandlers = { [M in SnapshotMethod & keyof ApiMethods]: (p: ApiParams<M>) => Promise<ApiResult<M>> };

export interface SnapshotDeps {
  store: SnapshotStore;
  machines: MachineManager;
  /** True when a config of that id exists. */
  machineExists(id: string): Promise<boolean>;
  /** The group snapshot a machine's snapshot file is a member of, in words, or null (group-snapshots.ts). */
  groupOf(id: string, file: string): Promise<string | null>;
  emit(msg: ApiEventMessage): void;
}

export function snapshotHandlers({ store, machines, machineExists, groupOf, emit }: SnapshotDeps): SnapshotHandlers {
  const known = async (id: string): Promise<void> => {
    if (!machines.isActive(id) && !(await machineExists(id)) && (await store.list(id)).length === 0) {
      throw new ServiceError('not-found', `there is no machine "${id}"`);
    }
  };
  const changed = (id: string): void => emit({ kind: 'event', event: 'snapshots.changed', payload: { id } });
  return {
    'snapshots.take': async ({ id }) => {
      const listing = await machines.snapshot(id, store.dirOf(id));
      store.remember(listing);
      changed(id);
      return listing;
    },
    'snapshots.list': async ({ id }) => {
      await known(id);
      return store.list(id);
    },
    'snapshots.restore': async ({ id, file, allowChangedDisks }) => {
      await known(id);
      const snap = await store.load(id, file);
      const config = snap.state.config as unknown as MachineConfig;
      if ((config.networks ?? []).length > 0) {
        const group = await groupOf(id, file);
        throw new ServiceError(
          'unsupported',
          group
            ? `snapshot ${file} of machine "${id}" is one member of ${group}: restore the group, not one machine alone`
            : 'the snapshot is of a machine on a shared network (single machines only)',
        );
      }
      try {
        await checkDisksAsync(snap.state.disks, allowChangedDisks ?? false);
      } catch (err) {
        if (err instanceof DiskChangedError) throw new ServiceError('disk-changed', err.message);
        throw err;
      }
      // Checked before the running machine is touched: a refused restore loses nothing. A running
      // machine of the same config takes the snapshot in place (its RAM reused); else it starts anew.
      const path = store.pathOf(id, file);
      if (machines.isActive(id)) {
        if (await machines.restoreInPlace(id, path, allowChangedDisks ?? false)) return machines.status(id);
        await machines.stop(id);
      }
      return machines.start(id, config, {
        path,
        allowChangedDisks: allowChangedDisks ?? false,
      });
    },
    'snapshots.delete': async ({ id, file }) => {
      const group = await groupOf(id, file);
      if (group)
        throw new ServiceError('bad-state', `snapshot ${file} is one member of ${group}: delete the group instead`);
      await store.delete(id, file);
      changed(id);
      return { deleted: file };
    },
    'snapshots.label': async ({ id, file, name, note }) => {
      const listing = await store.label(id, file, { name, note });
      changed(id);
      return listing;
    },
    'snapshots.diff': async ({ id, from, to }) => {
      await known(id);
      const a = await store.loadFull(id, from);
      if (to === undefined) {
        if (!machines.isActive(id))
          throw new ServiceError('bad-state', `machine "${id}" is not running: pick a snapshot to compare with`);
        return machines.diff(id, store.pathOf(id, from));
      }
      const b = await store.loadFull(id, to);
      const disksDir = store.disksDirOf(id);
      return diffSnapshots(a.state, b.state, existsSync(disksDir) ? disksDir : null);
    },
    'snapshots.export': async ({ id, file, to, embedBase }) => {
      await known(id);
      let bytes: Uint8Array;
      try {
        bytes = exportSnapshot(store.pathOf(id, file), store.disksDirOf(id), { embedBase: embedBase ?? false });
      } catch (err) {
        throw new ServiceError('invalid-snapshot', `cannot export ${file}: ${errorText(err)}`);
      }
      await writeFileAtomic(to, bytes, { overwrite: true });
      return { path: to, sizeBytes: bytes.length };
    },
    'snapshots.import': async ({ id, from }) => {
      await known(id);
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await fs.readFile(from));
      } catch (err) {
        throw new ServiceError('not-found', `cannot read ${from}: ${errorText(err)}`);
      }
      let file: string;
      try {
        // Its errors name the export file (and, for a different base image, both hashes).
        file = importSnapshot(bytes, from, store.dirOf(id), store.disksDirOf(id));
      } catch (err) {
        throw new ServiceError('invalid-snapshot', errorText(err));
      }
      changed(id);
      return (await store.list(id)).find((l) => l.file === file)!;
    },
    'disks.commit': async ({ id }) => {
      await known(id);
      if (machines.isActive(id))
        throw new ServiceError('bad-state', `stop machine "${id}" before committing its disks`);
      try {
        return { committed: await machines.commitDisks(id) };
      } catch (err) {
        throw new ServiceError('internal', `commit to base failed: ${errorText(err)}`);
      }
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
