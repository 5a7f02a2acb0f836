// Unit tests of the x87 unit against a fake host (flat little memory + EFLAGS + AX).

import { describe, expect, it } from 'vitest';
import {
  createX87State,
  executeX87,
  fwaitPending,
  fxrstor,
  fxsave,
  syncRegisters,
  X87Undefined,
  type X87Host,
} from './x87';
import type { X87State } from './types';
import { add, compare, div, mul } from './x87-arith';
import { extendedArith, extendedCompare, extendedOfDouble, extendedResult } from './x87-extended';
import { F80, flags } from './x87-format';

class Fault {
  constructor(readonly linear: number) {}
}

class FakeHost implements X87Host {
  mem = new Uint8Array(0x10000);
  view = new DataView(this.mem.buffer);
  eflags = 0x202;
  ax = -1;
  /** Accesses at or above this address throw (a stand-in for the CPU's page fault). */
  faultFrom = Infinity;
  private check(l: number, n: number): void {
    if (l + n > this.faultFrom) throw new Fault(l);
  }
  read8(l: number): number {
    this.check(l, 1);
    return this.mem[l]!;
  }
  read16(l: number): number {
    this.check(l, 2);
    return this.view.getUint16(l, true);
  }
  read32(l: number): number {
    this.check(l, 4);
    return this.view.getUint32(l, true);
  }
  write8(l: number, v: number): void {
    this.check(l, 1);
    this.mem[l] = v;
  }
  write16(l: number, v: number): void {
    this.check(l, 2);
    this.view.setUint16(l, v, true);
  }
  write32(l: number, v: number): void {
    this.check(l, 4);
    this.view.setUint32(l, v >>> 0, true);
  }
  getEflags(): number {
    return this.eflags;
  }
  setEflags(v: number): void {
    this.eflags = v;
  }
  setAx(v: number): void {
    this.ax = v;
  }
  f64(l: number): number {
    return this.view.getFloat64(l, true);
  }
  setF64(l: number, v: number): void {
    this.view.setFloat64(l, v, true);
  }
  hex(l: number, n: number): string {
    return Array.from(this.mem.slice(l, l + n), (b) => b.toString(16).padStart(2, '0')).join('');
  }
}

const M = 0x1000; // scratch operand address

/** Executes one escape instruction; modrm for memory forms uses mod=00 rm=101 style (disp32). */
function x(st: X87State, h: FakeHost, opcode: number, modrmOrDigit: number, linear = -1): boolean {
  const modrm = linear === -1 ? modrmOrDigit : (modrmOrDigit << 3) | 5;
  return executeX87(st, h, opcode, modrm, linear, true, 0x1234);
}
function fldF64(st: X87State, h: FakeHost, v: number): void {
  h.setF64(0x2000, v);
  x(st, h, 0xdd, 0, 0x2000);
}
function fstpF64(st: X87State, h: FakeHost): number {
  x(st, h, 0xdd, 3, 0x2008);
  return h.f64(0x2008);
}
const top = (st: X87State): number => (st.status >> 11) & 7;

describe('x87 state', () => {
  it('FNINIT state: control 037F, empty tags, top 0', () => {
    const st = createX87State();
    expect(st.control).toBe(0x37f);
    expect(st.status).toBe(0);
    expect(st.tag).toBe(0xffff);
    const h = new FakeHost();
    fldF64(st, h, 2.5);
    x(st, h, 0xdb, 0xe3); // FNINIT
    expect(st.tag).toBe(0xffff);
    expect(st.status).toBe(0);
  });

  it('push/pop moves TOP and tags, FSTP returns the value', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 1.5);
    expect(top(st)).toBe(7);
    expect((st.tag >> 14) & 3).toBe(0);
    x(st, h, 0xd9, 0xee); // FLDZ
    expect(top(st)).toBe(6);
    expect((st.tag >> 12) & 3).toBe(1); // zero tag
    expect(fstpF64(st, h)).toBe(0);
    expect(fstpF64(st, h)).toBe(1.5);
    expect(st.tag).toBe(0xffff);
    expect(top(st)).toBe(0);
  });
});

describe('x87 arithmetic', () => {
  it('all six operations in the ST(0),ST(i) / ST(i),ST(0) / P forms', () => {
    const cases: [number, number, (a: number, b: number) => number][] = [
      [0xd8, 0xc1, (a, b) => a + b], // FADD ST0,ST1 -> ST0
      [0xd8, 0xe1, (a, b) => a - b], // FSUB ST0,ST1
      [0xd8, 0xe9, (a, b) => b - a], // FSUBR ST0,ST1
      [0xd8, 0xf1, (a, b) => a / b], // FDIV ST0,ST1
      [0xd8, 0xf9, (a, b) => b / a], // FDIVR ST0,ST1
      [0xd8, 0xc9, (a, b) => a * b],
    ];
    for (const [op, modrm, f] of cases) {
      const st = createX87State();
      const h = new FakeHost();
      fldF64(st, h, 3); // ST1
      fldF64(st, h, 7); // ST0
      x(st, h, op, modrm);
      expect(fstpF64(st, h)).toBe(f(7, 3));
    }
    // DC forms write ST(i): FSUB ST1,ST0 (DC E9) = ST1 - ST0; FSUBR ST1,ST0 (DC E1) = ST0 - ST1.
    const dc: [number, (a: number, b: number) => number][] = [
      [0xe9, (s0, s1) => s1 - s0],
      [0xe1, (s0, s1) => s0 - s1],
      [0xf9, (s0, s1) => s1 / s0],
      [0xf1, (s0, s1) => s0 / s1],
    ];
    for (const [modrm, f] of dc) {
      const st = createX87State();
      const h = new FakeHost();
      fldF64(st, h, 3);
      fldF64(st, h, 12);
      x(st, h, 0xdc, modrm);
      fstpF64(st, h);
      expect(fstpF64(st, h)).toBe(f(12, 3));
      // And the popping DE form leaves only the result.
      fldF64(st, h, 3);
      fldF64(st, h, 12);
      x(st, h, 0xde, modrm);
      expect(top(st)).toBe(7);
      expect(fstpF64(st, h)).toBe(f(12, 3));
    }
  });

  it('memory operands m32/m64/m16int/m32int', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 10);
    h.view.setFloat32(M, 0.5, true);
    x(st, h, 0xd8, 0, M); // FADD m32
    h.setF64(M, 2);
    x(st, h, 0xdc, 1, M); // FMUL m64
    h.view.setInt16(M, -3, true);
    x(st, h, 0xde, 0, M); // FIADD m16
    h.view.setInt32(M, 4, true);
    x(st, h, 0xda, 7, M); // FIDIVR m32: 4 / ST0
    expect(fstpF64(st, h)).toBe(4 / 18);
  });

  it('masked invalid produces the real indefinite; divide by zero gives infinity and ZE', () => {
    const st = createX87State();
    const h = new FakeHost();
    x(st, h, 0xd9, 0xee); // FLDZ
    x(st, h, 0xd9, 0xee);
    x(st, h, 0xde, 0xf9); // FDIVP 0/0
    expect(st.status & 1).toBe(1);
    x(st, h, 0xdd, 3, M);
    expect(h.hex(M, 8)).toBe('000000000000f8ff');
    x(st, h, 0xdb, 0xe2); // FNCLEX
    fldF64(st, h, -5);
    fldF64(st, h, 0);
    x(st, h, 0xde, 0xf9); // FDIVP ST1,ST0: -5 / 0
    expect(st.status & 0x3f).toBe(4);
    expect(fstpF64(st, h)).toBe(-Infinity);
  });

  it('sets PE and the round-up indicator C1 exactly', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 1);
    fldF64(st, h, 3);
    x(st, h, 0xde, 0xf9); // FDIVP ST1,ST0 = 1/3: 0.AAAA... rounds up at 64 bits
    expect(st.status & 0x220).toBe(0x220);
    x(st, h, 0xdb, 7, M); // FSTP m80
    expect(h.hex(M, 10)).toBe('abaaaaaaaaaaaaaafd3f');
    x(st, h, 0xdb, 0xe2);
    h.view.setUint16(M, 0x27f, true);
    x(st, h, 0xd9, 5, M); // FLDCW: precision control double
    fldF64(st, h, 1);
    fldF64(st, h, 3);
    x(st, h, 0xde, 0xf9); // at 53 bits 1/3 rounds down
    expect(st.status & 0x220).toBe(0x20);
    fstpF64(st, h);
    x(st, h, 0xdb, 0xe2);
    fldF64(st, h, 1);
    fldF64(st, h, 10);
    x(st, h, 0xde, 0xf9); // 1/10 rounds up (to 53 bits)
    expect(st.status & 0x220).toBe(0x220);
    expect(fstpF64(st, h)).toBe(1 / 10);
  });

  it('honours directed rounding for division and sqrt', () => {
    const h = new FakeHost();
    for (const [rc, expectUp] of [
      [1, false],
      [2, true],
      [3, false],
    ] as const) {
      const st = createX87State();
      h.view.setUint16(M, 0x37f | (rc << 10), true);
      x(st, h, 0xd9, 5, M); // FLDCW
      fldF64(st, h, 1);
      fldF64(st, h, 3);
      x(st, h, 0xde, 0xf9);
      const q = fstpF64(st, h);
      const nearest = 1 / 3;
      expect(q > nearest).toBe(expectUp);
      expect(q === nearest).toBe(!expectUp);
      fldF64(st, h, 2);
      x(st, h, 0xd9, 0xfa); // FSQRT
      const s = fstpF64(st, h);
      expect(s >= Math.SQRT2).toBe(expectUp);
    }
  });
});

describe('x87 conversions', () => {
  it('m80 round trip of specials and exact values', () => {
    const values = [0, -0, 1, -1.5, Math.PI, 5e-324, -2.2250738585072014e-308, Number.MAX_VALUE, Infinity, -Infinity];
    for (const v of values) {
      const st = createX87State();
      const h = new FakeHost();
      fldF64(st, h, v);
      x(st, h, 0xdb, 7, M); // FSTP m80
      x(st, h, 0xdb, 5, M); // FLD m80
      expect(Object.is(fstpF64(st, h), v)).toBe(true);
    }
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 1);
    x(st, h, 0xdb, 7, M);
    expect(h.hex(M, 10)).toBe('0000000000000080ff3f');
    fldF64(st, h, 5e-324); // smallest double subnormal is normal in 80 bits: 2^-1074
    x(st, h, 0xdb, 7, M);
    expect(h.hex(M, 10)).toBe('0000000000000080cd3b');
    x(st, h, 0xd9, 0xe8); // FLD1
    x(st, h, 0xd9, 0xe0); // FCHS
    x(st, h, 0xdb, 7, M);
    expect(h.hex(M, 10)).toBe('0000000000000080ffbf');
  });

  it('keeps NaN payloads; quiets SNaN from m64 with IE; m80 loads SNaN silently', () => {
    const st = createX87State();
    const h = new FakeHost();
    h.view.setUint32(M, 0x12345678, true);
    h.view.setUint32(M + 4, 0x7ff40000, true); // SNaN
    x(st, h, 0xdd, 0, M);
    expect(st.status & 1).toBe(1);
    x(st, h, 0xdd, 3, M + 8);
    expect(h.view.getUint32(M + 12, true)).toBe(0x7ffc0000);
    expect(h.view.getUint32(M + 8, true)).toBe(0x12345678);
    x(st, h, 0xdb, 0xe2);
    // 80-bit SNaN: 7FFF A000000000000001
    h.view.setUint32(M, 1, true);
    h.view.setUint32(M + 4, 0xa0000000, true);
    h.view.setUint16(M + 8, 0x7fff, true);
    x(st, h, 0xdb, 5, M);
    expect(st.status & 1).toBe(0);
  });

  it('FIST honours rounding control and overflow gives the integer indefinite', () => {
    const h = new FakeHost();
    const rows: [number, number, number[]][] = [
      // value, rounding control, results for m16 / m32
      [2.5, 0, [2, 2]],
      [3.5, 0, [4, 4]],
      [-2.5, 0, [-2, -2]],
      [-2.5, 1, [-3, -3]],
      [-2.5, 2, [-2, -2]],
      [-2.7, 3, [-2, -2]],
      [40000, 0, [-32768, 40000]],
    ];
    for (const [v, rc, [r16, r32]] of rows) {
      const st = createX87State();
      h.view.setUint16(M, 0x37f | (rc << 10), true);
      x(st, h, 0xd9, 5, M);
      fldF64(st, h, v);
      x(st, h, 0xdf, 2, M); // FIST m16
      expect(h.view.getInt16(M, true)).toBe(r16);
      x(st, h, 0xdb, 3, M); // FISTP m32
      expect(h.view.getInt32(M, true)).toBe(r32);
    }
    const st = createX87State();
    fldF64(st, h, -1);
    x(st, h, 0xdf, 7, M); // FISTP m64
    expect(h.hex(M, 8)).toBe('ffffffffffffffff');
    fldF64(st, h, 2 ** 63);
    x(st, h, 0xdf, 7, M);
    expect(h.hex(M, 8)).toBe('0000000000000080');
    expect(st.status & 1).toBe(1);
    h.view.setUint32(M, 0, true);
    h.view.setUint32(M + 4, 0x80000000, true);
    x(st, h, 0xdf, 5, M); // FILD m64 -2^63
    expect(fstpF64(st, h)).toBe(-(2 ** 63));
  });
});

describe('x87 stack faults and exceptions', () => {
  it('underflow on an empty register sets IE|SF with C1=0, overflow sets C1=1', () => {
    const st = createX87State();
    const h = new FakeHost();
    x(st, h, 0xd9, 0xe1); // FABS on empty
    expect(st.status & 0x241).toBe(0x41);
    x(st, h, 0xdb, 0xe2);
    for (let i = 0; i < 9; i++) x(st, h, 0xd9, 0xe8);
    expect(st.status & 0x241).toBe(0x241);
    x(st, h, 0xdd, 3, M);
    expect(h.hex(M, 8)).toBe('000000000000f8ff'); // the overflowing push left the indefinite
  });

  it('an unmasked exception becomes pending and raises #MF at the next waiting instruction', () => {
    const st = createX87State();
    const h = new FakeHost();
    h.view.setUint16(M, 0x37b, true); // unmask ZE
    x(st, h, 0xd9, 5, M);
    x(st, h, 0xd9, 0xe8);
    x(st, h, 0xd9, 0xee);
    expect(x(st, h, 0xde, 0xf9)).toBe(false); // 1/0: ZE unmasked, result suppressed
    expect(st.status & 0x8084).toBe(0x8084);
    expect(top(st)).toBe(6);
    expect(fwaitPending(st)).toBe(true);
    expect(x(st, h, 0xd9, 0xe8)).toBe(true); // waiting instruction: #MF
    expect(top(st)).toBe(6);
    expect(x(st, h, 0xdd, 7, M)).toBe(false); // FNSTSW does not wait
    expect(h.view.getUint16(M, true)).toBe(st.status);
    x(st, h, 0xdf, 0xe0); // FNSTSW AX
    expect(h.ax).toBe(st.status);
    x(st, h, 0xdb, 0xe2); // FNCLEX
    expect(fwaitPending(st)).toBe(false);
  });

  it('undefined encodings throw X87Undefined', () => {
    const st = createX87State();
    const h = new FakeHost();
    expect(() => x(st, h, 0xd9, 0xd1)).toThrow(X87Undefined);
    expect(() => x(st, h, 0xd9, 1, M)).toThrow(X87Undefined);
    expect(() => x(st, h, 0xdb, 0xe7)).toThrow(X87Undefined);
  });

  it('a faulting store leaves the FPU state untouched', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 42);
    // The register words as an exported state would show them (fast-path results are written lazily).
    const image = () => {
      syncRegisters(st);
      return JSON.stringify({ ...st, regs: Array.from(st.regs) });
    };
    const before = image();
    h.faultFrom = M + 4;
    expect(() => x(st, h, 0xdd, 3, M)).toThrow(Fault); // FSTP m64 straddling the fault
    expect(image()).toBe(before);
    expect(() => x(st, h, 0xdd, 6, M)).toThrow(Fault); // FNSAVE
    expect(image()).toBe(before);
  });
});

describe('x87 compares and classification', () => {
  it('FCOMI/FUCOMIP set ZF/PF/CF and clear OF/SF/AF', () => {
    const st = createX87State();
    const h = new FakeHost();
    const cmp = (a: number, b: number): number => {
      fldF64(st, h, b);
      fldF64(st, h, a);
      h.eflags = 0x202 | 0x800 | 0x80 | 0x10;
      x(st, h, 0xdf, 0xe9); // FUCOMIP ST0,ST1
      fstpF64(st, h);
      return h.eflags;
    };
    expect(cmp(1, 2)).toBe(0x203);
    expect(cmp(2, 1)).toBe(0x202);
    expect(cmp(2, 2)).toBe(0x242);
    expect(cmp(NaN, 2)).toBe(0x247);
    expect(st.status & 1).toBe(0); // FUCOMIP of a QNaN is not invalid
  });

  it('FCOM codes, FTST and FXAM classes', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, -3);
    x(st, h, 0xd9, 0xe4); // FTST
    expect(st.status & 0x4700).toBe(0x100);
    x(st, h, 0xd9, 0xe5); // FXAM negative normal: C2 C1
    expect(st.status & 0x4700).toBe(0x600);
    x(st, h, 0xdd, 0xc0); // FFREE ST0
    x(st, h, 0xd9, 0xe5); // empty: C3 C0
    expect(st.status & 0x4500).toBe(0x4100);
  });

  it('FFREEP frees ST(i) and pops', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 1);
    fldF64(st, h, 2);
    fldF64(st, h, 3);
    x(st, h, 0xdf, 0xc1); // FFREEP ST1: the 2 is freed, the 3 popped
    expect(top(st)).toBe(6);
    expect(st.tag).toBe(0x3fff);
  });

  it('FCMOVcc copies on the EFLAGS condition', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 5);
    fldF64(st, h, 9);
    h.eflags = 0x41; // ZF CF
    x(st, h, 0xda, 0xc9); // FCMOVE ST0, ST1
    expect(fstpF64(st, h)).toBe(5);
    fldF64(st, h, 9);
    x(st, h, 0xdb, 0xc1); // FCMOVNB: CF set, no move
    expect(fstpF64(st, h)).toBe(9);
  });

  it('FPREM/FPREM1 remainders and quotient bits', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 3);
    fldF64(st, h, 17.5);
    x(st, h, 0xd9, 0xf8); // FPREM: 17.5 = 5*3 + 2.5, q=5 -> C0=1 C3=0 C1=1
    expect(st.status & 0x4700).toBe(0x300);
    expect(fstpF64(st, h)).toBe(2.5);
    fldF64(st, h, 17.5);
    x(st, h, 0xd9, 0xf5); // FPREM1: q=6, r=-0.5
    expect(st.status & 0x4700).toBe(0x4000 | 0x100);
    expect(fstpF64(st, h)).toBe(-0.5);
  });
});

describe('x87 environment images', () => {
  it('FNSAVE/FRSTOR round trip (32-bit layout) and FNSAVE reinitialises', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 1.25);
    fldF64(st, h, -7);
    x(st, h, 0xdd, 6, M); // FNSAVE
    expect(st.tag).toBe(0xffff);
    expect(h.view.getUint16(M, true)).toBe(0x37f);
    expect(h.view.getUint16(M + 4, true)).toBe(6 << 11);
    expect(h.view.getUint16(M + 8, true)).toBe(0x0fff);
    expect(h.hex(M + 28, 10)).toBe('00000000000000e001c0'); // ST0 = -7
    x(st, h, 0xdd, 4, M); // FRSTOR
    expect(fstpF64(st, h)).toBe(-7);
    expect(fstpF64(st, h)).toBe(1.25);
  });

  it('16-bit FNSTENV layout is 14 bytes and masks exceptions', () => {
    const st = createX87State();
    const h = new FakeHost();
    st.control = 0x360;
    h.mem.fill(0xee, M, M + 32);
    executeX87(st, h, 0xd9, 0x35, M, false, 0x1234); // FNSTENV, 16-bit operand size
    expect(h.view.getUint16(M, true)).toBe(0x360);
    expect(h.mem[M + 14]).toBe(0xee);
    expect(st.control).toBe(0x37f);
  });

  it('FXSAVE/FXRSTOR round trip with the abridged tag', () => {
    const st = createX87State();
    const h = new FakeHost();
    fldF64(st, h, 3.75);
    x(st, h, 0xd9, 0xee);
    fxsave(st, h, M);
    expect(h.mem[M + 4]).toBe(0xc0);
    expect(h.hex(M + 32, 10)).toBe('00000000000000000000'); // ST0 = +0
    expect(h.hex(M + 48, 10)).toBe('00000000000000f00040'); // ST1 = 3.75
    const st2 = createX87State();
    fxrstor(st2, h, M);
    expect(st2.tag).toBe(st.tag);
    expect(st2.status).toBe(st.status);
    x(st2, h, 0xdd, 0xd8); // FSTP ST0
    expect(fstpF64(st2, h)).toBe(3.75);
  });
});

describe('x87 precision control and exception details', () => {
  it('precision control "single" rounds the significand to 24 bits but keeps the exponent range', () => {
    const st = createX87State();
    const h = new FakeHost();
    h.view.setUint16(M, 0x07f, true); // PC=00, RC=nearest, all masked
    x(st, h, 0xd9, 5, M);
    fldF64(st, h, 3);
    fldF64(st, h, 1);
    x(st, h, 0xde, 0xf1); // FDIVRP ST1,ST0 = ST0 / ST1 = 1/3
    expect(fstpF64(st, h)).toBe(Math.fround(1 / 3));
    fldF64(st, h, 1e300);
    fldF64(st, h, 1);
    x(st, h, 0xde, 0xc9); // FMULP: 1e300 survives (no float32 overflow), rounded to 24 bits
    expect(fstpF64(st, h)).toBe(1e300 * (Math.fround(1e300 / 2 ** 996) / (1e300 / 2 ** 996)));
    expect(st.status & 0x08).toBe(0);
  });

  it('FST m32 overflow and underflow follow the rounding mode', () => {
    const h = new FakeHost();
    const store = (v: number, rc: number): [number, number] => {
      const st = createX87State();
      h.view.setUint16(M, 0x37f | (rc << 10), true);
      x(st, h, 0xd9, 5, M);
      fldF64(st, h, v);
      x(st, h, 0xd9, 3, M); // FSTP m32
      return [h.view.getFloat32(M, true), st.status & 0x3f];
    };
    expect(store(1e39, 0)).toEqual([Infinity, 0x28]);
    expect(store(1e39, 3)).toEqual([3.4028234663852886e38, 0x28]);
    expect(store(-1e39, 2)).toEqual([-3.4028234663852886e38, 0x28]);
    expect(store(1e-46, 0)).toEqual([0, 0x30]);
    expect(store(1e-46, 2)).toEqual([2 ** -149, 0x30]);
    expect(store(2 ** -140, 0)).toEqual([2 ** -140, 0]); // exact denormal: no underflow when masked
  });

  it('an unmasked invalid operation suppresses the store and the pop', () => {
    const st = createX87State();
    const h = new FakeHost();
    h.view.setUint16(M, 0x37e, true); // unmask IE
    x(st, h, 0xd9, 5, M);
    h.view.setUint32(M + 16, 0x11111111, true);
    x(st, h, 0xdd, 3, M + 16); // FSTP m64 of an empty register
    expect(h.view.getUint32(M + 16, true)).toBe(0x11111111);
    expect(top(st)).toBe(0);
    expect(st.status & 0x80c1).toBe(0x80c1);
    expect(x(st, h, 0xd9, 0xe8)).toBe(true); // next waiting instruction: #MF
  });

  it('FLDCW that unmasks a flagged exception makes it pending', () => {
    const st = createX87State();
    const h = new FakeHost();
    x(st, h, 0xd9, 0xe8);
    x(st, h, 0xd9, 0xee);
    x(st, h, 0xde, 0xf9); // 1/0, ZE masked
    expect(fwaitPending(st)).toBe(false);
    h.view.setUint16(M, 0x37b, true);
    x(st, h, 0xd9, 5, M);
    expect(fwaitPending(st)).toBe(true);
  });

  it('two QNaN operands give the one with the larger significand; FXAM reports sign and class', () => {
    const st = createX87State();
    const h = new FakeHost();
    h.view.setUint32(M, 0, true);
    h.view.setUint32(M + 4, 0xfff80001, true);
    h.view.setUint32(M + 8, 0, true);
    h.view.setUint32(M + 12, 0x7ff80002, true);
    x(st, h, 0xdd, 0, M);
    x(st, h, 0xdc, 0, M + 8); // FADD m64
    x(st, h, 0xd9, 0xe5);
    expect(st.status & 0x4700).toBe(0x100); // NaN, positive
    x(st, h, 0xdd, 3, M + 16);
    expect(h.view.getUint32(M + 20, true)).toBe(0x7ff80002);
    fldF64(st, h, -0);
    x(st, h, 0xd9, 0xe5);
    expect(st.status & 0x4700).toBe(0x4200); // zero, negative
  });
});

describe('the extended-precision fast path (x87-extended.ts)', () => {
  // Random 80-bit operands: full 64-bit significands, exponents close together (carries,
  // cancellation, alignment across every limb boundary) or far apart, both signs, and values
  // near the rounding point (ties and carries out of the significand).
  const rand = (() => {
    let s = 0x2545f491;
    return (): number => {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      return s >>> 0;
    };
  })();
  const operand = (near?: F80): F80 => {
    const v = new F80();
    const k = rand() % 8;
    const exp = near ? (near.se & 0x7fff) - (rand() % 100) + (k === 0 ? 0 : 30) : 16383 - 300 + (rand() % 600);
    let hi = (rand() | 0x80000000) >>> 0,
      lo = rand();
    if (k === 1) lo = (lo & ~0xffff) >>> 0; // short significands: exact sums and products
    if (k === 2) hi = 0xffffffff;
    if (k === 4) return v.set(rand() & 0x8000, 0, 0); // zeros of either sign
    if (k === 3 && near !== undefined && near.hi !== 0) {
      hi = near.hi; // equal magnitudes: exact cancellation, or a result one bit long
      lo = near.lo ^ (rand() & 3);
    }
    return v.set((rand() & 0x8000) | Math.max(1, Math.min(0x7ffe, exp)), hi, lo);
  };

  it("gives the 80-bit code's words, PE and C1 for add, subtract, multiply and divide (and reversed)", () => {
    const general = new F80();
    let taken = 0;
    for (let n = 0; n < 60000; n++) {
      const a = operand();
      const b = operand(rand() & 1 && a.hi !== 0 ? a : undefined);
      const op = [0, 1, 4, 5, 6, 7][n % 6]!;
      flags.exc = 0;
      flags.up = 0;
      if (!extendedArith(op, a.se, a.hi, a.lo, b.se, b.hi, b.lo)) continue;
      taken++;
      const fast = [extendedResult.se, extendedResult.hi >>> 0, extendedResult.lo >>> 0, flags.exc, flags.up];
      flags.exc = 0;
      flags.up = 0;
      if (op === 1) mul(general, a, b, 0x37f);
      else if (op === 6) div(general, a, b, 0x37f);
      else if (op === 7) div(general, b, a, 0x37f);
      else if (op === 5) add(general, b, a, true, 0x37f);
      else add(general, a, b, op === 4, 0x37f);
      expect(
        fast,
        `op ${op} of ${a.se.toString(16)}:${a.hi.toString(16)}:${a.lo.toString(16)} and ${b.se.toString(16)}:${b.hi.toString(16)}:${b.lo.toString(16)}`,
      ).toEqual([general.se, general.hi, general.lo, flags.exc, flags.up]);
    }
    // (Declined: the divisions by a zero.)
    expect(taken).toBeGreaterThan(57000);
  });

  it('doubles and squares one value (an operation on a register with itself) as the 80-bit code does', () => {
    const general = new F80();
    let taken = 0;
    for (let n = 0; n < 20000; n++) {
      const a = operand();
      const op = n % 2;
      flags.exc = 0;
      flags.up = 0;
      if (!extendedArith(op, a.se, a.hi, a.lo, a.se, a.hi, a.lo, true)) continue;
      taken++;
      const fast = [extendedResult.se, extendedResult.hi >>> 0, extendedResult.lo >>> 0, flags.exc, flags.up];
      flags.exc = 0;
      flags.up = 0;
      if (op === 1) mul(general, a, a, 0x37f);
      else add(general, a, a, false, 0x37f);
      expect(fast, `op ${op} of ${a.se.toString(16)}:${a.hi.toString(16)}:${a.lo.toString(16)}`).toEqual([
        general.se,
        general.hi,
        general.lo,
        flags.exc,
        flags.up,
      ]);
    }
    expect(taken).toBe(20000);
    // Outside the exponents taken, and not normal: declined.
    for (const [se, hi] of [
      [0x7ffe, 0x80000000],
      [1, 0x80000000],
      [0x3fff, 0x40000000],
      [0x7fff, 0x80000000],
    ] as const) {
      expect(extendedArith(0, se, hi, 0, se, hi, 0, true)).toBe(false);
      expect(extendedArith(1, se, hi, 0, se, hi, 0, true)).toBe(false);
    }
  });

  it('declines what it does not serve: denormals, infinities, NaNs, extreme exponents, zero divisors', () => {
    const one = [0x3fff, 0x80000000, 0];
    for (const other of [
      [0, 0x40000000, 0],
      [0, 0, 1],
      [0x7fff, 0x80000000, 0],
      [0x7fff, 0xc0000000, 0],
      [0x3fff, 0x40000000, 0], // unnormal
      [0x7ffe, 0x80000000, 0],
      [1, 0x80000000, 0],
    ])
      expect(extendedArith(1, one[0]!, one[1]!, one[2]!, other[0]!, other[1]!, other[2]!)).toBe(false);
    for (const [op, x, y] of [
      [6, one, [0, 0, 0]],
      [7, [0x8000, 0, 0], one],
      [6, [0, 0, 0], [0, 0, 0]],
    ] as const)
      expect(extendedArith(op, x[0], x[1], x[2], y[0], y[1], y[2])).toBe(false);
    expect(extendedArith(3, one[0]!, one[1]!, one[2]!, one[0]!, one[1]!, one[2]!)).toBe(false);
    expect(extendedCompare(one[0]!, one[1]!, one[2]!, 0x7fff, 0xc0000000, 0)).toBe(-1);
  });

  it('orders normal values and zeros as FCOMI does', () => {
    const eflags = [1, 64, 0]; // LESS, EQUAL, GREATER as ZF/PF/CF
    for (let n = 0; n < 20000; n++) {
      const a = rand() % 16 === 0 ? new F80().set(rand() & 0x8000, 0, 0) : operand();
      const b =
        rand() % 16 === 0
          ? new F80().set(rand() & 0x8000, 0, 0)
          : rand() % 4 === 0
            ? new F80().copy(a)
            : operand(a.hi !== 0 ? a : undefined);
      // Both as registers hold them (uint32 halves) and as runs pass them (int32).
      expect(extendedCompare(a.se, a.hi, a.lo, b.se, b.hi, b.lo)).toBe(eflags[compare(a, b, true)]);
      expect(extendedCompare(a.se, a.hi | 0, a.lo | 0, b.se, b.hi | 0, b.lo | 0)).toBe(eflags[compare(a, b, true)]);
    }
  });

  it('converts doubles to the words the FPU loads them as', () => {
    const st = createX87State();
    const h = new FakeHost();
    for (const v of [1, -1, 0, -0, Math.PI, -1e300, 2 ** -1022, 1 / 3]) {
      extendedOfDouble(v);
      fldF64(st, h, v);
      x(st, h, 0xdb, 7, M); // FSTP m80
      expect([extendedResult.lo >>> 0, extendedResult.hi >>> 0, extendedResult.se]).toEqual([
        h.view.getUint32(M, true),
        h.view.getUint32(M + 4, true),
        h.view.getUint16(M + 8, true),
      ]);
    }
  });
});
