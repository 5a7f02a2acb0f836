// What the snapshot requests of the API carry: one stored snapshot file as a list shows it
// (verified, or with the reason it cannot be used), and a worker's answer to "take a snapshot".

/** One snapshot file of a machine. Files that cannot be read or verified are listed with their error. */
export interface SnapshotListing {
  machine: string;
  /** File name inside the machine's snapshot folder (<time>-<instructions>.lgsnap). */
  file: string;
  sizeBytes: number;
  modifiedMs: number;
  /** True when the file was read back and decoded completely (checksum, version and contents). */
  verified: boolean;
  /** Why the file cannot be restored (corrupt, wrong version, unreadable). */
  error?: string;
  /** Wall-clock time the snapshot was taken (ISO 8601). */
  createdAt?: string;
  instructionCount?: number;
  virtualTimeNs?: number;
  /** Console bytes kept in the snapshot's metadata (shown again after a restore). */
  scrollbackBytes?: number;
  /** The disks the snapshot expects unchanged (they are not copied into it). */
  disks?: { path: string; readOnly: boolean }[];
  /** The snapshot this one descends from (restore then snapshot makes a branch), or null. */
  parent?: string | null;
  /** The snapshot whose RAM this one stores as changes (it must stay readable), or null: RAM in full. */
  ramBase?: string | null;
  /** The user's name and note for the snapshot ('' when not given). */
  name?: string;
  note?: string;
  /** The last lines of console output before the snapshot. */
  lastLines?: string[];
}

/** What changed between two snapshots, or a snapshot and the running machine. */
export type { MachineDiff as SnapshotDiff, DiskDiff } from '../launcher/snapshot-diff';
export type { ByteRange, RegisterChange } from '../snapshot/state-diff';

/** A machine worker's answer to a diff request (a snapshot file against the running machine). */
export type DiffReply =
  | { ok: true; result: import('../launcher/snapshot-diff').MachineDiff }
  | { ok: false; code: 'bad-state' | 'invalid-snapshot' | 'internal'; message: string };

/** A machine worker's answer to a restore into the running machine ('unsupported': start it anew). */
export type RestoreReply =
  | { ok: true; result: null }
  | { ok: false; code: 'bad-state' | 'unsupported' | 'invalid-snapshot' | 'internal'; message: string };

/** A machine worker's answer to a snapshot request. */
export type SnapshotReply =
  | { ok: true; result: SnapshotListing }
  | { ok: false; code: 'bad-state' | 'unsupported' | 'internal'; message: string };
