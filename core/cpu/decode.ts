// The instruction decoder: prefixes, one- and two-byte opcodes, ModRM/SIB with 16- and 32-bit
// addressing, displacements and immediates (Intel SDM vol. 2, ch. 2 "Instruction Format").

import type { I386 } from './cpu';
import { gp } from './fault';
import { Instr } from './instr';
import { specialize } from './exec-fast';
import {
  IMM_B,
  IMM_GRP3,
  IMM_MOFFS,
  IMM_P,
  IMM_REL8,
  IMM_RELV,
  IMM_SB,
  IMM_V,
  IMM_W,
  IMM_WB,
  OPS,
  undefinedOpcode,
} from './optable';

/** Segment register named by each prefix byte (-1: not a segment prefix). */
const SEG_PREFIX = new Int8Array(256).fill(-1);
SEG_PREFIX[0x26] = 0;
SEG_PREFIX[0x2e] = 1;
SEG_PREFIX[0x36] = 2;
SEG_PREFIX[0x3e] = 3;
SEG_PREFIX[0x64] = 4;
SEG_PREFIX[0x65] = 5;
const BASE16 = [3, 3, 5, 5, 6, 7, 5, 3];
const INDEX16 = [6, 7, 6, 7, -1, -1, -1, -1];

/** Byte source for the decoder (the CPU's fetch path, or a plain array in tests). */
export interface ByteSource {
  (offset: number): number;
}

// The byte stream of the instruction being decoded. Module state rather than closures: decoding
// is on the path of every cache miss, and it never re-enters itself.
const buf = new Uint8Array(15);
let count = 0;
let fromFn: ByteSource | null = null;
let fromCpu: I386 | null = null;
let fromLin = 0;

function rd(): number {
  if (count >= 15) throw gp(0);
  const v = fromFn !== null ? fromFn(count) : fromCpu!.mmu.read8((fromLin + count) | 0);
  buf[count++] = v;
  return v;
}
function rd16(): number {
  const lo = rd();
  return lo | (rd() << 8);
}
function rd32(): number {
  const b0 = rd(),
    b1 = rd(),
    b2 = rd();
  return b0 | (b1 << 8) | (b2 << 16) | (rd() << 24);
}

/** Decodes the instruction at linear address `lin` for the CPU's current code segment. */
export function decode(c: I386, lin: number): Instr {
  count = 0;
  fromFn = null;
  fromCpu = c;
  fromLin = lin;
  return decodeNext(c.code32);
}

/**
 * Decodes one instruction from `byteAt(0..)`. Over-long encodings raise #GP(0) (15-byte limit);
 * unknown opcodes decode to a #UD handler.
 */
export function decodeBytes(byteAt: ByteSource, code32: boolean): Instr {
  count = 0;
  fromFn = byteAt;
  fromCpu = null;
  return decodeNext(code32);
}

function decodeNext(code32: boolean): Instr {
  const i = new Instr(undefinedOpcode);
  let o16 = !code32,
    a16 = !code32,
    seg = -1,
    rep = 0,
    lock = false;
  let b: number;
  for (;;) {
    b = rd();
    if (b === 0x66) o16 = code32;
    else if (b === 0x67) a16 = code32;
    else if (b === 0xf0) lock = true;
    else if (b === 0xf2) rep = 2;
    else if (b === 0xf3) rep = 1;
    else if (SEG_PREFIX[b]! >= 0) seg = SEG_PREFIX[b]!;
    else break;
  }
  const op = b === 0x0f ? 0x100 | rd() : b;
  i.op = op;
  i.o16 = o16;
  i.a16 = a16;
  i.rep = rep;
  i.lock = lock;
  i.d32 = code32;
  i.seg = seg >= 0 ? seg : 3;
  i.segOverride = seg >= 0;
  const spec = OPS[op];
  if (spec === undefined) {
    i.len = count;
    i.bytes = buf.slice(0, count);
    return i;
  }
  i.sz = spec.byte ? 8 : o16 ? 16 : 32;

  if (spec.modrm) {
    const m = rd();
    i.modrm = m;
    i.mod = m >> 6;
    i.reg = (m >> 3) & 7;
    i.rm = m & 7;
    if (i.mod !== 3) {
      let defSeg = 3;
      if (!a16) {
        if (i.rm === 4) {
          const sib = rd();
          i.scale = sib >> 6;
          const idx = (sib >> 3) & 7;
          i.index = idx === 4 ? -1 : idx;
          const base = sib & 7;
          if (base === 5 && i.mod === 0) {
            i.base = -1;
            i.disp = rd32();
          } else {
            i.base = base;
            if (base === 4 || base === 5) defSeg = 2;
          }
        } else if (i.rm === 5 && i.mod === 0) {
          i.disp = rd32();
        } else {
          i.base = i.rm;
          if (i.rm === 5) defSeg = 2;
        }
        if (i.mod === 1) i.disp = (rd() << 24) >> 24;
        else if (i.mod === 2) i.disp = rd32();
      } else {
        if (i.mod === 0 && i.rm === 6) {
          i.disp = rd16();
        } else {
          i.base = BASE16[i.rm]!;
          i.index = INDEX16[i.rm]!;
          if (i.rm === 2 || i.rm === 3 || i.rm === 6) defSeg = 2;
          if (i.mod === 1) i.disp = (rd() << 24) >> 24;
          else if (i.mod === 2) i.disp = rd16();
        }
      }
      if (seg < 0) i.seg = defSeg;
    }
  }

  switch (spec.imm) {
    case IMM_B:
      i.imm = rd();
      break;
    case IMM_SB:
      i.imm = (rd() << 24) >> 24;
      break;
    case IMM_V:
      i.imm = o16 ? rd16() : rd32();
      break;
    case IMM_W:
      i.imm = rd16();
      break;
    case IMM_WB:
      i.imm = rd16();
      i.imm2 = rd();
      break;
    case IMM_P:
      i.imm = o16 ? rd16() : rd32() >>> 0;
      i.imm2 = rd16();
      break;
    case IMM_MOFFS:
      i.disp = a16 ? rd16() : rd32();
      i.mod = 0;
      break;
    case IMM_GRP3:
      if (i.reg < 2) i.imm = spec.byte ? rd() : o16 ? rd16() : rd32();
      break;
    case IMM_REL8:
      i.imm = (rd() << 24) >> 24;
      break;
    case IMM_RELV:
      i.imm = o16 ? (rd16() << 16) >> 16 : rd32();
      break;
  }

  let fn = spec.group ? (spec.group[i.reg] ?? null) : spec.fn;
  if (fn !== null) fn = specialize(i, fn);
  if (lock) {
    const allowed = spec.group ? (spec.lock >> i.reg) & 1 : spec.lock & 1;
    if (!allowed || i.mod === 3) fn = null;
  }
  i.fn = fn ?? undefinedOpcode;
  const role = spec.role;
  i.role = typeof role === 'number' ? role : role[i.reg]!;
  i.len = count;
  i.bytes = buf.slice(0, count);
  return i;
}
