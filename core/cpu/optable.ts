// The opcode map: for every one-byte and 0F-prefixed opcode, whether a ModRM byte follows, which
// immediate it carries, its operand width, and its handler (Intel SDM vol. 2, Appendix A).

import type { Handler } from './instr';
import { ud } from './fault';
import * as A from './exec-arith';
import * as B from './exec-bits';
import * as C from './exec-control';
import * as M from './exec-move';
import * as S from './exec-string';
import * as Y from './exec-system';
import { setStackFallbacks } from './exec-fast';

export const IMM_NONE = 0,
  IMM_B = 1,
  IMM_SB = 2,
  IMM_V = 3,
  IMM_W = 4,
  IMM_WB = 5,
  IMM_P = 6;
export const IMM_MOFFS = 7,
  IMM_GRP3 = 8,
  IMM_REL8 = 9,
  IMM_RELV = 10;

export interface OpSpec {
  modrm: boolean;
  imm: number;
  /** Operand is a byte (otherwise 16/32 by the operand-size attribute). */
  byte: boolean;
  fn: Handler | null;
  /** Group opcodes: handler by ModRM reg field (null = #UD). */
  group: (Handler | null)[] | null;
  /** LOCK is allowed (with a memory destination): bit per reg value for groups, bit 0 otherwise. */
  lock: number;
  /** How the form may take part in compiled code (a ROLE_* value), per reg value for groups. */
  role: number | number[];
}

/**
 * Roles in compiled code. NEVER: the compiler stops before it (it may change CS, SS, paging, TF
 * or IF, or leave the run loop other than by a fault). PLAIN: neither reads nor writes EIP. USES_IP:
 * reads EIP and may move it (string and x87 forms): compiled code goes on only at the fall-through.
 * BRANCH: a control transfer; it ends its basic block.
 */
export const ROLE_NEVER = 0,
  ROLE_PLAIN = 1,
  ROLE_USES_IP = 2,
  ROLE_BRANCH = 3;
const N = ROLE_NEVER,
  P = ROLE_PLAIN,
  U = ROLE_USES_IP,
  J = ROLE_BRANCH;

export const undefinedOpcode: Handler = () => {
  throw ud();
};

export const OPS: (OpSpec | undefined)[] = new Array(512);

function def(role: number, op: number, modrm: boolean, imm: number, byte: boolean, fn: Handler, lock = 0): void {
  OPS[op] = { modrm, imm, byte, fn, group: null, lock, role };
}
function grp(
  role: number | number[],
  op: number,
  imm: number,
  byte: boolean,
  group: (Handler | null)[],
  lock = 0,
): void {
  OPS[op] = { modrm: true, imm, byte, fn: null, group, lock, role };
}

// 00..3F: the eight ALU operations in six forms each, plus segment pushes/pops and BCD.
for (let k = 0; k < 8; k++) {
  const b = k << 3;
  const lk = k === 7 ? 0 : 1;
  def(P, b + 0, true, IMM_NONE, true, A.aluForm, lk);
  def(P, b + 1, true, IMM_NONE, false, A.aluForm, lk);
  def(P, b + 2, true, IMM_NONE, true, A.aluForm);
  def(P, b + 3, true, IMM_NONE, false, A.aluForm);
  def(P, b + 4, false, IMM_B, true, A.aluForm);
  def(P, b + 5, false, IMM_V, false, A.aluForm);
}
for (const op of [0x06, 0x0e, 0x16, 0x1e]) def(N, op, false, IMM_NONE, false, Y.pushSreg);
for (const op of [0x07, 0x17, 0x1f]) def(N, op, false, IMM_NONE, false, Y.popSreg);
def(P, 0x27, false, IMM_NONE, true, A.daa);
def(P, 0x2f, false, IMM_NONE, true, A.das);
def(P, 0x37, false, IMM_NONE, true, A.aaa);
def(P, 0x3f, false, IMM_NONE, true, A.aas);
for (let r = 0; r < 8; r++) {
  def(P, 0x40 + r, false, IMM_NONE, false, A.incDecReg);
  def(P, 0x48 + r, false, IMM_NONE, false, A.incDecReg);
  def(P, 0x50 + r, false, IMM_NONE, false, M.pushReg);
  def(P, 0x58 + r, false, IMM_NONE, false, M.popReg);
  def(P, 0x90 + r, false, IMM_NONE, false, M.xchgAcc);
  def(P, 0xb0 + r, false, IMM_B, true, M.movRegImm);
  def(P, 0xb8 + r, false, IMM_V, false, M.movRegImm);
  def(P, 0x1c8 + r, false, IMM_NONE, false, B.bswap);
}
def(P, 0x60, false, IMM_NONE, false, M.pusha);
def(P, 0x61, false, IMM_NONE, false, M.popa);
def(N, 0x62, true, IMM_NONE, false, C.bound);
def(N, 0x63, true, IMM_NONE, false, A.arpl);
def(P, 0x68, false, IMM_V, false, M.pushImm);
def(P, 0x69, true, IMM_V, false, A.imulForms);
def(P, 0x6a, false, IMM_SB, false, M.pushImm);
def(P, 0x6b, true, IMM_SB, false, A.imulForms);
for (const op of [0x6c, 0x6e]) def(N, op, false, IMM_NONE, true, Y.io);
for (const op of [0x6d, 0x6f]) def(N, op, false, IMM_NONE, false, Y.io);
for (let cc = 0; cc < 16; cc++) {
  def(J, 0x70 + cc, false, IMM_REL8, false, C.jcc);
  def(J, 0x180 + cc, false, IMM_RELV, false, C.jcc);
  def(P, 0x190 + cc, true, IMM_NONE, true, B.setcc);
  def(P, 0x140 + cc, true, IMM_NONE, false, B.cmovcc);
}
const ALU8 = [A.aluImm, A.aluImm, A.aluImm, A.aluImm, A.aluImm, A.aluImm, A.aluImm, A.aluImm];
grp(P, 0x80, IMM_B, true, ALU8, 0x7f);
grp(P, 0x81, IMM_V, false, ALU8, 0x7f);
grp(P, 0x82, IMM_B, true, ALU8, 0x7f);
grp(P, 0x83, IMM_SB, false, ALU8, 0x7f);
def(P, 0x84, true, IMM_NONE, true, A.testForm);
def(P, 0x85, true, IMM_NONE, false, A.testForm);
def(P, 0x86, true, IMM_NONE, true, M.xchgRM, 1);
def(P, 0x87, true, IMM_NONE, false, M.xchgRM, 1);
def(P, 0x88, true, IMM_NONE, true, M.movEG);
def(P, 0x89, true, IMM_NONE, false, M.movEG);
def(P, 0x8a, true, IMM_NONE, true, M.movGE);
def(P, 0x8b, true, IMM_NONE, false, M.movGE);
def(N, 0x8c, true, IMM_NONE, false, Y.movRMSreg);
def(P, 0x8d, true, IMM_NONE, false, M.lea);
def(N, 0x8e, true, IMM_NONE, false, Y.movSregRM);
def(P, 0x8f, true, IMM_NONE, false, M.popRM);
def(P, 0x98, false, IMM_NONE, false, A.convert);
def(P, 0x99, false, IMM_NONE, false, A.convert);
def(N, 0x9a, false, IMM_P, false, C.farDirect);
def(U, 0x9b, false, IMM_NONE, false, Y.fwait);
def(P, 0x9c, false, IMM_NONE, false, Y.pushf);
def(N, 0x9d, false, IMM_NONE, false, Y.popf);
def(P, 0x9e, false, IMM_NONE, true, A.sahf);
def(P, 0x9f, false, IMM_NONE, true, A.lahf);
def(P, 0xa0, false, IMM_MOFFS, true, M.movMoffs);
def(P, 0xa1, false, IMM_MOFFS, false, M.movMoffs);
def(P, 0xa2, false, IMM_MOFFS, true, M.movMoffs);
def(P, 0xa3, false, IMM_MOFFS, false, M.movMoffs);
def(U, 0xa4, false, IMM_NONE, true, S.movs);
def(U, 0xa5, false, IMM_NONE, false, S.movs);
def(U, 0xa6, false, IMM_NONE, true, S.cmps);
def(U, 0xa7, false, IMM_NONE, false, S.cmps);
def(P, 0xa8, false, IMM_B, true, A.testForm);
def(P, 0xa9, false, IMM_V, false, A.testForm);
def(U, 0xaa, false, IMM_NONE, true, S.stos);
def(U, 0xab, false, IMM_NONE, false, S.stos);
def(U, 0xac, false, IMM_NONE, true, S.lods);
def(U, 0xad, false, IMM_NONE, false, S.lods);
def(U, 0xae, false, IMM_NONE, true, S.scas);
def(U, 0xaf, false, IMM_NONE, false, S.scas);
const SHIFTS = [B.group2, B.group2, B.group2, B.group2, B.group2, B.group2, B.group2, B.group2];
grp(P, 0xc0, IMM_B, true, SHIFTS);
grp(P, 0xc1, IMM_B, false, SHIFTS);
def(J, 0xc2, false, IMM_W, false, C.retNear);
def(J, 0xc3, false, IMM_NONE, false, C.retNear);
def(N, 0xc4, true, IMM_NONE, false, Y.loadFarPointer);
def(N, 0xc5, true, IMM_NONE, false, Y.loadFarPointer);
def(P, 0xc6, true, IMM_B, true, M.movRMImm);
def(P, 0xc7, true, IMM_V, false, M.movRMImm);
def(P, 0xc8, false, IMM_WB, false, M.enter);
def(P, 0xc9, false, IMM_NONE, false, M.leave);
def(N, 0xca, false, IMM_W, false, C.retFar);
def(N, 0xcb, false, IMM_NONE, false, C.retFar);
def(N, 0xcc, false, IMM_NONE, false, C.int);
def(N, 0xcd, false, IMM_B, false, C.int);
def(N, 0xce, false, IMM_NONE, false, C.int);
def(N, 0xcf, false, IMM_NONE, false, C.iretOp);
grp(P, 0xd0, IMM_NONE, true, SHIFTS);
grp(P, 0xd1, IMM_NONE, false, SHIFTS);
grp(P, 0xd2, IMM_NONE, true, SHIFTS);
grp(P, 0xd3, IMM_NONE, false, SHIFTS);
def(P, 0xd4, false, IMM_B, true, A.aam);
def(P, 0xd5, false, IMM_B, true, A.aad);
def(P, 0xd7, false, IMM_NONE, true, M.xlat);
for (let op = 0xd8; op <= 0xdf; op++) def(U, op, true, IMM_NONE, false, Y.x87Escape);
for (const op of [0xe0, 0xe1, 0xe2, 0xe3]) def(J, op, false, IMM_REL8, false, C.loop);
for (const op of [0xe4, 0xe6]) def(N, op, false, IMM_B, true, Y.io);
for (const op of [0xe5, 0xe7]) def(N, op, false, IMM_B, false, Y.io);
def(J, 0xe8, false, IMM_RELV, false, C.callRel);
def(J, 0xe9, false, IMM_RELV, false, C.jmpRel);
def(N, 0xea, false, IMM_P, false, C.farDirect);
def(J, 0xeb, false, IMM_REL8, false, C.jmpRel);
for (const op of [0xec, 0xee]) def(N, op, false, IMM_NONE, true, Y.io);
for (const op of [0xed, 0xef]) def(N, op, false, IMM_NONE, false, Y.io);
def(N, 0xf4, false, IMM_NONE, false, Y.hlt);
def(P, 0xf5, false, IMM_NONE, false, A.flagOps);
const G3 = [A.group3, A.group3, A.group3, A.group3, A.group3, A.group3, A.group3, A.group3];
grp(P, 0xf6, IMM_GRP3, true, G3, 0x0c);
grp(P, 0xf7, IMM_GRP3, false, G3, 0x0c);
def(P, 0xf8, false, IMM_NONE, false, A.flagOps);
def(P, 0xf9, false, IMM_NONE, false, A.flagOps);
def(N, 0xfa, false, IMM_NONE, false, Y.cli);
def(N, 0xfb, false, IMM_NONE, false, Y.sti);
def(P, 0xfc, false, IMM_NONE, false, A.flagOps);
def(P, 0xfd, false, IMM_NONE, false, A.flagOps);
grp(P, 0xfe, IMM_NONE, true, [A.incDecRM, A.incDecRM, null, null, null, null, null, null], 0x03);
grp(
  [P, P, J, N, J, N, P, N],
  0xff,
  IMM_NONE,
  false,
  [A.incDecRM, A.incDecRM, C.indirect, C.farIndirect, C.indirect, C.farIndirect, M.pushRM, null],
  0x03,
);

// 0F xx
grp(N, 0x100, IMM_NONE, false, [Y.group6, Y.group6, Y.group6, Y.group6, Y.group6, Y.group6, null, null]);
grp(N, 0x101, IMM_NONE, false, [Y.group7, Y.group7, Y.group7, Y.group7, Y.group7, null, Y.group7, Y.group7]);
def(N, 0x102, true, IMM_NONE, false, Y.larLsl);
def(N, 0x103, true, IMM_NONE, false, Y.larLsl);
def(N, 0x106, false, IMM_NONE, false, Y.clts);
def(N, 0x108, false, IMM_NONE, false, Y.wbinvd);
def(N, 0x109, false, IMM_NONE, false, Y.wbinvd);
def(N, 0x10b, false, IMM_NONE, false, Y.ud2);
for (let op = 0x118; op <= 0x11f; op++) def(P, op, true, IMM_NONE, false, Y.hintNop);
for (const op of [0x120, 0x121, 0x122, 0x123]) def(N, op, true, IMM_NONE, false, Y.movCr);
def(N, 0x130, false, IMM_NONE, false, Y.msr);
def(N, 0x131, false, IMM_NONE, false, Y.rdtsc);
def(N, 0x132, false, IMM_NONE, false, Y.msr);
def(N, 0x133, false, IMM_NONE, false, Y.rdpmc);
def(N, 0x1a0, false, IMM_NONE, false, Y.pushSreg);
def(N, 0x1a1, false, IMM_NONE, false, Y.popSreg);
def(N, 0x1a2, false, IMM_NONE, false, Y.cpuid);
def(P, 0x1a3, true, IMM_NONE, false, B.btReg);
def(P, 0x1a4, true, IMM_B, false, B.shiftDouble);
def(P, 0x1a5, true, IMM_NONE, false, B.shiftDouble);
def(N, 0x1a8, false, IMM_NONE, false, Y.pushSreg);
def(N, 0x1a9, false, IMM_NONE, false, Y.popSreg);
def(P, 0x1ab, true, IMM_NONE, false, B.btReg, 1);
def(P, 0x1ac, true, IMM_B, false, B.shiftDouble);
def(P, 0x1ad, true, IMM_NONE, false, B.shiftDouble);
grp(N, 0x1ae, IMM_NONE, false, [Y.group15, Y.group15, null, null, null, null, null, null]);
def(P, 0x1af, true, IMM_NONE, false, A.imulForms);
def(P, 0x1b0, true, IMM_NONE, true, A.cmpxchg, 1);
def(P, 0x1b1, true, IMM_NONE, false, A.cmpxchg, 1);
def(N, 0x1b2, true, IMM_NONE, false, Y.loadFarPointer);
def(P, 0x1b3, true, IMM_NONE, false, B.btReg, 1);
def(N, 0x1b4, true, IMM_NONE, false, Y.loadFarPointer);
def(N, 0x1b5, true, IMM_NONE, false, Y.loadFarPointer);
def(P, 0x1b6, true, IMM_NONE, false, M.movExtend);
def(P, 0x1b7, true, IMM_NONE, false, M.movExtend);
grp(P, 0x1ba, IMM_B, false, [null, null, null, null, B.btImm, B.btImm, B.btImm, B.btImm], 0xe0);
def(P, 0x1bb, true, IMM_NONE, false, B.btReg, 1);
def(P, 0x1bc, true, IMM_NONE, false, B.bitScan);
def(P, 0x1bd, true, IMM_NONE, false, B.bitScan);
def(P, 0x1be, true, IMM_NONE, false, M.movExtend);
def(P, 0x1bf, true, IMM_NONE, false, M.movExtend);
def(P, 0x1c0, true, IMM_NONE, true, A.xadd, 1);
def(P, 0x1c1, true, IMM_NONE, false, A.xadd, 1);
grp(P, 0x1c7, IMM_NONE, false, [null, A.cmpxchg8b, null, null, null, null, null, null], 0x02);
setStackFallbacks(M.pushReg, M.popReg);
