// EFLAGS with lazy arithmetic flags: the last ALU operation's operands and result are kept and
// CF/PF/AF/ZF/SF/OF are computed only when read (Intel SDM vol. 1, "EFLAGS Register").

export const CF = 0x1,
  PF = 0x4,
  AF = 0x10,
  ZF = 0x40,
  SF = 0x80,
  TF = 0x100,
  IF = 0x200;
export const DF = 0x400,
  OF = 0x800,
  IOPL = 0x3000,
  NT = 0x4000,
  RF = 0x10000,
  VM = 0x20000;
export const AC = 0x40000,
  ID = 0x200000;
/** The six status flags an ALU operation produces. */
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** Kinds of the recorded operation. */
export const OP_ADD = 0,
  OP_SUB = 1,
  OP_LOGIC = 2;

/** The slice of CPU state this module works on (the I386 class holds these fields). */
export interface FlagState {
  /** EFLAGS; the bits named in `lazy` are stale and must be computed from the record. */
  flags: number;
  lazy: number;
  lop: number;
  la: number;
  lb: number;
  lres: number;
  lmask: number;
  lsign: number;
}

const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let b = i,
    p = 1;
  while (b) {
    p ^= b & 1;
    b >>= 1;
  }
  PARITY[i] = p ? PF : 0;
}

export function maskOf(sz: number): number {
  return sz === 32 ? -1 : sz === 16 ? 0xffff : 0xff;
}
export function signOf(sz: number): number {
  return sz === 32 ? -0x80000000 : sz === 16 ? 0x8000 : 0x80;
}

/** CF of a recorded operation (the record's fields as values: compiled regions keep them in locals). */
export function recordCF(lop: number, la: number, lb: number, lres: number, lmask: number): number {
  if (lop === OP_ADD) return (lres & lmask) >>> 0 < (la & lmask) >>> 0 ? 1 : 0;
  if (lop === OP_SUB) return (la & lmask) >>> 0 < (lb & lmask) >>> 0 ? 1 : 0;
  return 0;
}
function lazyCF(c: FlagState): number {
  return recordCF(c.lop, c.la, c.lb, c.lres, c.lmask);
}
function lazyOF(c: FlagState): boolean {
  if (c.lop === OP_ADD) return ((c.la ^ c.lres) & (c.lb ^ c.lres) & c.lsign) !== 0;
  if (c.lop === OP_SUB) return ((c.la ^ c.lb) & (c.la ^ c.lres) & c.lsign) !== 0;
  return false;
}
function lazyAF(c: FlagState): number {
  return c.lop === OP_LOGIC ? 0 : (c.la ^ c.lb ^ c.lres) & AF;
}

export function getCF(c: FlagState): number {
  return c.lazy & CF ? lazyCF(c) : c.flags & CF;
}
export function getZF(c: FlagState): boolean {
  return c.lazy & ZF ? (c.lres & c.lmask) === 0 : (c.flags & ZF) !== 0;
}
export function getSF(c: FlagState): boolean {
  return c.lazy & SF ? (c.lres & c.lsign) !== 0 : (c.flags & SF) !== 0;
}
export function getOF(c: FlagState): boolean {
  return c.lazy & OF ? lazyOF(c) : (c.flags & OF) !== 0;
}
export function getPF(c: FlagState): boolean {
  return c.lazy & PF ? PARITY[c.lres & 0xff] !== 0 : (c.flags & PF) !== 0;
}
export function getAF(c: FlagState): boolean {
  return c.lazy & AF ? lazyAF(c) !== 0 : (c.flags & AF) !== 0;
}

/** All of EFLAGS with the lazy bits computed (bit 1 always reads as 1). */
export function materialize(c: FlagState): number {
  const lz = c.lazy;
  let f = c.flags & ~lz;
  if (lz !== 0) {
    if (lz & CF) f |= lazyCF(c);
    if (lz & PF) f |= PARITY[c.lres & 0xff]!;
    if (lz & AF) f |= lazyAF(c);
    if (lz & ZF && (c.lres & c.lmask) === 0) f |= ZF;
    if (lz & SF && (c.lres & c.lsign) !== 0) f |= SF;
    if (lz & OF && lazyOF(c)) f |= OF;
  }
  return f | 2;
}

/** Makes every flag concrete (used before storing or replacing EFLAGS wholesale). */
export function settle(c: FlagState): void {
  if (c.lazy !== 0) {
    c.flags = materialize(c);
    c.lazy = 0;
  }
}

/** Records an add/sub/logic result; all six status flags become lazy. */
export function record(c: FlagState, op: number, a: number, b: number, r: number, sz: number): void {
  c.lop = op;
  c.la = a;
  c.lb = b;
  c.lres = r;
  c.lmask = maskOf(sz);
  c.lsign = signOf(sz);
  c.lazy = ARITH;
}

/** Like record() but CF keeps its current value (INC, DEC). */
export function recordKeepCF(c: FlagState, op: number, a: number, b: number, r: number, sz: number): void {
  const cf = getCF(c);
  c.flags = (c.flags & ~CF) | cf;
  record(c, op, a, b, r, sz);
  c.lazy = ARITH & ~CF;
}

/**
 * Sets CF/OF/AF eagerly from `bits` and lets ZF/SF/PF follow result `r` lazily (shifts, ADC/SBB,
 * multiplies).
 */
export function recordResultWith(c: FlagState, bits: number, r: number, sz: number): void {
  c.flags = (c.flags & ~ARITH) | (bits & (CF | OF | AF));
  c.lop = OP_LOGIC;
  c.la = 0;
  c.lb = 0;
  c.lres = r;
  c.lmask = maskOf(sz);
  c.lsign = signOf(sz);
  c.lazy = ZF | SF | PF;
}

/** Replaces the given status bits with concrete values, keeping the others (lazily if they were). */
export function setStatus(c: FlagState, mask: number, bits: number): void {
  settle(c);
  c.flags = (c.flags & ~mask) | (bits & mask);
}

/** Evaluates condition code cc (0..15) as Jcc/SETcc/CMOVcc do. */
export function testCond(c: FlagState, cc: number): boolean {
  if (c.lop === OP_SUB && c.lazy === ARITH) {
    // After CMP/SUB every condition is a comparison of the operands.
    const sh = c.lsign === 0x80 ? 24 : c.lsign === 0x8000 ? 16 : 0;
    const a = (c.la << sh) >> sh,
      b = (c.lb << sh) >> sh;
    switch (cc) {
      case 2:
        return a >>> 0 < b >>> 0;
      case 3:
        return a >>> 0 >= b >>> 0;
      case 4:
        return a === b;
      case 5:
        return a !== b;
      case 6:
        return a >>> 0 <= b >>> 0;
      case 7:
        return a >>> 0 > b >>> 0;
      case 12:
        return a < b;
      case 13:
        return a >= b;
      case 14:
        return a <= b;
      case 15:
        return a > b;
    }
  }
  let r: boolean;
  switch (cc >> 1) {
    case 0:
      r = getOF(c);
      break;
    case 1:
      r = getCF(c) !== 0;
      break;
    case 2:
      r = getZF(c);
      break;
    case 3:
      r = getCF(c) !== 0 || getZF(c);
      break;
    case 4:
      r = getSF(c);
      break;
    case 5:
      r = getPF(c);
      break;
    case 6:
      r = getSF(c) !== getOF(c);
      break;
    default:
      r = getZF(c) || getSF(c) !== getOF(c);
      break;
  }
  return (cc & 1) !== 0 ? !r : r;
}

export function parityOf(v: number): number {
  return PARITY[v & 0xff]!;
}
