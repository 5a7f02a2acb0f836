// A whole machine as one state tree: CPU, guest-physical memory with the host's frames, the host's
// per-guest state, the Launcher's device state, config, clock and disk identities, plus metadata.
// Bytes go through the versioned, checksummed container of format.ts; restore drops every cache.

import { HOST_FRAME_BASE, PAGE_SIZE, PhysicalMemory, type PhysicalMemoryState } from '../cpu/memory';
import type { CpuState, SegmentRegister, TableRegister } from '../cpu/types';
import { registersFromFloat64 } from '../cpu/x87-convert';
import { GUEST_STATE_VERSION, newGuestState, type GuestState } from '../host/lg';
import { LguestHost, type HostState, type LguestFileImpl, type LguestFileState } from '../host/lguest-user';
import type { DiskIdentity } from './disk-identity';
import { decodeSnapshot, encodeSnapshot, SnapshotFormatError, type SnapshotValue } from './format';
import {
  packNonZeroPages,
  packPageList,
  packPages,
  sparsePagesProblem,
  unpackToBytes,
  unpackToPageList,
  type SparsePages,
} from './sparse-pages';

/**
 * Version of the tree's layout (the container has its own format version). Every change adds a
 * step to MIGRATIONS and new fixtures (core/snapshot/fixtures): files of older layouts stay readable.
 *   1: the first layout.
 *   2: each disk records the overlay its snapshot froze (`overlay`, null for a disk without one);
 *      the metadata names the snapshot the machine descends from (`parent`, null for none).
 *   3: x87 registers in the 80-bit format (`regs`: three uint32 words per register) instead of
 *      float64; older registers convert exactly.
 *   4: RAM may be a delta: `memory.ram.base` names the snapshot (same folder) whose RAM it
 *      changes, `memory.ram.depth` counts the deltas down to a full image (base null, depth 0).
 */
export const MACHINE_SNAPSHOT_LAYOUT = 4;
export const MACHINE_SNAPSHOT_KIND = 'lguest-machine';

/** Plain data owned by a layer above (the Launcher's state, the config, the boot layout). */
export type PlainObject = { [key: string]: unknown };

/** What a running guest hands over to be snapshotted (the Launcher implements this). */
export interface MachineStateParts {
  config: PlainObject & { name: string };
  /** Boot-time facts the Launcher keeps (kernel entry, page offset, memory layout). */
  boot: PlainObject;
  cpu: CpuState;
  memory: PhysicalMemoryState;
  host: HostState;
  guest: LguestFileState;
  launcher: PlainObject & { version: number };
  disks: DiskIdentity[];
  instructionCount: number;
  virtualTimeNs: number;
}

export interface MachineStateSource {
  /** `networkMember`: the machine is captured as one member of its whole network (see machineStateOf). */
  exportMachineState(opts?: { networkMember?: boolean }): MachineStateParts;
}

export interface SnapshotMeta {
  /** Wall-clock time the snapshot was taken (ISO 8601, UTC). */
  createdAt: string;
  machine: string;
  instructionCount: number;
  virtualTimeNs: number;
  /**
   * The last console output before the snapshot, so a restored console shows context. It is
   * metadata: the guest never sees it, and it is not part of the machine state.
   */
  scrollback: Uint8Array;
  /** The snapshot file the machine descends from (restored from, or taken before), or null. */
  parent: string | null;
}

/**
 * Guest RAM as stored: with `base` null a full image (absent pages are zero); otherwise only the
 * pages written since the snapshot file `base` was taken, every other page being as in that
 * snapshot's RAM (ram-chain.ts resolves it).
 */
export interface RamPages extends SparsePages {
  base: string | null;
  /** Deltas from here down to the full image: 0 for a full image. */
  depth: number;
}

/** The snapshot a machine's RAM is tracked against, and the pages written since it was taken. */
export interface RamDelta {
  base: string;
  /** The base's own RamPages.depth. */
  baseDepth: number;
  /** Ascending page numbers (PhysicalMemory.takeDirtyPages). */
  pages: Uint32Array;
}

/** Everything that decides what the machine does next (compared byte for byte by the pin test). */
export interface MachineState {
  config: PlainObject & { name: string };
  boot: PlainObject;
  cpu: CpuState;
  memory: { ram: RamPages; hostFrames: SparsePages };
  host: HostState;
  guest: GuestState;
  launcher: PlainObject & { version: number };
  disks: DiskIdentity[];
  clock: { instructionCount: number; virtualTimeNs: number };
}

export interface MachineSnapshot {
  kind: typeof MACHINE_SNAPSHOT_KIND;
  layout: typeof MACHINE_SNAPSHOT_LAYOUT;
  meta: SnapshotMeta;
  state: MachineState;
}

/** A snapshot whose container is fine but whose contents are not a machine (names the field). */
export class SnapshotContentError extends SnapshotFormatError {
  constructor(path: string, problem: string) {
    super(`${path} ${problem}`);
    this.name = 'SnapshotContentError';
  }
}

/** A machine this build cannot snapshot (e.g. one on a shared network). */
export class SnapshotUnsupportedError extends Error {
  override readonly name = 'SnapshotUnsupportedError';
}

/**
 * The machine state tree of the parts a guest exported: RAM in full, or as a delta over a base. A
 * guest on a shared network is refused unless `networkMember` says it is captured as one member of
 * its whole network (group snapshot).
 */
export function machineStateOf(parts: MachineStateParts, networkMember = false, delta?: RamDelta): MachineState {
  if (!networkMember && (parts.guest.guest.sharedPages.length > 0 || parts.host.regions.length > 0)) {
    throw new SnapshotUnsupportedError(
      `machine "${parts.config.name}" is on a shared network: snapshots cover single machines only`,
    );
  }
  return {
    config: parts.config,
    boot: parts.boot,
    cpu: parts.cpu,
    memory: {
      ram: delta
        ? { ...packPages(parts.memory.ram, delta.pages), base: delta.base, depth: delta.baseDepth + 1 }
        : { ...packNonZeroPages(parts.memory.ram), base: null, depth: 0 },
      hostFrames: packPageList(parts.memory.hostFrames),
    },
    host: parts.host,
    guest: parts.guest.guest,
    launcher: parts.launcher,
    disks: parts.disks,
    clock: { instructionCount: parts.instructionCount, virtualTimeNs: parts.virtualTimeNs },
  };
}

/**
 * Takes a snapshot of a guest between two steps (no step may be running). With `delta`, RAM holds
 * only the listed pages over the snapshot `delta.base`.
 */
export function captureMachine(
  source: MachineStateSource,
  opts: {
    now?: Date;
    scrollback?: Uint8Array;
    parent?: string | null;
    networkMember?: boolean;
    delta?: RamDelta;
  } = {},
): MachineSnapshot {
  const networkMember = opts.networkMember ?? false;
  const state = machineStateOf(source.exportMachineState({ networkMember }), networkMember, opts.delta);
  return {
    kind: MACHINE_SNAPSHOT_KIND,
    layout: MACHINE_SNAPSHOT_LAYOUT,
    meta: {
      createdAt: (opts.now ?? new Date()).toISOString(),
      machine: state.config.name,
      instructionCount: state.clock.instructionCount,
      virtualTimeNs: state.clock.virtualTimeNs,
      scrollback: opts.scrollback ? opts.scrollback.slice() : new Uint8Array(0),
      parent: opts.parent ?? null,
    },
    state,
  };
}

export function encodeMachineSnapshot(snapshot: MachineSnapshot): Uint8Array {
  return encodeSnapshot(toTree(snapshot, ''));
}

/** The state alone as bytes: equal bytes mean equal machines (metadata left out). */
export function encodeMachineState(state: MachineState): Uint8Array {
  return encodeSnapshot(toTree(state, ''));
}

export function machineStateTree(state: MachineState): SnapshotValue {
  return toTree(state, '');
}

/** Decodes and checks a snapshot file: container errors name the offset, content errors the field. */
export function decodeMachineSnapshot(bytes: Uint8Array): MachineSnapshot {
  const tree = migrateMachineSnapshot(decodeSnapshot(bytes));
  checkMachineSnapshot(tree);
  return tree as unknown as MachineSnapshot;
}

/** Layout n -> n+1. They touch only what they change; the full check comes after the last one. */
const MIGRATIONS: Record<number, (root: Tree) => void> = {
  1: (root) => {
    const disks = isTree(root.state) ? root.state.disks : undefined;
    if (Array.isArray(disks)) for (const d of disks) if (isTree(d)) d.overlay = null;
    if (isTree(root.meta)) root.meta.parent = null;
  },
  2: (root) => {
    const cpu = isTree(root.state) ? root.state.cpu : undefined;
    const x87 = isTree(cpu) ? cpu.x87 : undefined;
    if (isTree(x87) && x87.regs instanceof Float64Array && x87.regs.length === 8)
      x87.regs = registersFromFloat64(x87.regs);
  },
  3: (root) => {
    const memory = isTree(root.state) ? root.state.memory : undefined;
    const ram = isTree(memory) ? memory.ram : undefined;
    if (isTree(ram)) {
      ram.base = null;
      ram.depth = 0;
    }
  },
};

function isTree(v: SnapshotValue | undefined): v is Tree {
  return v !== null && v !== undefined && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v);
}

/** Brings a tree of an older layout to the current one (a tree of an unknown layout is left as it is). */
function migrateMachineSnapshot(tree: SnapshotValue): SnapshotValue {
  if (!isTree(tree) || tree.kind !== MACHINE_SNAPSHOT_KIND) return tree;
  const root = tree;
  while (typeof root.layout === 'number' && root.layout < MACHINE_SNAPSHOT_LAYOUT && MIGRATIONS[root.layout]) {
    MIGRATIONS[root.layout]!(root);
    root.layout += 1;
  }
  return root;
}

/**
 * The host half of a restore: memory (RAM and the host frames holding the shadow tables), the
 * host-wide state, then the guest on a new /dev/lguest file in its own slot, with a fresh CPU that
 * imports the saved registers (derived caches start empty). Needs a host with no guests of this
 * thread. With `peerSlots` (region -> slot) the guest re-joins its networks on a host shared with
 * other threads: its RAM is shared memory, only its own regions' pages are loaded, and it takes
 * its saved peer slots. `ram`: the guest's RAM already holding the snapshot's bytes
 * (ram-chain.ts), taken as it is; without it the state's RAM must be a full image.
 */
export function restoreHostSide(
  state: MachineState,
  host: LguestHost = new LguestHost(),
  peerSlots?: ReadonlyMap<string, number>,
  ram?: Uint8Array,
): { host: LguestHost; file: LguestFileImpl; memory: PhysicalMemory } {
  if (host.guests.some((g) => g !== null)) {
    throw new SnapshotUnsupportedError('a snapshot restores into a host of its own (single machines only)');
  }
  if (!ram && state.memory.ram.base !== null) {
    throw new SnapshotUnsupportedError(
      `the snapshot's RAM is a delta over ${state.memory.ram.base}: restore it with its snapshot folder`,
    );
  }
  if (ram && ram.byteLength !== state.memory.ram.pages * PAGE_SIZE) {
    throw new RangeError(`RAM of ${ram.byteLength} bytes given for a ${state.memory.ram.pages}-page snapshot`);
  }
  // The RAM given is taken as it is; a network member's is shared, as senders on other threads
  // copy frames straight into it.
  const memory = PhysicalMemory.fromState(
    { ram: ram ?? unpackToBytes(state.memory.ram), hostFrames: unpackToPageList(state.memory.hostFrames) },
    ram !== undefined && peerSlots === undefined,
    peerSlots !== undefined,
  );
  const regions = state.guest.sharedPages.map((p) => p.region);
  if (peerSlots) host.joinState(state.host, regions);
  else host.importState(state.host);
  const file = host.open();
  const r = file.restore({
    memory,
    state: { guest: state.guest },
    cpu: state.cpu,
    ...(peerSlots ? { peerSlots: regions.map((name) => peerSlots.get(name)) } : {}),
  });
  if (r !== 16) throw new Error(`the host refused the snapshot's guest (error ${r})`);
  file.guest!.cpu.dropCaches();
  return { host, file, memory };
}

// ---- plain data to tree

/** Structural copy into the container's value type; undefined properties are left out. */
function toTree(v: unknown, path: string): SnapshotValue {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return v as SnapshotValue;
  if (Array.isArray(v)) return v.map((x, i) => toTree(x, `${path}/${i}`));
  if (typeof v === 'object') {
    const out: Record<string, SnapshotValue> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (x !== undefined) out[k] = toTree(x, `${path}/${k}`);
    }
    return out;
  }
  throw new TypeError(`machine state at ${path || '/'} is a ${typeof v}, not plain data`);
}

// ---- checking a decoded tree

type Tree = Record<string, SnapshotValue>;

function record(v: SnapshotValue | undefined, path: string): Tree {
  if (v === null || v === undefined || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) {
    throw new SnapshotContentError(path, 'must be an object');
  }
  return v as Tree;
}

function num(r: Tree, key: string, path: string): number {
  const v = r[key];
  if (typeof v !== 'number') throw new SnapshotContentError(`${path}/${key}`, 'must be a number');
  return v;
}

function str(r: Tree, key: string, path: string): string {
  const v = r[key];
  if (typeof v !== 'string') throw new SnapshotContentError(`${path}/${key}`, 'must be a string');
  return v;
}

function typed<T>(r: Tree, key: string, ctor: new (n: number) => T, path: string, length?: number): T {
  const v = r[key];
  if (!(v instanceof ctor)) throw new SnapshotContentError(`${path}/${key}`, `must be a ${ctor.name}`);
  if (length !== undefined && (v as { length: number }).length !== length) {
    throw new SnapshotContentError(`${path}/${key}`, `must have ${length} elements`);
  }
  return v;
}

function checkSegment(v: SnapshotValue | undefined, path: string): void {
  const s = record(v, path);
  for (const k of ['selector', 'base', 'limit', 'flags'] satisfies (keyof SegmentRegister)[]) num(s, k, path);
}

function checkTable(v: SnapshotValue | undefined, path: string): void {
  const t = record(v, path);
  for (const k of ['base', 'limit'] satisfies (keyof TableRegister)[]) num(t, k, path);
}

function checkSparse(v: SnapshotValue | undefined, path: string, maxPages: number): void {
  const s = record(v, path);
  num(s, 'pages', path);
  typed(s, 'present', Uint32Array, path);
  typed(s, 'data', Uint8Array, path);
  const problem = sparsePagesProblem(s as unknown as SparsePages);
  if (problem) throw new SnapshotContentError(path, problem);
  if ((s.pages as number) > maxPages) throw new SnapshotContentError(`${path}/pages`, `must be at most ${maxPages}`);
}

/** The guest state must have every field of a fresh one, of the same kind. */
function checkGuestState(v: SnapshotValue | undefined, path: string): void {
  const g = record(v, path);
  if (g.version !== GUEST_STATE_VERSION) {
    throw new SnapshotContentError(
      `${path}/version`,
      `is ${String(g.version)}; this build reads ${GUEST_STATE_VERSION}`,
    );
  }
  const template = newGuestState(0, 0, 0) as unknown as Record<string, unknown>;
  const nullable = new Set(['dead', 'lguestData', 'clockDeadlineNs']);
  for (const [key, want] of Object.entries(template)) {
    const got = g[key];
    const p = `${path}/${key}`;
    if (nullable.has(key) && got === null) continue;
    if (Array.isArray(want)) {
      if (!Array.isArray(got)) throw new SnapshotContentError(p, 'must be an array');
      if (key !== 'sharedPages' && got.length !== want.length)
        throw new SnapshotContentError(p, `must have ${want.length} entries`);
      continue;
    }
    const kind = want === null ? (key === 'dead' ? 'string' : 'number') : typeof want;
    if (typeof got !== kind) throw new SnapshotContentError(p, `must be a ${kind}`);
  }
  const id = g.guestid as number;
  if (!Number.isInteger(id) || id < 0 || id >= 16) throw new SnapshotContentError(`${path}/guestid`, 'must be 0..15');
}

function checkMachineSnapshot(tree: SnapshotValue): void {
  const root = record(tree, '');
  if (root.kind !== MACHINE_SNAPSHOT_KIND) {
    throw new SnapshotContentError('/kind', `must be "${MACHINE_SNAPSHOT_KIND}" (this is not a machine snapshot)`);
  }
  if (root.layout !== MACHINE_SNAPSHOT_LAYOUT) {
    throw new SnapshotContentError('/layout', `is ${String(root.layout)}; this build reads ${MACHINE_SNAPSHOT_LAYOUT}`);
  }
  const meta = record(root.meta, '/meta');
  str(meta, 'createdAt', '/meta');
  str(meta, 'machine', '/meta');
  num(meta, 'instructionCount', '/meta');
  num(meta, 'virtualTimeNs', '/meta');
  typed(meta, 'scrollback', Uint8Array, '/meta');
  if (meta.parent !== null && (typeof meta.parent !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(meta.parent)))
    throw new SnapshotContentError('/meta/parent', 'must be null or a snapshot file name');

  const state = record(root.state, '/state');
  str(record(state.config, '/state/config'), 'name', '/state/config');
  record(state.boot, '/state/boot');

  const cpu = record(state.cpu, '/state/cpu');
  typed(cpu, 'gpr', Int32Array, '/state/cpu', 8);
  for (const k of ['eip', 'eflags', 'cr0', 'cr2', 'cr3', 'cr4', 'instructionCount']) num(cpu, k, '/state/cpu');
  const segs = cpu.segs;
  if (!Array.isArray(segs) || segs.length !== 6)
    throw new SnapshotContentError('/state/cpu/segs', 'must hold 6 segments');
  segs.forEach((s, i) => checkSegment(s, `/state/cpu/segs/${i}`));
  checkSegment(cpu.ldtr, '/state/cpu/ldtr');
  checkSegment(cpu.tr, '/state/cpu/tr');
  checkTable(cpu.gdtr, '/state/cpu/gdtr');
  checkTable(cpu.idtr, '/state/cpu/idtr');
  const x87 = record(cpu.x87, '/state/cpu/x87');
  typed(x87, 'regs', Uint32Array, '/state/cpu/x87', 24);
  for (const k of ['control', 'status', 'tag', 'fip', 'fcs', 'fdp', 'fds', 'fop']) num(x87, k, '/state/cpu/x87');

  const memory = record(state.memory, '/state/memory');
  checkSparse(memory.ram, '/state/memory/ram', HOST_FRAME_BASE / PAGE_SIZE);
  checkSparse(memory.hostFrames, '/state/memory/hostFrames', (2 ** 32 - HOST_FRAME_BASE) / PAGE_SIZE);
  const ram = record(memory.ram, '/state/memory/ram');
  if ((ram.pages as number) === 0) throw new SnapshotContentError('/state/memory/ram', 'is empty');
  if (ram.base !== null && (typeof ram.base !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(ram.base)))
    throw new SnapshotContentError('/state/memory/ram/base', 'must be null or a snapshot file name');
  const depth = num(ram, 'depth', '/state/memory/ram');
  if (!Number.isInteger(depth) || depth < 0 || (depth === 0) !== (ram.base === null))
    throw new SnapshotContentError(
      '/state/memory/ram/depth',
      'must be 0 for a full image, else a whole number above 0',
    );

  const host = record(state.host, '/state/host');
  num(host, 'bindingSeq', '/state/host');
  if (!Array.isArray(host.regions)) throw new SnapshotContentError('/state/host/regions', 'must be an array');
  checkGuestState(state.guest, '/state/guest');
  num(record(state.launcher, '/state/launcher'), 'version', '/state/launcher');

  if (!Array.isArray(state.disks)) throw new SnapshotContentError('/state/disks', 'must be an array');
  state.disks.forEach((d, i) => {
    const p = `/state/disks/${i}`;
    const disk = record(d, p);
    str(disk, 'path', p);
    num(disk, 'size', p);
    if (typeof disk.readOnly !== 'boolean') throw new SnapshotContentError(`${p}/readOnly`, 'must be a boolean');
    if (!/^[0-9a-f]{64}$/.test(str(disk, 'sha256', p)))
      throw new SnapshotContentError(`${p}/sha256`, 'must be 64 hex digits');
    const overlay = disk.overlay;
    if (overlay !== null && (typeof overlay !== 'string' || !/^[0-9A-Za-z][0-9A-Za-z._-]*$/.test(overlay)))
      throw new SnapshotContentError(`${p}/overlay`, 'must be null or an overlay file name');
  });
  const clock = record(state.clock, '/state/clock');
  num(clock, 'instructionCount', '/state/clock');
  num(clock, 'virtualTimeNs', '/state/clock');
}
