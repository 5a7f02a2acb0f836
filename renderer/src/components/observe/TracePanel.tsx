// The Trace tab: the host's last exits (up to 4096) and what it decided for each, filtered by
// decision and by kind, and saved as JSON lines (the same records `lguest --trace` writes).

import { useMemo, useState } from 'react';
import type { MachineStatus } from '../../../../core/service/api';
import { PanelFrame } from '../inspectors/PanelFrame';
import { useInspector } from '../inspectors/useInspector';
import { downloadText } from './download';
import { ExitTable } from './ExitTable';
import './observe.css';

const DECISIONS = [
  'demand-paged',
  'reflected',
  'emulated',
  'fpu',
  'hypercall',
  'ring-hypercall',
  'dma',
  'injected',
  'killed',
] as const;

/** Exits fetched per poll (the host keeps 4096). */
const TRACE_ROWS = 1000;

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

export function TracePanel({ id, status, visible }: Props) {
  const [paused, setPaused] = useState(false);
  const { data, error, live, refresh } = useInspector(
    'inspect.trace',
    id ? { id, limit: TRACE_ROWS } : null,
    status,
    visible && !paused,
  );
  const [decision, setDecision] = useState<string>('');
  const [kind, setKind] = useState('');
  const events = useMemo(() => {
    const k = kind.trim().toLowerCase();
    return (data?.events ?? []).filter(
      (e) => (!decision || e.decision === decision) && (!k || e.kind.toLowerCase().includes(k)),
    );
  }, [data, decision, kind]);
  const save = () => {
    const lines = events.map((e) => JSON.stringify({ guest: status?.id ?? '', ...e }) + '\n').join('');
    downloadText(`${status?.id ?? 'machine'}-exits.jsonl`, lines, 'application/x-ndjson');
  };
  const tools = (
    <>
      <select value={decision} onChange={(e) => setDecision(e.target.value)} aria-label="Filter by decision">
        <option value="">every decision</option>
        {DECISIONS.map((d) => (
          <option key={d} value={d}>
            {d}
          </option>
        ))}
      </select>
      <input
        className="addr"
        placeholder="kind, e.g. #PF or SEND_DMA"
        value={kind}
        onChange={(e) => setKind(e.target.value)}
        aria-label="Filter by kind"
      />
      <button className="button small" onClick={() => setPaused((p) => !p)}>
        {paused ? '▶ Follow' : '⏸ Hold'}
      </button>
      <button className="button small" onClick={save} disabled={events.length === 0} data-testid="trace-export">
        ⤓ JSON lines
      </button>
    </>
  );
  return (
    <PanelFrame
      title="Trace"
      status={status}
      live={live}
      error={error}
      hasData={data !== null}
      onRefresh={refresh}
      tools={tools}
    >
      {data && (
        <div className="trace">
          <div className="muted small trace-summary" data-testid="trace-summary">
            {events.length} of the last {data.events.length} exits shown ({data.recorded.toLocaleString('en-US')} traced
            since the start), newest last
          </div>
          <ExitTable events={events} testid="trace-table" />
        </div>
      )}
    </PanelFrame>
  );
}
