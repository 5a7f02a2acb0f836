// A table of traced exits: instruction count, EIP, what it was, its detail, what the host decided.

import type { ExitEvent } from '../../../../core/service/api';
import { exitDetail } from './exit-text';

export function ExitTable({ events, testid }: { events: readonly ExitEvent[]; testid: string }) {
  return (
    <table className="grid-table exit-table" data-testid={testid}>
      <thead>
        <tr>
          <th className="num">instruction</th>
          <th>eip</th>
          <th>exit</th>
          <th>detail</th>
          <th>host decided</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e, i) => (
          <tr key={i} className={e.decision === 'killed' ? 'exit-killed' : undefined}>
            <td className="mono num">{e.instruction.toLocaleString('en-US')}</td>
            <td className="mono">{'0x' + e.eip.toString(16).padStart(8, '0')}</td>
            <td>{e.kind}</td>
            <td className="mono">{exitDetail(e)}</td>
            <td className={`decision decision-${e.decision}`}>{e.decision}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
