// The Networks tab: every network of the workbench's one lguest host, its member machines (peer
// slot, MAC, state) with the frames and bytes the host moved for each, start/stop of all its
// machines, and a capture of its traffic into a pcap file.

import { useCallback, useEffect, useState } from 'react';
import type { NetworkView } from '../../../core/service/api';
import { call, errorMessage } from '../api/client';
import { formatBytes } from '../format';
// The note line and the table look like the Snapshots tab's (its classes, from SnapshotsPanel.css).
import './NetworksPanel.css';

/** How often the counters are re-read while the tab is shown. */
const REFRESH_MS = 500;

type Note = { kind: 'ok' | 'error'; text: string } | null;

export function NetworksPanel({ visible }: { visible: boolean }) {
  const [networks, setNetworks] = useState<NetworkView[] | null>(null);
  const [busy, setBusy] = useState<string | null>(null);
  const [note, setNote] = useState<Note>(null);

  const refresh = useCallback(async () => {
    try {
      setNetworks(await call('networks.list', {}));
    } catch (err) {
      setNote({ kind: 'error', text: `Could not list networks: ${errorMessage(err)}` });
    }
  }, []);

  useEffect(() => {
    if (!visible) return;
    void refresh();
    const timer = setInterval(() => void refresh(), REFRESH_MS);
    return () => clearInterval(timer);
  }, [visible, refresh]);

  const act = async (name: string, what: string, work: () => Promise<string>): Promise<void> => {
    setBusy(`${name}:${what}`);
    setNote(null);
    try {
      setNote({ kind: 'ok', text: await work() });
    } catch (err) {
      setNote({ kind: 'error', text: `${name}: ${errorMessage(err)}` });
    } finally {
      setBusy(null);
      await refresh();
    }
  };

  if (networks === null) return <div className="empty">Loading…</div>;

  return (
    <div className="snapshots networks" data-testid="networks">
      <div className="muted">
        All machines run on one lguest host (at most 16 guests); guests on the same network exchange frames through it.
      </div>
      {note && (
        <div className={`snapshots-note ${note.kind}`} role="status">
          {note.text}
        </div>
      )}
      {networks.length === 0 && (
        <div className="empty">No network yet: add one to a machine’s config, e.g. "networks": ["lan0"].</div>
      )}
      {networks.map((n) => (
        <section key={n.name} className="network" data-network={n.name}>
          <div className="network-head">
            <h3>{n.name}</h3>
            <button
              className="button small"
              disabled={busy !== null}
              onClick={() =>
                void act(n.name, 'start', async () => {
                  await call('networks.start', { name: n.name });
                  return `Started the machines of ${n.name}.`;
                })
              }
            >
              ▶ Start all
            </button>
            <button
              className="button small"
              disabled={busy !== null}
              onClick={() =>
                void act(n.name, 'stop', async () => {
                  await call('networks.stop', { name: n.name });
                  return `Stopped the machines of ${n.name}.`;
                })
              }
            >
              ■ Stop all
            </button>
            <span className="spacer" />
            {n.capture ? (
              <>
                <span className="networks-capture mono" data-testid="capture-status">
                  ● recording {n.capture.frames} frames, {formatBytes(n.capture.bytes)}
                </span>
                <button
                  className="button small danger"
                  disabled={busy !== null}
                  onClick={() =>
                    void act(n.name, 'capture', async () => {
                      const c = await call('networks.capture.stop', { name: n.name });
                      return `Capture saved: ${c.file} (${c.frames} frames).`;
                    })
                  }
                >
                  Stop capture
                </button>
              </>
            ) : (
              <button
                className="button small"
                disabled={busy !== null}
                onClick={() =>
                  void act(n.name, 'capture', async () => {
                    const c = await call('networks.capture.start', { name: n.name });
                    return `Recording ${n.name} into ${c.file}.`;
                  })
                }
              >
                ● Capture
              </button>
            )}
          </div>
          <table className="snapshots-table networks-table">
            <thead>
              <tr>
                <th>Machine</th>
                <th>State</th>
                <th className="num">Slot</th>
                <th>MAC</th>
                <th className="num">Frames out</th>
                <th className="num">Bytes out</th>
                <th className="num">Frames in</th>
                <th className="num">Bytes in</th>
              </tr>
            </thead>
            <tbody>
              {n.members.map((m, i) => (
                <tr key={m.machine ?? `slot-${m.peerSlot ?? i}`} data-member={m.machine ?? ''}>
                  <td>{m.machine ?? '(unknown)'}</td>
                  <td>
                    <span className={`badge badge-${m.state}`}>{m.state}</span>
                  </td>
                  <td className="num mono">{m.peerSlot ?? '—'}</td>
                  <td className="mono">{m.mac ?? '—'}</td>
                  <td className="num mono" data-counter="txFrames">
                    {m.txFrames}
                  </td>
                  <td className="num mono">{formatBytes(m.txBytes)}</td>
                  <td className="num mono" data-counter="rxFrames">
                    {m.rxFrames}
                  </td>
                  <td className="num mono">{formatBytes(m.rxBytes)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  );
}
