// The kernel printf conversions that lguest's kill messages use (%#lx, %li, %i, %u, %p), so the
// reasons the Launcher prints match the 2.6.23 host byte for byte.

/** %#lx: "0x" + lowercase hex of the unsigned value; zero prints as 0x0 (the kernel's way). */
export function fmtLx(v: number): string {
  return '0x' + (v >>> 0).toString(16);
}

/** %li / %i: signed 32-bit decimal. */
export function fmtLi(v: number): string {
  return String(v | 0);
}

/** %u: unsigned 32-bit decimal. */
export function fmtU(v: number): string {
  return String(v >>> 0);
}

/** %p: exactly 8 lowercase hex digits, zero-padded, no prefix. */
export function fmtP(v: number): string {
  return (v >>> 0).toString(16).padStart(8, '0');
}
