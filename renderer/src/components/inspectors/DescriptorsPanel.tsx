// Descriptor tables: the Guest's GDT copy held by the host and the effective GDT installed before
// entry (host-owned entries marked); the Guest's IDT gates as stored and the effective IDT.

import { useState } from 'react';
import type { DescriptorView, GateView, MachineStatus } from '../../../../core/service/api';
import { Bool, hex } from './fmt';
import { PanelFrame } from './PanelFrame';
import { useInspector } from './useInspector';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

type Which = 'guest' | 'effective';

function GdtTable({ rows }: { rows: DescriptorView[] }) {
  return (
    <table className="grid-table" data-testid="gdt-table">
      <thead>
        <tr>
          <th>#</th>
          <th>selector</th>
          <th>raw (hi:lo)</th>
          <th>base</th>
          <th>limit</th>
          <th>type</th>
          <th>DPL</th>
          <th>P</th>
          <th>D/B</th>
          <th>G</th>
          <th></th>
        </tr>
      </thead>
      <tbody>
        {rows.map((d) => {
          const empty = !d.present;
          return (
            <tr key={d.index} data-gdt={d.index} className={empty ? 'dim' : d.hostOwned ? 'host-row' : undefined}>
              <td className="mono">{d.index}</td>
              <td className="mono">{hex(d.index * 8, 4)}</td>
              <td className="mono muted">
                {hex(d.hi)}:{hex(d.lo).slice(2)}
              </td>
              <td className="mono">{empty ? '' : hex(d.base)}</td>
              <td className="mono">{empty ? '' : hex(d.limit)}</td>
              <td>{d.typeName}</td>
              <td className="mono">{empty ? '' : d.dpl}</td>
              <td>{empty ? '' : <Bool on={d.present} />}</td>
              <td>{empty || !d.s ? '' : d.db ? '32' : '16'}</td>
              <td>{empty ? '' : <Bool on={d.g} />}</td>
              <td>{d.hostOwned ? <span className="tag host">host</span> : ''}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function IdtTable({ rows, effective }: { rows: GateView[]; effective: boolean }) {
  return (
    <table className="grid-table" data-testid="idt-table">
      <thead>
        <tr>
          <th>vector</th>
          <th>meaning</th>
          <th>selector</th>
          <th>offset</th>
          <th>type</th>
          <th>DPL</th>
          <th>P</th>
          {effective && <th>route</th>}
        </tr>
      </thead>
      <tbody>
        {rows.map((g) => {
          const empty = g.typeName === 'not present';
          return (
            <tr
              key={g.vector}
              data-idt={g.vector}
              className={empty ? 'dim' : g.route === 'direct' ? 'direct-row' : undefined}
            >
              <td className="mono">{hex(g.vector, 2)}</td>
              <td>{g.name}</td>
              <td className="mono">{empty ? '' : hex(g.selector, 4)}</td>
              <td className="mono">{empty ? '' : hex(g.offset)}</td>
              <td>{g.typeName}</td>
              <td className="mono">{empty ? '' : g.dpl}</td>
              <td>{empty ? '' : <Bool on={g.present} />}</td>
              {effective && (
                <td>
                  {g.route === 'direct' ? (
                    <span className="tag direct">direct to guest</span>
                  ) : (
                    <span className="tag host">exit to host</span>
                  )}
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function DescriptorsPanel({ id, status, visible }: Props) {
  const [which, setWhich] = useState<Which>('guest');
  const [hideEmpty, setHideEmpty] = useState(true);
  const { data, error, live, refresh } = useInspector('inspect.descriptors', id ? { id } : null, status, visible);
  const tools = (
    <>
      <div className="segmented" role="radiogroup" aria-label="Which tables">
        <button role="radio" aria-checked={which === 'guest'} onClick={() => setWhich('guest')}>
          Guest copy
        </button>
        <button role="radio" aria-checked={which === 'effective'} onClick={() => setWhich('effective')}>
          Effective (installed)
        </button>
      </div>
      <label className="check">
        <input type="checkbox" checked={hideEmpty} onChange={(e) => setHideEmpty(e.target.checked)} /> hide empty
        entries
      </label>
    </>
  );
  const gdt = data ? (which === 'guest' ? data.guestGdt : data.effectiveGdt) : [];
  const idt = data ? (which === 'guest' ? data.guestIdt : data.effectiveIdt) : [];
  const direct = data ? data.effectiveIdt.filter((g) => g.route === 'direct').length : 0;
  return (
    <PanelFrame
      title="Descriptors"
      status={status}
      live={live}
      error={error}
      hasData={data !== null}
      onRefresh={refresh}
      tools={tools}
    >
      {data && (
        <div className="desc-split">
          <section className="card">
            <h3>
              GDT — {which === 'guest' ? "the guest's 32 entries as the host keeps them" : 'as installed before entry'}
              <span className="muted small">
                {' '}
                GDTR {hex(data.gdtr.base)} / {hex(data.gdtr.limit, 3)}
              </span>
            </h3>
            <GdtTable rows={hideEmpty ? gdt.filter((d) => d.present || d.hostOwned) : gdt} />
          </section>
          <section className="card">
            <h3>
              IDT — {which === 'guest' ? 'guest gates as stored (0–63 and 0x80)' : `256 vectors, ${direct} direct`}
              <span className="muted small">
                {' '}
                IDTR {hex(data.idtr.base)} / {hex(data.idtr.limit, 3)}
              </span>
            </h3>
            <IdtTable rows={hideEmpty ? idt.filter((g) => g.present) : idt} effective={which === 'effective'} />
          </section>
        </div>
      )}
    </PanelFrame>
  );
}
