// Control transfer: Jcc/JMP/CALL/RET (near and far), LOOP/JECXZ, INT n/INT3/INTO/BOUND and
// IRET (Intel SDM vol. 1, "Control Transfer Instructions"; vol. 3, "Privilege Level Checking").

import type { I386 } from './cpu';
import { CpuFault, gp, np, ud } from './fault';
import { getOF, getZF, testCond } from './flags';
import type { Instr } from './instr';
import { iret } from './interrupts';
import { ea, getReg, peek, push, readLin, readRM, spAdd, writeLin } from './operands';
import {
  D_CODE,
  D_DC,
  D_P,
  D_S,
  SEG_CS,
  SEG_SS,
  checkReturnCode,
  checkStackSegment,
  descDpl,
  makeCache,
  nullInaccessibleSegments,
  readDescriptor,
} from './segmentation';

function target(c: I386, i: Instr, t: number): number {
  t = i.o16 ? t & 0xffff : t >>> 0;
  c.checkCsTarget(t);
  return t;
}

/** Jcc rel8 (70..7F) and rel16/32 (0F 80..8F). */
export function jcc(c: I386, i: Instr): void {
  if (testCond(c, i.op & 0xf)) c.nextIp = target(c, i, c.nextIp + i.imm);
}

/** EB/E9 JMP rel. */
export function jmpRel(c: I386, i: Instr): void {
  c.nextIp = target(c, i, c.nextIp + i.imm);
}

/** E8 CALL rel. */
export function callRel(c: I386, i: Instr): void {
  const t = target(c, i, c.nextIp + i.imm);
  push(c, c.nextIp, i.o16 ? 16 : 32);
  c.nextIp = t;
}

/** FF /2 CALL r/m, FF /4 JMP r/m. */
export function indirect(c: I386, i: Instr): void {
  const t = target(c, i, readRM(c, i, i.sz));
  if (i.reg === 2) push(c, c.nextIp, i.sz);
  c.nextIp = t;
}

/** C3 RET, C2 RET imm16. */
export function retNear(c: I386, i: Instr): void {
  const sz = i.o16 ? 16 : 32;
  const t = target(c, i, peek(c, 0, sz));
  c.gpr[4] = spAdd(c, (sz >>> 3) + (i.op === 0xc2 ? i.imm & 0xffff : 0));
  c.nextIp = t;
}

/** E0 LOOPNE, E1 LOOPE, E2 LOOP, E3 JECXZ. */
export function loop(c: I386, i: Instr): void {
  const cnt = i.a16 ? c.gpr[1]! & 0xffff : c.gpr[1]!;
  if (i.op === 0xe3) {
    if (cnt === 0) c.nextIp = target(c, i, c.nextIp + i.imm);
    return;
  }
  const n = i.a16 ? (cnt - 1) & 0xffff : (cnt - 1) | 0;
  let taken = n !== 0;
  if (i.op === 0xe0) taken = taken && !getZF(c);
  else if (i.op === 0xe1) taken = taken && getZF(c);
  const t = taken ? target(c, i, c.nextIp + i.imm) : 0;
  if (i.a16) c.gpr[1] = (c.gpr[1]! & ~0xffff) | n;
  else c.gpr[1] = n;
  if (taken) c.nextIp = t;
}

/** CC INT3, CD INT n, CE INTO: software interrupts (gate DPL checked against CPL). */
export function int(c: I386, i: Instr): void {
  if (i.op === 0xcc) c.softwareInterrupt(3);
  else if (i.op === 0xcd) c.softwareInterrupt(i.imm & 0xff);
  else if (getOF(c)) c.softwareInterrupt(4);
}

export function iretOp(c: I386, i: Instr): void {
  iret(c, i);
}

/** 62 BOUND r, m: #BR when the signed index lies outside [lower, upper]. */
export function bound(c: I386, i: Instr): void {
  if (i.mod === 3) throw ud();
  const sz = i.sz,
    n = sz >>> 3;
  const off = ea(c, i);
  const lo = readLin(c, c.linR(i.seg, off, n), sz);
  const hi = readLin(c, c.linR(i.seg, (off + n) | 0, n), sz);
  const sx = (v: number): number => (sz === 16 ? (v << 16) >> 16 : v | 0);
  const idx = sx(getReg(c, i.reg, sz));
  if (idx < sx(lo) || idx > sx(hi)) throw new CpuFault(5, 0, false);
}

// ---- far transfers (same privilege through code-segment descriptors) ----

/** Validates a far JMP/CALL target code segment; call gates and task gates are refused. */
function farTargetCache(c: I386, sel: number): ReturnType<typeof makeCache> {
  if ((sel & 0xfffc) === 0) throw gp(0);
  const d = readDescriptor(c, sel, 0);
  const err = sel & 0xfffc;
  if ((d.hi & (D_S | D_CODE)) !== (D_S | D_CODE)) throw gp(err); // gates/TSS/data: not supported
  const dpl = descDpl(d.hi);
  if (d.hi & D_DC) {
    if (dpl > c.cpl) throw gp(err);
  } else if ((sel & 3) > c.cpl || dpl !== c.cpl) {
    throw gp(err);
  }
  if ((d.hi & D_P) === 0) throw np(err);
  return makeCache((sel & 0xfffc) | c.cpl, d);
}

function farTransfer(c: I386, i: Instr, sel: number, off: number, isCall: boolean): void {
  const cache = farTargetCache(c, sel);
  const t = i.o16 ? off & 0xffff : off >>> 0;
  if (t > cache.limit) throw gp(0);
  if (isCall) {
    const sz = i.o16 ? 16 : 32,
      n = sz >>> 3;
    const sp1 = spAdd(c, -n),
      sp2 = spAdd(c, -2 * n);
    const o1 = c.ss32 ? sp1 : sp1 & 0xffff,
      o2 = c.ss32 ? sp2 : sp2 & 0xffff;
    const l1 = c.linW(SEG_SS, o1, n),
      l2 = c.linW(SEG_SS, o2, n);
    c.mmu.probeWrite(l1, n);
    c.mmu.probeWrite(l2, n);
    writeLin(c, l1, sz, c.segs[SEG_CS]!.selector);
    writeLin(c, l2, sz, c.nextIp);
    c.gpr[4] = sp2;
  }
  c.setSegmentCache(SEG_CS, cache);
  c.nextIp = t;
}

/** 9A CALL ptr16:32, EA JMP ptr16:32. */
export function farDirect(c: I386, i: Instr): void {
  farTransfer(c, i, i.imm2 & 0xffff, i.imm, i.op === 0x9a);
}

/** FF /3 CALL m16:32, FF /5 JMP m16:32. */
export function farIndirect(c: I386, i: Instr): void {
  if (i.mod === 3) throw ud();
  const n = i.o16 ? 2 : 4;
  const off = ea(c, i);
  const o = readLin(c, c.linR(i.seg, off, n), n * 8);
  const sel = c.mmu.read16(c.linR(i.seg, (off + n) | 0, 2));
  farTransfer(c, i, sel, o, i.reg === 3);
}

/** CB RETF, CA RETF imm16: to the same or an outer privilege level. */
export function retFar(c: I386, i: Instr): void {
  const sz = i.o16 ? 16 : 32,
    n = sz >>> 3;
  const imm = i.op === 0xca ? i.imm & 0xffff : 0;
  const off = peek(c, 0, sz) >>> 0;
  const sel = peek(c, n, sz) & 0xffff;
  const rpl = sel & 3;
  if ((sel & 0xfffc) !== 0 && rpl < c.cpl) throw gp(sel & 0xfffc);
  const cs = checkReturnCode(c, sel);
  const t = i.o16 ? off & 0xffff : off;
  if (rpl > c.cpl) {
    const nsp = peek(c, 2 * n + imm, sz);
    const ssSel = peek(c, 3 * n + imm, sz) & 0xffff;
    if ((ssSel & 0xfffc) === 0) throw gp(0);
    const ssc = checkStackSegment(c, ssSel, rpl);
    if (t > cs.limit) throw gp(0);
    c.setSegmentCache(SEG_CS, cs);
    c.setSegmentCache(SEG_SS, ssc);
    c.gpr[4] = c.ss32 ? (nsp + imm) | 0 : (c.gpr[4]! & ~0xffff) | ((nsp + imm) & 0xffff);
    nullInaccessibleSegments(c, rpl);
  } else {
    if (t > cs.limit) throw gp(0);
    c.setSegmentCache(SEG_CS, cs);
    c.gpr[4] = spAdd(c, 2 * n + imm);
  }
  c.nextIp = t;
}
