// Processor exceptions as thrown values: a fault aborts the current instruction and unwinds to
// the run loop, which delivers it through the IDT (Intel SDM vol. 3, "Exception classes").

/** An exception raised while executing or delivering; caught by the run loop. */
export class CpuFault {
  constructor(
    readonly vector: number,
    readonly errorCode: number,
    readonly hasError: boolean,
    /** Faulting linear address (only meaningful for #PF). */
    readonly cr2: number = 0,
  ) {}
}

/** Thrown by an event delivery that must leave run() (a gate into ring 0). */
export class ExitSignal {
  constructor(
    readonly vector: number,
    readonly errorCode: number,
  ) {}
}

export function gp(code: number): CpuFault {
  return new CpuFault(13, code & 0xffff, true);
}
export function ss(code: number): CpuFault {
  return new CpuFault(12, code & 0xffff, true);
}
export function np(code: number): CpuFault {
  return new CpuFault(11, code & 0xffff, true);
}
export function ts(code: number): CpuFault {
  return new CpuFault(10, code & 0xffff, true);
}
export function ud(): CpuFault {
  return new CpuFault(6, 0, false);
}
export function de(): CpuFault {
  return new CpuFault(0, 0, false);
}
export function nm(): CpuFault {
  return new CpuFault(7, 0, false);
}
export function pf(code: number, linear: number): CpuFault {
  return new CpuFault(14, code, true, linear >>> 0);
}

/** Vectors whose hardware delivery pushes an error code. */
export function pushesErrorCode(vector: number): boolean {
  return vector === 8 || (vector >= 10 && vector <= 14) || vector === 17;
}

/** Contributory exceptions (#DE, #TS, #NP, #SS, #GP) for the double-fault rules. */
export function isContributory(vector: number): boolean {
  return vector === 0 || (vector >= 10 && vector <= 13);
}
