// The machine list: every stored config with its machine's state; corrupt files show their error.

import type { ConfigListing, MachineStatus } from '../../../core/service/api';
import type { Selection } from '../App';
import { STATE_LABEL } from '../format';

interface Props {
  configs: ConfigListing[] | null;
  statuses: Record<string, MachineStatus>;
  selection: Selection;
  onSelect(sel: Selection): void;
}

export function Sidebar({ configs, statuses, selection, onSelect }: Props) {
  return (
    <aside className="sidebar">
      <header className="sidebar-head">
        <span className="brand">lguest workbench</span>
      </header>
      <div className="sidebar-title">
        <span>Machines</span>
        <button
          className="button small"
          onClick={() => onSelect({ kind: 'new' })}
          title="Create a machine configuration"
        >
          + New machine
        </button>
      </div>
      <ul className="machine-list" aria-label="Machines">
        {configs === null && <li className="muted pad">Loading…</li>}
        {configs?.length === 0 && <li className="muted pad">No machines yet.</li>}
        {selection?.kind === 'new' && (
          <li className="machine selected">
            <div className="machine-row">
              <span className="machine-name">New machine</span>
              <span className="badge badge-new">unsaved</span>
            </div>
          </li>
        )}
        {configs?.map((c) => {
          const state = statuses[c.id]?.state ?? 'stopped';
          const selected = selection?.kind === 'config' && selection.id === c.id;
          return (
            <li key={c.id} className={selected ? 'machine selected' : 'machine'} data-machine={c.id}>
              <button className="machine-button" onClick={() => onSelect({ kind: 'config', id: c.id })}>
                <div className="machine-row">
                  <span className="machine-name">{c.id}</span>
                  {c.ok ? (
                    <span className={`badge badge-${state}`}>{STATE_LABEL[state]}</span>
                  ) : (
                    <span className="badge badge-corrupt">invalid</span>
                  )}
                </div>
                {c.ok ? (
                  <div className="machine-sub">
                    {c.config.memoryMB} MB · {c.config.kernel}
                  </div>
                ) : (
                  <div className="machine-error" title={c.errors.map((e) => `${e.pointer} ${e.message}`).join('\n')}>
                    {c.errors[0]?.pointer ? `${c.errors[0].pointer}: ` : ''}
                    {c.errors[0]?.message}
                  </div>
                )}
              </button>
            </li>
          );
        })}
      </ul>
    </aside>
  );
}
