// When a guest dies: the reason and the host's last exits before it, above every tab.

import type { MachineStatus } from '../../../../core/service/api';
import { ExitTable } from './ExitTable';
import './observe.css';

export function DeathReport({ status }: { status: MachineStatus }) {
  if (status.state !== 'dead' || !status.lastExits?.length) return null;
  return (
    <details className="death-report" open data-testid="death-report">
      <summary>
        <strong>The guest died:</strong> <span data-testid="death-reason">{status.reason}</span>{' '}
        <span className="muted small">— the last {status.lastExits.length} exits before it, newest last</span>
      </summary>
      <ExitTable events={status.lastExits} testid="death-exits" />
    </details>
  );
}
