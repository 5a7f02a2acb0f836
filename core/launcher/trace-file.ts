// `lguest --trace=FILE`: every exit the host traced, as JSON lines, drained from each guest's exit
// trace between run slices. Written to a temporary file that is synced and renamed at the end, so
// FILE is never half written.

import { closeSync, fsyncSync, openSync, renameSync, writeSync } from 'node:fs';
import type { ExitTrace } from '../host/exit-trace';
import { exitRecordJson } from './exit-trace-lines';

export class TraceFile {
  private readonly fd: number;
  private readonly temp: string;
  /** Per guest name: the next sequence number to write. */
  private readonly next = new Map<string, number>();

  constructor(private readonly path: string) {
    this.temp = `${path}.${process.pid}.tmp`;
    this.fd = openSync(this.temp, 'w');
  }

  /**
   * Append what `trace` recorded since the last drain of `guest`. If the ring overwrote events in
   * between, a {"lost": N} line says how many are missing.
   */
  drain(guest: string, trace: ExitTrace): void {
    const { lost, records } = trace.since(this.next.get(guest) ?? 0);
    this.next.set(guest, trace.recorded);
    let text = '';
    if (lost > 0) text += JSON.stringify({ guest, lost }) + '\n';
    for (const e of records) text += exitRecordJson(guest, e) + '\n';
    if (text) writeSync(this.fd, text);
  }

  /** Sync, close and move into place. */
  close(): void {
    fsyncSync(this.fd);
    closeSync(this.fd);
    renameSync(this.temp, this.path);
  }
}
