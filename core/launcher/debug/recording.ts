// Record/replay as a file: a session's machine config, its boot wall clock and every outside event
// (console input, clock advance) keyed by instruction count, with the SHA-256 of the final machine
// state. Replaying the file boots the same machine, feeds it the same events, and compares hashes.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { encodeMachineState, machineStateOf } from '../../snapshot/machine-snapshot';
import type { LauncherEvents } from '../api';
import { writeFileAtomicSync } from '../atomic-file';
import { validateMachineConfig, formatConfigProblems } from '../config-validation';
import { launchGuest, type Launcher } from '../launch';
import type { MachineConfig } from '../machine-config';
import { Debugger } from './debugger';
import type { TimelineEvent } from './timeline';

export const RECORDING_FORMAT = 'lguest-recording';

export interface Recording {
  format: typeof RECORDING_FORMAT;
  version: 1;
  config: MachineConfig;
  bootEpochSeconds: number;
  /** Console input as base64. */
  events: ({ at: number; kind: 'input'; base64: string } | { at: number; kind: 'clock'; ns: number })[];
  instructionCount: number;
  stateSha256: string;
}

/** SHA-256 of the machine's whole state, as a snapshot would encode it (equal hash, equal machine). */
export function machineStateHash(guest: Launcher): string {
  return createHash('sha256')
    .update(encodeMachineState(machineStateOf(guest.exportMachineState())))
    .digest('hex');
}

/** The recording of a debugged session, as it stands now. */
export function recordingOf(dbg: Debugger, config: MachineConfig, bootEpochSeconds: number): Recording {
  const tl = dbg.timeline;
  if (tl === null) throw new Error('recording needs the debugger timeline');
  return {
    format: RECORDING_FORMAT,
    version: 1,
    config,
    bootEpochSeconds,
    events: tl.events
      .slice(0, tl.nextEvent)
      .map((e) =>
        e.kind === 'input'
          ? { at: e.at, kind: 'input', base64: Buffer.from(e.bytes).toString('base64') }
          : { at: e.at, kind: 'clock', ns: e.ns },
      ),
    instructionCount: dbg.count,
    stateSha256: machineStateHash(dbg.machine),
  };
}

/** Writes `rec` to `path` atomically (a temp file beside it, fsync, rename). */
export function saveRecording(path: string, rec: Recording): void {
  writeFileAtomicSync(path, JSON.stringify(rec) + '\n');
}

/** Reads and checks a recording; errors name the file and the field. */
export function loadRecording(path: string): Recording {
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a readable recording: ${e instanceof Error ? e.message : String(e)}`);
  }
  const r = data as Partial<Recording>;
  const bad = (field: string) => new Error(`${path}: recording field "${field}" is missing or invalid`);
  if (r.format !== RECORDING_FORMAT) throw bad('format');
  if (r.version !== 1) throw new Error(`${path}: recording version ${String(r.version)} is not supported`);
  const checked = validateMachineConfig(r.config);
  if (!checked.ok) throw new Error(`${path}: recording config: ${formatConfigProblems(checked.errors)}`);
  if (!Number.isInteger(r.bootEpochSeconds)) throw bad('bootEpochSeconds');
  if (!Number.isInteger(r.instructionCount) || r.instructionCount! < 0) throw bad('instructionCount');
  if (typeof r.stateSha256 !== 'string' || !/^[0-9a-f]{64}$/.test(r.stateSha256)) throw bad('stateSha256');
  if (!Array.isArray(r.events)) throw bad('events');
  r.events.forEach((e, i) => {
    const ok =
      Number.isInteger(e?.at) &&
      ((e.kind === 'input' && typeof e.base64 === 'string') || (e.kind === 'clock' && Number.isFinite(e.ns)));
    if (!ok) throw bad(`events[${i}]`);
  });
  return { ...(r as Recording), config: checked.config };
}

/** Replays `rec` on a fresh machine; the result's hash equals rec.stateSha256 when it is the same machine. */
export async function replayRecording(
  rec: Recording,
  events: LauncherEvents,
  baseDir?: string,
): Promise<{ instructionCount: number; stateSha256: string; matches: boolean }> {
  const guest = await launchGuest(rec.config, events, {
    bootEpochSeconds: rec.bootEpochSeconds,
    ...(baseDir ? { baseDir } : {}),
  });
  const dbg = new Debugger(guest, { events, timeline: { spacing: Number.MAX_SAFE_INTEGER, budgetBytes: 0 } });
  try {
    dbg.timeline!.load(
      rec.events.map(
        (e): TimelineEvent =>
          e.kind === 'input'
            ? { at: e.at, kind: 'input', bytes: new Uint8Array(Buffer.from(e.base64, 'base64')) }
            : { at: e.at, kind: 'clock', ns: e.ns },
      ),
    );
    dbg.resume();
    while (dbg.count < rec.instructionCount || dbg.timeline!.replaying) {
      // Halted with no recorded event due: a replay that went its own way cannot go on.
      if (dbg.run(1).state !== 'running') break;
    }
    const stateSha256 = machineStateHash(dbg.machine);
    return { instructionCount: dbg.count, stateSha256, matches: stateSha256 === rec.stateSha256 };
  } finally {
    dbg.machine.close();
  }
}
