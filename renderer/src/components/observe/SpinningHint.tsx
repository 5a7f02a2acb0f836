// "Where is it spinning?": in the status bar, once a running guest has printed nothing for a few
// seconds, where its EIP was at the last rates interval (a kernel symbol, a recognised user
// program's symbol, or an address).

import { useEffect, useState } from 'react';
import type { MachineStatus } from '../../../../core/service/api';
import { formatRate } from './RatePlots';
import { msSinceOutput, useMachineRates } from './machine-watch';

/** Quiet this long before the hint shows. */
export const QUIET_MS = 3000;

export function SpinningHint({ status }: { status: MachineStatus }) {
  const points = useMachineRates(status.id);
  const [quietMs, setQuietMs] = useState(0);
  useEffect(() => {
    const t = setInterval(() => setQuietMs(msSinceOutput(status.id)), 1000);
    return () => clearInterval(t);
  }, [status.id]);
  const last = points.at(-1)?.r;
  if (status.state !== 'running' || quietMs < QUIET_MS || !last?.where) return null;
  const w = last.where;
  const at = w.symbol ?? `0x${w.eip.toString(16).padStart(8, '0')}`;
  return (
    <span
      className="spinning-hint"
      data-testid="spinning-hint"
      title="The guest is running but has printed nothing lately; this is where its instruction pointer was"
    >
      no output for {Math.floor(quietMs / 1000)} s — spinning in {w.cpl === 3 ? 'user code at ' : 'the kernel at '}
      {at}? ({formatRate(last.rates.instructionsPerSecond)} instr/s)
    </span>
  );
}
