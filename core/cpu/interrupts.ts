// Interrupt and exception delivery through 32-bit IDT interrupt/trap gates with the TSS stack
// switch, the ring-0 "exit" rule, and IRET (Intel SDM vol. 3, ch. 6 "Interrupt and Exception Handling").

import type { I386 } from './cpu';
import { gp, np, ss, ts, ud } from './fault';
import { IF, NT, RF, TF, VM, settle } from './flags';
import type { Instr } from './instr';
import { peek, spAdd } from './operands';
import {
  D_CODE,
  D_DB,
  D_DC,
  D_P,
  D_RW,
  D_S,
  SEG_CS,
  SEG_SS,
  checkReturnCode,
  checkStackSegment,
  descDpl,
  makeCache,
  nullInaccessibleSegments,
  readDescriptor,
  type Descriptor,
} from './segmentation';
import type { SegmentRegister } from './types';

const FAULT_VECTORS = new Set([0, 5, 6, 7, 10, 11, 12, 13, 14, 16, 17, 19]);

/** What a delivery to a ring-0 gate reports instead of running it. */
export interface GateExit {
  vector: number;
  errorCode: number;
}

/** Reads a TSS-named stack descriptor; table faults become #TS as the stack switch requires. */
function readStackDescriptor(c: I386, sel: number, ext: number): Descriptor {
  const index = sel & 0xfff8;
  if (sel & 4 || index + 7 > c.gdtr.limit) throw ts((sel & 0xfffc) | ext);
  return readDescriptor(c, sel, ext);
}

/**
 * Delivers `vector` through the IDT. `soft` marks INT n / INT3 / INTO (gate DPL is checked,
 * EXT is 0, no error code). Returns a GateExit when the gate leads to ring 0; otherwise the
 * frame is pushed and CS:EIP, SS:ESP and EFLAGS are switched (nothing changes if it faults).
 */
export function deliverEvent(
  c: I386,
  vector: number,
  errorCode: number,
  pushErr: boolean,
  soft: boolean,
  returnIp: number,
): GateExit | null {
  // Faults (restarting the instruction) save EFLAGS with RF set, as P6-family processors do.
  const isFault = !soft && FAULT_VECTORS.has(vector);
  const ext = soft ? 0 : 1;
  const gateErr = vector * 8 + 2 + ext;
  if (vector * 8 + 7 > c.idtr.limit) throw gp(gateErr);
  const ga = (c.idtr.base + vector * 8) | 0;
  const glo = c.mmu.readSys(ga, 4);
  const ghi = c.mmu.readSys((ga + 4) | 0, 4);
  const type = (ghi >>> 8) & 0x1f;
  // Only 32-bit interrupt (0xE) and trap (0xF) gates; task gates and 16-bit gates are refused.
  if (type !== 0x0e && type !== 0x0f) throw gp(gateErr);
  if (soft && descDpl(ghi) < c.cpl) throw gp(vector * 8 + 2);
  if ((ghi & D_P) === 0) throw np(gateErr);
  const sel = glo >>> 16;
  const offset = ((ghi & 0xffff0000) | (glo & 0xffff)) >>> 0;
  if ((sel & 0xfffc) === 0) throw gp(ext);
  const d = readDescriptor(c, sel, ext);
  const selErr = (sel & 0xfffc) | ext;
  if ((d.hi & (D_S | D_CODE)) !== (D_S | D_CODE)) throw gp(selErr);
  const dpl = descDpl(d.hi);
  if (dpl > c.cpl) throw gp(selErr);
  if ((d.hi & D_P) === 0) throw np(selErr);

  // Ring 0 belongs to the owner: the event leaves run() untouched.
  if (dpl === 0) return { vector, errorCode: pushErr ? errorCode : 0 };

  const newCpl = d.hi & D_DC ? c.cpl : dpl;
  const csCache = makeCache((sel & 0xfffc) | newCpl, d);
  if (offset > csCache.limit) throw gp(ext);
  const eflags = isFault ? c.eflags | RF : c.eflags;
  const oldCs = c.segs[SEG_CS]!.selector;
  const frame: number[] = [];
  let ssCache: SegmentRegister | null = null;
  let sp: number, ssBase: number, ss32: boolean, ssLimit: number;

  if (newCpl < c.cpl) {
    // Inner-ring entry: the new stack comes from the TSS (ESPn at 4+8n, SSn at 8+8n).
    const off = newCpl * 8 + 4;
    if (off + 5 > c.tr.limit) throw ts((c.tr.selector & 0xfffc) | ext);
    sp = c.mmu.readSys((c.tr.base + off) | 0, 4);
    const ssSel = c.mmu.readSys((c.tr.base + off + 4) | 0, 2);
    if ((ssSel & 0xfffc) === 0) throw ts(ext);
    const sd = readStackDescriptor(c, ssSel, ext);
    const ssErr = (ssSel & 0xfffc) | ext;
    if ((ssSel & 3) !== newCpl || descDpl(sd.hi) !== newCpl) throw ts(ssErr);
    if ((sd.hi & (D_S | D_CODE | D_RW)) !== (D_S | D_RW)) throw ts(ssErr);
    if ((sd.hi & D_P) === 0) throw ss(ssErr);
    ssCache = makeCache(ssSel, sd);
    frame.push(c.segs[SEG_SS]!.selector, c.gpr[4]!);
    ssBase = ssCache.base;
    ss32 = (ssCache.flags & D_DB) !== 0;
    ssLimit = ssCache.limit;
  } else {
    sp = c.gpr[4]!;
    const cur = c.segs[SEG_SS]!;
    ssBase = cur.base;
    ss32 = c.ss32;
    ssLimit = cur.limit;
  }
  frame.push(eflags, oldCs, returnIp);
  if (pushErr) frame.push(errorCode);

  // Push the frame (top of stack last). Writes go at the new privilege; a fault leaves all
  // registers as they were, so the event can be retried from the original instruction.
  const user = newCpl === 3;
  for (const v of frame) {
    sp = ss32 ? (sp - 4) | 0 : (sp & ~0xffff) | ((sp - 4) & 0xffff);
    const o = ss32 ? sp >>> 0 : sp & 0xffff;
    if (ssLimit !== 0xffffffff && o + 3 > ssLimit) throw ss(ssCache ? (ssCache.selector & 0xfffc) | ext : 0);
    c.mmu.write32As((ssBase + o) | 0, v, user);
  }

  // Commit.
  if (ssCache) c.setSegmentCache(SEG_SS, ssCache);
  c.setSegmentCache(SEG_CS, csCache);
  c.gpr[4] = sp;
  settle(c);
  let f = c.flags & ~(TF | NT | RF | VM);
  if (type === 0x0e) f &= ~IF;
  c.flags = f;
  c.ip = c.nextIp = offset;
  return null;
}

/** IRET / IRETD to the same or an outer privilege level (16-bit form pops 16-bit slots). */
export function iret(c: I386, i: Instr): void {
  const sz = i.o16 ? 16 : 32,
    n = sz >>> 3;
  settle(c);
  if (c.flags & NT) throw ud(); // nested-task return: task switching is not modelled
  const newIp = peek(c, 0, sz) >>> 0;
  const csSel = peek(c, n, sz) & 0xffff;
  const newFlags = peek(c, 2 * n, sz);
  const rpl = csSel & 3;
  if ((csSel & 0xfffc) !== 0 && rpl < c.cpl) throw gp(csSel & 0xfffc);
  if (sz === 32 && newFlags & VM && c.cpl === 0) throw ud(); // virtual-8086 mode is not modelled
  const csCache = checkReturnCode(c, csSel);
  let ssCache: SegmentRegister | null = null;
  let newSp = 0;
  if (rpl > c.cpl) {
    newSp = peek(c, 3 * n, sz);
    const ssSel = peek(c, 4 * n, sz) & 0xffff;
    if ((ssSel & 0xfffc) === 0) throw gp(0);
    ssCache = checkStackSegment(c, ssSel, rpl);
  }
  if (newIp > csCache.limit) throw gp(0);
  c.loadFlags(newFlags, sz);
  c.setSegmentCache(SEG_CS, csCache);
  c.nextIp = newIp;
  if (ssCache) {
    c.setSegmentCache(SEG_SS, ssCache);
    c.gpr[4] = sz === 32 || c.ss32 ? newSp : (c.gpr[4]! & ~0xffff) | (newSp & 0xffff);
    nullInaccessibleSegments(c, rpl);
  } else {
    c.gpr[4] = spAdd(c, 3 * n);
  }
}
