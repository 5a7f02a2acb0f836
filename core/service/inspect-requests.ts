// The service's side of inspector queries: each query goes to the machine's worker with a sequence
// number and settles when the worker answers between two run slices (or when the worker is gone).

import type { Worker } from 'node:worker_threads';
import type { DebugCommand, DebugView, DebugViewOptions } from './debug-types';
import type { InspectQuery, InspectResults } from './inspector-types';
import type { InspectReply } from './worker-protocol';
import { WorkerRequests, type WorkerReply } from './worker-requests';

/** A worker busy in one run slice answers within that slice's time; this is the give-up point. */
export const INSPECT_TIMEOUT_MS = 10_000;

export class InspectRequests extends WorkerRequests<InspectReply> {
  /** Sends one query to `worker`; resolves with its answer or rejects with a typed ServiceError. */
  send<K extends InspectQuery['kind']>(
    worker: Worker,
    query: Extract<InspectQuery, { kind: K }>,
  ): Promise<InspectResults[K]> {
    return this.request<InspectResults[K]>(
      worker,
      (seq) => ({ type: 'inspect', seq, query }),
      INSPECT_TIMEOUT_MS,
      `the machine did not answer the ${query.kind} query in time`,
    );
  }
}

/** Debugger tab requests: a reverse step replays from a checkpoint, so they may take longer. */
export const DEBUG_TIMEOUT_MS = 30_000;

export class DebugRequests extends WorkerRequests<WorkerReply> {
  send(worker: Worker, command: DebugCommand, look: DebugViewOptions): Promise<DebugView> {
    return this.request<DebugView>(
      worker,
      (seq) => ({ type: 'debug', seq, command, look }),
      DEBUG_TIMEOUT_MS,
      `the machine did not answer the debugger's ${command.op} in time`,
    );
  }
}
