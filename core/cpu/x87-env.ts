// x87 environment and state images in memory: FNSTENV/FLDENV (14 or 28 bytes), FNSAVE/FRSTOR
// (the environment plus eight 10-byte registers in ST order) and the FPU part of the 512-byte
// FXSAVE/FXRSTOR image. Every read happens before any state changes, so a fault leaves the FPU
// as it was.

import type { X87State } from './types';
import type { X87Host } from './x87';
import { TAG_EMPTY } from './x87-format';
import { REG_WORDS, contentTag, dropShadow, physOf, syncRegisters, tagOfPhys, updateSummary } from './x87-stack';

// Host reads normalised to unsigned values (a CPU may hand back int32 words).
export function rd32(host: X87Host, l: number): number {
  return host.read32(l) >>> 0;
}
export function rd16(host: X87Host, l: number): number {
  return host.read16(l) & 0xffff;
}
export function rd8(host: X87Host, l: number): number {
  return host.read8(l) & 0xff;
}

/** The stored tag word: empty stays empty, other tags follow from the register contents. */
function fullTag(st: X87State): number {
  let t = 0;
  for (let p = 0; p < 8; p++) t |= (tagOfPhys(st, p) === TAG_EMPTY ? TAG_EMPTY : contentTag(st, p)) << (p * 2);
  return t;
}

export function writeEnv(st: X87State, host: X87Host, l: number, op32: boolean): void {
  const tag = fullTag(st);
  if (op32) {
    host.write32(l, 0xffff0000 | st.control);
    host.write32(l + 4, 0xffff0000 | st.status);
    host.write32(l + 8, 0xffff0000 | tag);
    host.write32(l + 12, st.fip);
    host.write32(l + 16, ((st.fop & 0x7ff) << 16) | (st.fcs & 0xffff));
    host.write32(l + 20, st.fdp);
    host.write32(l + 24, 0xffff0000 | (st.fds & 0xffff));
  } else {
    host.write16(l, st.control);
    host.write16(l + 2, st.status);
    host.write16(l + 4, tag);
    host.write16(l + 6, st.fip & 0xffff);
    host.write16(l + 8, st.fcs & 0xffff);
    host.write16(l + 10, st.fdp & 0xffff);
    host.write16(l + 12, st.fds & 0xffff);
  }
}

export interface Env {
  control: number;
  status: number;
  tag: number;
  fip: number;
  fcs: number;
  fop: number;
  fdp: number;
  fds: number;
}

export function readEnv(host: X87Host, l: number, op32: boolean): Env {
  if (op32) {
    const w4 = rd32(host, l + 16);
    return {
      control: rd16(host, l),
      status: rd16(host, l + 4),
      tag: rd16(host, l + 8),
      fip: rd32(host, l + 12),
      fcs: w4 & 0xffff,
      fop: (w4 >>> 16) & 0x7ff,
      fdp: rd32(host, l + 20),
      fds: rd16(host, l + 24),
    };
  }
  return {
    control: rd16(host, l),
    status: rd16(host, l + 2),
    tag: rd16(host, l + 4),
    fip: rd16(host, l + 6),
    fcs: rd16(host, l + 8),
    fop: 0,
    fdp: rd16(host, l + 10),
    fds: rd16(host, l + 12),
  };
}

export function applyEnv(st: X87State, env: Env): void {
  st.control = env.control | 0x40; // bit 6 reads as one
  st.status = env.status;
  st.fip = env.fip;
  st.fcs = env.fcs;
  st.fop = env.fop;
  st.fdp = env.fdp;
  st.fds = env.fds;
  // Only "empty" is taken from the image; other tags follow from the registers.
  let t = 0;
  for (let p = 0; p < 8; p++)
    t |= (((env.tag >>> (p * 2)) & 3) === TAG_EMPTY ? TAG_EMPTY : contentTag(st, p)) << (p * 2);
  st.tag = t;
  updateSummary(st);
}

/** Ten bytes of an 80-bit register image at l into words w[0..2] (low, high, sign/exponent). */
function readReg80(host: X87Host, l: number, w: Uint32Array, at: number): void {
  w[at] = rd32(host, l);
  w[at + 1] = rd32(host, l + 4);
  w[at + 2] = rd16(host, l + 8);
}
function writeReg80(host: X87Host, l: number, w: Uint32Array, at: number): void {
  host.write32(l, w[at]!);
  host.write32(l + 4, w[at + 1]!);
  host.write16(l + 8, w[at + 2]!);
}

/** FNSAVE's image (environment and registers); the caller then reinitialises the FPU. */
export function saveImage(st: X87State, host: X87Host, l: number, op32: boolean): void {
  writeEnv(st, host, l, op32);
  syncRegisters(st);
  const base = l + (op32 ? 28 : 14);
  for (let i = 0; i < 8; i++) writeReg80(host, base + i * 10, st.regs, physOf(st, i) * REG_WORDS);
}

/** FRSTOR. */
export function restoreImage(st: X87State, host: X87Host, l: number, op32: boolean): void {
  const env = readEnv(host, l, op32);
  const base = l + (op32 ? 28 : 14);
  const words = new Uint32Array(8 * REG_WORDS);
  for (let i = 0; i < 8; i++) readReg80(host, base + i * 10, words, i * REG_WORDS);
  const t = (env.status >>> 11) & 7;
  for (let i = 0; i < 8; i++)
    st.regs.set(words.subarray(i * REG_WORDS, (i + 1) * REG_WORDS), ((t + i) & 7) * REG_WORDS);
  dropShadow(st);
  applyEnv(st, env);
}

export function fxsave(st: X87State, host: X87Host, linear: number): void {
  let abridged = 0;
  for (let p = 0; p < 8; p++) if (tagOfPhys(st, p) !== TAG_EMPTY) abridged |= 1 << p;
  host.write16(linear, st.control);
  host.write16(linear + 2, st.status);
  host.write16(linear + 4, abridged);
  host.write16(linear + 6, st.fop & 0x7ff);
  host.write32(linear + 8, st.fip);
  host.write32(linear + 12, st.fcs & 0xffff);
  host.write32(linear + 16, st.fdp);
  host.write32(linear + 20, st.fds & 0xffff);
  host.write32(linear + 24, 0x1f80); // MXCSR at its reset value (no SSE unit)
  host.write32(linear + 28, 0xffff); // MXCSR_MASK
  syncRegisters(st);
  for (let i = 0; i < 8; i++) {
    const base = linear + 32 + i * 16;
    writeReg80(host, base, st.regs, physOf(st, i) * REG_WORDS);
    host.write16(base + 10, 0);
    host.write32(base + 12, 0);
  }
}

export function fxrstor(st: X87State, host: X87Host, linear: number): void {
  const control = rd16(host, linear);
  const status = rd16(host, linear + 2);
  const abridged = rd8(host, linear + 4);
  const fop = rd16(host, linear + 6) & 0x7ff;
  const fip = rd32(host, linear + 8);
  const fcs = rd16(host, linear + 12);
  const fdp = rd32(host, linear + 16);
  const fds = rd16(host, linear + 20);
  const words = new Uint32Array(8 * REG_WORDS);
  for (let i = 0; i < 8; i++) readReg80(host, linear + 32 + i * 16, words, i * REG_WORDS);
  // Everything read: now commit.
  st.control = control | 0x40;
  st.status = status;
  st.fop = fop;
  st.fip = fip;
  st.fcs = fcs;
  st.fdp = fdp;
  st.fds = fds;
  const t = (status >>> 11) & 7;
  for (let i = 0; i < 8; i++)
    st.regs.set(words.subarray(i * REG_WORDS, (i + 1) * REG_WORDS), ((t + i) & 7) * REG_WORDS);
  dropShadow(st);
  let tag = 0;
  for (let p = 0; p < 8; p++) tag |= (abridged & (1 << p) ? contentTag(st, p) : TAG_EMPTY) << (p * 2);
  st.tag = tag;
  updateSummary(st);
}
