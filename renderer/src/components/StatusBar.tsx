// The status bar: the selected machine's state (and why it died), its virtual time, and a count of
// running machines.

import type { ConfigListing, MachineStatus } from '../../../core/service/api';
import { formatVirtualTime, STATE_LABEL } from '../format';
import { SpinningHint } from './observe/SpinningHint';

interface Props {
  status: MachineStatus | null;
  listing: ConfigListing | null;
  machinesRunning: number;
}

export function StatusBar({ status, listing, machinesRunning }: Props) {
  return (
    <footer className="statusbar">
      {status ? (
        <>
          <span className={`dot dot-${status.state}`} aria-hidden />
          <span data-testid="machine-state">{STATE_LABEL[status.state]}</span>
          {status.reason && (
            <span className="status-reason" title={status.reason}>
              — {status.reason}
            </span>
          )}
          <SpinningHint status={status} />
          <span className="spacer" />
          <span title="Virtual time of the guest clock">virtual time {formatVirtualTime(status.virtualTimeNs)}</span>
        </>
      ) : (
        <span className="spacer">{listing ? '' : 'no machine selected'}</span>
      )}
      <span className="sep" />
      <span>
        {machinesRunning} machine{machinesRunning === 1 ? '' : 's'} running
      </span>
    </footer>
  );
}
