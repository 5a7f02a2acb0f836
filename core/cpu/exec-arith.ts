// Integer arithmetic instructions: the ADD..CMP family, TEST, INC/DEC, NOT/NEG, MUL/IMUL/DIV/IDIV,
// XADD/CMPXCHG/CMPXCHG8B, sign extension and BCD adjust (Intel SDM vol. 2, ch. 3-4).

import type { I386 } from './cpu';
import { aluOp, decOp, divide32, idivide32, incOp, mulS32, mulU32, negOp, wide } from './alu';
import { de, ud } from './fault';
import { AF, CF, OF, PF, SF, ZF, getAF, getCF, materialize, recordResultWith, setStatus, settle } from './flags';
import type { Instr } from './instr';
import { ea, getReg, readLin, readMem, readRM, rmwLinear, setReg, writeLin } from './operands';

/** 00..3D: op Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / eAX,Iv with op = bits 3..5 of the opcode. */
export function aluForm(c: I386, i: Instr): void {
  const op = (i.op >> 3) & 7;
  const sz = i.sz;
  switch (i.op & 7) {
    case 0:
    case 1: {
      // E, G
      const b = getReg(c, i.reg, sz);
      if (i.mod === 3) {
        const r = aluOp(c, op, getReg(c, i.rm, sz), b, sz);
        if (op !== 7) setReg(c, i.rm, sz, r);
      } else if (op === 7) {
        aluOp(c, op, readMem(c, i.seg, ea(c, i), sz), b, sz);
      } else {
        const lin = rmwLinear(c, i, sz);
        writeLin(c, lin, sz, aluOp(c, op, readLin(c, lin, sz), b, sz));
      }
      return;
    }
    case 2:
    case 3: {
      // G, E
      const r = aluOp(c, op, getReg(c, i.reg, sz), readRM(c, i, sz), sz);
      if (op !== 7) setReg(c, i.reg, sz, r);
      return;
    }
    default: {
      // accumulator, immediate
      const r = aluOp(c, op, getReg(c, 0, sz), i.imm, sz);
      if (op !== 7) setReg(c, 0, sz, r);
    }
  }
}

/** 80/81/82/83: group 1, op in the reg field, immediate operand. */
export function aluImm(c: I386, i: Instr): void {
  const op = i.reg;
  const sz = i.sz;
  if (i.mod === 3) {
    const r = aluOp(c, op, getReg(c, i.rm, sz), i.imm, sz);
    if (op !== 7) setReg(c, i.rm, sz, r);
  } else if (op === 7) {
    aluOp(c, op, readMem(c, i.seg, ea(c, i), sz), i.imm, sz);
  } else {
    const lin = rmwLinear(c, i, sz);
    writeLin(c, lin, sz, aluOp(c, op, readLin(c, lin, sz), i.imm, sz));
  }
}

/** 84/85 TEST E,G; A8/A9 TEST acc,imm. */
export function testForm(c: I386, i: Instr): void {
  if (i.op === 0xa8 || i.op === 0xa9) aluOp(c, 4, getReg(c, 0, i.sz), i.imm, i.sz);
  else aluOp(c, 4, readRM(c, i, i.sz), getReg(c, i.reg, i.sz), i.sz);
}

/** 40..4F: INC/DEC r16/r32. */
export function incDecReg(c: I386, i: Instr): void {
  const r = i.op & 7;
  const v = getReg(c, r, i.sz);
  setReg(c, r, i.sz, i.op < 0x48 ? incOp(c, v, i.sz) : decOp(c, v, i.sz));
}

/** FE/FF /0 /1: INC/DEC r/m. */
export function incDecRM(c: I386, i: Instr): void {
  const sz = i.sz;
  const inc = i.reg === 0;
  if (i.mod === 3) {
    const v = getReg(c, i.rm, sz);
    setReg(c, i.rm, sz, inc ? incOp(c, v, sz) : decOp(c, v, sz));
  } else {
    const lin = rmwLinear(c, i, sz);
    const v = readLin(c, lin, sz);
    writeLin(c, lin, sz, inc ? incOp(c, v, sz) : decOp(c, v, sz));
  }
}

/** Group 3 (F6/F7): TEST NOT NEG MUL IMUL DIV IDIV. */
export function group3(c: I386, i: Instr): void {
  const sz = i.sz;
  switch (i.reg) {
    case 0:
    case 1:
      aluOp(c, 4, readRM(c, i, sz), i.imm, sz);
      return;
    case 2:
    case 3: {
      if (i.mod === 3) {
        const v = getReg(c, i.rm, sz);
        setReg(c, i.rm, sz, i.reg === 2 ? ~v : negOp(c, v, sz));
      } else {
        const lin = rmwLinear(c, i, sz);
        const v = readLin(c, lin, sz);
        writeLin(c, lin, sz, i.reg === 2 ? ~v : negOp(c, v, sz));
      }
      return;
    }
    case 4:
      mul(c, readRM(c, i, sz), sz);
      return;
    case 5:
      imul1(c, readRM(c, i, sz), sz);
      return;
    case 6:
      div(c, readRM(c, i, sz), sz);
      return;
    default:
      idiv(c, readRM(c, i, sz), sz);
  }
}

function mulFlags(c: I386, overflow: boolean, lo: number, sz: number): void {
  recordResultWith(c, overflow ? CF | OF : 0, lo, sz);
}

function mul(c: I386, v: number, sz: number): void {
  const g = c.gpr;
  if (sz === 8) {
    const r = (g[0]! & 0xff) * v;
    g[0] = (g[0]! & ~0xffff) | r;
    mulFlags(c, r > 0xff, r, 8);
  } else if (sz === 16) {
    const r = (g[0]! & 0xffff) * v;
    g[0] = (g[0]! & ~0xffff) | (r & 0xffff);
    g[2] = (g[2]! & ~0xffff) | (r >>> 16);
    mulFlags(c, r > 0xffff, r & 0xffff, 16);
  } else {
    mulU32(g[0]!, v);
    g[0] = wide.lo;
    g[2] = wide.hi;
    mulFlags(c, wide.hi !== 0, wide.lo, 32);
  }
}

function imul1(c: I386, v: number, sz: number): void {
  const g = c.gpr;
  if (sz === 8) {
    const r = ((g[0]! << 24) >> 24) * ((v << 24) >> 24);
    g[0] = (g[0]! & ~0xffff) | (r & 0xffff);
    mulFlags(c, r !== (r << 24) >> 24, r & 0xff, 8);
  } else if (sz === 16) {
    const r = ((g[0]! << 16) >> 16) * ((v << 16) >> 16);
    g[0] = (g[0]! & ~0xffff) | (r & 0xffff);
    g[2] = (g[2]! & ~0xffff) | ((r >> 16) & 0xffff);
    mulFlags(c, r !== (r << 16) >> 16, r & 0xffff, 16);
  } else {
    mulS32(g[0]!, v);
    g[0] = wide.lo;
    g[2] = wide.hi;
    mulFlags(c, wide.hi !== wide.lo >> 31, wide.lo, 32);
  }
}

/** Two- and three-operand IMUL (0F AF, 69, 6B): truncated product into Gv. */
export function imulForms(c: I386, i: Instr): void {
  const sz = i.sz;
  const a = readRM(c, i, sz);
  const b = i.op === 0x1af ? getReg(c, i.reg, sz) : i.imm;
  let r: number, of: boolean;
  if (sz === 32) {
    mulS32(a, b);
    r = wide.lo;
    of = wide.hi !== r >> 31;
  } else {
    const p = ((a << 16) >> 16) * ((b << 16) >> 16);
    r = p & 0xffff;
    of = p !== (p << 16) >> 16;
  }
  setReg(c, i.reg, sz, r);
  mulFlags(c, of, r, sz);
}

function div(c: I386, v: number, sz: number): void {
  const g = c.gpr;
  if (sz === 8) {
    if (v === 0) throw de();
    const n = g[0]! & 0xffff;
    const q = Math.floor(n / v);
    if (q > 0xff) throw de();
    g[0] = (g[0]! & ~0xffff) | (n % v << 8) | q;
  } else if (sz === 16) {
    if (v === 0) throw de();
    const n = (((g[2]! & 0xffff) << 16) | (g[0]! & 0xffff)) >>> 0;
    const q = Math.floor(n / v);
    if (q > 0xffff) throw de();
    g[0] = (g[0]! & ~0xffff) | q;
    g[2] = (g[2]! & ~0xffff) | n % v;
  } else {
    divide32(g[2]!, g[0]!, v);
    g[0] = wide.lo;
    g[2] = wide.hi;
  }
}

function idiv(c: I386, v: number, sz: number): void {
  const g = c.gpr;
  if (sz === 8) {
    const d = (v << 24) >> 24;
    if (d === 0) throw de();
    const n = (g[0]! << 16) >> 16;
    const q = Math.trunc(n / d);
    if (q < -128 || q > 127) throw de();
    const r = n - q * d;
    g[0] = (g[0]! & ~0xffff) | ((r & 0xff) << 8) | (q & 0xff);
  } else if (sz === 16) {
    const d = (v << 16) >> 16;
    if (d === 0) throw de();
    const n = ((g[2]! & 0xffff) << 16) | (g[0]! & 0xffff);
    const q = Math.trunc(n / d);
    if (q < -32768 || q > 32767) throw de();
    const r = n - q * d;
    g[0] = (g[0]! & ~0xffff) | (q & 0xffff);
    g[2] = (g[2]! & ~0xffff) | (r & 0xffff);
  } else {
    idivide32(g[2]!, g[0]!, v);
    g[0] = wide.lo;
    g[2] = wide.hi;
  }
}

/** 0F C0/C1 XADD r/m, r. */
export function xadd(c: I386, i: Instr): void {
  const sz = i.sz;
  const src = getReg(c, i.reg, sz);
  if (i.mod === 3) {
    const dst = getReg(c, i.rm, sz);
    const sum = aluOp(c, 0, dst, src, sz);
    setReg(c, i.reg, sz, dst);
    setReg(c, i.rm, sz, sum);
  } else {
    const lin = rmwLinear(c, i, sz);
    const dst = readLin(c, lin, sz);
    const sum = aluOp(c, 0, dst, src, sz);
    writeLin(c, lin, sz, sum);
    setReg(c, i.reg, sz, dst);
  }
}

/** 0F B0/B1 CMPXCHG r/m, r (the destination is written in both outcomes, as on hardware). */
export function cmpxchg(c: I386, i: Instr): void {
  const sz = i.sz;
  const src = getReg(c, i.reg, sz);
  const acc = getReg(c, 0, sz);
  if (i.mod === 3) {
    const dst = getReg(c, i.rm, sz);
    aluOp(c, 7, acc, dst, sz);
    if (((acc ^ dst) & (sz === 32 ? -1 : (1 << sz) - 1)) === 0) setReg(c, i.rm, sz, src);
    else setReg(c, 0, sz, dst);
  } else {
    const lin = rmwLinear(c, i, sz);
    const dst = readLin(c, lin, sz);
    aluOp(c, 7, acc, dst, sz);
    const equal = ((acc ^ dst) & (sz === 32 ? -1 : (1 << sz) - 1)) === 0;
    writeLin(c, lin, sz, equal ? src : dst);
    if (!equal) setReg(c, 0, sz, dst);
  }
}

/** 0F C7 /1 CMPXCHG8B m64. */
export function cmpxchg8b(c: I386, i: Instr): void {
  if (i.mod === 3 || i.reg !== 1) throw ud();
  const lin = c.linW(i.seg, ea(c, i), 8);
  c.mmu.probeWrite(lin, 8);
  const lo = c.mmu.read32(lin),
    hi = c.mmu.read32((lin + 4) | 0);
  const g = c.gpr;
  if (lo === g[0] && hi === g[2]) {
    c.mmu.write32(lin, g[3]!);
    c.mmu.write32((lin + 4) | 0, g[1]!);
    setStatus(c, ZF, ZF);
  } else {
    c.mmu.write32(lin, lo);
    c.mmu.write32((lin + 4) | 0, hi);
    g[0] = lo;
    g[2] = hi;
    setStatus(c, ZF, 0);
  }
}

/** 98 CBW/CWDE, 99 CWD/CDQ. */
export function convert(c: I386, i: Instr): void {
  const g = c.gpr;
  if (i.op === 0x98) {
    if (i.o16) g[0] = (g[0]! & ~0xffff) | (((g[0]! << 24) >> 24) & 0xffff);
    else g[0] = (g[0]! << 16) >> 16;
  } else if (i.o16) {
    g[2] = (g[2]! & ~0xffff) | (g[0]! & 0x8000 ? 0xffff : 0);
  } else {
    g[2] = g[0]! >> 31;
  }
}

// ---- BCD adjust ----

function setAL(c: I386, v: number): void {
  c.gpr[0] = (c.gpr[0]! & ~0xff) | (v & 0xff);
}

/** Status flags from AL with the given CF/AF (OF cleared: it is undefined for these). */
function bcdFlags(c: I386, al: number, cf: number, af: boolean): void {
  recordResultWith(c, cf | (af ? AF : 0), al & 0xff, 8);
}

export function daa(c: I386): void {
  const oldAl = c.gpr[0]! & 0xff;
  const oldCf = getCF(c);
  let al = oldAl,
    cf = 0,
    af = false;
  if ((al & 0xf) > 9 || getAF(c)) {
    al += 6;
    cf = oldCf | (al > 0xff ? 1 : 0);
    af = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al += 0x60;
    cf = 1;
  } else {
    cf = 0;
  }
  setAL(c, al);
  bcdFlags(c, al, cf, af);
}

export function das(c: I386): void {
  const oldAl = c.gpr[0]! & 0xff;
  const oldCf = getCF(c);
  let al = oldAl,
    cf = 0,
    af = false;
  if ((al & 0xf) > 9 || getAF(c)) {
    al -= 6;
    cf = oldCf | (al < 0 ? 1 : 0);
    af = true;
  }
  if (oldAl > 0x99 || oldCf) {
    al -= 0x60;
    cf = 1;
  }
  setAL(c, al);
  bcdFlags(c, al, cf, af);
}

export function aaa(c: I386): void {
  const g = c.gpr;
  if ((g[0]! & 0xf) > 9 || getAF(c)) {
    const ax = ((g[0]! & 0xffff) + 0x106) & 0xffff;
    g[0] = (g[0]! & ~0xffff) | (ax & 0xff0f);
    bcdFlags(c, ax & 0x0f, 1, true);
  } else {
    g[0] = g[0]! & ~0xf0;
    bcdFlags(c, g[0]! & 0x0f, 0, false);
  }
}

export function aas(c: I386): void {
  const g = c.gpr;
  if ((g[0]! & 0xf) > 9 || getAF(c)) {
    const al = ((g[0]! & 0xff) - 6) & 0xff;
    const ah = (((g[0]! >> 8) & 0xff) - 1 - ((g[0]! & 0xff) < 6 ? 1 : 0)) & 0xff;
    g[0] = (g[0]! & ~0xffff) | (ah << 8) | (al & 0x0f);
    bcdFlags(c, al & 0x0f, 1, true);
  } else {
    g[0] = g[0]! & ~0xf0;
    bcdFlags(c, g[0]! & 0x0f, 0, false);
  }
}

export function aam(c: I386, i: Instr): void {
  const base = i.imm & 0xff;
  if (base === 0) throw de();
  const al = c.gpr[0]! & 0xff;
  const q = Math.floor(al / base),
    r = al % base;
  c.gpr[0] = (c.gpr[0]! & ~0xffff) | (q << 8) | r;
  recordResultWith(c, 0, r, 8);
}

export function aad(c: I386, i: Instr): void {
  const g = c.gpr;
  const al = ((g[0]! & 0xff) + ((g[0]! >> 8) & 0xff) * (i.imm & 0xff)) & 0xff;
  g[0] = (g[0]! & ~0xffff) | al;
  recordResultWith(c, 0, al, 8);
}

// ---- flag instructions usable at any privilege ----

export function sahf(c: I386): void {
  setStatus(c, SF | ZF | AF | PF | CF, (c.gpr[0]! >> 8) & 0xff);
}
export function lahf(c: I386): void {
  const f = (materialize(c) & (SF | ZF | AF | PF | CF)) | 2;
  c.gpr[0] = (c.gpr[0]! & ~0xff00) | (f << 8);
}
export function flagOps(c: I386, i: Instr): void {
  settle(c);
  switch (i.op) {
    case 0xf5:
      c.flags ^= CF;
      break;
    case 0xf8:
      c.flags &= ~CF;
      break;
    case 0xf9:
      c.flags |= CF;
      break;
    case 0xfc:
      c.flags &= ~0x400;
      break;
    case 0xfd:
      c.flags |= 0x400;
      break;
  }
}

/** 63 ARPL Ew, Gw: raise the destination selector's RPL to the source's. */
export function arpl(c: I386, i: Instr): void {
  const src = getReg(c, i.reg, 16);
  if (i.mod === 3) {
    const dst = getReg(c, i.rm, 16);
    if ((dst & 3) < (src & 3)) {
      setReg(c, i.rm, 16, (dst & ~3) | (src & 3));
      setStatus(c, ZF, ZF);
    } else setStatus(c, ZF, 0);
  } else {
    const lin = rmwLinear(c, i, 16);
    const dst = c.mmu.read16(lin);
    if ((dst & 3) < (src & 3)) {
      c.mmu.write16(lin, (dst & ~3) | (src & 3));
      setStatus(c, ZF, ZF);
    } else setStatus(c, ZF, 0);
  }
}
