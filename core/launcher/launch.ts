// The Launcher proper (2.6.23 Documentation/lguest/lguest.c, in-process): lay out guest memory,
// create the devices, INITIALIZE the host, then run the guest in slices and serve its DMA.

import { PhysicalMemory } from '../cpu/memory';
import { EAGAIN, ENOSPC, type LguestFile, type RunResult, type SharedPageMapping } from '../host/api';
import type { LaunchedGuest, LauncherEvents, LauncherStep } from './api';
import { BlockDevice, BLOCK_DEVICE_FEATURES, openDiskImage, type BlockBackend } from './block-device';
import { writeBootParams } from './boot-params';
import { ConsoleDevice, type ConsoleState } from './console-device';
import type { DeviceContext, LauncherDevice } from './device';
import { DeviceTable, LGUEST_DEVICE_T_BLOCK, LGUEST_DEVICE_T_CONSOLE, LGUEST_DEVICE_T_NET } from './device-table';
import { exitTraceOf } from './exit-trace-lines';
import { readGuestImage } from './guest-file';
import { planGuestLayout, type GuestLayout } from './guest-layout';
import { loadKernelImage, type KernelLayout } from './kernel-image';
import { resolveGuestFile } from './kernel-path';
import { InvalidGuestAddress, readLauncherDma, setUsedLen } from './launcher-dma';
import type { MachineConfig } from './machine-config';
import { writeInitialPageTables } from './page-tables';
import { SharenetDevice, sharedNetwork, sharedPagesOf, sharenetFeatures } from './sharenet';
import { LGUEST_MAX_GUESTS } from '../host/constants';
import type { MachineStateParts } from '../snapshot/machine-snapshot';
import { exportLauncherMachine } from './machine-state';
import type { SnapshotBase } from './snapshot-capture';
import { disposableDiskOpener, freezeDisks, machineDiskOpener, type DiskOpener } from './machine-disks';

const MIB = 1024 * 1024;
/** LHREQ_INITIALIZE's success value (the byte count of its four arguments). */
const INITIALIZE_OK = 16;
/** Without an instruction counter from the host, a step serves at most this many DMAs. */
const MAX_DMAS_PER_STEP = 4096;

/** A device as given on the command line, in order (devices get descriptor slots in this order). */
export type DeviceSpec =
  | { kind: 'block'; path: string; readOnly: boolean }
  /** `slot`: the peer slot to take (a restored network member), else the first free one. */
  | { kind: 'sharenet'; name: string; slot?: number };

/** What a Launcher needs from the host: a way to open "/dev/lguest" (LguestHost has it). */
export interface LguestHostLike {
  open(): LguestFile;
}

export interface LaunchOptions {
  /** The host to run on; guests that share a network must share a host. Default: a new host. */
  host?: LguestHostLike;
  /** Directory that relative file names in the config are resolved against (default: cwd). */
  baseDir?: string;
  /** Device order; default is the config's block devices, then its networks. */
  devices?: DeviceSpec[];
  /**
   * The guest's wall clock at boot (seconds since the epoch). The 2.6.23 host gives the guest the
   * host's own time of day, so the default is now; tests and replays may pin it.
   */
  bootEpochSeconds?: number;
  /**
   * The folder of the machine's disk overlays: writable disks then run on copy-on-write overlays
   * there and their images are never written (machine-disks.ts). Without it a writable disk is
   * written in place, as the 2.6.23 Launcher did. A disposable config ignores it.
   */
  disksDir?: string;
}

/** How a launch opens its disks: disposable overlays, the machine's overlays, or the images themselves. */
function diskOpenerFor(config: MachineConfig, disksDir: string | undefined): DiskOpener {
  if (config.disposable) return disposableDiskOpener();
  return disksDir ? machineDiskOpener(disksDir) : openDiskImage;
}

/**
 * The host's instruction counter. LguestFile does not offer one; the host's LguestFileImpl exposes
 * its guest's CPU for inspectors, and that is where the count is read from when it is there.
 */
interface FileWithGuestCpu {
  readonly guest: { readonly cpu: { readonly instructionCount: number } } | null;
}

function instructionsOf(file: LguestFile): number | null {
  if ('instructionCount' in file && typeof file.instructionCount === 'number') return file.instructionCount;
  if ('guest' in file) {
    const g = (file as LguestFile & FileWithGuestCpu).guest;
    if (g && typeof g.cpu?.instructionCount === 'number') return g.cpu.instructionCount;
  }
  return null;
}

export function devicesOfConfig(config: MachineConfig): DeviceSpec[] {
  return [
    ...(config.blockDevices ?? []).map(
      (b): DeviceSpec => ({ kind: 'block', path: b.path, readOnly: b.readOnly ?? false }),
    ),
    ...(config.networks ?? []).map((name): DeviceSpec => ({ kind: 'sharenet', name })),
  ];
}

/** Everything a launch prepared before the host was touched. */
export interface PreparedMachine {
  memory: PhysicalMemory;
  layout: GuestLayout;
  kernel: KernelLayout;
  table: DeviceTable;
  devices: LauncherDevice[];
  console: ConsoleDevice;
  sharedPages: SharedPageMapping[];
  pfnLimit: number;
}

/**
 * Set-up steps 1-8 of §10.2 (everything before INITIALIZE). Throws LoadError for a bad image or
 * initrd, GuestFileError for files that cannot be used (unreadable, not a regular file, larger
 * than the guest's memory); on a throw nothing stays open or allocated.
 */
export async function prepareMachine(
  config: MachineConfig,
  specs: DeviceSpec[],
  host: object,
  onConsoleOutput: (bytes: Uint8Array) => void,
  log: (line: string) => void,
  baseDir?: string,
  openDisk: (path: string, readOnly: boolean) => BlockBackend = openDiskImage,
): Promise<PreparedMachine> {
  const mem = config.memoryMB * MIB;
  const kernelPath = resolveGuestFile(config.kernel, baseDir);
  const kernelFile = await readGuestImage(kernelPath, 'kernel', mem);
  const initrdFile = config.initrd
    ? await readGuestImage(resolveGuestFile(config.initrd, baseDir), 'initrd', mem)
    : null;
  const kernel = loadKernelImage(kernelFile, mem);
  const layout = planGuestLayout(mem, kernel.end, kernel.pageOffset, initrdFile ? initrdFile.length : null);

  const { table, devices, console } = createDevices(mem, specs, host, onConsoleOutput, log, baseDir, openDisk);
  try {
    // A guest on a network gets its RAM in a SharedArrayBuffer: senders on other threads of the
    // host copy frames straight into it (as the 2.6.23 host copied into the receiver's pages).
    const networked = devices.some((d) => d instanceof SharenetDevice);
    const memory = new PhysicalMemory(table.top, networked);
    const ram = memory.ram;
    for (const s of kernel.segments) ram.set(s.bytes, s.gpa);
    if (initrdFile && layout.initrd) ram.set(initrdFile, layout.initrd.gpa);
    writeInitialPageTables(ram, layout, kernel.pageOffset);
    writeBootParams(ram, { mem, commandLine: config.cmdline ?? '', initrd: layout.initrd });
    table.writeTo(memory.ramView);
    for (const d of devices) if (d instanceof BlockDevice) d.writeNumSectors(memory.ramView);
    log(
      `kernel ${kernelPath}: ${kernel.format}, page offset 0x${kernel.pageOffset.toString(16)}, entry 0x${kernel.entry.toString(16)}; ` +
        `pgdir 0x${layout.pgdir.toString(16)}, pfn_limit 0x${(table.top / 4096).toString(16)}` +
        (layout.initrd ? `, initrd at 0x${layout.initrd.gpa.toString(16)} (${layout.initrd.size} bytes)` : ''),
    );
    return {
      memory,
      layout,
      kernel,
      table,
      devices,
      console,
      sharedPages: sharedPagesOf(devices),
      pfnLimit: table.top / 4096,
    };
  } catch (e) {
    for (const d of devices) d.close?.();
    throw e;
  }
}

/**
 * The devices of a machine, in descriptor order (the given specs, then the console), with their
 * descriptor table. Used by a launch and by a snapshot restore; on a throw nothing stays open.
 */
export function createDevices(
  mem: number,
  specs: DeviceSpec[],
  host: object,
  onConsoleOutput: (bytes: Uint8Array) => void,
  log: (line: string) => void,
  baseDir?: string,
  openDisk: (path: string, readOnly: boolean) => BlockBackend = openDiskImage,
): { table: DeviceTable; devices: LauncherDevice[]; console: ConsoleDevice } {
  const table = new DeviceTable(mem);
  const devices: LauncherDevice[] = [];
  try {
    let blockCount = 0;
    for (const spec of specs) {
      if (spec.kind === 'block') {
        const path = resolveGuestFile(spec.path, baseDir);
        const disk = openDisk(path, spec.readOnly);
        const desc = table.add(LGUEST_DEVICE_T_BLOCK, BLOCK_DEVICE_FEATURES, 1);
        const label = `lgb${String.fromCharCode(0x61 + blockCount++)}`;
        const dev = new BlockDevice(desc, disk, label, path);
        devices.push(dev);
        log(
          `block device ${label}: ${spec.path}${spec.readOnly ? ' (read-only)' : ''}, ${dev.numSectors} sectors, page 0x${desc.pageGpa.toString(16)}, irq ${desc.irq}`,
        );
      } else {
        const network = sharedNetwork(host, spec.name);
        const slot = network.acquireSlot(spec.slot);
        try {
          const desc = table.add(LGUEST_DEVICE_T_NET, sharenetFeatures(slot), 1);
          devices.push(new SharenetDevice(desc, network, slot));
          log(
            `network ${spec.name}: slot ${slot}, page 0x${desc.pageGpa.toString(16)}, irq ${desc.irq} (MAC 02:00:<guest id>:00:00)`,
          );
        } catch (e) {
          network.releaseSlot(slot);
          throw e;
        }
      }
    }
    // The console is created last, so it has the highest descriptor index and IRQ.
    const console = new ConsoleDevice(table.add(LGUEST_DEVICE_T_CONSOLE, 0, 0), onConsoleOutput);
    devices.push(console);
    log(`console: irq ${console.desc.irq}, key 0`);
    return { table, devices, console };
  } catch (e) {
    for (const d of devices) d.close?.();
    throw e;
  }
}

const ERRNO_NAMES: Record<number, string> = {
  [-1]: 'EPERM',
  [-2]: 'ENOENT',
  [-4]: 'EINTR',
  [-11]: 'EAGAIN',
  [-12]: 'ENOMEM',
  [-14]: 'EFAULT',
  [-16]: 'EBUSY',
  [-22]: 'EINVAL',
  [-28]: 'ENOSPC',
};
export function errnoName(r: number): string {
  return ERRNO_NAMES[r] ?? `errno ${-r}`;
}

/** The Launcher's part of a machine's state, as plain data (the host and CPU export their own). */
export interface LauncherState {
  version: 1;
  console: ConsoleState;
  /** Set when the Launcher itself killed the guest (a bad DMA address). */
  deadReason: string | null;
}

/** One running guest: the run loop of §10.10 driven in slices. */
export class Launcher implements LaunchedGuest {
  private deadReason: string | null = null;
  private closed = false;
  private readonly ctx: DeviceContext;
  private readonly byKey = new Map<number, LauncherDevice>();
  /** DMAs served, for inspectors and the CLI's statistics. */
  dmasServed = 0;
  /**
   * The snapshot file this machine's RAM equals but for the pages in its dirty map (the one it
   * was restored from, or last took), or null: the next snapshot then stores RAM in full.
   */
  ramBase: SnapshotBase | null = null;

  constructor(
    readonly config: MachineConfig,
    readonly machine: PreparedMachine,
    readonly file: LguestFile,
    events: LauncherEvents,
    /** The host the file was opened on (snapshots export its host-wide state); null if unknown. */
    readonly host: LguestHostLike | null = null,
  ) {
    this.ctx = {
      ram: machine.memory.ram,
      view: machine.memory.ramView,
      written: (gpa, len) => machine.memory.written(gpa, len),
      top: machine.table.top,
      file,
      log: (line) => events.log?.(line),
    };
    // The first device with a handler on a key serves it (as the original's device list walk).
    for (const d of machine.devices)
      if (d.watchKey !== null && d.handleOutput && !this.byKey.has(d.watchKey)) this.byKey.set(d.watchKey, d);
  }

  get memory(): PhysicalMemory {
    return this.machine.memory;
  }

  get dead(): string | null {
    return this.deadReason;
  }

  get virtualTimeNs(): number {
    return this.file.virtualTimeNs;
  }

  advanceClockTo(ns: number): void {
    if (this.deadReason === null && !this.closed) this.file.advanceClockTo(ns);
  }

  /** True when a step would make progress now (not halted, or an interrupt became deliverable). */
  hasPendingWork(): boolean {
    if (this.deadReason !== null || this.closed) return false;
    return this.file.hasPendingWork() || this.machine.console.pendingInputBytes > 0;
  }

  /** Guest instructions retired so far, if the host reveals its count (else null). */
  get instructionCount(): number | null {
    return instructionsOf(this.file);
  }

  consoleInput(bytes: Uint8Array): void {
    this.machine.console.queueInput(bytes);
  }

  get pendingConsoleInput(): number {
    return this.machine.console.pendingInputBytes;
  }

  step(budget: number): LauncherStep {
    if (this.deadReason !== null) return { kind: 'dead', reason: this.deadReason };
    if (this.closed) return this.die('the guest was closed');
    const startCount = this.instructionCount;
    let dmas = 0;
    for (;;) {
      this.guarded(() => this.machine.console.deliverInput(this.ctx));
      if (this.deadReason !== null) return { kind: 'dead', reason: this.deadReason };

      let left = budget;
      if (startCount !== null) left = budget - (this.instructionCount! - startCount);
      if (left <= 0) return { kind: 'running' };
      const r: RunResult | number = this.file.run({ budget: left });
      if (typeof r === 'number') {
        if (r === EAGAIN) return { kind: 'running' };
        return this.die(`Running guest failed: ${errnoName(r)}`);
      }
      switch (r.kind) {
        case 'dma':
          this.handleOutput(r.dma, r.key);
          if (this.deadReason !== null) return { kind: 'dead', reason: this.deadReason };
          if (startCount === null && ++dmas >= MAX_DMAS_PER_STEP) return { kind: 'running' };
          continue;
        case 'break':
        case 'slice':
          return { kind: 'running' };
        case 'idle':
          // Input that became deliverable (the guest emptied its buffer, then halted) wakes it.
          if (this.guarded(() => this.machine.console.deliverInput(this.ctx))) continue;
          if (this.deadReason !== null) return { kind: 'dead', reason: this.deadReason };
          return { kind: 'idle', wakeAtNs: r.wakeAtNs };
        case 'dead':
          this.deadReason = r.reason;
          return { kind: 'dead', reason: r.reason };
      }
    }
  }

  /** handleOutput of §10.10: validate the DMA, hand it to the device watching that key. */
  private handleOutput(dmaGpa: number, key: number): void {
    this.dmasServed++;
    this.guarded(() => {
      const dma = readLauncherDma(this.ctx.view, dmaGpa, this.ctx.top);
      const device = this.byKey.get(key >>> 0);
      if (!device?.handleOutput) {
        this.ctx.log(`Pending dma 0x${dmaGpa.toString(16)}, key 0x${(key >>> 0).toString(16)}`);
        return;
      }
      setUsedLen(this.ctx.view, dmaGpa, device.handleOutput(dma, this.ctx));
      this.ctx.written(dmaGpa, 4);
    });
  }

  /** Runs device work; a bad guest address kills this guest (2.6.23 exited the whole Launcher). */
  private guarded(work: () => boolean | void): boolean {
    try {
      return work() === true;
    } catch (e) {
      if (e instanceof InvalidGuestAddress) {
        // Like the host's own kills: the newest traced event (the DMA just served) is what killed it.
        if (this.deadReason === null) exitTraceOf(this.file)?.markNewestKilled();
        this.die(e.message);
        return false;
      }
      throw e;
    }
  }

  private die(reason: string): LauncherStep {
    if (this.deadReason === null) {
      this.deadReason = reason;
      this.ctx.log(`guest killed by the Launcher: ${reason}`);
    }
    return { kind: 'dead', reason: this.deadReason };
  }

  exportState(): LauncherState {
    return { version: 1, console: this.machine.console.exportState(), deadReason: this.deadReason };
  }

  /** The whole machine as plain data, between steps (see core/snapshot/machine-snapshot.ts). */
  exportMachineState(opts: { networkMember?: boolean } = {}): MachineStateParts {
    return exportLauncherMachine(this, opts);
  }

  freezeDisks(): void {
    freezeDisks(this.machine.devices);
  }

  /** RAM pages written since the last call (see PhysicalMemory.takeDirtyPages). */
  takeDirtyPages(): Uint32Array {
    return this.machine.memory.takeDirtyPages();
  }

  markPagesDirty(pages: Uint32Array): void {
    this.machine.memory.markPagesDirty(pages);
  }

  importState(state: LauncherState): void {
    if (state.version !== 1) throw new Error(`Launcher state version ${String(state.version)} is not supported`);
    this.machine.console.importState(state.console);
    this.deadReason = state.deadReason;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.file.close();
    for (const d of this.machine.devices) d.close?.();
  }
}

/**
 * Creates the guest and initializes it on `host`; refuses bad images, initrds and disk files
 * before the host is touched (then nothing stays open).
 */
export async function launchGuestOn(
  host: LguestHostLike,
  config: MachineConfig,
  events: LauncherEvents,
  opts: Omit<LaunchOptions, 'host'> = {},
): Promise<Launcher> {
  const log = (line: string) => events.log?.(line);
  const machine = await prepareMachine(
    config,
    opts.devices ?? devicesOfConfig(config),
    host,
    (b) => events.consoleOutput(b),
    log,
    opts.baseDir,
    diskOpenerFor(config, opts.disksDir),
  );
  let file: LguestFile | null = null;
  try {
    file = host.open();
    const r = file.initialize({
      memory: machine.memory,
      pfnLimit: machine.pfnLimit,
      pgdir: machine.layout.pgdir,
      start: machine.kernel.entry,
      pageOffset: machine.kernel.pageOffset,
      sharedPages: machine.sharedPages,
      bootEpochSeconds: opts.bootEpochSeconds ?? Math.floor(Date.now() / 1000),
    });
    if (r === ENOSPC)
      throw new Error(
        `host full: all ${LGUEST_MAX_GUESTS} guest slots of this lguest host are in use (LHREQ_INITIALIZE: ENOSPC)`,
      );
    if (r !== INITIALIZE_OK) throw new Error(`LHREQ_INITIALIZE failed: ${errnoName(r)}`);
  } catch (e) {
    file?.close();
    for (const d of machine.devices) d.close?.();
    throw e;
  }
  return new Launcher(config, machine, file, events, host);
}

/** The host of launches that name none: the real host with the i386 emulator, loaded on demand. */
export async function defaultHost(): Promise<LguestHostLike> {
  const { createDefaultHost } = await import('./default-host');
  return createDefaultHost();
}

/**
 * What the service calls: launch on opts.host, or on a new host of its own. (Guests that share a
 * network must be launched on one host.)
 */
export async function launchGuest(
  config: MachineConfig,
  events: LauncherEvents,
  opts: LaunchOptions = {},
): Promise<Launcher> {
  const host = opts.host ?? (await defaultHost());
  return launchGuestOn(host, config, events, opts);
}
