// The memory an instruction is about to access, for read and access watchpoints: its ModRM
// operand, its implicit stack operand (PUSH/POP/CALL/RET/ENTER/LEAVE/IRET and friends) and its
// string operands (MOVS/CMPS/STOS/LODS/SCAS/INS/OUTS, whole REP runs; REPE/REPNE CMPS and SCAS as
// far as their comparisons let them go). Computed from the registers before the instruction runs.

import { decodeBytes } from '../../cpu/decode';
import type { I386 } from '../../cpu/cpu';
import { DF } from '../../cpu/flags';
import { D_DB } from '../../cpu/segmentation';
import type { Instr } from '../../cpu/instr';
import { CS, ES, SS, type SegReg } from '../../cpu/types';

export interface MemoryOperand {
  /** Linear address of the lowest byte, and length in bytes. */
  lin: number;
  len: number;
  /** False for operands the instruction only writes (stores, pushes, string destinations). */
  reads: boolean;
}

/** Reads guest memory by linear address; null when it is not mapped. */
export type ReadLinear = (lin: number, len: number) => Uint8Array | null;

/** MOV r/m,r (8/32); MOV r/m,Sreg; MOV r/m,imm (8/32); POP r/m; SETcc (0F 90-9F): pure stores. */
const PURE_STORES = new Set([0x88, 0x89, 0x8c, 0xc6, 0xc7, 0x8f, ...Array.from({ length: 16 }, (_, i) => 0x190 + i)]);

const ESP = 4,
  EBP = 5,
  ESI = 6,
  EDI = 7,
  ECX = 1,
  EAX = 0;
/** REP CMPS/SCAS are followed element by element up to this many; a longer run counts as whole. */
const MAX_COMPARED = 4096;

/** The memory operands of the instruction at CS:EIP (empty when it has none or cannot be read). */
export function memoryOperands(cpu: I386, read: ReadLinear): MemoryOperand[] {
  const lin = (cpu.getSegment(CS).base + cpu.eip) >>> 0;
  const bytes = read(lin, 15) ?? read(lin, 4096 - (lin & 0xfff));
  if (bytes === null) return [];
  let ins: Instr;
  try {
    ins = decodeBytes((i) => bytes[i] ?? 0, cpu.code32);
  } catch {
    return [];
  }
  // 16-bit addressing does not occur in the guests this debugger serves.
  if (ins.a16) return [];
  const out: MemoryOperand[] = [];
  if (ins.mod !== 3 && ins.op !== 0x8d) out.push(modrmOperand(cpu, ins));
  const stack = stackOperand(cpu, ins);
  if (stack !== null) out.push(stack);
  out.push(...stringOperands(cpu, ins, read));
  return out;
}

function modrmOperand(cpu: I386, ins: Instr): MemoryOperand {
  let ea = ins.disp;
  if (ins.base >= 0) ea += cpu.gpr[ins.base]!;
  if (ins.index >= 0) ea += cpu.gpr[ins.index]! << ins.scale;
  return {
    lin: (cpu.getSegment(ins.seg as SegReg).base + ea) >>> 0,
    len: ins.sz >>> 3,
    reads: !PURE_STORES.has(ins.op),
  };
}

/** Bytes pushed (< 0) or popped (> 0) at the stack pointer, in operand-size units. */
function stackUnits(ins: Instr): number {
  const op = ins.op;
  if ((op >= 0x50 && op <= 0x57) || op === 0x68 || op === 0x6a || op === 0x9c || op === 0xe8) return -1;
  if (op === 0x06 || op === 0x0e || op === 0x16 || op === 0x1e || op === 0x1a0 || op === 0x1a8) return -1;
  if ((op >= 0x58 && op <= 0x5f) || op === 0x8f || op === 0x9d || op === 0xc3 || op === 0xc2) return 1;
  if (op === 0x07 || op === 0x17 || op === 0x1f || op === 0x1a1 || op === 0x1a9) return 1;
  if (op === 0x60) return -8;
  if (op === 0x61) return 8;
  if (op === 0x9a) return -2;
  if (op === 0xcb || op === 0xca) return 2;
  if (op === 0xcf) return 3;
  if (op === 0xc8) return -1 - (ins.imm2 & 31);
  if (op === 0xff && ins.reg === 2) return -1;
  if (op === 0xff && ins.reg === 3) return -2;
  if (op === 0xff && ins.reg === 6) return -1;
  return 0;
}

function stackOperand(cpu: I386, ins: Instr): MemoryOperand | null {
  const size = ins.o16 ? 2 : 4;
  const ss = cpu.getSegment(SS);
  const ss32 = (ss.flags & D_DB) !== 0;
  const sp = (r: number) => (ss32 ? cpu.gpr[r]! : cpu.gpr[r]! & 0xffff);
  if (ins.op === 0xc9) return { lin: (ss.base + sp(EBP)) >>> 0, len: size, reads: true }; // LEAVE
  const units = stackUnits(ins);
  if (units === 0) return null;
  const len = Math.abs(units) * size;
  const at = units < 0 ? sp(ESP) - len : sp(ESP);
  return { lin: (ss.base + (ss32 ? at : at & 0xffff)) >>> 0, len, reads: units > 0 };
}

/** String instructions: [source DS:ESI, destination ES:EDI] roles by opcode (A4-AF, 6C-6F). */
const STRINGS: Record<number, { src: boolean; dst: 'read' | 'write' | null }> = {
  0xa4: { src: true, dst: 'write' },
  0xa6: { src: true, dst: 'read' },
  0xaa: { src: false, dst: 'write' },
  0xac: { src: true, dst: null },
  0xae: { src: false, dst: 'read' },
  0x6c: { src: false, dst: 'write' },
  0x6e: { src: true, dst: null },
};

function stringOperands(cpu: I386, ins: Instr, read: ReadLinear): MemoryOperand[] {
  const kind = STRINGS[ins.op & ~1];
  if (kind === undefined) return [];
  const n = ins.sz >>> 3;
  const down = (cpu.eflags & DF) !== 0;
  const step = down ? -n : n;
  let count = ins.rep === 0 ? 1 : cpu.gpr[ECX]! >>> 0;
  if (count === 0) return [];
  const src = (cpu.getSegment(ins.seg as SegReg).base + cpu.gpr[ESI]!) >>> 0;
  const dst = (cpu.getSegment(ES).base + cpu.gpr[EDI]!) >>> 0;
  const compares = (ins.op & ~1) === 0xa6 || (ins.op & ~1) === 0xae;
  if (ins.rep !== 0 && compares) count = comparedElements(cpu, ins, read, src, dst, step, count);
  const span = (start: number, reads: boolean): MemoryOperand => ({
    lin: (down ? start - (count - 1) * n : start) >>> 0,
    len: count * n,
    reads,
  });
  const out: MemoryOperand[] = [];
  if (kind.src) out.push(span(src, true));
  if (kind.dst !== null) out.push(span(dst, kind.dst === 'read'));
  return out;
}

/** Elements a REPE/REPNE CMPS or SCAS will compare: up to the first that ends the run. */
function comparedElements(
  cpu: I386,
  ins: Instr,
  read: ReadLinear,
  src: number,
  dst: number,
  step: number,
  count: number,
): number {
  const n = Math.abs(step);
  const value = (bytes: Uint8Array): number => bytes.reduce((v, b, i) => v + b * 2 ** (8 * i), 0);
  const acc = (cpu.gpr[EAX]! >>> 0) % 2 ** (8 * n);
  const limit = Math.min(count, MAX_COMPARED);
  for (let k = 0; k < limit; k++) {
    const b = read((dst + k * step) >>> 0, n);
    const a = (ins.op & ~1) === 0xa6 ? read((src + k * step) >>> 0, n) : null;
    // An element that cannot be read faults there: the run ends (at the latest) with it.
    if (b === null || ((ins.op & ~1) === 0xa6 && a === null)) return k + 1;
    const equal = (a === null ? acc : value(a)) === value(b);
    if (equal !== (ins.rep === 1)) return k + 1;
  }
  return count;
}
