// The Snapshots tab: take a snapshot of the selected machine, list its snapshot files (verified,
// or with the reason they cannot be used), restore one (the machine comes back paused) or delete it.

import { useCallback, useEffect, useState } from 'react';
import type { MachineStatus, SnapshotListing } from '../../../core/service/api';
import { formatVirtualTime } from '../format';
import { ApiCallError, call, errorMessage, on } from '../api/client';
import './SnapshotsPanel.css';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  /** A snapshot was restored into the machine (the shell shows its console). */
  onRestored?(): void;
}

type Confirm = { kind: 'restore' | 'delete'; file: string; allowChangedDisks?: boolean } | null;
type Note = { kind: 'ok' | 'error'; text: string; diskChangedFile?: string } | null;

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MiB`;
}

export function SnapshotsPanel({ id, status, onRestored }: Props) {
  const [list, setList] = useState<SnapshotListing[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [note, setNote] = useState<Note>(null);
  const state = status?.state ?? 'stopped';
  const canTake = id !== null && !['stopped', 'dead', 'starting'].includes(state);

  const refresh = useCallback(async () => {
    if (!id) return;
    try {
      setList(await call('snapshots.list', { id }));
    } catch (err) {
      // A machine with no config and no snapshots: an empty list, not an error.
      if (err instanceof ApiCallError && err.info.code === 'not-found') setList([]);
      else setNote({ kind: 'error', text: `Could not list snapshots: ${errorMessage(err)}` });
    }
  }, [id]);

  useEffect(() => {
    setList(null);
    setConfirm(null);
    setNote(null);
    void refresh();
    return on('snapshots.changed', (ev) => {
      if (ev.id === id) void refresh();
    });
  }, [id, refresh]);

  const take = async (): Promise<void> => {
    if (!id) return;
    setBusy('take');
    setNote(null);
    try {
      const s = await call('snapshots.take', { id });
      setNote({ kind: 'ok', text: `Saved and verified ${s.file} (${formatBytes(s.sizeBytes)}).` });
      await refresh();
    } catch (err) {
      setNote({ kind: 'error', text: `Snapshot failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const act = async (c: NonNullable<Confirm>): Promise<void> => {
    if (!id) return;
    setBusy(c.file);
    setConfirm(null);
    setNote(null);
    try {
      if (c.kind === 'restore') {
        await call('snapshots.restore', { id, file: c.file, allowChangedDisks: c.allowChangedDisks ?? false });
        setNote({ kind: 'ok', text: `Restored ${c.file}. The machine is paused: resume it to continue.` });
        onRestored?.();
      } else {
        await call('snapshots.delete', { id, file: c.file });
        setNote({ kind: 'ok', text: `Deleted ${c.file}.` });
      }
      await refresh();
    } catch (err) {
      const diskChanged = err instanceof ApiCallError && err.info.code === 'disk-changed';
      setNote({
        kind: 'error',
        text: `${c.kind === 'restore' ? 'Restore' : 'Delete'} failed: ${errorMessage(err)}`,
        ...(diskChanged ? { diskChangedFile: c.file } : {}),
      });
    } finally {
      setBusy(null);
    }
  };

  if (!id) return <div className="empty">Select a machine to see its snapshots.</div>;

  return (
    <div className="snapshots" data-testid="snapshots">
      <div className="snapshots-toolbar">
        <button className="button primary" disabled={!canTake || busy !== null} onClick={() => void take()}>
          {busy === 'take' ? 'Taking snapshot…' : '◉ Take snapshot'}
        </button>
        <span className="muted">
          {canTake
            ? 'Saves CPU, memory, host and device state; disks are checked, not copied.'
            : 'Start the machine to take a snapshot.'}
        </span>
        <span className="spacer" />
        <button className="button small" disabled={busy !== null} onClick={() => void refresh()}>
          ↻ Refresh
        </button>
      </div>
      {note && (
        <div className={note.kind === 'ok' ? 'snapshots-note ok' : 'snapshots-note error'} role="status">
          <span>{note.text}</span>
          {note.diskChangedFile && (
            <button
              className="button small danger"
              onClick={() => setConfirm({ kind: 'restore', file: note.diskChangedFile!, allowChangedDisks: true })}
            >
              Restore anyway…
            </button>
          )}
        </div>
      )}
      {list === null ? (
        <div className="empty">Loading…</div>
      ) : list.length === 0 ? (
        <div className="empty">No snapshots of {id} yet.</div>
      ) : (
        <table className="snapshots-table">
          <thead>
            <tr>
              <th>Taken</th>
              <th className="num">Instructions</th>
              <th className="num">Virtual time</th>
              <th className="num">Size</th>
              <th>Check</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {list.map((s) => (
              <tr key={s.file} data-snapshot={s.file} className={s.verified ? '' : 'bad'}>
                <td title={s.file}>
                  {s.createdAt ? new Date(s.createdAt).toLocaleString() : <code>{s.file}</code>}
                  {s.disks && s.disks.length > 0 && (
                    <div className="snapshots-disks">disks: {s.disks.map((d) => d.path).join(', ')}</div>
                  )}
                </td>
                <td className="num mono">{s.instructionCount?.toLocaleString('en-US') ?? '—'}</td>
                <td className="num mono">{s.virtualTimeNs !== undefined ? formatVirtualTime(s.virtualTimeNs) : '—'}</td>
                <td className="num mono">{formatBytes(s.sizeBytes)}</td>
                <td>
                  {s.verified ? (
                    <span className="badge badge-running">verified</span>
                  ) : (
                    <>
                      <span className="badge badge-corrupt">unusable</span>
                      <div className="snapshots-error">{s.error}</div>
                    </>
                  )}
                </td>
                <td>
                  <div className="snapshots-actions">
                    {confirm?.file === s.file ? (
                      <>
                        <span className="muted">
                          {confirm.kind === 'restore'
                            ? confirm.allowChangedDisks
                              ? 'Restore with changed disks?'
                              : 'Replace the machine with this snapshot?'
                            : 'Delete this snapshot file?'}
                        </span>
                        <button className="button small danger" onClick={() => void act(confirm)}>
                          {confirm.kind === 'restore' ? 'Restore' : 'Delete'}
                        </button>
                        <button className="button small" onClick={() => setConfirm(null)}>
                          Cancel
                        </button>
                      </>
                    ) : (
                      <>
                        <button
                          className="button small"
                          disabled={!s.verified || busy !== null}
                          onClick={() => setConfirm({ kind: 'restore', file: s.file })}
                        >
                          Restore…
                        </button>
                        <button
                          className="button small"
                          disabled={busy !== null}
                          onClick={() => setConfirm({ kind: 'delete', file: s.file })}
                        >
                          Delete…
                        </button>
                      </>
                    )}
                  </div>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
