// A network capture as a classic libpcap file (Ethernet link type), as tcpdump, Wireshark and
// tshark read it. Written to NAME.part and renamed into place, fsynced, when the capture ends.

import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 65535;

/** The 24-byte global header: version 2.4, UTC, microsecond timestamps, Ethernet frames. */
export function pcapHeader(): Uint8Array {
  const b = new Uint8Array(24);
  const v = new DataView(b.buffer);
  v.setUint32(0, PCAP_MAGIC_MICROS, true);
  v.setUint16(4, 2, true);
  v.setUint16(6, 4, true);
  v.setInt32(8, 0, true); // thiszone
  v.setUint32(12, 0, true); // sigfigs
  v.setUint32(16, SNAPLEN, true);
  v.setUint32(20, LINKTYPE_ETHERNET, true);
  return b;
}

/** One record: seconds and microseconds, captured and original length, then the frame. */
export function pcapRecord(timeMicros: number, frame: Uint8Array): Uint8Array {
  const kept = frame.subarray(0, SNAPLEN);
  const b = new Uint8Array(16 + kept.length);
  const v = new DataView(b.buffer);
  v.setUint32(0, Math.floor(timeMicros / 1e6), true);
  v.setUint32(4, Math.floor(timeMicros % 1e6), true);
  v.setUint32(8, kept.length, true);
  v.setUint32(12, frame.length, true);
  b.set(kept, 16);
  return b;
}

export class PcapFile {
  private readonly fd: number;
  private readonly partPath: string;
  frames = 0;
  bytes = 0;
  private closed = false;

  /** Starts a capture that will appear at `path` when closed; throws if it cannot be created. */
  constructor(readonly path: string) {
    this.partPath = `${path}.part`;
    this.fd = openSync(this.partPath, 'w');
    writeSync(this.fd, pcapHeader());
  }

  write(timeMicros: number, frame: Uint8Array): void {
    if (this.closed) return;
    writeSync(this.fd, pcapRecord(timeMicros, frame));
    this.frames++;
    this.bytes += frame.length;
  }

  /** Finishes the file: flushed to disk and renamed into place. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fsyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
    renameSync(this.partPath, this.path);
  }

  /** Gives up: the partial file is removed. */
  discard(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
    rmSync(this.partPath, { force: true });
  }
}
