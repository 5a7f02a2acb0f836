// The Snapshots tab: take a snapshot of the selected machine, show its snapshots as a tree (verified,
// or with the reason they cannot be used), name and annotate them, restore one (the machine comes
// back paused) or delete it, and commit a stopped machine's disks to their images.

import { useCallback, useEffect, useState } from 'react';
import type { GroupSnapshotListing, MachineStatus, SnapshotDiff, SnapshotListing } from '../../../core/service/api';
import { formatBytes, formatVirtualTime } from '../format';
import { ApiCallError, call, errorMessage, on } from '../api/client';
import { GroupSnapshots } from './GroupSnapshots';
import { ConfirmStep, VerificationBadge } from './SnapshotRowParts';
import { SnapshotDiffView } from './SnapshotDiffView';
import { snapshotTree } from './snapshot-tree';
import './SnapshotsPanel.css';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  /** A snapshot was restored into the machine (the shell shows its console). */
  onRestored?(): void;
}

type Confirm = { kind: 'restore' | 'delete'; file: string; allowChangedDisks?: boolean } | null;
type Labeling = { file: string; name: string; note: string } | null;
/** A diff being set up (`to` '' = the running machine) or shown. */
type Diffing = { from: string; to: string; result: SnapshotDiff | null } | null;
type Exporting = { file: string; to: string; embedBase: boolean } | null;
type Note = { kind: 'ok' | 'error'; text: string; diskChangedFile?: string } | null;

export function SnapshotsPanel({ id, status, onRestored }: Props) {
  const [list, setList] = useState<SnapshotListing[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [note, setNote] = useState<Note>(null);
  const [labeling, setLabeling] = useState<Labeling>(null);
  const [confirmCommit, setConfirmCommit] = useState(false);
  const [diffing, setDiffing] = useState<Diffing>(null);
  const [exporting, setExporting] = useState<Exporting>(null);
  const [importFrom, setImportFrom] = useState<string | null>(null);
  /** The machine's snapshot files that are members of a group snapshot (restored with their group). */
  const [membership, setMembership] = useState<Map<string, GroupSnapshotListing>>(new Map());
  const state = status?.state ?? 'stopped';
  const stopped = state === 'stopped' || state === 'dead';
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
    setLabeling(null);
    setConfirmCommit(false);
    setDiffing(null);
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

  const saveLabel = async (l: NonNullable<Labeling>): Promise<void> => {
    if (!id) return;
    setBusy(l.file);
    try {
      await call('snapshots.label', { id, file: l.file, name: l.name, note: l.note });
      setLabeling(null);
      await refresh();
    } catch (err) {
      setNote({ kind: 'error', text: `Saving the name failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const compare = async (d: NonNullable<Diffing>): Promise<void> => {
    if (!id) return;
    setBusy('diff');
    setNote(null);
    try {
      const result = await call('snapshots.diff', { id, from: d.from, ...(d.to ? { to: d.to } : {}) });
      setDiffing({ ...d, result });
    } catch (err) {
      setNote({ kind: 'error', text: `Diff failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const exportOne = async (x: NonNullable<Exporting>): Promise<void> => {
    if (!id) return;
    setBusy(x.file);
    setNote(null);
    try {
      const r = await call('snapshots.export', { id, file: x.file, to: x.to, embedBase: x.embedBase });
      setExporting(null);
      setNote({ kind: 'ok', text: `Exported ${x.file} to ${r.path} (${formatBytes(r.sizeBytes)}).` });
    } catch (err) {
      setNote({ kind: 'error', text: `Export failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const importOne = async (from: string): Promise<void> => {
    if (!id) return;
    setBusy('import');
    setNote(null);
    try {
      const s = await call('snapshots.import', { id, from });
      setImportFrom(null);
      setNote({ kind: 'ok', text: `Imported ${s.file}.` });
      await refresh();
    } catch (err) {
      setNote({ kind: 'error', text: `Import failed: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
    }
  };

  const commitDisks = async (): Promise<void> => {
    if (!id) return;
    setConfirmCommit(false);
    setBusy('commit');
    setNote(null);
    try {
      const { committed } = await call('disks.commit', { id });
      setNote({
        kind: 'ok',
        text:
          committed.length === 0
            ? 'No disk has changes to commit.'
            : `Committed ${committed.map((c) => `${c.blocks} blocks to ${c.path}`).join(', ')}.`,
      });
    } catch (err) {
      setNote({ kind: 'error', text: `Commit failed: ${errorMessage(err)}` });
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
            ? 'Saves CPU, memory, host and device state; disk changes stay in overlays beside it.'
            : 'Start the machine to take a snapshot.'}
        </span>
        <span className="spacer" />
        {confirmCommit ? (
          <span className="snapshots-actions">
            <span className="muted">
              Write the disks as the guest last saw them into their images? Snapshots taken before can no longer be
              restored.
            </span>
            <button className="button small danger" onClick={() => void commitDisks()}>
              Commit
            </button>
            <button className="button small" onClick={() => setConfirmCommit(false)}>
              Cancel
            </button>
          </span>
        ) : (
          <button
            className="button small"
            disabled={!stopped || busy !== null}
            title={stopped ? 'Write the disk changes into the disk images' : 'Stop the machine to commit its disks'}
            onClick={() => setConfirmCommit(true)}
          >
            Commit disks to base…
          </button>
        )}
        {importFrom === null ? (
          <button className="button small" disabled={busy !== null} onClick={() => setImportFrom('')}>
            Import…
          </button>
        ) : (
          <span className="snapshots-actions">
            <input
              aria-label="Import from"
              placeholder="/path/to/file.lgexport"
              value={importFrom}
              onChange={(e) => setImportFrom(e.target.value)}
            />
            <button
              className="button small primary"
              disabled={busy !== null}
              onClick={() => void importOne(importFrom)}
            >
              Import
            </button>
            <button className="button small" onClick={() => setImportFrom(null)}>
              Cancel
            </button>
          </span>
        )}
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
      <GroupSnapshots id={id} onMembership={setMembership} {...(onRestored ? { onRestored } : {})} />
      {diffing && (
        <div className="snapshots-diff-bar">
          <span>
            Compare <code>{diffing.from}</code> with
          </span>
          <select
            aria-label="Compare with"
            value={diffing.to}
            onChange={(e) => setDiffing({ from: diffing.from, to: e.target.value, result: null })}
          >
            <option value="">the machine now</option>
            {(list ?? [])
              .filter((s) => s.file !== diffing.from && s.verified)
              .map((s) => (
                <option key={s.file} value={s.file}>
                  {s.name ? `${s.name} (${s.file})` : s.file}
                </option>
              ))}
          </select>
          <button className="button small primary" disabled={busy !== null} onClick={() => void compare(diffing)}>
            Compare
          </button>
          <button className="button small" onClick={() => setDiffing(null)}>
            Close
          </button>
        </div>
      )}
      {diffing?.result && <SnapshotDiffView diff={diffing.result} from={diffing.from} to={diffing.to || 'now'} />}
      {list === null ? (
        <div className="empty">Loading…</div>
      ) : list.length === 0 ? (
        <div className="empty">No snapshots of {id} yet.</div>
      ) : (
        <table className="snapshots-table">
          <thead>
            <tr>
              <th>Snapshot</th>
              <th className="num">Instructions</th>
              <th className="num">Virtual time</th>
              <th className="num">Size</th>
              <th>Check</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {snapshotTree(list).map(({ listing: s, depth, lostParent }) => (
              <tr key={s.file} data-snapshot={s.file} data-depth={depth} className={s.verified ? '' : 'bad'}>
                <td title={s.file} className="snapshots-node" style={{ paddingLeft: 10 + depth * 18 }}>
                  {depth > 0 && <span className="snapshots-branch">└ </span>}
                  {s.name ? <strong className="snapshots-name">{s.name}</strong> : null}
                  <span className={s.name ? 'muted' : ''}>
                    {s.name ? ' ' : ''}
                    {s.createdAt ? new Date(s.createdAt).toLocaleString() : <code>{s.file}</code>}
                  </span>
                  {s.note && <div className="snapshots-note-text">{s.note}</div>}
                  {lostParent && <div className="muted">parent {lostParent} was deleted</div>}
                  {membership.has(s.file) && (
                    <div className="muted" data-member-of={membership.get(s.file)!.file}>
                      member of the group snapshot of {membership.get(s.file)!.network}: restored and deleted with its
                      group
                    </div>
                  )}
                  {s.lastLines && s.lastLines.length > 0 && (
                    <pre className="snapshots-lines">{s.lastLines.join('\n')}</pre>
                  )}
                  {s.disks && s.disks.length > 0 && (
                    <div className="snapshots-disks">disks: {s.disks.map((d) => d.path).join(', ')}</div>
                  )}
                  {exporting?.file === s.file && (
                    <div className="snapshots-label-form">
                      <input
                        aria-label="Export to"
                        value={exporting.to}
                        onChange={(e) => setExporting({ ...exporting, to: e.target.value })}
                      />
                      <label className="muted">
                        <input
                          type="checkbox"
                          checked={exporting.embedBase}
                          onChange={(e) => setExporting({ ...exporting, embedBase: e.target.checked })}
                        />{' '}
                        include the base disk images
                      </label>
                      <div className="snapshots-actions">
                        <button className="button small primary" onClick={() => void exportOne(exporting)}>
                          Export
                        </button>
                        <button className="button small" onClick={() => setExporting(null)}>
                          Cancel
                        </button>
                      </div>
                    </div>
                  )}
                  {labeling?.file === s.file && (
                    <div className="snapshots-label-form">
                      <input
                        aria-label="Snapshot name"
                        value={labeling.name}
                        placeholder="name"
                        onChange={(e) => setLabeling({ ...labeling, name: e.target.value })}
                      />
                      <textarea
                        aria-label="Snapshot note"
                        value={labeling.note}
                        placeholder="note"
                        rows={2}
                        onChange={(e) => setLabeling({ ...labeling, note: e.target.value })}
                      />
                      <div className="snapshots-actions">
                        <button className="button small primary" onClick={() => void saveLabel(labeling)}>
                          Save
                        </button>
                        <button className="button small" onClick={() => setLabeling(null)}>
                          Cancel
                        </button>
                      </div>
                    </div>
                  )}
                </td>
                <td className="num mono">{s.instructionCount?.toLocaleString('en-US') ?? '—'}</td>
                <td className="num mono">{s.virtualTimeNs !== undefined ? formatVirtualTime(s.virtualTimeNs) : '—'}</td>
                <td className="num mono">{formatBytes(s.sizeBytes)}</td>
                <td>
                  <VerificationBadge verified={s.verified} failedAs="unusable" error={s.error} />
                </td>
                <td>
                  <div className="snapshots-actions">
                    {confirm?.file === s.file ? (
                      <ConfirmStep
                        question={
                          confirm.kind === 'restore'
                            ? confirm.allowChangedDisks
                              ? 'Restore with changed disks?'
                              : 'Replace the machine with this snapshot?'
                            : 'Delete this snapshot file?'
                        }
                        action={confirm.kind === 'restore' ? 'Restore' : 'Delete'}
                        onConfirm={() => void act(confirm)}
                        onCancel={() => setConfirm(null)}
                      />
                    ) : (
                      <>
                        <button
                          className="button small"
                          disabled={busy !== null}
                          onClick={() => setLabeling({ file: s.file, name: s.name ?? '', note: s.note ?? '' })}
                        >
                          Label…
                        </button>
                        <button
                          className="button small"
                          disabled={!s.verified || busy !== null}
                          onClick={() => setDiffing({ from: s.file, to: '', result: null })}
                        >
                          Diff…
                        </button>
                        <button
                          className="button small"
                          disabled={!s.verified || busy !== null}
                          onClick={() =>
                            setExporting({
                              file: s.file,
                              to: `/tmp/${s.file.replace(/\.lgsnap$/, '')}.lgexport`,
                              embedBase: false,
                            })
                          }
                        >
                          Export…
                        </button>
                        <button
                          className="button small"
                          disabled={!s.verified || busy !== null || membership.has(s.file)}
                          onClick={() => setConfirm({ kind: 'restore', file: s.file })}
                        >
                          Restore…
                        </button>
                        <button
                          className="button small"
                          disabled={busy !== null || membership.has(s.file)}
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
