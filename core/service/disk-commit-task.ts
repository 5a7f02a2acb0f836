// "Commit disks to base" off the service thread: the service starts a machine worker with a
// commit task instead of a machine; the worker runs the commit (copy, apply, fsync, rename, as
// machine-disks.ts does it, crash-safe) and reports. The service thread stays free meanwhile.

import { Worker } from 'node:worker_threads';
import { commitMachineDisks } from '../launcher/machine-disks';
import type { MachineWorkerSpec } from './machines';

export interface DiskCommitTask {
  task: 'commit-disks';
  /** The stopped machine's disk overlay folder. */
  disksDir: string;
}

export type DiskCommitReply =
  | { type: 'commit-done'; committed: { path: string; blocks: number }[] }
  | { type: 'commit-failed'; message: string };

export function isDiskCommitTask(data: unknown): data is DiskCommitTask {
  return typeof data === 'object' && data !== null && (data as { task?: unknown }).task === 'commit-disks';
}

/** The worker's side: commit, then report. */
export function runDiskCommitTask(task: DiskCommitTask, post: (reply: DiskCommitReply) => void): void {
  try {
    post({ type: 'commit-done', committed: commitMachineDisks(task.disksDir) });
  } catch (err) {
    post({ type: 'commit-failed', message: err instanceof Error ? err.message : String(err) });
  }
}

/** The service's side: commits the disks in `disksDir` in a worker of `spec`. */
export function commitDisksInWorker(
  spec: MachineWorkerSpec,
  disksDir: string,
): Promise<{ path: string; blocks: number }[]> {
  return new Promise((resolve, reject) => {
    const task: DiskCommitTask = { task: 'commit-disks', disksDir };
    const worker = new Worker(spec.entry, {
      workerData: task,
      eval: spec.eval ?? false,
      execArgv: spec.execArgv ?? [],
    });
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      fn();
      void worker.terminate();
    };
    worker.on('message', (reply: DiskCommitReply) =>
      settle(() => (reply.type === 'commit-done' ? resolve(reply.committed) : reject(new Error(reply.message)))),
    );
    worker.on('error', (err) => settle(() => reject(err)));
    worker.on('exit', (code) => settle(() => reject(new Error(`the commit worker exited (code ${code})`))));
  });
}
