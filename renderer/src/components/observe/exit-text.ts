// How one traced exit's details read in the UI: hypercall arguments, CR2 or the error code.

import type { ExitEvent } from '../../../../core/service/api';

function hex(n: number): string {
  return '0x' + (n >>> 0).toString(16);
}

export function exitDetail(e: ExitEvent): string {
  if (e.hypercall) return e.hypercall.args.map(hex).join(', ');
  if (e.vector === 14) return `cr2 ${hex(e.code)}`;
  return e.code ? `error ${hex(e.code)}` : '';
}
