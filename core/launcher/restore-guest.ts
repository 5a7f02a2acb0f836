// Restore: a Launcher built from a machine snapshot instead of a kernel image. The base images must
// still be the ones the snapshot saw; each writable disk continues on a new overlay above the one
// the snapshot froze; the guest gets a new host slot and continues where it stopped.

import { markedPages, PAGE_SIZE } from '../cpu/memory';
import { LguestHost } from '../host/lguest-user';
import { checkDisks } from '../snapshot/disk-identity';
import {
  restoreHostSide,
  SnapshotUnsupportedError,
  type MachineSnapshot,
  type MachineState,
  type RamPages,
} from '../snapshot/machine-snapshot';
import {
  folderLoader,
  loadRamChain,
  pagesBetween,
  writeChainPages,
  type RamLink,
  type SnapshotLoader,
} from '../snapshot/ram-chain';
import type { LauncherEvents } from './api';
import { openDiskImage, type BlockBackend } from './block-device';
import { validateMachineConfig, formatConfigProblems } from './config-validation';
import type { GuestLayout } from './guest-layout';
import type { KernelLayout } from './kernel-image';
import { restoreDiskOpener } from './machine-disks';
import { createDevices, Launcher, type DeviceSpec, type LauncherState, type PreparedMachine } from './launch';
import { networkRegion, sharedPagesOf } from './sharenet';

export interface RestoreGuestOptions {
  /** The host to restore on; it must hold no guests. Default: a new host. */
  host?: LguestHost;
  /** Accept disks whose size or contents changed since the snapshot (the caller's explicit choice). */
  allowChangedDisks?: boolean;
  /**
   * The machine's disk overlay folder: each writable disk gets a new overlay there on top of the
   * overlay its snapshot froze (or on its image). Without it, disks are opened as they are.
   */
  disksDir?: string;
  /**
   * Network name -> peer slot, for a machine snapshotted as a member of its network (a group
   * restore): it re-joins each of its networks on `host` (shared with the other members' threads)
   * in its saved slot. Without it a snapshot of a machine on a network is refused.
   */
  peerSlots?: Record<string, number>;
  /** Opens a disk image (tests). */
  openDisk?: (path: string, readOnly: boolean) => BlockBackend;
  /**
   * The snapshot's file name in its machine's snapshot folder, and that folder: RAM stored as a
   * delta is read through its chain there, and the restored machine's RAM is tracked against it.
   */
  from?: { dir: string; file: string };
  /**
   * A stopped machine of the same RAM size whose RAM buffer the restore takes over: only the pages
   * that can differ (written since its base snapshot, and those the two chains changed) are written
   * when its base is in the same folder, else all.
   */
  reuse?: Launcher;
}

interface BootFacts {
  kernel: Omit<KernelLayout, 'segments'>;
  layout: GuestLayout;
}

/**
 * Builds a running Launcher from a snapshot (or its state): checks the disks against their recorded
 * identity (DiskChangedError names the path), restores memory, host and CPU state on a new file,
 * re-creates the devices in their descriptor order and imports the Launcher's device state.
 */
export function restoreGuest(
  snapshot: MachineSnapshot | MachineState,
  events: LauncherEvents,
  opts: RestoreGuestOptions = {},
): Launcher {
  const state = 'state' in snapshot ? snapshot.state : snapshot;
  const checked = validateMachineConfig(state.config);
  if (!checked.ok)
    throw new Error(`the snapshot's machine config is not valid: ${formatConfigProblems(checked.errors)}`);
  const config = checked.config;
  const networks = config.networks ?? [];
  const peerSlots = opts.peerSlots;
  if (networks.length > 0 && !peerSlots) {
    throw new SnapshotUnsupportedError(
      `machine "${config.name}" was on a shared network: snapshots cover single machines only`,
    );
  }
  const missing = networks.find((n) => peerSlots?.[n] === undefined);
  if (missing !== undefined) throw new Error(`no peer slot given for network ${missing} of machine "${config.name}"`);
  checkDisks(state.disks, opts.allowChangedDisks ?? false);
  const overlaid = state.disks.find((d) => d.overlay !== null);
  if (overlaid && !opts.disksDir) {
    throw new SnapshotUnsupportedError(
      `disk ${overlaid.path} of the snapshot lives in overlay ${overlaid.overlay}: restore it with its machine's disk folder`,
    );
  }
  const boot = state.boot as unknown as BootFacts;
  const ram = restoredRam(state.memory.ram, opts);
  const { host, file, memory } = restoreHostSide(
    state,
    opts.host ?? new LguestHost(),
    peerSlots && new Map(networks.map((n) => [networkRegion(n), peerSlots[n]!])),
    ram,
  );
  try {
    // In the order of a launch (devicesOfConfig): disks, networks, then the console.
    const specs: DeviceSpec[] = [
      ...state.disks.map((d): DeviceSpec => ({ kind: 'block', path: d.path, readOnly: d.readOnly })),
      ...networks.map((name): DeviceSpec => ({ kind: 'sharenet', name, slot: peerSlots![name]! })),
    ];
    const { table, devices, console } = createDevices(
      boot.layout.mem,
      specs,
      host,
      (b) => events.consoleOutput(b),
      (line) => events.log?.(line),
      undefined,
      opts.openDisk ??
        (opts.disksDir ? restoreDiskOpener(opts.disksDir, state.disks, opts.allowChangedDisks) : openDiskImage),
    );
    if (table.top !== memory.ram.byteLength) {
      for (const d of devices) d.close?.();
      throw new Error(
        `the snapshot's memory (${memory.ram.byteLength} bytes) does not fit its devices (${table.top} bytes)`,
      );
    }
    const machine: PreparedMachine = {
      memory,
      layout: boot.layout,
      kernel: { ...boot.kernel, segments: [] },
      table,
      devices,
      console,
      sharedPages: sharedPagesOf(devices),
      pfnLimit: table.top / 4096,
    };
    const launcher = new Launcher(config, machine, file, events, host);
    launcher.importState(state.launcher as unknown as LauncherState);
    if (opts.from) launcher.ramBase = { ...opts.from, depth: state.memory.ram.depth };
    return launcher;
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * The restored machine's RAM: the snapshot's chain written into the reused machine's buffer (only
 * the pages that can differ) or into a new one; undefined when the snapshot's RAM is full and
 * nothing is reused (restoreHostSide unpacks it).
 */
function restoredRam(top: RamPages, opts: RestoreGuestOptions): Uint8Array | undefined {
  const old = opts.reuse;
  const reusable = old !== undefined && old.memory.ram.byteLength === top.pages * PAGE_SIZE && !old.memory.shared;
  if (top.base === null && !reusable) return undefined;
  if (top.base !== null && !opts.from)
    throw new SnapshotUnsupportedError(
      `the snapshot's RAM is stored as changes over ${top.base}: restore it from its snapshot folder`,
    );
  const load = opts.from
    ? folderLoader(opts.from.dir)
    : () => {
        throw new Error('no snapshot folder');
      };
  const chain = loadRamChain(opts.from?.file ?? null, top, load);
  if (!reusable) {
    const ram = new Uint8Array(top.pages * PAGE_SIZE);
    writeChainPages(ram, chain, null, true);
    return ram;
  }
  const pages = pagesToRewrite(old, chain, opts.from?.dir ?? null, load);
  // From here on its RAM is no snapshot's: were this restore to fail, a later one rewrites it all.
  old.ramBase = null;
  writeChainPages(old.memory.ram, chain, pages);
  return old.memory.ram;
}

/** Pages of a stopped machine's RAM that can differ from a chain's (in `dir`); null: any page can. */
function pagesToRewrite(old: Launcher, chain: RamLink[], dir: string | null, load: SnapshotLoader): Uint32Array | null {
  const dirty = old.takeDirtyPages();
  const base = old.ramBase;
  if (!base || base.dir !== dir) return null;
  let between: Uint32Array | null;
  if (base.file === chain[0]!.file) between = new Uint32Array(0);
  else {
    try {
      between = pagesBetween(loadRamChain(base.file, load(base.file).state.memory.ram, load), chain);
    } catch {
      between = null; // its base is gone: every page is rewritten
    }
  }
  if (between === null) return null;
  const marks = new Uint8Array(chain[0]!.ram.pages);
  for (const p of dirty) marks[p] = 1;
  for (const p of between) marks[p] = 1;
  return markedPages(marks);
}
