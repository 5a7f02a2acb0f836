// The frame around every inspector panel: a toolbar (title, live/paused note, refresh), the error
// if the last query failed, and a plain explanation when the machine is not running.

import type { ReactNode } from 'react';
import type { MachineStatus } from '../../../../core/service/api';

interface Props {
  title: string;
  status: MachineStatus | null;
  live: boolean;
  error: string | null;
  hasData: boolean;
  onRefresh: () => void;
  tools?: ReactNode;
  children: ReactNode;
}

export function PanelFrame({ title, status, live, error, hasData, onRefresh, tools, children }: Props) {
  const state = status?.state ?? 'stopped';
  return (
    <div className="inspector" data-testid={`inspector-${title.toLowerCase().replace(/\s+/g, '-')}`}>
      <div className="inspector-toolbar">
        <span className="inspector-title">{title}</span>
        {tools}
        <span className="spacer" />
        {live && (
          <span className={state === 'paused' ? 'live-note paused' : 'live-note'}>
            {state === 'paused' ? 'paused — values are exact' : 'live — updating while the guest runs'}
          </span>
        )}
        <button className="button small" onClick={onRefresh} disabled={!live}>
          ↻ Refresh
        </button>
      </div>
      {error && (
        <div className="inspector-error" role="alert">
          {error}
        </div>
      )}
      <div className="inspector-body">
        {!status ? (
          <div className="empty">Select a machine.</div>
        ) : !live ? (
          <div className="empty">
            The machine is {state}
            {status.reason ? ` (${status.reason})` : ''}. Start it to look inside: the inspectors read the state the
            host holds for a running guest.
          </div>
        ) : !hasData ? (
          <div className="empty">Reading…</div>
        ) : (
          children
        )}
      </div>
    </div>
  );
}
