// Chapter "hypercalls" (2.6.23 hypercalls.c): int $0x1F with the call in EAX and arguments in
// EDX, EBX, ECX, plus the asynchronous ring in lguest_data that the Guest fills while batching.

import { EAX, EBX, ECX, EDX } from '../cpu/types';
import { fmtLi, fmtP } from './format';
import {
  LD_GUESTID,
  LD_HCALLS,
  LD_HCALL_STATUS,
  LD_NOIRQ_END,
  LD_NOIRQ_START,
  LD_RESERVE_MEM,
  LD_TSC_KHZ,
  LGUEST_DATA_SIZE,
  LGUEST_TRAP_ENTRY,
  LHCALL_BIND_DMA,
  LHCALL_CRASH,
  LHCALL_FLUSH_ASYNC,
  LHCALL_FLUSH_TLB,
  LHCALL_HALT,
  LHCALL_LGUEST_INIT,
  LHCALL_LOAD_GDT,
  LHCALL_LOAD_IDT_ENTRY,
  LHCALL_LOAD_TLS,
  LHCALL_MAX,
  LHCALL_NEW_PGTABLE,
  LHCALL_RING_SIZE,
  LHCALL_SEND_DMA,
  LHCALL_SET_CLOCKEVENT,
  LHCALL_SET_PMD,
  LHCALL_SET_PTE,
  LHCALL_SET_STACK,
  LHCALL_TS,
  RESERVE_MEM,
  TRAPNUM_HCALL_DONE,
  TSC_KHZ,
} from './constants';
import { guestSetClockevent, writeTimestamp } from './clock';
import { lguestAddressOk, lgread, tryReadU32, tryWriteU32 } from './guest-memory';
import { guestSetStack, loadGuestIdtEntry } from './interrupts-and-traps';
import { DECISION_DMA, DECISION_HYPERCALL, DECISION_RING_HYPERCALL } from './exit-trace';
import { bindDma, sendDma } from './io';
import { kill, type Lguest } from './lg';
import {
  guestNewPagetable,
  guestPagetableClearAll,
  guestPagetableFlushUser,
  guestSetPmd,
  guestSetPte,
} from './page-tables';
import { guestLoadTls, loadGuestGdt } from './segments';

/** The four registers of a hypercall. */
export interface HcallArgs {
  eax: number;
  edx: number;
  ebx: number;
  ecx: number;
}

/**
 * do_hcall(): perform one hypercall. Returns the new EAX for BIND_DMA (the only call with a
 * result), null otherwise.
 */
export function doHcall(lg: Lguest, r: HcallArgs): number | null {
  const n = r.eax >>> 0;
  lg.state.stats.hypercalls[n <= LHCALL_MAX ? n : LHCALL_MAX + 1]!++;
  switch (n) {
    case LHCALL_FLUSH_ASYNC:
      // Nothing: the exit itself got the ring processed.
      break;
    case LHCALL_LGUEST_INIT:
      kill(lg, 'already have lguest_data');
      break;
    case LHCALL_CRASH: {
      const msg = lgread(lg, r.edx, 128);
      msg[127] = 0;
      const end = msg.indexOf(0);
      kill(lg, 'CRASH: ' + latin1(msg.subarray(0, end)));
      break;
    }
    case LHCALL_FLUSH_TLB:
      if (r.edx) guestPagetableClearAll(lg);
      else guestPagetableFlushUser(lg);
      break;
    case LHCALL_BIND_DMA:
      return bindDma(lg, r.edx, r.ebx, (r.ecx >>> 8) & 0xffff, r.ecx & 0xff);
    case LHCALL_SEND_DMA:
      sendDma(lg, r.edx, r.ebx);
      break;
    case LHCALL_LOAD_GDT:
      loadGuestGdt(lg, r.edx, r.ebx);
      break;
    case LHCALL_LOAD_IDT_ENTRY:
      loadGuestIdtEntry(lg, r.edx, r.ebx, r.ecx);
      break;
    case LHCALL_NEW_PGTABLE:
      guestNewPagetable(lg, r.edx);
      break;
    case LHCALL_SET_STACK:
      guestSetStack(lg, r.edx, r.ebx, r.ecx);
      break;
    case LHCALL_SET_PTE:
      guestSetPte(lg, r.edx, r.ebx, r.ecx);
      break;
    case LHCALL_SET_PMD:
      guestSetPmd(lg, r.edx, r.ebx);
      break;
    case LHCALL_LOAD_TLS:
      guestLoadTls(lg, r.edx);
      break;
    case LHCALL_SET_CLOCKEVENT:
      guestSetClockevent(lg, r.edx);
      break;
    case LHCALL_TS:
      lg.state.ts = r.edx >>> 0;
      break;
    case LHCALL_HALT:
      lg.state.halted = true;
      break;
    default:
      // Note the newline: the 2.6.23 message carries it into the reason.
      kill(lg, `Bad hypercall ${fmtLi(r.eax)}\n`);
  }
  return null;
}

function latin1(b: Uint8Array): string {
  let s = '';
  for (const c of b) s += String.fromCharCode(c);
  return s;
}

/**
 * The ring's status bytes as they were when doAsyncHcalls began (the reference copies them in
 * once). One buffer for every Guest: the function is never re-entered and runs at every exit, so
 * it allocates nothing.
 */
const ringStatus = new Uint8Array(LHCALL_RING_SIZE);

/** The async ring: every ready slot from our cursor on, in order (§2.4). */
function doAsyncHcalls(lg: Lguest, ld: number): void {
  const s = lg.state;
  if (!lg.mem.isRam(ld + LD_HCALL_STATUS, LHCALL_RING_SIZE)) return;
  const st = ringStatus;
  const ram = lg.mem.ram;
  for (let k = 0; k < LHCALL_RING_SIZE; k++) st[k] = ram[ld + LD_HCALL_STATUS + k]!;
  for (let i = 0; i < LHCALL_RING_SIZE; i++) {
    const n = s.nextHcall;
    if (st[n] === 0xff) break;
    s.nextHcall = (s.nextHcall + 1) % LHCALL_RING_SIZE;
    const slot = ld + LD_HCALLS + n * 16;
    const eax = tryReadU32(lg, slot);
    const edx = tryReadU32(lg, slot + 4);
    const ecx = tryReadU32(lg, slot + 12);
    const ebx = tryReadU32(lg, slot + 8);
    if (eax === null || edx === null || ecx === null || ebx === null) {
      kill(lg, 'Fetching async hypercalls');
      break;
    }
    const seq = lg.trace.recordHypercall(
      lg.cpu.instructionCount,
      lg.cpu.eip,
      eax,
      edx,
      ebx,
      ecx,
      DECISION_RING_HYPERCALL,
    );
    lg.ringHypercalls[eax <= LHCALL_MAX ? eax : LHCALL_MAX + 1]!++;
    doHcall(lg, { eax, edx, ebx, ecx });
    // A dead Guest is served nothing more: the hypercall that killed it is the last one.
    if (s.dead !== null) break;
    if (s.dmaIsPending) lg.trace.decide(seq, DECISION_DMA);
    if (!lg.mem.isRam(ld + LD_HCALL_STATUS + n, 1)) {
      kill(lg, 'Writing result for async hypercall');
      break;
    }
    lg.mem.ram[ld + LD_HCALL_STATUS + n] = 0xff;
    lg.mem.written(ld + LD_HCALL_STATUS + n, 1);
    if (s.dmaIsPending) break;
  }
}

/** LHCALL_LGUEST_INIT: the Guest tells us where its lguest_data is (must be the first call). */
function lguestInit(lg: Lguest): void {
  const s = lg.state;
  const cpu = lg.cpu;
  const eax = cpu.getReg(EAX);
  traceSyncHypercall(lg);
  if (eax !== LHCALL_LGUEST_INIT) {
    s.stats.hypercalls[eax <= LHCALL_MAX ? eax : LHCALL_MAX + 1]!++;
    kill(lg, `hypercall ${fmtLi(eax)} before LGUEST_INIT`);
    return;
  }
  s.stats.hypercalls[LHCALL_LGUEST_INIT]!++;
  const ld = cpu.getReg(EDX);
  s.lguestData = ld;
  if (!lguestAddressOk(s.pfnLimit, ld, LGUEST_DATA_SIZE)) {
    kill(lg, `bad guest page ${fmtP(ld)}`);
    return;
  }
  const noirqStart = tryReadU32(lg, ld + LD_NOIRQ_START);
  const noirqEnd = tryReadU32(lg, ld + LD_NOIRQ_END);
  if (
    noirqStart === null ||
    noirqEnd === null ||
    !tryWriteU32(lg, ld + LD_RESERVE_MEM, RESERVE_MEM) ||
    !tryWriteU32(lg, ld + LD_TSC_KHZ, TSC_KHZ) ||
    !lg.mem.isRam(ld + LD_GUESTID, 2)
  ) {
    kill(lg, `bad guest page ${fmtP(ld)}`);
    return;
  }
  lg.mem.ramView.setUint16(ld + LD_GUESTID, s.guestid, true);
  lg.mem.written(ld + LD_GUESTID, 2);
  // Cached once: later changes by the Guest are never seen.
  s.noirqStart = noirqStart;
  s.noirqEnd = noirqEnd;
  writeTimestamp(lg);
  guestPagetableClearAll(lg);
}

/** The int $0x1f exit being served, with its registers, into the exit trace. */
function traceSyncHypercall(lg: Lguest): number {
  const cpu = lg.cpu;
  return lg.trace.recordHypercall(
    cpu.instructionCount,
    cpu.eip,
    cpu.getReg(EAX),
    cpu.getReg(EDX),
    cpu.getReg(EBX),
    cpu.getReg(ECX),
    DECISION_HYPERCALL,
  );
}

/** do_hypercalls(): at the top of every run-loop iteration. */
export function doHypercalls(lg: Lguest): void {
  const s = lg.state;
  if (s.lguestData === null) {
    if (s.trapnum === LGUEST_TRAP_ENTRY) {
      lguestInit(lg);
      s.trapnum = TRAPNUM_HCALL_DONE;
    }
    return;
  }
  doAsyncHcalls(lg, s.lguestData);
  if (s.dead === null && !s.dmaIsPending && s.trapnum === LGUEST_TRAP_ENTRY) {
    const cpu = lg.cpu;
    const seq = traceSyncHypercall(lg);
    const eax = doHcall(lg, { eax: cpu.getReg(EAX), edx: cpu.getReg(EDX), ebx: cpu.getReg(EBX), ecx: cpu.getReg(ECX) });
    if (eax !== null) cpu.setReg(EAX, eax);
    if (s.dmaIsPending) lg.trace.decide(seq, DECISION_DMA);
    s.trapnum = TRAPNUM_HCALL_DONE;
  }
}
