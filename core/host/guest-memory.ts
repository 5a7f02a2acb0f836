// Checked access to Guest-physical memory (2.6.23 core.c: lguest_address_ok, lgread_u32,
// lgwrite_u32, lgread, lgwrite). Every GPA a Guest hands the Host goes through these.

import { fmtLx, fmtU } from './format';
import { kill, type Lguest } from './lg';

/**
 * lguest_address_ok(): the END of the range must lie below pfn_limit pages (strictly, so a range
 * ending exactly at the limit is refused) and the range must not wrap around 2^32.
 */
export function lguestAddressOk(pfnLimit: number, addr: number, len: number): boolean {
  addr >>>= 0;
  const end = (addr + (len >>> 0)) >>> 0;
  return end >>> 12 < pfnLimit && end >= addr;
}

/** The range check, plus the emulator's own guard that the bytes exist in the buffer. */
function rangeOk(lg: Lguest, addr: number, len: number): boolean {
  return lguestAddressOk(lg.state.pfnLimit, addr, len) && lg.mem.isRam(addr >>> 0, len >>> 0);
}

/** lgread_u32(): a checked 4-byte read; kills with "bad read address %#lx" and yields 0. */
export function lgreadU32(lg: Lguest, addr: number): number {
  if (!rangeOk(lg, addr, 4)) {
    kill(lg, `bad read address ${fmtLx(addr)}`);
    return 0;
  }
  return lg.mem.ramView.getUint32(addr >>> 0, true);
}

/** lgwrite_u32(): a checked 4-byte write; kills with "bad write address %#lx". */
export function lgwriteU32(lg: Lguest, addr: number, value: number): boolean {
  if (!rangeOk(lg, addr, 4)) {
    kill(lg, `bad write address ${fmtLx(addr)}`);
    return false;
  }
  lg.mem.ramView.setUint32(addr >>> 0, value >>> 0, true);
  lg.mem.written(addr, 4);
  return true;
}

/** lgread(): a checked block read; kills with "bad read address %#lx len %u" and yields zeroes. */
export function lgread(lg: Lguest, addr: number, len: number): Uint8Array {
  if (!rangeOk(lg, addr, len)) {
    kill(lg, `bad read address ${fmtLx(addr)} len ${fmtU(len)}`);
    return new Uint8Array(len);
  }
  return lg.mem.ram.slice(addr >>> 0, (addr >>> 0) + len);
}

/** lgwrite(): a checked block write; kills with "bad write address %#lx len %u". */
export function lgwrite(lg: Lguest, addr: number, bytes: Uint8Array): boolean {
  if (!rangeOk(lg, addr, bytes.length)) {
    kill(lg, `bad write address ${fmtLx(addr)} len ${fmtU(bytes.length)}`);
    return false;
  }
  lg.mem.ram.set(bytes, addr >>> 0);
  lg.mem.written(addr, bytes.length);
  return true;
}

/**
 * Plain (unkilling) accessors. The reference reads and writes lguest_data fields with
 * get_user/put_user after validating the whole structure once at INIT, and reports failure to
 * the caller, who picks the message ("Writing cr2", "Disabling interrupts", ...).
 */
export function tryReadU32(lg: Lguest, addr: number): number | null {
  addr >>>= 0;
  if (!lg.mem.isRam(addr, 4)) return null;
  return lg.mem.ramView.getUint32(addr, true);
}

export function tryWriteU32(lg: Lguest, addr: number, value: number): boolean {
  addr >>>= 0;
  if (!lg.mem.isRam(addr, 4)) return false;
  lg.mem.ramView.setUint32(addr, value >>> 0, true);
  lg.mem.written(addr, 4);
  return true;
}

/** Little-endian field readers for structures copied out of Guest memory. */
export function u32At(b: Uint8Array, off: number): number {
  return (b[off]! | (b[off + 1]! << 8) | (b[off + 2]! << 16) | (b[off + 3]! << 24)) >>> 0;
}

export function u16At(b: Uint8Array, off: number): number {
  return b[off]! | (b[off + 1]! << 8);
}
