// Messages between the service and one machine's worker thread (the worker runs the Launcher's
// guest in slices; the service only ever sees these messages, never live machine objects).

import type { MachineConfig, MachineState } from './api';

export interface MachineWorkerData {
  config: MachineConfig;
  /** Module that exports launchGuest; tests point this at their own launchers. */
  launcherModule?: string;
  /** Directory that relative file names in the config are resolved against (the config's folder). */
  baseDir?: string;
  /** Guest instructions per run slice. */
  sliceBudget?: number;
  /** Pace idle time to the wall clock (true in the app; tests may switch it off). */
  paced?: boolean;
}

export type ToWorker = { type: 'input'; data: Uint8Array } | { type: 'pause' } | { type: 'resume' } | { type: 'stop' };

export type FromWorker =
  | { type: 'status'; state: Exclude<MachineState, 'stopped'>; virtualTimeNs: number; reason?: string }
  | { type: 'console'; data: Uint8Array }
  | { type: 'log'; line: string }
  | { type: 'stopped'; virtualTimeNs: number };
