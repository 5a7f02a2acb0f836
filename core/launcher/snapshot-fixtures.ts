// Snapshot fixtures: files written by an earlier build of the workbench, and what each must do
// when the current build restores it (the state it restores to, and the state a fixed run reaches).

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unpackToBytes } from '../snapshot/sparse-pages';
import { encodeMachineState, machineStateOf, type MachineState } from '../snapshot/machine-snapshot';
import { hashDisk } from '../snapshot/disk-identity';
import { BlockDevice } from './block-device';
import type { Launcher } from './launch';
import { replayTo, type InputEvent } from './replay';

export const FIXTURE_DIR = fileURLToPath(new URL('../snapshot/fixtures/', import.meta.url));
export const FIXTURE_MANIFEST = join(FIXTURE_DIR, 'manifest.json');
/** The guest's wall clock at boot for every fixture, so that a fixture's machine is reproducible. */
export const FIXTURE_BOOT_EPOCH = 1_191_888_000;

/** Console input typed when the guest has retired `after` instructions more than at the snapshot. */
export interface FixtureInput {
  after: number;
  text: string;
}

/** The digests of one machine at one point (see stateDigests). */
export interface FixtureDigests {
  /** SHA-256 of the whole encoded machine state (only comparable within one layout). */
  state: string;
  /** SHA-256 of guest RAM, the CPU's integer registers and the clock (comparable across layouts). */
  core: string;
}

export interface FixtureEntry {
  /** The snapshot file, in FIXTURE_DIR. */
  file: string;
  /** What the fixture is (a sentence). */
  about: string;
  /** Container format version and tree layout of the build that wrote it. */
  formatVersion: number;
  layout: number;
  /** Disk images the snapshot needs, by file name in FIXTURE_DIR, in the snapshot's disk order. */
  disks: string[];
  /** Overlay files the snapshot's disks froze (they go into the machine's disk folder); absent: none. */
  overlays?: string[];
  /** Snapshot files its RAM chain reads (they go into its snapshot folder); absent: none. */
  bases?: string[];
  restored: FixtureDigests;
  /** The deterministic run after the restore: inputs, length, and where it ends. */
  run: {
    instructions: number;
    inputs: FixtureInput[];
    end: FixtureDigests;
    /** SHA-256 of the console output of the run. */
    console: string;
    /** Strings the console output of the run must contain (a readable cross-check). */
    consoleContains: string[];
    /** SHA-256 of each disk's contents as the guest sees them after the run. */
    disks: string[];
  };
}

export function readFixtureManifest(): FixtureEntry[] {
  return JSON.parse(readFileSync(FIXTURE_MANIFEST, 'utf8')) as FixtureEntry[];
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * The digests of a machine state. Disk paths are reduced to their file names first: a fixture's
 * disks are copied to a temporary folder to run, and where they live is not part of the machine.
 */
export function stateDigests(state: MachineState): FixtureDigests {
  const base = (p: string): string => p.slice(p.lastIndexOf('/') + 1);
  const config = state.config as MachineState['config'] & { blockDevices?: { path: string }[] };
  const located: MachineState = {
    ...state,
    config: {
      ...config,
      ...(config.blockDevices ? { blockDevices: config.blockDevices.map((b) => ({ ...b, path: base(b.path) })) } : {}),
    },
    // An overlay's file name is random; which overlay a disk runs on is not part of the machine.
    disks: state.disks.map((d) => ({ ...d, path: base(d.path), overlay: d.overlay === null ? null : 'overlay' })),
  };
  const cpu = state.cpu;
  const core = createHash('sha256');
  core.update(unpackToBytes(state.memory.ram));
  core.update(
    JSON.stringify({
      gpr: Array.from(cpu.gpr),
      eip: cpu.eip,
      eflags: cpu.eflags,
      segs: cpu.segs,
      cr: [cpu.cr0, cpu.cr2, cpu.cr3, cpu.cr4],
      clock: state.clock,
    }),
  );
  return { state: sha256Hex(encodeMachineState(located)), core: core.digest('hex') };
}

/** SHA-256 of each disk's contents as the guest sees them (through its overlays, if any). */
export function diskDigests(guest: Launcher): string[] {
  return guest.machine.devices.filter((d): d is BlockDevice => d instanceof BlockDevice).map((d) => hashDisk(d.disk));
}

export function machineDigests(guest: Launcher): FixtureDigests {
  return stateDigests(machineStateOf(guest.exportMachineState()));
}

/** Runs a fixture's inputs from the guest's current count; returns the console output of the run. */
export function runFixture(
  guest: Launcher,
  run: { instructions: number; inputs: FixtureInput[] },
  output: () => string,
): string {
  const start = guest.instructionCount!;
  const before = output().length;
  const events: InputEvent[] = run.inputs.map((i) => ({
    at: start + i.after,
    bytes: new TextEncoder().encode(i.text),
  }));
  const end = replayTo(guest, start + run.instructions, events);
  if (end.kind !== 'reached') throw new Error(`the fixture run ended early: ${JSON.stringify(end)}`);
  return output().slice(before);
}
