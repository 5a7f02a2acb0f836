// A Launcher's machine as plain data for a snapshot: it gathers the CPU, memory and host state from
// the host's file, its own device state, the boot layout and each disk's identity (never its data).

import { hashDisk, identifyDiskFile, type DiskIdentity } from '../snapshot/disk-identity';
import { SnapshotUnsupportedError, type MachineStateParts } from '../snapshot/machine-snapshot';
import type { HostState, LguestFileState } from '../host/lguest-user';
import type { Cpu } from '../cpu/types';
import { BlockDevice } from './block-device';
import type { Launcher } from './launch';
import { OverlayDisk } from './overlay-disk';

/** What the real host's file (LguestFileImpl) offers beyond the /dev/lguest requests. */
interface ExportingFile {
  readonly guest: { readonly cpu: Cpu } | null;
  exportState(): LguestFileState | null;
}

interface ExportingHost {
  exportState(): HostState;
}

function isExportingFile(f: object): f is ExportingFile {
  return 'guest' in f && 'exportState' in f && typeof f.exportState === 'function';
}

function isExportingHost(h: object | null): h is ExportingHost {
  return h !== null && 'exportState' in h && typeof h.exportState === 'function';
}

/** `networkMember`: a machine on a network is captured as one member of its whole network. */
export function exportLauncherMachine(l: Launcher, opts: { networkMember?: boolean } = {}): MachineStateParts {
  const name = l.config.name;
  if (!opts.networkMember && (l.config.networks ?? []).length > 0) {
    throw new SnapshotUnsupportedError(
      `machine "${name}" is on a shared network (${l.config.networks!.join(', ')}): snapshots cover single machines only; take a group snapshot of the network instead`,
    );
  }
  const file = l.file;
  const host = l.host;
  const guestState = isExportingFile(file) ? file.exportState() : null;
  if (!isExportingFile(file) || !file.guest || !guestState || !isExportingHost(host)) {
    throw new SnapshotUnsupportedError(`machine "${name}" runs on a host that cannot export its state`);
  }
  if (l.config.disposable) {
    throw new SnapshotUnsupportedError(
      `machine "${name}" is a disposable run: its disk writes are thrown away at stop, so it cannot be snapshotted`,
    );
  }
  // An overlaid disk is its base image's identity plus the active overlay (frozen right after the
  // capture); any other disk is hashed whole.
  const disks: DiskIdentity[] = l.machine.devices
    .filter((d): d is BlockDevice => d instanceof BlockDevice)
    .map((d) =>
      d.disk instanceof OverlayDisk
        ? {
            path: d.disk.basePath,
            size: d.disk.size,
            readOnly: false,
            sha256: d.disk.baseSha256,
            overlay: d.disk.activeFile,
          }
        : {
            path: d.path ?? d.label,
            size: d.disk.size,
            readOnly: d.disk.readOnly,
            // A read-only image is hashed once per file version; a disk written in place every time.
            sha256: d.disk.readOnly && d.path ? identifyDiskFile(d.path).sha256 : hashDisk(d.disk),
            overlay: null,
          },
    );
  const { kernel, layout } = l.machine;
  return {
    config: JSON.parse(JSON.stringify(l.config)) as MachineStateParts['config'],
    boot: {
      kernel: {
        format: kernel.format,
        pageOffset: kernel.pageOffset,
        entry: kernel.entry,
        markerGpa: kernel.markerGpa,
        end: kernel.end,
      },
      layout: { ...layout, initrd: layout.initrd ? { ...layout.initrd } : null },
    },
    cpu: file.guest.cpu.exportState(),
    // RAM as a live view: machineStateOf copies the pages it keeps before the guest runs again.
    memory: l.memory.exportStateView(),
    host: host.exportState(),
    guest: guestState,
    launcher: { ...l.exportState() },
    disks,
    instructionCount: file.guest.cpu.instructionCount,
    virtualTimeNs: l.virtualTimeNs,
  };
}
