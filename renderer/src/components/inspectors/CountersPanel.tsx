// Counters: what the host counted while running this guest — exits by vector, hypercalls by name,
// interrupts injected, shadow faults fixed versus faults the guest had to handle itself.

import type { MachineStatus, NamedCount } from '../../../../core/service/api';
import { Field, hex } from './fmt';
import { PanelFrame } from './PanelFrame';
import { RatePlots } from '../observe/RatePlots';
import { useInspector } from './useInspector';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

function CountTable({
  title,
  rows,
  numberDigits,
  testid,
}: {
  title: string;
  rows: NamedCount[];
  numberDigits: number;
  testid: string;
}) {
  const sorted = [...rows].sort((a, b) => b.count - a.count || a.number - b.number);
  const total = rows.reduce((n, r) => n + r.count, 0);
  return (
    <section className="card">
      <h3>
        {title} <span className="muted small">total {total.toLocaleString('en-US')}</span>
      </h3>
      {sorted.length === 0 ? (
        <div className="muted">none yet</div>
      ) : (
        <table className="grid-table" data-testid={testid}>
          <thead>
            <tr>
              <th>#</th>
              <th>name</th>
              <th className="num">count</th>
              <th className="bar-col"></th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((r) => (
              <tr key={r.number} className={r.count === 0 ? 'dim' : undefined}>
                <td className="mono">{numberDigits > 0 ? hex(r.number, numberDigits) : r.number}</td>
                <td>{r.name}</td>
                <td className="mono num">{r.count.toLocaleString('en-US')}</td>
                <td className="bar-col">
                  <span className="bar" style={{ width: `${total ? (100 * r.count) / sorted[0]!.count : 0}%` }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function CountersPanel({ id, status, visible }: Props) {
  const { data: c, error, live, refresh } = useInspector('inspect.counters', id ? { id } : null, status, visible);
  return (
    <PanelFrame title="Counters" status={status} live={live} error={error} hasData={c !== null} onRefresh={refresh}>
      {c && id && <RatePlots id={id} hypercallNames={c.hypercalls.map((h) => h.name)} />}
      {c && (
        <div className="counters">
          <section className="card wide">
            <div className="kv-grid">
              <Field label="instructions">{c.instructionCount.toLocaleString('en-US')}</Field>
              <Field label="time-slice exits">{c.budgetExits.toLocaleString('en-US')}</Field>
              <Field label="shadow faults fixed" title="page faults demandPage fixed: the guest never saw them">
                {c.demandPageFixes.toLocaleString('en-US')}
              </Field>
              <Field label="page faults to guest" title="page faults reflected into the guest's own handler">
                {c.pageFaultsReflected.toLocaleString('en-US')}
              </Field>
              <Field label="reflected to guest" title="frames pushed on the guest stack: traps and interrupts">
                {c.trapsReflected.toLocaleString('en-US')}
              </Field>
              <Field label="host frames">{c.hostFramesInUse.toLocaleString('en-US')}</Field>
            </div>
          </section>
          <CountTable title="Exits by vector" rows={c.exits} numberDigits={2} testid="exits-table" />
          <CountTable title="Hypercalls" rows={c.hypercalls} numberDigits={0} testid="hypercalls-table" />
          <CountTable title="Interrupts injected" rows={c.irqsInjected} numberDigits={0} testid="irqs-table" />
        </div>
      )}
    </PanelFrame>
  );
}
