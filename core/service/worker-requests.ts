// Requests from the service to a machine's worker (inspector queries, snapshots): each goes with a
// sequence number and settles when the worker answers, gives up after a timeout, and fails when
// the worker is gone.

import type { Worker } from 'node:worker_threads';
import type { ApiErrorCode } from './api';
import { ServiceError } from './errors';
import type { ToWorker } from './worker-protocol';

/** A worker's answer to one request: its result, or a refusal with an API error code. */
export type WorkerReply = { ok: true; result: unknown } | { ok: false; code: ApiErrorCode; message: string };

interface Pending {
  worker: Worker;
  resolve: (result: unknown) => void;
  reject: (err: ServiceError) => void;
  timer: NodeJS.Timeout;
}

/** Requests in flight to machine workers, matched to their replies by sequence number. */
export class WorkerRequests<Reply extends WorkerReply> {
  private nextSeq = 1;
  private readonly pending = new Map<number, Pending>();

  /**
   * Posts `message(seq)` to `worker`; resolves with the answer to `seq` or rejects with a typed
   * ServiceError ('internal' with `timeoutMessage` after `timeoutMs`).
   */
  protected request<T>(
    worker: Worker,
    message: (seq: number) => ToWorker,
    timeoutMs: number,
    timeoutMessage: string,
  ): Promise<T> {
    const seq = this.nextSeq++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        reject(new ServiceError('internal', timeoutMessage));
      }, timeoutMs);
      this.pending.set(seq, { worker, resolve: resolve as (r: unknown) => void, reject, timer });
      worker.postMessage(message(seq));
    });
  }

  /** The worker answered request `seq`. */
  settle(seq: number, reply: Reply): void {
    const p = this.pending.get(seq);
    if (!p) return;
    this.pending.delete(seq);
    clearTimeout(p.timer);
    if (reply.ok) p.resolve(reply.result);
    else p.reject(new ServiceError(reply.code, reply.message));
  }

  /** The worker exited: its open requests fail with the machine's new state. */
  dropWorker(worker: Worker, why: string): void {
    for (const [seq, p] of this.pending) {
      if (p.worker !== worker) continue;
      this.pending.delete(seq);
      clearTimeout(p.timer);
      p.reject(new ServiceError('bad-state', why));
    }
  }
}
