// Page tables: the shadow directory cache (which guest cr3 each slot shadows, LRU order, frames),
// a slot's PDEs beside the guest's own, and one PDE's PTEs: shadow vs guest, entry by entry.

import { useEffect, useState } from 'react';
import type { MachineStatus, PdeNote, PteNote } from '../../../../core/service/api';
import { EntryCell, hex } from './fmt';
import { PanelFrame } from './PanelFrame';
import { useInspector } from './useInspector';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

const PDE_NOTES: Record<PdeNote, string> = {
  mapped: 'shadowed',
  'not-faulted': 'not faulted in yet',
  switcher: "Switcher (host's top 4 MiB)",
  'shadow-only': 'shadow only',
};
const PTE_NOTES: Record<PteNote, string> = {
  mapped: 'shadowed',
  'read-only-not-dirty': 'read-only until written (guest D clear)',
  'not-faulted': 'not faulted in yet',
  'shadow-only': 'shadow only',
  switcher: 'Switcher page',
};

function vaRange(va: number, size: number): string {
  return `${hex(va)}–${hex(va + size - 1)}`;
}

export function PageTablesPanel({ id, status, visible }: Props) {
  const [slot, setSlot] = useState<number | null>(null);
  const [pde, setPde] = useState<number | null>(null);
  const [filter, setFilter] = useState<PteNote | 'all'>('all');
  useEffect(() => {
    setSlot(null);
    setPde(null);
  }, [id]);
  const params = id ? { id, ...(slot !== null ? { slot } : {}), ...(pde !== null ? { pde } : {}) } : null;
  const { data, error, live, refresh } = useInspector('inspect.pagetables', params, status, visible);
  const shownSlot = data?.slot ?? null;
  const drill = data?.ptes ?? null;
  const counts = drill
    ? drill.rows.reduce<Record<string, number>>((acc, r) => ({ ...acc, [r.note]: (acc[r.note] ?? 0) + 1 }), {})
    : {};
  return (
    <PanelFrame
      title="Page tables"
      status={status}
      live={live}
      error={error}
      hasData={data !== null}
      onRefresh={refresh}
    >
      {data && (
        <div className="pt-layout">
          <aside className="pt-slots">
            <h3>Shadow directory cache</h3>
            {data.slots.map((s) => (
              <button
                key={s.slot}
                className={s.slot === shownSlot ? 'slot selected' : 'slot'}
                data-slot={s.slot}
                onClick={() => {
                  setSlot(s.slot);
                  setPde(null);
                }}
              >
                <div className="slot-head">
                  <span>slot {s.slot}</span>
                  {s.current && <span className="tag direct">current</span>}
                  <span className="spacer" />
                  <span className="muted small">LRU #{s.lruRank + 1}</span>
                </div>
                <div className="mono small">guest cr3 {hex(s.cr3)}</div>
                <div className="mono small muted">shadow dir {hex(s.pgdir)}</div>
                <div className="small muted">
                  {s.presentPdes} PDEs present · {s.hostFrames} host frame{s.hostFrames === 1 ? '' : 's'}
                </div>
              </button>
            ))}
            <div className="legend small muted">
              Flags: P present · W writable · U user · T write-through · C cache-off · A accessed · D dirty · S 4 MiB ·
              G global
            </div>
          </aside>
          <div className="pt-main">
            <section className="card">
              <h3>
                Directory of slot {data.slot} <span className="muted small">(guest cr3 {hex(data.guestCr3)})</span>
              </h3>
              <table className="grid-table clickable" data-testid="pde-table">
                <thead>
                  <tr>
                    <th>PDE</th>
                    <th>virtual range</th>
                    <th>shadow PDE</th>
                    <th>guest PDE</th>
                    <th>shadow PTEs</th>
                    <th></th>
                  </tr>
                </thead>
                <tbody>
                  {data.pdes.map((p) => (
                    <tr
                      key={p.index}
                      data-pde={p.index}
                      className={`${p.index === drill?.pde ? 'selected' : ''} note-${p.note}`}
                      onClick={() => {
                        setPde(p.index);
                        setFilter('all');
                      }}
                      title="Show this PDE's page table"
                    >
                      <td className="mono">{hex(p.index, 3)}</td>
                      <td className="mono">{vaRange(p.va, 1 << 22)}</td>
                      <td>
                        <EntryCell value={p.shadow} />
                      </td>
                      <td>
                        <EntryCell value={p.guest} />
                      </td>
                      <td className="mono">{p.shadowPtes || ''}</td>
                      <td>{PDE_NOTES[p.note]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </section>
            {drill ? (
              <section className="card">
                <h3>
                  PTEs of PDE {hex(drill.pde, 3)}{' '}
                  <span className="muted small">{vaRange((drill.pde << 22) >>> 0, 1 << 22)}</span>
                  <span className="segmented pte-filter" role="radiogroup" aria-label="Show PTEs">
                    {(['all', ...Object.keys(counts)] as (PteNote | 'all')[]).map((k) => (
                      <button key={k} role="radio" aria-checked={filter === k} onClick={() => setFilter(k)}>
                        {k === 'all' ? `all ${drill.rows.length}` : `${PTE_NOTES[k]} ${counts[k]}`}
                      </button>
                    ))}
                  </span>
                  <button className="link" onClick={() => setPde(null)} aria-label="Close the page table">
                    ✕
                  </button>
                </h3>
                <table className="grid-table" data-testid="pte-table">
                  <thead>
                    <tr>
                      <th>PTE</th>
                      <th>virtual page</th>
                      <th>shadow PTE</th>
                      <th>guest PTE</th>
                      <th></th>
                    </tr>
                  </thead>
                  <tbody>
                    {drill.rows
                      .filter((r) => filter === 'all' || r.note === filter)
                      .map((r) => (
                        <tr key={r.index} className={`note-${r.note}`}>
                          <td className="mono">{hex(r.index, 3)}</td>
                          <td className="mono">{hex(r.va)}</td>
                          <td>
                            <EntryCell value={r.shadow} />
                          </td>
                          <td>
                            <EntryCell value={r.guest} />
                          </td>
                          <td>{PTE_NOTES[r.note]}</td>
                        </tr>
                      ))}
                  </tbody>
                </table>
              </section>
            ) : (
              <div className="muted pad">Click a PDE to see its 1024 PTEs, shadow beside guest.</div>
            )}
          </div>
        </div>
      )}
    </PanelFrame>
  );
}
