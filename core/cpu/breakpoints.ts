// Instruction breakpoints the CPU honours by itself (I386.setBreakpoints): a set of linear
// addresses kept as one byte map per linear page that holds any, so that the run loop looks only
// at fetches in those pages and compiled regions leave the instructions at them out.

/** Linear page number → a 4096-byte map with 1 at each in-page offset holding a breakpoint. */
export type BreakpointPages = Map<number, Uint8Array>;

export function breakpointPages(linear: Iterable<number>): BreakpointPages {
  const pages: BreakpointPages = new Map();
  for (const a of linear) {
    const page = a >>> 12;
    let map = pages.get(page);
    if (map === undefined) pages.set(page, (map = new Uint8Array(4096)));
    map[a & 0xfff] = 1;
  }
  return pages;
}

/** The linear pages whose breakpoints differ between `a` and `b`. */
export function changedPages(a: BreakpointPages, b: BreakpointPages): Set<number> {
  const out = new Set<number>();
  for (const page of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(page),
      y = b.get(page);
    if (x === undefined || y === undefined || x.some((v, i) => v !== y[i])) out.add(page);
  }
  return out;
}

/** Thrown by the fetch of an instruction at a breakpoint: run() returns before executing it. */
class BreakpointStop {}
export const BREAKPOINT_STOP = new BreakpointStop();
