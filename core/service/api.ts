// The workbench API: the one contract between any UI and the machines. Requests are named methods
// with typed params and results; the service pushes named events. Both transports carry exactly this.

import type { MachineConfig } from '../launcher/machine-config';
import type {
  CountersView,
  ExitEvent,
  MachineRates,
  ProfileAction,
  ProfileView,
  TraceView,
  DescriptorsView,
  MemorySpace,
  MemoryView,
  PageTablesView,
  RegistersView,
} from './inspector-types';
import type { SnapshotDiff, SnapshotListing } from './snapshot-types';
import type { DebugCommand, DebugView, DisassemblySyntax } from './debug-types';
import type { GroupSnapshotListing } from './group-snapshot-types';

export type * from './inspector-types';
export type * from './group-snapshot-types';
export type * from './snapshot-types';
export type * from './debug-types';

export type { MachineConfig, BlockDeviceConfig } from '../launcher/machine-config';

/** One problem in a config, located by a JSON pointer (RFC 6901) into the document ('' = the whole). */
export interface ConfigFieldError {
  pointer: string;
  message: string;
  /** 1-based position in the text, when the problem is a syntax error. */
  line?: number;
  column?: number;
}

export interface ConfigValidation {
  ok: boolean;
  /** The parsed config when ok. */
  config?: MachineConfig;
  errors: ConfigFieldError[];
}

/** A stored config as the machine list shows it. Corrupt files are listed, never dropped. */
export type ConfigListing =
  | { id: string; ok: true; config: MachineConfig; modifiedMs: number }
  | { id: string; ok: false; errors: ConfigFieldError[]; modifiedMs: number };

/** A stored config file: its text as on disk, and what it parses to. */
export interface ConfigDocument {
  id: string;
  text: string;
  validation: ConfigValidation;
  modifiedMs: number;
}

/**
 * What a machine is doing. 'idle' = the guest halted with a clock event armed; 'halted' = halted with
 * nothing armed (only input wakes it); 'dead' = the guest or its worker is gone (reason says why).
 */
export type MachineState = 'stopped' | 'starting' | 'running' | 'idle' | 'halted' | 'paused' | 'dead';

export interface MachineStatus {
  id: string;
  state: MachineState;
  /** Why the machine died, in the host's or the worker's words. */
  reason?: string;
  /** With a death: the host's last exits before it, oldest first (what led to it). */
  lastExits?: ExitEvent[];
  /** Virtual time of the guest clock, nanoseconds since the machine started. */
  virtualTimeNs: number;
}

/** One machine on a network: its peer slot and MAC while it runs, and what the host counted for it. */
export interface NetworkMember {
  /** The machine (config id) holding this peer slot, or null if not known to the workbench. */
  machine: string | null;
  state: MachineState;
  /** Peer slot in the network page and the guest's MAC, while the machine is on the host. */
  peerSlot: number | null;
  mac: string | null;
  /** Frames and bytes the host moved from (tx) and to (rx) this peer since it joined. */
  txFrames: number;
  txBytes: number;
  rxFrames: number;
  rxBytes: number;
}

/** A network of the workbench's host: machines configured on it, or on it now. */
export interface NetworkView {
  name: string;
  members: NetworkMember[];
  /** The capture in progress on this network, if any. */
  capture: NetworkCapture | null;
}

export interface NetworkCapture {
  /** The pcap file (it appears under this name when the capture stops). */
  file: string;
  frames: number;
  bytes: number;
}

/** A JSON Schema document (draft-07), as plain data. */
export type JsonSchema = { [key: string]: unknown };

type NoParams = Record<string, never>;

/**
 * Every request a UI can make: method name -> params and result. A new capability (inspectors,
 * snapshots) is a new row here plus its params schema in api-schemas.ts; transports need no change.
 */
export interface ApiMethods {
  'configs.list': { params: NoParams; result: ConfigListing[] };
  'configs.read': { params: { id: string }; result: ConfigDocument };
  'configs.create': { params: { config: MachineConfig }; result: ConfigListing };
  /** Replaces config `id`; a changed name renames the file (refused if the new name is taken). */
  'configs.save': { params: { id: string; config: MachineConfig }; result: ConfigListing };
  'configs.delete': { params: { id: string }; result: { deleted: string } };
  /** Validates config text; `forId` is the config being edited (null: a new one) for name clashes. */
  'configs.validate': { params: { text: string; forId?: string | null }; result: ConfigValidation };
  'configs.schema': { params: NoParams; result: JsonSchema };
  'machines.list': { params: NoParams; result: MachineStatus[] };
  'machines.start': { params: { id: string }; result: MachineStatus };
  'machines.pause': { params: { id: string }; result: MachineStatus };
  'machines.resume': { params: { id: string }; result: MachineStatus };
  'machines.stop': { params: { id: string }; result: MachineStatus };
  /** Stops the machine (if running) and boots it again from its saved config. */
  'machines.reset': { params: { id: string }; result: MachineStatus };
  /** Keystrokes for the guest console. */
  'console.input': { params: { id: string; data: Uint8Array }; result: { accepted: number } };
  /** The console output kept for a machine (its last bytes), for a UI that attaches late. */
  'console.backlog': { params: { id: string }; result: { data: Uint8Array } };
  /** Inspectors: read-only queries the machine's worker answers between run slices. */
  'inspect.registers': { params: { id: string }; result: RegistersView };
  /**
   * At most 64 KiB; virtual spaces translate per page (unmapped pages come back without bytes).
   * `since`: a snapshot file of the machine; each page then marks the bytes that changed since it.
   */
  'inspect.memory': {
    params: { id: string; space: MemorySpace; address: number; length: number; since?: string };
    result: MemoryView;
  };
  'inspect.descriptors': { params: { id: string }; result: DescriptorsView };
  /** The shadow directory cache; `slot` (default: current) listed, `pde` drilled into. */
  'inspect.pagetables': { params: { id: string; slot?: number; pde?: number }; result: PageTablesView };
  'inspect.counters': { params: { id: string }; result: CountersView };
  /** The newest `limit` (default: all kept, up to 4096) exits and what the host decided. */
  'inspect.trace': { params: { id: string; limit?: number }; result: TraceView };
  /** The guest profiler: start (every `interval` instructions), stop, reset, read, or export. */
  'inspect.profile': {
    params: { id: string; action: ProfileAction; interval?: number; top?: number };
    result: ProfileView;
  };
  /** Snapshots the machine (running or paused) into its snapshot folder; verified before the reply. */
  'snapshots.take': { params: { id: string }; result: SnapshotListing };
  /** The machine's snapshot files, oldest first; corrupt ones are listed with their error. */
  'snapshots.list': { params: { id: string }; result: SnapshotListing[] };
  /** Replaces the machine with the snapshot's, paused. Changed disks are refused unless allowed. */
  'snapshots.restore': {
    params: { id: string; file: string; allowChangedDisks?: boolean };
    result: MachineStatus;
  };
  'snapshots.delete': { params: { id: string; file: string }; result: { deleted: string } };
  /** The networks of the one host, with their members and live traffic counters. */
  'networks.list': { params: NoParams; result: NetworkView[] };
  /** Starts every stopped machine configured on the network / stops every machine on it. */
  'networks.start': { params: { name: string }; result: MachineStatus[] };
  'networks.stop': { params: { name: string }; result: MachineStatus[] };
  /** Records the network's frames into a new pcap file in the workbench's captures folder. */
  'networks.capture.start': { params: { name: string }; result: NetworkCapture };
  /** Ends the capture; the file is complete (fsynced, renamed into place) when this answers. */
  'networks.capture.stop': { params: { name: string }; result: NetworkCapture };
  /** What changed from snapshot `from` to snapshot `to`, or to the running machine when `to` is absent. */
  'snapshots.diff': { params: { id: string; from: string; to?: string }; result: SnapshotDiff };
  /**
   * Writes one self-contained file (absolute path ending in .lgexport) with the snapshot, its disk
   * overlays and its base images' identity; `embedBase` also puts the base images in.
   */
  'snapshots.export': {
    params: { id: string; file: string; to: string; embedBase?: boolean };
    result: { path: string; sizeBytes: number };
  };
  /** Reads an export into the machine's snapshots; a different base image is refused, naming both hashes. */
  'snapshots.import': { params: { id: string; from: string }; result: SnapshotListing };
  /** Sets a snapshot's name and note. */
  'snapshots.label': { params: { id: string; file: string; name: string; note: string }; result: SnapshotListing };
  /**
   * Writes each writable disk of a stopped machine, as its guest last saw it, into the disk image
   * (the only thing that ever writes an image). Snapshots taken on the old image cannot be restored after.
   */
  'disks.commit': { params: { id: string }; result: { committed: { path: string; blocks: number }[] } };
  /**
   * Snapshots every machine on the network at one point (all paused together, frames in flight
   * included): a snapshot per member plus a manifest, listed as one group; the machines run on.
   */
  'snapshots.group.take': { params: { network: string }; result: GroupSnapshotListing };
  /** Every group snapshot, oldest first; broken ones (missing, changed or corrupt member) with the reason. */
  'snapshots.group.list': { params: NoParams; result: GroupSnapshotListing[] };
  /**
   * Replaces the network's machines with the group's, in their saved guest and peer slots on the
   * shared host, resumed together (`paused`: left paused). Checked in full before anything stops.
   */
  'snapshots.group.restore': {
    params: { file: string; allowChangedDisks?: boolean; paused?: boolean };
    result: MachineStatus[];
  };
  /** Deletes a group snapshot: its members' files and its manifest. */
  'snapshots.group.delete': { params: { file: string }; result: { deleted: string } };
  /**
   * The Debugger tab: attach, run control, breakpoints, moves in the recorded past; answers with the
   * stopped machine's view, showing the watch list `watches` and memory at `memory` (debug-types.ts).
   */
  'debug.command': {
    params: { id: string; command: DebugCommand; syntax?: DisassemblySyntax; watches?: string[]; memory?: string };
    result: DebugView;
  };
}

export type ApiMethod = keyof ApiMethods;
export type ApiParams<M extends ApiMethod> = ApiMethods[M]['params'];
export type ApiResult<M extends ApiMethod> = ApiMethods[M]['result'];

/** Everything the service pushes: event name -> payload. */
export interface ApiEvents {
  'machine.status': MachineStatus;
  /** Console bytes of one run slice (streams travel batched, never one message per byte). */
  'console.output': { id: string; data: Uint8Array };
  /** The stored configs changed (created, saved, deleted): lists should be re-read. */
  'configs.changed': { ids: string[] };
  /** A machine's snapshots were taken or deleted: its snapshot list should be re-read. */
  'snapshots.changed': { id: string };
  /** The console was replaced by a restored snapshot's: clear it and show `data` (its scrollback). */
  'console.restored': { id: string; data: Uint8Array };
  /** A running machine's counter rates over the last interval (about twice a second). */
  'machine.rates': MachineRates;
}

export type ApiEventName = keyof ApiEvents;

export type ApiErrorCode =
  /** The message or its params do not match the API's schema. */
  | 'bad-request'
  | 'unknown-method'
  | 'not-found'
  /** A config failed validation; details carry the field errors. */
  | 'invalid-config'
  /** The name is taken, or the file changed under us. */
  | 'conflict'
  /** The request does not fit the machine's state (e.g. pause a stopped machine). */
  | 'bad-state'
  /** An inspector address, length or table index outside what the machine has. */
  | 'out-of-range'
  /** A snapshot file that is corrupt, of another version, or not a machine snapshot. */
  | 'invalid-snapshot'
  /** A disk changed since the snapshot was taken (restore with allowChangedDisks to accept it). */
  | 'disk-changed'
  /** The machine cannot do this (e.g. snapshot a machine on a shared network). */
  | 'unsupported'
  /** The transport lost its connection before the reply came. */
  | 'disconnected'
  | 'internal';

export interface ApiErrorInfo {
  code: ApiErrorCode;
  message: string;
  /** Field errors for 'bad-request' and 'invalid-config'. */
  fields?: ConfigFieldError[];
}

export type ApiReply<M extends ApiMethod> = { ok: true; result: ApiResult<M> } | { ok: false; error: ApiErrorInfo };

/** The envelopes both transports carry. */
export interface ApiRequestMessage<M extends ApiMethod = ApiMethod> {
  kind: 'request';
  id: number;
  method: M;
  params: ApiParams<M>;
}
export type ApiReplyMessage = { kind: 'reply'; id: number } & (
  | { ok: true; result: unknown }
  | { ok: false; error: ApiErrorInfo }
);
export interface ApiEventMessage<E extends ApiEventName = ApiEventName> {
  kind: 'event';
  event: E;
  payload: ApiEvents[E];
}

/** What the renderer sees as `window.lguest`, whichever transport is underneath. */
export interface LguestApi {
  invoke<M extends ApiMethod>(method: M, params: ApiParams<M>): Promise<ApiReply<M>>;
  /** Subscribes to one event; returns the unsubscribe function. */
  on<E extends ApiEventName>(event: E, listener: (payload: ApiEvents[E]) => void): () => void;
}
