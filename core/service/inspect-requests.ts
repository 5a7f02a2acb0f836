// The service's side of inspector queries: each query goes to the machine's worker with a sequence
// number and settles when the worker answers between two run slices (or when the worker is gone).

import type { Worker } from 'node:worker_threads';
import type { InspectQuery, InspectResults } from './inspector-types';
import { ServiceError } from './errors';
import type { InspectReply, ToWorker } from './worker-protocol';

/** A worker busy in one run slice answers within that slice's time; this is the give-up point. */
export const INSPECT_TIMEOUT_MS = 10_000;

interface Pending {
  worker: Worker;
  resolve: (result: unknown) => void;
  reject: (err: ServiceError) => void;
  timer: NodeJS.Timeout;
}

export class InspectRequests {
  private nextSeq = 1;
  private readonly pending = new Map<number, Pending>();

  /** Sends one query to `worker`; resolves with its answer or rejects with a typed ServiceError. */
  send<K extends InspectQuery['kind']>(
    worker: Worker,
    query: Extract<InspectQuery, { kind: K }>,
  ): Promise<InspectResults[K]> {
    const seq = this.nextSeq++;
    return new Promise<InspectResults[K]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new ServiceError('internal', `the machine did not answer the ${query.kind} query in time`));
      }, INSPECT_TIMEOUT_MS);
      this.pending.set(seq, { worker, resolve: resolve as (r: unknown) => void, reject, timer });
      const msg: ToWorker = { type: 'inspect', seq, query };
      worker.postMessage(msg);
    });
  }

  /** The worker answered query `seq`. */
  settle(seq: number, reply: InspectReply): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new ServiceError(reply.code, reply.message));
  }

  /** The worker exited: its open queries fail with the machine's new state. */
  dropWorker(worker: Worker, why: string): void {
    for (const [seq, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(seq);
      clearTimeout(p.timer);
      p.reject(new ServiceError('bad-state', why));
    }
  }
}
