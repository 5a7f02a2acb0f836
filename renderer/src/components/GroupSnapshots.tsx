// The group snapshots of the selected machine's networks, in the Snapshots tab: snapshot a whole
// network at one point, and each group the machine belongs to as one entry (its members with their
// slots and MACs, verified or broken with the reason) to restore or delete together.

import { useCallback, useEffect, useState } from 'react';
import type { GroupSnapshotListing, NetworkView } from '../../../core/service/api';
import { call, errorMessage, on } from '../api/client';
import { ConfirmStep, VerificationBadge } from './SnapshotRowParts';

interface Props {
  id: string;
  /** The group files the machine's own snapshot files belong to (file -> group), for its table. */
  onMembership(files: Map<string, GroupSnapshotListing>): void;
  /** A group was restored (the shell shows the console). */
  onRestored?(): void;
}

type Confirm = { kind: 'restore' | 'delete'; file: string } | null;
type Note = { kind: 'ok' | 'error'; text: string } | null;

export function GroupSnapshots({ id, onMembership, onRestored }: Props) {
  const [groups, setGroups] = useState<GroupSnapshotListing[]>([]);
  const [networks, setNetworks] = useState<string[]>([]);
  const [busy, setBusy] = useState<string | null>(null);
  const [confirm, setConfirm] = useState<Confirm>(null);
  const [note, setNote] = useState<Note>(null);

  const refresh = useCallback(async () => {
    try {
      const [all, nets] = await Promise.all([call('snapshots.group.list', {}), call('networks.list', {})]);
      const mine = all.filter((g) => g.members.some((m) => m.machine === id));
      setGroups(mine);
      setNetworks(onNetworks(nets, id));
      const membership = new Map<string, GroupSnapshotListing>();
      for (const g of mine) for (const m of g.members) if (m.machine === id) membership.set(m.file, g);
      onMembership(membership);
    } catch (err) {
      setNote({ kind: 'error', text: `Could not list group snapshots: ${errorMessage(err)}` });
    }
  }, [id, onMembership]);

  useEffect(() => {
    setConfirm(null);
    setNote(null);
    void refresh();
    const offSnapshots = on('snapshots.changed', () => void refresh());
    // A machine that starts or stops joins or leaves its networks: their buttons follow.
    const states = new Map<string, string>();
    const offStatus = on('machine.status', (s) => {
      if (states.get(s.id) !== s.state) void refresh();
      states.set(s.id, s.state);
    });
    return () => {
      offSnapshots();
      offStatus();
    };
  }, [refresh]);

  const run = async (key: string, work: () => Promise<string>): Promise<void> => {
    setBusy(key);
    setConfirm(null);
    setNote(null);
    try {
      setNote({ kind: 'ok', text: await work() });
    } catch (err) {
      setNote({ kind: 'error', text: errorMessage(err) });
    } finally {
      setBusy(null);
      await refresh();
    }
  };

  const take = (network: string) =>
    run(`take:${network}`, async () => {
      const g = await call('snapshots.group.take', { network });
      return `Saved and verified group ${g.file}: ${g.members.map((m) => m.machine).join(', ')}.`;
    });

  const act = (c: NonNullable<Confirm>) =>
    run(c.file, async () => {
      if (c.kind === 'delete') {
        await call('snapshots.group.delete', { file: c.file });
        return `Deleted group ${c.file}.`;
      }
      const statuses = await call('snapshots.group.restore', { file: c.file });
      onRestored?.();
      return `Restored group ${c.file}: ${statuses.map((s) => `${s.id} ${s.state}`).join(', ')}.`;
    });

  if (networks.length === 0 && groups.length === 0) return null;

  return (
    <section className="group-snapshots" data-testid="group-snapshots">
      <div className="snapshots-toolbar">
        <strong>Group snapshots</strong>
        {networks.map((n) => (
          <button
            key={n}
            className="button small primary"
            data-take-group={n}
            disabled={busy !== null}
            title={`Pause every machine on ${n} together and snapshot them all`}
            onClick={() => void take(n)}
          >
            {busy === `take:${n}` ? `Snapshotting ${n}…` : `◉ Snapshot network ${n}`}
          </button>
        ))}
        <span className="muted">Every machine of the network, at one point, restored together.</span>
      </div>
      {note && (
        <div className={`snapshots-note ${note.kind}`} role="status">
          <span>{note.text}</span>
        </div>
      )}
      {groups.length > 0 && (
        <table className="snapshots-table">
          <thead>
            <tr>
              <th>Group</th>
              <th>Members</th>
              <th>Check</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {groups.map((g) => (
              <tr key={g.file} data-group={g.file} className={g.verified ? '' : 'bad'}>
                <td title={g.file}>
                  <strong>{g.network ?? '?'}</strong>{' '}
                  <span className="muted">{g.createdAt ? new Date(g.createdAt).toLocaleString() : g.file}</span>
                </td>
                <td>
                  {g.members.map((m) => (
                    <div key={m.machine} className="mono" data-group-member={m.machine}>
                      {m.machine} · slot {m.peerSlot} · {m.mac}
                      {!m.verified && <span className="snapshots-error"> {m.error}</span>}
                    </div>
                  ))}
                </td>
                <td>
                  <VerificationBadge verified={g.verified} failedAs="broken" error={g.error} />
                </td>
                <td>
                  <div className="snapshots-actions">
                    {confirm?.file === g.file ? (
                      <ConfirmStep
                        question={
                          confirm.kind === 'restore'
                            ? 'Replace every machine of the group with its snapshot?'
                            : 'Delete the group and its members’ files?'
                        }
                        action={confirm.kind === 'restore' ? 'Restore group' : 'Delete group'}
                        onConfirm={() => void act(confirm)}
                        onCancel={() => setConfirm(null)}
                      />
                    ) : (
                      <>
                        <button
                          className="button small"
                          disabled={!g.verified || busy !== null}
                          onClick={() => setConfirm({ kind: 'restore', file: g.file })}
                        >
                          Restore group…
                        </button>
                        <button
                          className="button small"
                          disabled={busy !== null}
                          onClick={() => setConfirm({ kind: 'delete', file: g.file })}
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
    </section>
  );
}

/** The networks the machine is on now (it holds a peer slot there). */
function onNetworks(networks: NetworkView[], id: string): string[] {
  return networks.filter((n) => n.members.some((m) => m.machine === id && m.peerSlot !== null)).map((n) => n.name);
}
