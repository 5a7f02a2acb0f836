// Whole reads and writes at a file position: the sync fs calls may move fewer bytes than asked.

import { readSync, writeSync } from 'node:fs';

/** Reads until `into` is full or the file ends; returns the bytes read. */
export function readAll(fd: number, into: Uint8Array, position: number): number {
  let done = 0;
  while (done < into.length) {
    const n = readSync(fd, into, done, into.length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

export function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}
