// Chapter "interrupts and traps" (2.6.23 interrupts_and_traps.c): the Guest's IDT as the Host
// stores it, reflecting traps and injecting virtual interrupts by building the frame the CPU
// would have pushed on the Guest kernel stack, and the kernel stack the Guest registers.

import { CS, ESP, SS } from '../cpu/types';
import { fmtLi, fmtU } from './format';
import {
  FIRST_EXTERNAL_VECTOR,
  GUEST_IDT_STORED,
  GUEST_PL,
  IDT_HI_STORE_MASK,
  KERNEL_CS_GUEST,
  LD_BLOCKED_INTERRUPTS,
  LD_IRQ_ENABLED,
  LGUEST_IRQS,
  LGUEST_TRAP_ENTRY,
  SYSCALL_VECTOR,
  X86_EFLAGS_IF,
} from './constants';
import { writeTimestamp } from './clock';
import { DECISION_INJECTED } from './exit-trace';
import { lgwriteU32, tryReadU32, tryWriteU32 } from './guest-memory';
import { CHANGED_IDT, kill, type Lguest } from './lg';
import { pinStackPages } from './page-tables';

function idtPresent(hi: number): boolean {
  return (hi & 0x8000) !== 0;
}

function idtType(hi: number): number {
  return (hi >>> 8) & 0xf;
}

/** The handler address a gate names. */
export function idtAddress(lo: number, hi: number): number {
  return ((lo & 0xffff) | (hi & 0xffff0000)) >>> 0;
}

/** Traps for which the CPU pushes an error code. */
export function hasErr(num: number): boolean {
  return num === 8 || (num >= 10 && num <= 14) || num === 17;
}

/**
 * set_guest_interrupt() - "buildFrame": push what the CPU would have pushed, onto the Guest's
 * kernel stack (through virtual - PAGE_OFFSET, not the page tables), and point the Guest at
 * the handler. From user mode the kernel stack from SET_STACK is used and SS:ESP pushed first.
 */
export function buildFrame(lg: Lguest, lo: number, hi: number, withErr: boolean): void {
  const s = lg.state;
  const cpu = lg.cpu;
  const po = s.pageOffset;
  const regsSs = cpu.getSegment(SS).selector;
  let gstack: number;
  let newSs: number;
  const push = (v: number): void => {
    gstack = (gstack - 4) >>> 0;
    lgwriteU32(lg, gstack, v);
  };
  if ((regsSs & 3) !== GUEST_PL) {
    gstack = (s.esp1 - po) >>> 0;
    newSs = s.ss1;
    push(regsSs);
    push(cpu.getReg(ESP));
  } else {
    gstack = (cpu.getReg(ESP) - po) >>> 0;
    newSs = regsSs;
  }
  // The pushed IF says what the Guest's virtual interrupt flag says, not the real (always 1) IF.
  let eflags = cpu.eflags >>> 0;
  const ld = s.lguestData;
  const ie = ld === null ? null : tryReadU32(lg, ld + LD_IRQ_ENABLED);
  if (ie !== null && !(ie & X86_EFLAGS_IF)) eflags = (eflags & ~X86_EFLAGS_IF) >>> 0;
  push(eflags);
  push(cpu.getSegment(CS).selector);
  push(cpu.eip);
  if (withErr) push(s.errcode);
  if (s.dead !== null) return;
  cpu.setSelector(SS, newSs);
  cpu.setReg(ESP, (gstack! + po) >>> 0);
  cpu.setSelector(CS, KERNEL_CS_GUEST);
  cpu.eip = idtAddress(lo, hi);
  s.stats.trapsReflected++;
  // An interrupt gate "disables interrupts": the virtual flag in lguest_data goes to 0.
  if (idtType(hi) === 0xe && ld !== null) {
    if (!tryWriteU32(lg, ld + LD_IRQ_ENABLED, 0)) kill(lg, 'Disabling interrupts');
  }
}

/** deliver_trap(): reflect trap num if the Guest has a gate for it. */
export function deliverTrap(lg: Lguest, num: number): boolean {
  if (num >= GUEST_IDT_STORED) return false;
  const lo = lg.state.idt[num * 2]!;
  const hi = lg.state.idt[num * 2 + 1]!;
  if (!idtPresent(hi)) return false;
  buildFrame(lg, lo, hi, hasErr(num));
  return true;
}

/**
 * maybe_do_interrupt(): inject the lowest pending, unblocked IRQ if the Guest can take it.
 *
 * We test (irq_enabled & 0x200), as the ABI's implementation note suggests, rather than the
 * reference's "non-zero": the Guest's iret path stores a whole EFLAGS image there, and an image
 * with IF clear (e.g. 0x46) means "disabled"; the reference would inject into it anyway.
 */
export function maybeDeliverInterrupt(lg: Lguest): void {
  const s = lg.state;
  const ld = s.lguestData;
  if (ld === null) return;
  const blk = tryReadU32(lg, ld + LD_BLOCKED_INTERRUPTS);
  if (blk === null) return;
  const avail = (s.irqsPending & ~blk) >>> 0;
  if (avail === 0) return;
  const irq = 31 - Math.clz32(avail & -avail);
  if (irq >= LGUEST_IRQS) return;
  const eip = lg.cpu.eip >>> 0;
  if (eip >= s.noirqStart && eip < s.noirqEnd) return;
  if (!s.halted) {
    const ie = tryReadU32(lg, ld + LD_IRQ_ENABLED) ?? 0;
    if (!(ie & X86_EFLAGS_IF)) return;
  }
  const v = FIRST_EXTERNAL_VECTOR + irq;
  const lo = s.idt[v * 2]!;
  const hi = s.idt[v * 2 + 1]!;
  // Traced before anything below can kill the Guest, so a kill lands on this event.
  if (idtPresent(hi)) lg.trace.record(lg.cpu.instructionCount, v, lg.cpu.eip, 0, DECISION_INJECTED);
  if (s.halted) {
    if (!tryWriteU32(lg, ld + LD_IRQ_ENABLED, X86_EFLAGS_IF)) kill(lg, 'Re-enabling interrupts');
    s.halted = false;
  }
  if (idtPresent(hi)) {
    s.irqsPending = (s.irqsPending & ~(1 << irq)) >>> 0;
    s.stats.irqsInjected[irq]!++;
    buildFrame(lg, lo, hi, false);
  }
  writeTimestamp(lg);
}

/** set_trap(): store one gate as the Host keeps it (selector forced to __KERNEL_CS|1). */
function setTrap(lg: Lguest, store: (lo: number, hi: number) => void, lo: number, hi: number): void {
  if (!idtPresent(hi)) {
    store(0, 0);
    return;
  }
  const type = idtType(hi);
  if (type !== 0xe && type !== 0xf) kill(lg, `bad IDT type ${fmtLi(type)}`);
  store(((KERNEL_CS_GUEST << 16) | (lo & 0xffff)) >>> 0, (hi & IDT_HI_STORE_MASK) >>> 0);
}

/** LHCALL_LOAD_IDT_ENTRY(num, lo, hi). */
export function loadGuestIdtEntry(lg: Lguest, num: number, lo: number, hi: number): void {
  num >>>= 0;
  // NMI, double fault, the reserved vector 15 and our own hypercall vector are not the Guest's.
  if (num === 2 || num === 8 || num === 15 || num === LGUEST_TRAP_ENTRY) return;
  const s = lg.state;
  s.changed |= CHANGED_IDT;
  if (num < GUEST_IDT_STORED) {
    setTrap(
      lg,
      (a, b) => {
        s.idt[num * 2] = a;
        s.idt[num * 2 + 1] = b;
      },
      lo >>> 0,
      hi >>> 0,
    );
  } else if (num === SYSCALL_VECTOR) {
    setTrap(
      lg,
      (a, b) => {
        s.syscallIdt = [a, b];
      },
      lo >>> 0,
      hi >>> 0,
    );
  }
}

/** LHCALL_SET_STACK(ss, esp, pages): the kernel stack for traps from user mode. */
export function guestSetStack(lg: Lguest, seg: number, esp: number, pages: number): void {
  if ((seg & 3) !== GUEST_PL) {
    kill(lg, `bad stack segment ${fmtLi(seg)}`);
    return;
  }
  if (pages >>> 0 > 2) {
    kill(lg, `bad stack pages ${fmtU(pages)}`);
    return;
  }
  lg.state.ss1 = seg & 0xff;
  lg.state.esp1 = esp >>> 0;
  lg.state.stackPages = pages >>> 0;
  pinStackPages(lg);
}
