// What changed between a snapshot and another one (or the running machine): guest pages as a count
// and address ranges, the registers that differ, and each disk's changed blocks.

import type { ByteRange, SnapshotDiff } from '../../../core/service/api';
import { formatBytes } from '../format';

const MAX_RANGES = 48;

const hex = (n: number): string => `0x${n.toString(16).padStart(8, '0')}`;

function Ranges({ ranges }: { ranges: ByteRange[] }) {
  if (ranges.length === 0) return <span className="muted">none</span>;
  return (
    <div className="diff-ranges mono">
      {ranges.slice(0, MAX_RANGES).map((r) => (
        <span key={r.start}>
          {hex(r.start)}–{hex(r.end - 1)} ({formatBytes(r.end - r.start)})
        </span>
      ))}
      {ranges.length > MAX_RANGES && <span className="muted">and {ranges.length - MAX_RANGES} more ranges</span>}
    </div>
  );
}

export function SnapshotDiffView({ diff, from, to }: { diff: SnapshotDiff; from: string; to: string }) {
  return (
    <div className="snapshot-diff" data-testid="snapshot-diff">
      <div className="diff-title">
        {from} → {to}
      </div>
      <div className="diff-section">
        <strong>Guest pages changed: </strong>
        <span data-testid="diff-pages">{diff.pages.changed}</span>
        <Ranges ranges={diff.pages.ranges} />
      </div>
      <div className="diff-section">
        <strong>Registers changed: </strong>
        {diff.registers.length === 0 ? (
          <span className="muted">none</span>
        ) : (
          <table className="diff-registers mono">
            <tbody>
              {diff.registers.map((r) => (
                <tr key={r.name} data-register={r.name}>
                  <td>{r.name}</td>
                  <td>{hex(r.a)}</td>
                  <td>→</td>
                  <td>{hex(r.b)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      {diff.disks.map((d, i) => (
        <div className="diff-section" key={i} data-disk={i}>
          <strong>Disk {d.path}: </strong>
          {d.changedBlocks === null ? (
            <span className="muted">not compared ({d.why})</span>
          ) : (
            <>
              <span data-testid="diff-disk-blocks">{d.changedBlocks}</span> blocks of 4 KiB changed
              <Ranges ranges={d.ranges} />
            </>
          )}
        </div>
      ))}
    </div>
  );
}
