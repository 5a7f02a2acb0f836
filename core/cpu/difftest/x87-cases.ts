// x87 differential cases: every arithmetic, comparison, load/store, constant, stack, environment
// and transcendental operation, with operands drawn to hit the edge classes of the 80-bit format
// (denormals, zeros, infinities, NaNs, unsupported encodings, extreme exponents, rounding ties)
// under every rounding and precision control. Results are compared bit for bit (all 80 bits of
// each register, status and tag words); transcendentals within one unit in the 64th bit.

import { ARITH_FLAGS, baseCase, hex, le, Rng, type DiffCase } from './cases';
import { DATA_BASE } from './layout';

// ---------------------------------------------------------------------------------------------
// x87 directed cases. Operands are loaded from the window; results stay on the stack (compared
// as ST registers) and are stored to the window; FNSTSW records the status word.

const X87_IN = 0x40; // input area: 8 doubles at 0x40..0x7f
const X87_OUT = 0x100; // output area
const X87_STATUS = 0x1a0;

function f64Bytes(v: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, v, true);
  return b;
}

function randomDouble(rng: Rng, wide: boolean): number {
  const r = rng.below(10);
  if (r === 0) return rng.pick([0, -0, 1, -1, 0.5, 2, 3, 10, 1e10, -1e-10, 0.1, 1 / 3]);
  const mant = (rng.u32() / 4294967296 + rng.u32() / 2 ** 64 + 1) * (rng.below(2) ? -1 : 1);
  const exp = wide ? rng.below(200) - 100 : rng.below(40) - 20;
  return mant * 2 ** exp;
}

/** Specials that keep arithmetic inside float64's range (no denormals, no huge values). */
function arithSpecial(rng: Rng): number {
  return rng.pick([0, -0, Infinity, -Infinity, NaN, 1, -1, 1.5]);
}

function specialDouble(rng: Rng): number {
  return rng.pick([0, -0, Infinity, -Infinity, NaN, 1, -1, 2 ** -1074, -(2 ** -1022), Number.MAX_VALUE, 1.5, -2.75]);
}

/** A control word: all exceptions masked, the given precision and rounding controls. */
function cw(pc: number, rcMode: number): number {
  return 0x40 | 0x3f | (pc << 8) | (rcMode << 10);
}

function x87Case(
  rng: Rng,
  form: string,
  body: string,
  values: number[],
  fcw: number,
  ulps = 0,
  fswMask = 0xffff,
): DiffCase {
  const c = baseCase(rng, form, '', '');
  values.forEach((v, i) => c.window.set(f64Bytes(v), X87_IN + 8 * i));
  c.asm = `${body}\n    fnstsw [${hex(DATA_BASE + X87_STATUS)}]`;
  c.fcw = fcw;
  c.fpuUlps = ulps;
  c.fswMask = fswMask;
  c.inputs = `values=${values.map((v) => (Object.is(v, -0) ? '-0' : String(v))).join(',')} fcw=${hex(fcw)}`;
  return c;
}

const IN = (i: number): string => `qword [${hex(DATA_BASE + X87_IN + 8 * i)}]`;
const IN32 = (i: number): string => `dword [${hex(DATA_BASE + X87_IN + 8 * i)}]`;
const OUT = (i: number, w = 'qword'): string => `${w} [${hex(DATA_BASE + X87_OUT + 16 * i)}]`;

export function x87Cases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const push = (c: DiffCase): void => {
    out.push(c);
  };
  const C1 = 0x200;

  // Binary arithmetic at double precision control in all four rounding modes: exact results.
  const arith = ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr'];
  for (const op of arith) {
    const forms = [
      `    fld ${IN(0)}\n    ${op} ${IN(1)}`,
      `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op} st0, st1`,
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    ${op} st1, st0`,
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    ${op}p st1, st0`,
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    fld1\n    ${op} st2, st0`,
      `    fld ${IN(0)}\n    fld dword [${hex(DATA_BASE + X87_IN + 32)}]\n    ${op} st1, st0\n    fstp ${OUT(1)}`,
      `    fld ${IN(0)}\n    ${op} ${IN32(5)}`,
    ];
    forms.forEach((body, fi) => {
      for (let k = 0; k < 24; k++) {
        const rcMode = k & 3;
        // Precision control double (exact here) and, for some cases, single.
        const pc = k >= 16 && k < 20 ? 0 : 2;
        const vals = [randomDouble(rng, true), randomDouble(rng, true), 0, 0, 0, 0];
        if (k >= 12 && k < 16) vals[rng.below(2)] = arithSpecial(rng);
        if (k >= 20) {
          // Far-apart exponents whose result still fits a double (the rescaling paths).
          const big = (1 + rng.u32() / 2 ** 32) * 2 ** (420 + rng.below(150));
          const small = (1 + rng.u32() / 2 ** 32) * 2 ** -(420 + rng.below(150));
          const same = (1 + rng.u32() / 2 ** 32) * 2 ** (420 + rng.below(150));
          const pair = op.startsWith('fdiv') ? [big, same] : [big, small];
          vals[0] = pair[k & 1]! * (rng.below(2) ? -1 : 1);
          vals[1] = pair[(k + 1) & 1]!;
        }
        const f32 = Math.fround(randomDouble(rng, false));
        const c = x87Case(rng, `x87 ${op} form ${fi}`, `${body}\n    fst ${OUT(0)}`, vals, cw(pc, rcMode));
        c.window.set(new Uint8Array(new Float32Array([f32]).buffer), X87_IN + 32);
        c.window.set(new Uint8Array(new Float32Array([f32]).buffer), X87_IN + 40);
        push(c);
      }
    });
  }
  // The Linux default precision control (extended).
  for (const op of [...arith, 'fsqrt']) {
    for (let k = 0; k < 8; k++) {
      const body = op === 'fsqrt' ? `    fld ${IN(0)}\n    fsqrt` : `    fld ${IN(0)}\n    ${op} ${IN(1)}`;
      const a = op === 'fsqrt' ? Math.abs(randomDouble(rng, true)) : randomDouble(rng, true);
      const c = x87Case(
        rng,
        `x87 ${op} (extended precision control)`,
        body,
        [a, randomDouble(rng, true)],
        cw(3, k & 3),
      );
      push(c);
    }
  }
  // Integer-operand arithmetic.
  for (const op of ['fiadd', 'fisub', 'fisubr', 'fimul', 'fidiv', 'fidivr', 'ficom', 'ficomp']) {
    for (const w of ['word', 'dword']) {
      for (let k = 0; k < 10; k++) {
        const c = x87Case(
          rng,
          `x87 ${op} m${w === 'word' ? 16 : 32}`,
          `    fld ${IN(0)}\n    ${op} ${w} [${hex(DATA_BASE + X87_IN + 8)}]`,
          [randomDouble(rng, false)],
          cw(2, k & 3),
        );
        const iv = rng.pick([0, 1, -1, 7, -32768, 32767, 0x7fffffff, -0x80000000, rng.u32() | 0]);
        new DataView(c.window.buffer).setInt32(X87_IN + 8, iv, true);
        push(c);
      }
    }
  }
  // Unary operations with exact results.
  for (const op of ['fsqrt', 'fabs', 'fchs', 'frndint', 'fxtract', 'fscale', 'fprem', 'fprem1', 'ftst', 'fxam']) {
    for (let k = 0; k < 24; k++) {
      const rcMode = k & 3;
      let vals = [randomDouble(rng, true), randomDouble(rng, false)];
      if (op === 'frndint') vals = [rng.pick([0.5, 1.5, 2.5, -0.5, -2.5, 3.7, -3.7, 1e20, 0.49999999999999994]), 0];
      if (op === 'fscale') vals = [randomDouble(rng, true), rng.below(80) - 40 + rng.below(10) / 10];
      if (k >= 20) vals[0] = arithSpecial(rng);
      const body = `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op}`;
      push(x87Case(rng, `x87 ${op}`, body, vals, cw(2, rcMode)));
    }
  }
  // Quotients of a few hundred: the low three quotient bits land in C0/C3/C1.
  for (let k = 0; k < 16; k++) {
    const y = randomDouble(rng, false);
    const x = y * (rng.below(1000) + rng.below(100) / 100);
    const body = `    fld ${IN(1)}\n    fld ${IN(0)}\n    fprem\n    fxch\n    fld ${IN(0)}\n    fprem1`;
    push(x87Case(rng, 'x87 fprem quotient bits', body, [x, y], 0x37f));
  }
  // Partial remainders: exponent gaps of 64 and more leave C2 set and reduce in steps.
  const gaps: [number, number][] = [
    [1e30, 3],
    [1e300, 7],
    [2 ** 100 + 12345, 3],
    [-(2 ** 80) * 1.7, 1.3],
    [2 ** 64 * 1.5, 1],
    [2 ** 63 * 1.25, 1.1],
    [2 ** 70 * 1.3, 1.7],
  ];
  for (const [x, y] of gaps) {
    for (const op of ['fprem', 'fprem1']) {
      push(
        x87Case(
          rng,
          `x87 ${op} partial`,
          `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op}\n    fnstsw ax\n    ${op}`,
          [x, y],
          0x37f,
        ),
      );
    }
  }
  // Transcendentals: within one unit in the 64th bit of the real FPU's result (which may itself be
  // that far from the true value); C1 (rounded up) and the stored double follow from that bit.
  for (const op of ['fsin', 'fcos', 'fsincos', 'fptan', 'fpatan', 'f2xm1', 'fyl2x', 'fyl2xp1']) {
    for (let k = 0; k < 12; k++) {
      let vals = [randomDouble(rng, false), randomDouble(rng, false)];
      if (op === 'f2xm1' || op === 'fyl2xp1')
        vals = [(rng.u32() / 4294967296 - 0.5) * (op === 'f2xm1' ? 2 : 0.5), randomDouble(rng, false)];
      if (op === 'fyl2x') vals[0] = Math.abs(vals[0]!);
      if (op === 'fsin' || op === 'fcos' || op === 'fsincos' || op === 'fptan')
        vals[0] = (rng.u32() / 4294967296 - 0.5) * 3;
      const body = `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op}\n    fst ${OUT(0)}`;
      const c = x87Case(rng, `x87 ${op}`, body, vals, 0x37f, 1, ~C1 & 0xffff);
      c.ignore = [
        [X87_OUT, X87_OUT + 8],
        [X87_STATUS + 1, X87_STATUS + 2],
      ];
      push(c);
    }
  }
  // Edge operands: out-of-range trigonometry leaves the operand and sets C2; invalid and
  // divide-by-zero cases of FPREM, FXTRACT, FSCALE, FYL2X, FSQRT.
  const edges: [string, number, number][] = [
    ['fsin', 2 ** 63, 0],
    ['fcos', -1e20, 0],
    ['fptan', 2 ** 64, 0],
    ['fsincos', 1e300, 0],
    ['fsin', Infinity, 0],
    ['fprem', 5, 0],
    ['fprem', Infinity, 2],
    ['fprem1', -0, 3],
    ['fxtract', 0, 0],
    ['fxtract', -Infinity, 0],
    ['fscale', 1.5, -Infinity],
    ['fscale', 0, Infinity],
    ['fscale', 3, -10.7],
    ['fyl2x', 0, 2],
    ['fyl2x', -1, 2],
    ['fyl2x', 1, Infinity],
    ['fsqrt', -4, 0],
    ['fsqrt', -0, 0],
    ['f2xm1', -Infinity, 0],
    ['fpatan', 0, -0],
    ['frndint', Infinity, 0],
  ];
  for (const [op, x, y] of edges) {
    push(x87Case(rng, `x87 ${op} edge operands`, `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op}`, [x, y], 0x37f));
  }
  // Comparisons with memory operands.
  for (const op of ['fcom', 'fcomp']) {
    for (const w of ['dword', 'qword']) {
      for (let k = 0; k < 10; k++) {
        const a = k < 3 ? specialDouble(rng) : randomDouble(rng, false);
        const b = k % 3 === 0 ? a : randomDouble(rng, false);
        const c = x87Case(
          rng,
          `x87 ${op} m${w === 'dword' ? 32 : 64}`,
          `    fld ${IN(0)}\n    ${op} ${w} [${hex(DATA_BASE + X87_IN + 8)}]`,
          [a, w === 'dword' ? Math.fround(b) : b],
          0x37f,
        );
        if (w === 'dword') new DataView(c.window.buffer).setFloat32(X87_IN + 8, b, true);
        push(c);
      }
    }
  }
  // Comparisons.
  for (const op of ['fcom', 'fcomp', 'fcompp', 'fucom', 'fucomp', 'fucompp', 'fcomi', 'fcomip', 'fucomi', 'fucomip']) {
    for (let k = 0; k < 14; k++) {
      const a = k < 4 ? specialDouble(rng) : randomDouble(rng, false);
      const b = k % 3 === 0 ? a : k % 5 === 0 ? specialDouble(rng) : randomDouble(rng, false);
      const operand = op.endsWith('pp') ? '' : op.includes('comi') ? ' st0, st1' : ' st1';
      const body = `    fld ${IN(1)}\n    fld ${IN(0)}\n    ${op}${operand}\n    pushfd\n    pop eax`;
      const c = x87Case(rng, `x87 ${op}`, body, [a, b], 0x37f);
      push(c);
    }
  }
  // Stores to memory with every rounding mode, including integer and BCD conversions.
  const stores: [string, string][] = [
    ['fst m32', `fst dword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fstp m32', `fstp dword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fstp m64', `fstp qword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fstp m80', `fstp tword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fist m16', `fist word [${hex(DATA_BASE + X87_OUT)}]`],
    ['fistp m16', `fistp word [${hex(DATA_BASE + X87_OUT)}]`],
    ['fist m32', `fist dword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fistp m32', `fistp dword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fistp m64', `fistp qword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fbstp', `fbstp tword [${hex(DATA_BASE + X87_OUT)}]`],
  ];
  for (const [name, ins] of stores) {
    for (let k = 0; k < 24; k++) {
      let v: number;
      if (name.startsWith('fist') || name === 'fbstp') {
        v = rng.pick([
          0.5,
          1.5,
          -2.5,
          2.4999,
          -0.7,
          32767.5,
          -32768.5,
          40000,
          2147483647.5,
          -2147483648.4,
          3e9,
          2 ** 62 + 2048,
          -(2 ** 63),
          2 ** 63,
          1e18,
          123456789.75,
        ]);
        if (k >= 18) v = (rng.u32() * (rng.below(2) ? 1 : -1)) / 2 ** rng.below(12);
      } else
        v =
          k < 6
            ? specialDouble(rng)
            : k < 12
              ? randomDouble(rng, true)
              : randomDouble(rng, false) * 2 ** (rng.below(300) - 150);
      if (name.endsWith('m32') && !name.startsWith('fist') && k >= 20)
        v = rng.pick([3.5e38, -3.5e38, 1e-39, 1e-46, 1.17549435e-38]);
      push(x87Case(rng, `x87 ${name}`, `    fld ${IN(0)}\n    ${ins}`, [v], cw(3, k & 3)));
    }
  }
  // Loads: every memory format, with special and random bit patterns.
  for (let k = 0; k < 40; k++) {
    const c = x87Case(
      rng,
      'x87 fld m32/m64 bit patterns',
      `    fld dword [${hex(DATA_BASE + X87_IN)}]\n    fld qword [${hex(DATA_BASE + X87_IN + 8)}]\n    fld st1\n    fstp tword [${hex(DATA_BASE + X87_OUT)}]\n    fld st0\n    fstp tword [${hex(DATA_BASE + X87_OUT + 16)}]`,
      [],
      0x37f,
    );
    const dv = new DataView(c.window.buffer);
    const pats32 = [0x7f800001, 0xffc00000, 0x7fc12345, 0x00000001, 0x80400000, 0x7f800000, rng.u32()];
    const pats64hi = [0x7ff00000, 0xfff80000, 0x7ff40000, 0x00000000, 0x800fffff, rng.u32()];
    dv.setUint32(X87_IN, rng.pick(pats32), true);
    dv.setUint32(X87_IN + 8, rng.u32(), true);
    dv.setUint32(X87_IN + 12, rng.pick(pats64hi), true);
    push(c);
  }
  for (let k = 0; k < 20; k++) {
    // 80-bit values that a double holds exactly, and specials.
    const v = k < 8 ? specialDouble(rng) : randomDouble(rng, true);
    const body = `    fld ${IN(0)}\n    fstp tword [${hex(DATA_BASE + X87_IN + 16)}]\n    fld tword [${hex(DATA_BASE + X87_IN + 16)}]\n    fld st0\n    fstp qword [${hex(DATA_BASE + X87_OUT)}]`;
    push(x87Case(rng, 'x87 fld m80', body, [v], 0x37f));
  }
  for (const [name, ins, bytes] of [
    ['fild m16', 'fild word', 2],
    ['fild m32', 'fild dword', 4],
    ['fild m64', 'fild qword', 8],
    ['fbld', 'fbld tword', 10],
  ] as const) {
    for (let k = 0; k < 16; k++) {
      const c = x87Case(
        rng,
        `x87 ${name}`,
        `    ${ins} [${hex(DATA_BASE + X87_IN)}]\n    fst qword [${hex(DATA_BASE + X87_OUT)}]`,
        [],
        0x37f,
      );
      const dv = new DataView(c.window.buffer);
      if (bytes === 8) {
        dv.setInt32(X87_IN, rng.u32() | 0, true);
        dv.setInt32(X87_IN + 4, k < 8 ? rng.u32() | 0 : rng.pick([0, -1, 0x7fffffff, -0x80000000]), true);
      } else if (bytes === 10) {
        for (let i = 0; i < 7; i++) c.window[X87_IN + i] = (rng.below(10) << 4) | rng.below(10);
        c.window[X87_IN + 7] = c.window[X87_IN + 8] = 0;
        c.window[X87_IN + 9] = rng.below(2) ? 0x80 : 0;
      } else {
        for (let i = 0; i < bytes; i++) c.window[X87_IN + i] = rng.u32() & 0xff;
      }
      push(c);
    }
  }
  // Constants: the last bit follows the rounding control.
  for (const op of ['fld1', 'fldz', 'fldpi', 'fldl2e', 'fldl2t', 'fldlg2', 'fldln2']) {
    for (let rcMode = 0; rcMode < 4; rcMode++) {
      push(x87Case(rng, `x87 ${op}`, `    ${op}\n    fst qword [${hex(DATA_BASE + X87_OUT)}]`, [], cw(3, rcMode)));
    }
  }
  // Stack management, overflow and underflow.
  const stackOps: [string, string][] = [
    ['fxch', `    fld ${IN(0)}\n    fld ${IN(1)}\n    fxch st1\n    fld1\n    fxch st2`],
    ['fld st(i)', `    fld ${IN(0)}\n    fld ${IN(1)}\n    fld st1\n    fld st1`],
    ['fst st(i)', `    fld ${IN(0)}\n    fld ${IN(1)}\n    fld1\n    fst st2\n    fstp st1`],
    [
      'ffree/fincstp/fdecstp',
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    ffree st1\n    fincstp\n    fdecstp\n    fdecstp`,
    ],
    ['overflow', `    fld1\n    fld1\n    fld1\n    fld1\n    fld1\n    fld1\n    fld1\n    fld1\n    fld ${IN(0)}`],
    ['underflow fadd', `    fld ${IN(0)}\n    fadd st0, st3`],
    ['underflow fstp m64', `    fstp qword [${hex(DATA_BASE + X87_OUT)}]`],
    ['underflow fistp', `    fistp dword [${hex(DATA_BASE + X87_OUT)}]`],
    ['fnop/fnclex', `    fld1\n    fldz\n    fdivp st1\n    fnop\n    fnstsw ax\n    fnclex`],
    ['fninit', `    fld ${IN(0)}\n    fninit`],
    [
      'fcmov (all conditions)',
      ['fcmovb', 'fcmove', 'fcmovbe', 'fcmovu', 'fcmovnb', 'fcmovne', 'fcmovnbe', 'fcmovnu']
        .map((op, i) => `    fld ${IN(0)}\n    fld ${IN(1)}\n    ${op} st0, st1\n    fstp ${OUT(i)}\n    fstp st0`)
        .join('\n'),
    ],
    ['fxam empty', `    fxam\n    fnstsw ax\n    fld1\n    ffree st0\n    fxam`],
    ['fxam classes', `    fld ${IN(0)}\n    fxam\n    fnstsw ax\n    fld ${IN(1)}\n    fxam`],
    [
      'fcmov',
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    fcmovb st0, st1\n    fld ${IN(1)}\n    fcmovne st0, st2\n    fld ${IN(1)}\n    fcmovbe st0, st3\n    fld ${IN(1)}\n    fcmovnu st0, st4`,
    ],
    [
      'fldcw/fnstcw',
      `    mov word [${hex(DATA_BASE + X87_OUT)}], 0x0c7f\n    fldcw [${hex(DATA_BASE + X87_OUT)}]\n    fld ${IN(0)}\n    frndint\n    fnstcw [${hex(DATA_BASE + X87_OUT + 2)}]`,
    ],
    ['fnstsw ax', `    fld ${IN(0)}\n    ftst\n    fnstsw ax`],
  ];
  for (const [name, body] of stackOps) {
    for (let k = 0; k < 6; k++) {
      const values = name.includes('classes')
        ? [specialDouble(rng), specialDouble(rng)]
        : [randomDouble(rng, false), randomDouble(rng, false)];
      const c = x87Case(rng, `x87 ${name}`, body, values, 0x37f);
      c.eflags = rng.u32() & ARITH_FLAGS;
      push(c);
    }
  }
  // Unmasked exceptions: the faulting instruction completes, the next waiting one raises #MF.
  const mf: [string, string][] = [
    ['#MF on fwait', `    fld1\n    fldz\n    fdivp st1, st0\n    fnstsw ax\n    fwait`],
    ['#MF on next x87 instruction', `    fld ${IN(0)}\n    fsqrt\n    fnstsw ax\n    fnop`],
    [
      'no #MF for FNSTENV/FNCLEX',
      `    fld1\n    fldz\n    fdivp st1, st0\n    fnstenv [${hex(DATA_BASE + X87_OUT)}]\n    fnclex\n    fwait`,
    ],
    ['#MF on stack underflow', `    fadd st0, st1\n    fld1`],
  ];
  for (const [name, body] of mf) {
    for (let k = 0; k < 3; k++) {
      const c = x87Case(rng, `x87 ${name}`, body, [-1 - rng.below(100)], 0x360 | (k << 10));
      c.ignore = [[X87_OUT + 12, X87_OUT + 28]];
      push(c);
    }
  }
  // FXSAVE/FXRSTOR: the image goes to the second half of the data pages and its FPU part is
  // copied back into the compared window. Pointer fields and MXCSR_MASK are not compared.
  const FX = DATA_BASE + 0x400;
  const fx: [string, string][] = [
    ['fxsave', `    fld ${IN(0)}\n    fld1\n    fldz\n    fxsave [${hex(FX)}]`],
    [
      'fxsave/fxrstor',
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    fxsave [${hex(FX)}]\n    fninit\n    fld1\n    fxrstor [${hex(FX)}]\n    fxsave [${hex(FX)}]`,
    ],
  ];
  for (const [name, body] of fx) {
    for (let k = 0; k < 4; k++) {
      const copy = `\n    mov esi, ${hex(FX)}\n    mov edi, ${hex(DATA_BASE + X87_OUT)}\n    mov ecx, 40\n    cld\n    rep movsd`;
      const c = x87Case(rng, `x87 ${name}`, body + copy, [randomDouble(rng, false), specialDouble(rng)], cw(3, k));
      const image = FX - DATA_BASE;
      c.ignore = [
        [X87_OUT + 6, X87_OUT + 24],
        [X87_OUT + 28, X87_OUT + 32],
        [image + 6, image + 24],
        [image + 28, image + 32],
        [image + 160, image + 512], // XMM registers: there is no SSE unit here
      ];
      push(c);
    }
  }
  // Undocumented aliases that real FPUs execute (FCOM2, FCOMP3, FCOMP5, FXCH4, FXCH7, FSTP1,
  // FSTP8, FSTP9) and FFREEP.
  const aliases = ['dc d1', 'dc d9', 'de d1', 'dd c9', 'df c9', 'd9 d9', 'df d1', 'df d9', 'df c1'];
  for (const enc of aliases) {
    for (let k = 0; k < 2; k++) {
      const bytes = enc.split(' ').map((b) => '0x' + b);
      const body = `    fld ${IN(0)}\n    fld ${IN(1)}\n    fld1\n    db ${bytes.join(',')}\n    fnstsw ax`;
      push(
        x87Case(
          rng,
          'x87 alias encodings',
          body,
          [randomDouble(rng, false), k ? NaN : randomDouble(rng, false)],
          0x37f,
        ),
      );
    }
  }
  // Reserved escape encodings raise #UD (or are the 8087 leftovers that do nothing). FISTTP
  // (DB /1, DD /1, DF /1) is SSE3 and deliberately absent from this i386-class FPU.
  const reserved = [
    'd9 d1',
    'd9 d7',
    'd9 e2',
    'd9 e3',
    'd9 e6',
    'd9 e7',
    'd9 ef',
    'da e8',
    'da f0',
    'db e5',
    'db e6',
    'db f8',
    'de d8',
    'df e1',
    'df f8',
    'db e0',
    'db e1',
    'db e4',
  ];
  const reservedMem = ['d9 0d', 'dd 2d', 'db 25', 'db 35'];
  for (const enc of [...reserved, ...reservedMem]) {
    const bytes = enc.split(' ').map((b) => '0x' + b);
    if (reservedMem.includes(enc)) bytes.push(...le(DATA_BASE + X87_OUT, 4).map(hex));
    push(
      x87Case(
        rng,
        'x87 reserved encodings',
        `    fld ${IN(0)}\n    db ${bytes.join(',')}\n    fnstsw ax`,
        [randomDouble(rng, false)],
        0x37f,
      ),
    );
  }
  // Environment images: the instruction/operand pointer fields differ (CS selector and real
  // addresses) and are excluded; everything else is compared.
  const env: [string, string, [number, number][]][] = [
    [
      'fnstenv',
      `    fld ${IN(0)}\n    fld1\n    fnstenv [${hex(DATA_BASE + X87_OUT)}]`,
      [[X87_OUT + 12, X87_OUT + 28]],
    ],
    ['fnsave', `    fld ${IN(0)}\n    fldz\n    fnsave [${hex(DATA_BASE + X87_OUT)}]`, [[X87_OUT + 12, X87_OUT + 28]]],
    [
      'fnsave/frstor',
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    fnsave [${hex(DATA_BASE + X87_OUT)}]\n    fld1\n    frstor [${hex(DATA_BASE + X87_OUT)}]`,
      [[X87_OUT + 12, X87_OUT + 28]],
    ],
    [
      'fnstenv/fldenv',
      `    fld ${IN(0)}\n    fnstenv [${hex(DATA_BASE + X87_OUT)}]\n    fld1\n    fld1\n    fldenv [${hex(DATA_BASE + X87_OUT)}]`,
      [[X87_OUT + 12, X87_OUT + 28]],
    ],
    ['fnstenv o16', `    fld ${IN(0)}\n    o16 fnstenv [${hex(DATA_BASE + X87_OUT)}]`, [[X87_OUT + 6, X87_OUT + 14]]],
    [
      'fldenv of an edited image (tags, TOP, flags)',
      `    fld ${IN(0)}\n    fld1\n    fnstenv [${hex(DATA_BASE + X87_OUT)}]\n    mov word [${hex(DATA_BASE + X87_OUT + 8)}], 0xf3ff\n    or word [${hex(DATA_BASE + X87_OUT + 4)}], 0x0421\n    fldenv [${hex(DATA_BASE + X87_OUT)}]\n    fxam\n    fnstsw ax\n    fincstp\n    fxam`,
      [[X87_OUT + 12, X87_OUT + 28]],
    ],
    [
      'o16 fnsave/frstor',
      `    fld ${IN(0)}\n    fld ${IN(1)}\n    o16 fnsave [${hex(DATA_BASE + X87_OUT)}]\n    fld1\n    o16 frstor [${hex(DATA_BASE + X87_OUT)}]`,
      [[X87_OUT + 6, X87_OUT + 14]],
    ],
  ];
  for (const [name, body, ignore] of env) {
    for (let k = 0; k < 4; k++) {
      const c = x87Case(rng, `x87 ${name}`, body, [randomDouble(rng, false), specialDouble(rng)], cw(3, k));
      c.ignore = ignore;
      push(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Cases on 80-bit operands (loaded with FLD m80, so every encoding reaches the registers).

type Extended = [se: number, hi: number, lo: number];

const EXT_A = 0x40; // first operand (10 bytes)
const EXT_B = 0x50; // second operand (10 bytes), or an m16/m32/m64 operand
const TW = (at: number): string => `tword [${hex(DATA_BASE + at)}]`;
const BIAS = 16383;

/** Exponents where results cross the double/single/extended ranges or round at a boundary. */
function edgeExponent(rng: Rng): number {
  return rng.pick([
    1,
    2,
    3,
    64,
    0x7ffe,
    0x7ffd,
    0x7fc0,
    BIAS,
    BIAS - 1,
    BIAS + 63,
    BIAS + 64,
    BIAS - 1022 - rng.below(60),
    BIAS + 1023 + rng.below(2),
    BIAS - 126 - rng.below(30),
    BIAS + 127 + rng.below(2),
    BIAS + 15 + rng.below(50),
  ]);
}

/** A significand with the patterns that matter for rounding at 24, 53 and 64 bits. */
function significand(rng: Rng): [number, number] {
  const hi = (rng.u32() | 0x80000000) >>> 0;
  const lo = rng.u32();
  switch (rng.below(8)) {
    case 0: // tie or near-tie at 53 bits
      return [hi, ((lo & ~0x7ff) | rng.pick([0x400, 0x3ff, 0x401, 0])) >>> 0];
    case 1: // tie or near-tie at 24 bits
      return [((hi & ~0xff) | rng.pick([0x80, 0x7f, 0x81])) >>> 0, rng.pick([0, 1, 0xffffffff])];
    case 2: // all ones (rounding carries into the exponent)
      return [rng.pick([0xffffffff, 0xffffff80, 0xffffff00]), rng.pick([0xffffffff, 0xfffffc00, 0xfffff800, 0])];
    case 3: // exactly a power of two, or just above
      return [0x80000000, rng.pick([0, 1, 0x800])];
    case 4: // few significant bits (exact results)
      return [(hi & 0xfff00000) >>> 0, 0];
    default:
      return [hi, lo];
  }
}

function randomExtended(rng: Rng): Extended {
  const sign = rng.below(2) << 15;
  const r = rng.below(40);
  if (r < 16) {
    const [hi, lo] = significand(rng);
    return [sign | (BIAS + rng.below(140) - 70), hi, lo];
  }
  if (r < 24) {
    const [hi, lo] = significand(rng);
    return [sign | edgeExponent(rng), hi, lo];
  }
  switch (r) {
    case 24:
    case 25:
      return [sign, 0, 0];
    case 26:
    case 27: {
      // Denormal: integer bit clear, exponent 0.
      const [hi, lo] = significand(rng);
      const k = 1 + rng.below(63);
      return k >= 32 ? [sign, 0, (hi >>> (k - 32)) >>> 0] : [sign, hi >>> k, ((lo >>> k) | (hi << (32 - k))) >>> 0];
    }
    case 28:
      return [sign, (rng.u32() | 0x80000000) >>> 0, rng.u32()]; // pseudo-denormal
    case 29:
    case 30:
      return [sign | 0x7fff, 0x80000000, 0]; // infinity
    case 31:
      return [sign | 0x7fff, (rng.u32() | 0xc0000000) >>> 0, rng.u32()]; // QNaN
    case 32:
      return [sign | 0x7fff, ((rng.u32() & 0x3fffffff) | 0x80000000 | 1) >>> 0, rng.u32()]; // SNaN
    case 33:
      return [0xffff, 0xc0000000, 0]; // the real indefinite
    case 34:
      return [sign | (1 + rng.below(0x7ffe)), rng.u32() & 0x7fffffff, rng.u32()]; // unnormal
    case 35:
      return [sign | 0x7fff, rng.pick([0, 0x40000000, 0x12345678]), rng.pick([0, 1])]; // pseudo-inf/NaN
    default: {
      const [hi, lo] = significand(rng);
      return [sign | (BIAS + rng.below(8)), hi, lo];
    }
  }
}

/** A second operand near the first (cancellation, equal exponents, ties in a sum). */
function nearby(rng: Rng, a: Extended): Extended {
  const e = a[0] & 0x7fff;
  if (e === 0 || e === 0x7fff || rng.below(2)) return randomExtended(rng);
  const sign = rng.below(2) << 15;
  const shift = rng.pick([0, 0, 1, 2, 11, 40, 63, 64, 65]);
  const lo = (a[2] ^ (rng.below(4) === 0 ? 0 : 1 << rng.below(32))) >>> 0;
  return [sign | Math.max(1, e - shift), a[1], lo];
}

function setExtended(window: Uint8Array, at: number, v: Extended): void {
  const dv = new DataView(window.buffer, window.byteOffset);
  dv.setUint32(at, v[2], true);
  dv.setUint32(at + 4, v[1], true);
  dv.setUint16(at + 8, v[0], true);
}

const extHex = (v: Extended): string =>
  v[0].toString(16).padStart(4, '0') + v[1].toString(16).padStart(8, '0') + v[2].toString(16).padStart(8, '0');

/** A case on operands a (and b) in m80 form; `fcw` from the given precision/rounding controls. */
function extendedCase(rng: Rng, form: string, body: string, a: Extended, b: Extended | null, fcw: number): DiffCase {
  const c = baseCase(rng, form, '', '');
  setExtended(c.window, EXT_A, a);
  if (b) setExtended(c.window, EXT_B, b);
  c.asm = `${body}\n    fnstsw [${hex(DATA_BASE + X87_STATUS)}]`;
  c.fcw = fcw;
  c.inputs = `a=${extHex(a)}${b ? ` b=${extHex(b)}` : ''} fcw=${hex(fcw)}`;
  return c;
}

/** All-masked control words over the three precision and four rounding controls. */
const CONTROLS = [0, 2, 3].flatMap((pc) => [0, 1, 2, 3].map((rcMode) => cw(pc, rcMode)));

/** A control word with random exception masks (unmasked exceptions deliver biased results). */
function randomMasks(rng: Rng): number {
  return (rng.pick(CONTROLS) & ~0x3f) | (rng.u32() & 0x3f);
}

export function x87ExtendedCases(seed: number): DiffCase[] {
  const rng = new Rng(seed);
  const out: DiffCase[] = [];
  const loadAB = `    fld ${TW(EXT_A)}\n    fld ${TW(EXT_B)}`;
  // Binary arithmetic: register forms (ST(1) op ST(0), ST(0) op ST(1), popping) under every
  // control word, on edge-class operands.
  for (const op of ['fadd', 'fsub', 'fsubr', 'fmul', 'fdiv', 'fdivr']) {
    const forms = [`${loadAB}\n    ${op} st1, st0`, `${loadAB}\n    ${op} st0, st1`, `${loadAB}\n    ${op}p st1, st0`];
    for (const fcw of CONTROLS) {
      for (let k = 0; k < 24; k++) {
        const a = randomExtended(rng);
        const b = k & 1 ? nearby(rng, a) : randomExtended(rng);
        out.push(extendedCase(rng, `x87 ${op} m80 operands`, forms[k % 3]!, a, b, fcw));
      }
    }
    // Unmasked exceptions: the result is delivered with a biased exponent, or suppressed.
    for (let k = 0; k < 16; k++) {
      const a: Extended = [(rng.below(2) << 15) | edgeExponent(rng), ...significand(rng)];
      const b = randomExtended(rng);
      out.push(extendedCase(rng, `x87 ${op} unmasked`, forms[k % 3]!, a, b, randomMasks(rng)));
    }
    // Memory operands m32/m64 (raw bit patterns) and m16/m32 integers.
    for (const [w, bytes] of [
      ['dword', 4],
      ['qword', 8],
      ['word', 2],
      ['dword', 4],
    ] as const) {
      const iop = bytes === 2 || (w === 'dword' && out.length % 2 === 1) ? op.replace(/^f/, 'fi') : op;
      for (let k = 0; k < 12; k++) {
        const c = extendedCase(
          rng,
          `x87 ${iop} m${bytes * 8}`,
          `    fld ${TW(EXT_A)}\n    ${iop} ${w} [${hex(DATA_BASE + EXT_B)}]`,
          randomExtended(rng),
          null,
          rng.pick(CONTROLS),
        );
        const dv = new DataView(c.window.buffer);
        if (iop !== op) {
          dv.setUint32(EXT_B, rng.pick([rng.u32(), 0, 1, 0xffffffff, 0x80000000, 0x7fffffff, 0x8000]), true);
        } else if (bytes === 4) {
          dv.setUint32(EXT_B, rng.pick([rng.u32(), 0x7f800001, 0x00000003, 0x80400000, 0x7f800000, 0]), true);
        } else {
          dv.setUint32(EXT_B, rng.u32(), true);
          dv.setUint32(EXT_B + 4, rng.pick([rng.u32(), 0x7ff00000, 0x7ff40000, 0x000fffff, 0x80000000]), true);
        }
        c.inputs += ` m=${Array.from(c.window.subarray(EXT_B, EXT_B + bytes), (x) => x.toString(16).padStart(2, '0')).join('')}`;
        out.push(c);
      }
    }
  }
  // One-operand operations and the ST(0),ST(1) ones, under every control word.
  const unary = ['fsqrt', 'frndint', 'fabs', 'fchs', 'ftst', 'fxam', 'fxtract', 'fscale', 'fprem', 'fprem1'];
  for (const op of unary) {
    for (const fcw of CONTROLS) {
      for (let k = 0; k < 6; k++) {
        const a = randomExtended(rng);
        let b = randomExtended(rng);
        if (op === 'fscale' && k & 1) b = [(rng.below(2) << 15) | (BIAS + rng.below(16)), ...significand(rng)];
        if ((op === 'fprem' || op === 'fprem1') && k & 1) b = nearby(rng, a);
        const body = `    fld ${TW(EXT_B)}\n    fld ${TW(EXT_A)}\n    ${op}`;
        out.push(extendedCase(rng, `x87 ${op} m80 operands`, body, a, b, fcw));
      }
    }
  }
  // Comparisons.
  for (const op of ['fcom', 'fcomp', 'fcompp', 'fucom', 'fucomp', 'fucompp', 'fcomi', 'fcomip', 'fucomi', 'fucomip']) {
    for (let k = 0; k < 24; k++) {
      const a = randomExtended(rng);
      const b = k % 4 === 0 ? a : nearby(rng, a);
      const operand = op.endsWith('pp') ? '' : op.includes('comi') ? ' st0, st1' : ' st1';
      const body = `    fld ${TW(EXT_B)}\n    fld ${TW(EXT_A)}\n    ${op}${operand}\n    pushfd\n    pop eax`;
      out.push(extendedCase(rng, `x87 ${op} m80 operands`, body, a, b, 0x37f));
    }
  }
  // Stores of every register encoding to every memory format, under every rounding control.
  const stores = [
    ['fst m32', 'fst dword'],
    ['fst m64', 'fst qword'],
    ['fstp m80', 'fstp tword'],
    ['fist m16', 'fist word'],
    ['fist m32', 'fist dword'],
    ['fistp m64', 'fistp qword'],
    ['fbstp', 'fbstp tword'],
  ];
  for (const [name, ins] of stores) {
    for (let k = 0; k < 48; k++) {
      let a = randomExtended(rng);
      if (name.startsWith('fi') || name === 'fbstp') {
        // Integers around the destination's range and halfway values.
        const e = BIAS + rng.pick([0, 1, 14, 15, 16, 30, 31, 32, 58, 59, 60, 62, 63, 64, -1, -2]);
        a = k % 3 ? [(rng.below(2) << 15) | e, ...significand(rng)] : a;
      }
      const fcw = k % 8 === 7 ? randomMasks(rng) : cw(3, k & 3);
      const body = `    fld ${TW(EXT_A)}\n    ${ins} [${hex(DATA_BASE + X87_OUT)}]`;
      out.push(extendedCase(rng, `x87 ${name} m80 operands`, body, a, null, fcw));
    }
  }
  // Transcendentals on edge operands (results within one unit of the 64th bit; C1 not compared).
  for (const op of ['fsin', 'fcos', 'fsincos', 'fptan', 'fpatan', 'f2xm1', 'fyl2x', 'fyl2xp1']) {
    for (let k = 0; k < 24; k++) {
      let a = randomExtended(rng);
      // F2XM1 and FYL2XP1 are defined for |x| <= 1 and |x| < 1 - sqrt(2)/2 only (outside, the real
      // FPU's results are undefined): keep finite operands inside; trigonometry also out to 2^63.
      const limited = op === 'f2xm1' || op === 'fyl2xp1';
      const outside = limited && (a[0] & 0x7fff) >= BIAS - 2 && (a[0] & 0x7fff) !== 0x7fff;
      if (k % 2 === 0 || outside) {
        const e = limited ? BIAS - 3 - rng.below(70) : BIAS - 3 + rng.below(12);
        a = [(rng.below(2) << 15) | e, ...significand(rng)];
      }
      if (op === 'fyl2x' && k % 4 === 0) a[0] &= 0x7fff;
      const b = randomExtended(rng);
      const c = extendedCase(
        rng,
        `x87 ${op} m80 operands`,
        `    fld ${TW(EXT_B)}\n    fld ${TW(EXT_A)}\n    ${op}`,
        a,
        b,
        0x37f,
      );
      c.fpuUlps = 1;
      c.fswMask = ~0x200 & 0xffff;
      c.ignore = [[X87_STATUS + 1, X87_STATUS + 2]];
      out.push(c);
    }
  }
  return out;
}
