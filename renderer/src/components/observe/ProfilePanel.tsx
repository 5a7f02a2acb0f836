// The Profile tab: the guest profiler. Start samples EIP/CPL/CR3 every N guest instructions
// (changing nothing the guest sees); the top of the profile as a table and as a flame graph
// (kernel and user apart, user code by address space and, where recognised, by user program with
// its symbols); export for speedscope.

import { useState } from 'react';
import type { GuestProfile, MachineStatus, ProfileRow } from '../../../../core/service/api';
import { call, errorMessage } from '../../api/client';
import { PanelFrame } from '../inspectors/PanelFrame';
import { useInspector } from '../inspectors/useInspector';
import { downloadText } from './download';
import './observe.css';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

/** Rows read for the flame graph; the table shows the first TABLE_ROWS. */
const PROFILE_ROWS = 200;
const TABLE_ROWS = 25;
const INTERVALS = [1_000, 5_000, 20_000, 100_000];

function pct(x: number): string {
  return `${(x * 100).toFixed(1)}%`;
}

function hex8(n: number): string {
  return '0x' + (n >>> 0).toString(16).padStart(8, '0');
}

/** "bench · 0x00123000" for a recognised program, else "address space 0x00123000". */
function spaceLabel(r: ProfileRow): string {
  if (r.cr3 === null) return '';
  return r.program === null ? `address space ${hex8(r.cr3)}` : `${r.program} · ${hex8(r.cr3)}`;
}

/** A two- or three-level icicle: mode, (address space), place; widths are shares of all samples. */
function FlameGraph({ profile }: { profile: GuestProfile }) {
  const total = profile.samples;
  if (total === 0) return null;
  const modes: { mode: string; samples: number; groups: { label: string; samples: number; rows: ProfileRow[] }[] }[] =
    [];
  for (const mode of ['kernel', 'user'] as const) {
    const rows = profile.rows.filter((r) => r.mode === mode);
    const samples = mode === 'kernel' ? profile.kernelSamples : profile.userSamples;
    if (samples === 0) continue;
    const groups = new Map<string, ProfileRow[]>();
    for (const r of rows) {
      const key = spaceLabel(r);
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    modes.push({
      mode,
      samples,
      groups: [...groups].map(([label, rs]) => ({ label, rows: rs, samples: rs.reduce((n, r) => n + r.samples, 0) })),
    });
  }
  const cell = (label: string, samples: number, cls: string, key: string) => (
    <div
      key={key}
      className={`flame-cell ${cls}`}
      style={{ flexGrow: samples, flexBasis: 0 }}
      title={`${label}: ${samples} samples (${pct(samples / total)})`}
    >
      <span>{label}</span>
    </div>
  );
  return (
    <div className="flame" data-testid="flame-graph">
      <div className="flame-row">{cell('all', total, 'flame-root', 'all')}</div>
      <div className="flame-row">{modes.map((m) => cell(m.mode, m.samples, `flame-${m.mode}`, m.mode))}</div>
      <div className="flame-row">
        {modes.map((m) => (
          <div key={m.mode} className="flame-span" style={{ flexGrow: m.samples, flexBasis: 0 }}>
            {m.groups.map((g) =>
              g.label
                ? cell(g.label, g.samples, `flame-${m.mode}`, g.label)
                : g.rows.map((r) => cell(r.name, r.samples, `flame-${m.mode}`, r.name)),
            )}
          </div>
        ))}
      </div>
      <div className="flame-row">
        {modes.map((m) => (
          <div key={m.mode} className="flame-span" style={{ flexGrow: m.samples, flexBasis: 0 }}>
            {m.groups.map((g) => (
              <div key={g.label || 'direct'} className="flame-span" style={{ flexGrow: g.samples, flexBasis: 0 }}>
                {g.label ? g.rows.map((r) => cell(r.name, r.samples, `flame-${m.mode}`, r.name)) : null}
              </div>
            ))}
          </div>
        ))}
      </div>
    </div>
  );
}

export function ProfilePanel({ id, status, visible }: Props) {
  const { data, error, live, refresh } = useInspector(
    'inspect.profile',
    id ? { id, action: 'read', top: PROFILE_ROWS } : null,
    status,
    visible,
  );
  // The host's default: at the emulator's compiled-code speed, thousands of samples per second.
  const [interval, setSampleInterval] = useState(100_000);
  const [problem, setProblem] = useState<string | null>(null);
  const act = async (action: 'start' | 'stop' | 'reset'): Promise<void> => {
    if (!id) return;
    try {
      await call('inspect.profile', { id, action, interval });
      setProblem(null);
      refresh();
    } catch (err) {
      setProblem(errorMessage(err));
    }
  };
  const exportSpeedscope = async (): Promise<void> => {
    if (!id) return;
    try {
      const r = await call('inspect.profile', { id, action: 'speedscope' });
      downloadText(`${id}.speedscope.json`, JSON.stringify(r.speedscope), 'application/json');
    } catch (err) {
      setProblem(errorMessage(err));
    }
  };
  const p = data?.profile;
  const tools = (
    <>
      <label className="small">
        every{' '}
        <select
          value={interval}
          onChange={(e) => setSampleInterval(Number(e.target.value))}
          aria-label="Sampling interval"
        >
          {INTERVALS.map((n) => (
            <option key={n} value={n}>
              {n.toLocaleString('en-US')}
            </option>
          ))}
        </select>{' '}
        instructions
      </label>
      {data?.running ? (
        <button className="button small" onClick={() => void act('stop')} data-testid="profile-stop">
          ■ Stop
        </button>
      ) : (
        <button className="button small" onClick={() => void act('start')} data-testid="profile-start">
          ● Start
        </button>
      )}
      <button className="button small" onClick={() => void act('reset')} data-testid="profile-reset">
        Reset
      </button>
      <button
        className="button small"
        onClick={() => void exportSpeedscope()}
        disabled={!p || p.samples === 0}
        data-testid="profile-export"
      >
        ⤓ speedscope
      </button>
    </>
  );
  return (
    <PanelFrame
      title="Profile"
      status={status}
      live={live}
      error={problem ?? error}
      hasData={data !== null}
      onRefresh={refresh}
      tools={tools}
    >
      {p && (
        <div className="profile">
          <div className="muted small" data-testid="profile-summary">
            {data.running ? 'sampling' : 'not sampling'} · {p.samples.toLocaleString('en-US')} samples every{' '}
            {p.interval.toLocaleString('en-US')} instructions · kernel{' '}
            {pct(p.samples ? p.kernelSamples / p.samples : 0)}, user {pct(p.samples ? p.userSamples / p.samples : 0)} ·{' '}
            {p.symbols ? 'kernel code named by its symbols' : 'no kernel symbols: 256-byte address ranges'} ·{' '}
            {p.programs.length > 0
              ? `user programs named: ${p.programs.join(', ')}`
              : 'no user program symbols: user code by address range'}
          </div>
          {data.mapProblems.length > 0 && (
            <ul className="profile-problems small" data-testid="profile-map-problems">
              {data.mapProblems.map((m) => (
                <li key={m}>{m}</li>
              ))}
            </ul>
          )}
          {p.samples === 0 ? (
            <div className="empty">No samples yet: press Start, let the guest work, and the profile fills in.</div>
          ) : (
            <>
              <FlameGraph profile={p} />
              <table className="grid-table" data-testid="profile-table">
                <thead>
                  <tr>
                    <th>mode</th>
                    <th>where</th>
                    <th>program</th>
                    <th>address space</th>
                    <th className="num">samples</th>
                    <th className="num">share</th>
                  </tr>
                </thead>
                <tbody>
                  {p.rows.slice(0, TABLE_ROWS).map((r) => (
                    <tr key={`${r.mode} ${r.cr3 ?? ''} ${r.program ?? ''} ${r.name}`}>
                      <td>{r.mode}</td>
                      <td className="mono">{r.name}</td>
                      <td>{r.program ?? ''}</td>
                      <td className="mono">{r.cr3 === null ? '' : hex8(r.cr3)}</td>
                      <td className="mono num">{r.samples.toLocaleString('en-US')}</td>
                      <td className="mono num">{pct(r.share)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </>
          )}
        </div>
      )}
    </PanelFrame>
  );
}
