// The host's exit trace as the Launcher shows it: the last exits before a guest died (printed by
// `lguest`, carried to the UI), and every exit as a JSON line for `lguest --trace=FILE`.

import type { LguestFile } from '../host/api';
import type { ExitRecord, ExitTrace } from '../host/exit-trace';
import { HYPERCALL_NAMES } from '../host/constants';
import { trapName } from './exit-stats';

/** Exits a death report carries. */
export const DEATH_EXITS = 16;

/** LguestFile has no trace; the host's LguestFileImpl exposes its guest, which holds one. */
interface FileWithGuestTrace {
  readonly guest: { readonly trace?: ExitTrace } | null;
}

export function exitTraceOf(file: LguestFile): ExitTrace | null {
  if (!('guest' in file)) return null;
  return (file as LguestFile & FileWithGuestTrace).guest?.trace ?? null;
}

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

/** The name of what happened: "#PF", "hypercall SEND_DMA", "IRQ 0". */
export function exitKind(e: ExitRecord): string {
  if (e.hypercall) return `hypercall ${HYPERCALL_NAMES[e.hypercall.number] ?? hex(e.hypercall.number)}`;
  if (e.decision === 'injected') return `IRQ ${e.vector - 32}`;
  return trapName(e.vector);
}

/** One line: "@12345 eip 0xc0101234 #PF cr2 0x8048000 -> demand-paged". */
export function formatExitRecord(e: ExitRecord): string {
  let what = exitKind(e);
  if (e.hypercall) what += `(${[e.hypercall.args[0], e.hypercall.args[1], e.hypercall.args[2]].map(hex).join(', ')})`;
  else if (e.vector === 14) what += ` cr2 ${hex(e.code)}`;
  else if (e.code !== 0) what += ` error ${hex(e.code)}`;
  return `@${e.instruction} eip ${hex(e.eip)} ${what} -> ${e.decision}`;
}

/** The record of `guest` as one JSON line (numbers stay numbers; "kind" names it for people). */
export function exitRecordJson(guest: string, e: ExitRecord): string {
  return JSON.stringify({ guest, ...e, kind: exitKind(e) });
}
