// The lguest block device (type 3, one shared request page, key = that page's GPA): the guest
// describes a read or write in the page, the Launcher moves the sectors and raises the IRQ.

import { closeSync, fsyncSync, realpathSync, writeSync } from 'node:fs';
import { lockDisk } from './disk-lock';
import { readAll } from './file-io';
import { openDiskFile } from './guest-file';
import { LGUEST_DEVICE_F_RANDOMNESS, LGUEST_DEVICE_T_BLOCK, type DeviceDescriptor } from './device-table';
import type { DeviceContext, LauncherDevice } from './device';
import { getUsedLen, readLauncherDma, setUsedLen, type LauncherDma } from './launcher-dma';

export const BLOCK_DEVICE_TYPE = LGUEST_DEVICE_T_BLOCK;
export const BLOCK_DEVICE_FEATURES = LGUEST_DEVICE_F_RANDOMNESS;
export const SECTOR_BYTES = 512;
/** struct lguest_block_page field offsets. */
export const BLK_TYPE = 0,
  BLK_SECTOR = 4,
  BLK_BYTES = 8,
  BLK_RESULT = 12,
  BLK_NUM_SECTORS = 16;
export const BLK_RESULT_PENDING = 0,
  BLK_RESULT_OK = 1,
  BLK_RESULT_ERROR = 2;

/** The disk behind a block device: an open file (or, in tests, anything with the same calls). */
export interface BlockBackend {
  readonly size: number;
  readonly readOnly: boolean;
  read(into: Uint8Array, position: number): number;
  /** Writes all of `data` at `position` and makes it durable before returning. */
  write(data: Uint8Array, position: number): void;
  close(): void;
}

/**
 * A disk image file (or block device) as a BlockBackend; see guest-file.ts for what is refused. A
 * writable disk is locked for this machine until it is closed (disk-lock.ts).
 */
export function openDiskImage(path: string, readOnly: boolean): BlockBackend {
  const { fd, size } = openDiskFile(path, readOnly);
  let unlock = (): void => {};
  try {
    // The lock is named after the file itself, however the config reaches it (links, ..).
    if (!readOnly) unlock = lockDisk(realpathSync(path));
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  return {
    size,
    readOnly,
    read(into, position) {
      return readAll(fd, into, position);
    },
    write(data, position) {
      let done = 0;
      while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
      fsyncSync(fd);
    },
    close() {
      if (!open) return;
      open = false;
      closeSync(fd);
      unlock();
    },
  };
}

export class BlockDevice implements LauncherDevice {
  readonly watchKey: number;

  constructor(
    readonly desc: DeviceDescriptor,
    readonly disk: BlockBackend,
    readonly label: string,
    /** The image file it was opened from (snapshots record the disk's identity by it). */
    readonly path: string | null = null,
  ) {
    this.watchKey = desc.pageGpa;
  }

  get numSectors(): number {
    return Math.floor(this.disk.size / SECTOR_BYTES);
  }

  /** Set-up: the guest reads the capacity from the page before it probes. */
  writeNumSectors(view: DataView): void {
    view.setUint32(this.desc.pageGpa + BLK_NUM_SECTORS, this.numSectors >>> 0, true);
  }

  /**
   * One request. 2.6.23 exited the whole Launcher on a bad offset, a missing reply buffer or a write
   * past the end; a workbench must stay up, so those end the request with result 2 (and a log line).
   */
  handleOutput(sent: LauncherDma, ctx: DeviceContext): number {
    const page = this.desc.pageGpa;
    const v = ctx.view;
    const type = v.getInt32(page + BLK_TYPE, true);
    const offset = v.getUint32(page + BLK_SECTOR, true) * SECTOR_BYTES;
    const wanted = v.getUint32(page + BLK_BYTES, true);

    // The IRQ to raise comes from GETDMA (it is left in the reply's used_len), as in the original.
    const replyGpa = ctx.file.getDma(page);
    const irq = replyGpa >= 0 ? getUsedLen(v, replyGpa) : this.desc.irq;
    const finish = (result: number, why?: string): number => {
      if (why) ctx.log(`${this.label}: ${why}; request failed (result 2)`);
      v.setInt32(page + BLK_RESULT, result, true);
      ctx.written(page + BLK_RESULT, 4);
      const r = ctx.file.sendIrq(irq);
      if (r < 0) ctx.log(`${this.label}: LHREQ_IRQ ${irq} failed (${r})`);
      return 0;
    };

    if (replyGpa < 0) {
      return finish(BLK_RESULT_ERROR, `request didn't give us a dma buffer (key 0x${page.toString(16)})`);
    }
    // A reply buffer outside memory is the guest's fault: InvalidGuestAddress kills it.
    const reply = readLauncherDma(v, replyGpa, ctx.top);
    const setReplyLen = (len: number): void => {
      setUsedLen(v, replyGpa, len);
      ctx.written(replyGpa, 4);
    };
    if (offset >= this.disk.size) {
      setReplyLen(0);
      return finish(BLK_RESULT_ERROR, `bad offset ${offset} vs ${this.disk.size}`);
    }

    let n = 0;
    if (type !== 0) {
      setReplyLen(0);
      if (this.disk.readOnly)
        return finish(BLK_RESULT_ERROR, `write to a read-only disk (sector ${offset / SECTOR_BYTES})`);
      if (offset + sent.capacity > this.disk.size) {
        return finish(BLK_RESULT_ERROR, `write past end ${offset}+${sent.capacity} (disk has ${this.disk.size} bytes)`);
      }
      let at = offset;
      try {
        for (const s of sent.sections) {
          this.disk.write(ctx.ram.subarray(s.addr, s.addr + s.len), at);
          at += s.len;
        }
      } catch (e) {
        return finish(BLK_RESULT_ERROR, `write failed at byte ${at}: ${e instanceof Error ? e.message : String(e)}`);
      }
      n = sent.capacity;
    } else {
      let at = offset;
      try {
        for (const s of reply.sections) {
          ctx.written(s.addr, s.len);
          const got = this.disk.read(ctx.ram.subarray(s.addr, s.addr + s.len), at);
          n += got;
          at += got;
          if (got < s.len) break;
        }
      } catch (e) {
        setReplyLen(n);
        return finish(BLK_RESULT_ERROR, `read failed at byte ${at}: ${e instanceof Error ? e.message : String(e)}`);
      }
      setReplyLen(n);
    }
    return finish(
      n === wanted ? BLK_RESULT_OK : BLK_RESULT_ERROR,
      n === wanted ? undefined : `transferred ${n} bytes, guest asked for ${wanted}`,
    );
  }

  close(): void {
    this.disk.close();
  }
}
