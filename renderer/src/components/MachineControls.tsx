// The top bar: which machine is selected and the controls that fit its state.

import { useState } from 'react';
import type { ApiMethod, ConfigListing, MachineStatus } from '../../../core/service/api';
import { call, errorMessage } from '../api/client';

interface Props {
  listing: ConfigListing | null;
  isNew: boolean;
  status: MachineStatus | null;
  onError(message: string): void;
}

type Control = 'machines.start' | 'machines.pause' | 'machines.resume' | 'machines.stop' | 'machines.reset';

export function MachineControls({ listing, isNew, status, onError }: Props) {
  const [busy, setBusy] = useState<ApiMethod | null>(null);
  const state = status?.state ?? 'stopped';
  const active = state !== 'stopped' && state !== 'dead';
  const valid = listing?.ok ?? false;

  const run = async (method: Control): Promise<void> => {
    if (!listing) return;
    setBusy(method);
    try {
      await call(method, { id: listing.id });
    } catch (err) {
      onError(`${method.replace('machines.', '')} ${listing.id}: ${errorMessage(err)}`);
    } finally {
      setBusy(null);
    }
  };

  const button = (method: Control, label: string, enabled: boolean, primary = false) => (
    <button
      className={primary ? 'button primary' : 'button'}
      disabled={!enabled || busy !== null}
      onClick={() => void run(method)}
    >
      {label}
    </button>
  );

  return (
    <header className="topbar">
      <div className="topbar-title">
        <span className="machine-title">{isNew ? 'New machine' : (listing?.id ?? 'No machine selected')}</span>
        {listing?.ok && (
          <span className="muted">
            {listing.config.kernel} · {listing.config.memoryMB} MB
          </span>
        )}
      </div>
      {listing && (
        <div className="controls" aria-label="Machine controls">
          {button('machines.start', '▶ Start', valid && !active, true)}
          {state === 'paused'
            ? button('machines.resume', 'Resume', true)
            : button('machines.pause', 'Pause', active && state !== 'starting')}
          {button('machines.stop', '■ Stop', active)}
          {button('machines.reset', '↻ Reset', valid && (active || state === 'dead'))}
        </div>
      )}
    </header>
  );
}
