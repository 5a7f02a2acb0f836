// The Debugger tab: attach to the selected machine, break by symbol or by clicking a line of the
// disassembly (optionally with a condition), and step (F11), step over (F10), step out
// (Shift+F11), continue (F5), step back (over calls too) or drag the timeline to any instruction of
// the recorded window; a watch list and a memory viewer that can follow a register.

import { useCallback, useEffect, useState } from 'react';
import type { DebugCommand, DebugView, DisassemblySyntax, MachineStatus } from '../../../core/service/api';
import { call, errorMessage } from '../api/client';
import './DebuggerPanel.css';

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

const hex = (n: number) => '0x' + (n >>> 0).toString(16).padStart(8, '0');

export function DebuggerPanel({ id, status, visible }: Props) {
  const [view, setView] = useState<DebugView | null>(null);
  const [syntax, setSyntax] = useState<DisassemblySyntax>('intel');
  const [target, setTarget] = useState('');
  const [condition, setCondition] = useState('');
  const [watches, setWatches] = useState<string[]>([]);
  const [watchText, setWatchText] = useState('');
  const [memory, setMemory] = useState<string | null>(null);
  const [memoryText, setMemoryText] = useState('esp');
  /** The timeline's position while it is being dragged (sought on release). */
  const [dragCount, setDragCount] = useState<number | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const live = status !== null && !['stopped', 'dead', 'starting'].includes(status.state);

  const send = useCallback(
    async (command: DebugCommand) => {
      if (!id) return;
      setBusy(true);
      try {
        setView(await call('debug.command', { id, command, syntax, watches, ...(memory === null ? {} : { memory }) }));
        setProblem(null);
      } catch (err) {
        setProblem(errorMessage(err));
      } finally {
        setBusy(false);
      }
    },
    [id, syntax, watches, memory],
  );

  // A run that ends at a breakpoint pauses the machine: fetch the new view then.
  useEffect(() => {
    if (visible && view?.attached && status?.state === 'paused') void send({ op: 'view' });
  }, [status?.state, visible, syntax]);

  // A changed watch list or memory address is shown at once.
  useEffect(() => {
    if (view?.attached) void send({ op: 'view' });
  }, [watches, memory]);

  useEffect(() => {
    if (!live) setView(null);
  }, [live]);

  useEffect(() => {
    if (!visible || !view?.attached) return;
    const onKey = (e: KeyboardEvent) => {
      const keys: Record<string, DebugCommand> = {
        F5: { op: 'continue' },
        F10: { op: 'step-over' },
        F11: e.shiftKey ? { op: 'step-out' } : { op: 'step' },
      };
      const command = keys[e.key];
      if (!command) return;
      e.preventDefault();
      void send(command);
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [visible, view?.attached, send]);

  if (!id || !live) return <div className="empty">Start the machine to debug it.</div>;
  if (!view?.attached)
    return (
      <div className="debugger" data-testid="debugger">
        <button onClick={() => void send({ op: 'attach' })} disabled={busy}>
          Attach debugger
        </button>
        {problem && <div className="field-error">{problem}</div>}
      </div>
    );

  const running = view.stopped === null;
  return (
    <div className="debugger" data-testid="debugger">
      <div className="debugger-toolbar">
        <button onClick={() => void send({ op: 'continue' })} disabled={busy || running} title="Continue (F5)">
          Continue
        </button>
        <button onClick={() => void send({ op: 'pause' })} disabled={busy || !running}>
          Pause
        </button>
        <button onClick={() => void send({ op: 'step' })} disabled={busy || running} title="Step into (F11)">
          Step
        </button>
        <button onClick={() => void send({ op: 'step-over' })} disabled={busy || running} title="Step over (F10)">
          Step over
        </button>
        <button onClick={() => void send({ op: 'step-out' })} disabled={busy || running} title="Step out (Shift+F11)">
          Step out
        </button>
        <button onClick={() => void send({ op: 'step-back' })} disabled={busy || running}>
          Step back
        </button>
        <button onClick={() => void send({ op: 'step-back-over' })} disabled={busy || running}>
          Step back over
        </button>
        <label>
          Syntax{' '}
          <select aria-label="Syntax" value={syntax} onChange={(e) => setSyntax(e.target.value as DisassemblySyntax)}>
            <option value="intel">Intel</option>
            <option value="att">AT&amp;T</option>
          </select>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            if (target.trim())
              void send({
                op: 'break',
                target: target.trim(),
                ...(condition.trim() ? { condition: condition.trim() } : {}),
              });
          }}
        >
          <input
            aria-label="Break at"
            placeholder="symbol or hex address"
            value={target}
            onChange={(e) => setTarget(e.target.value)}
          />
          <input
            aria-label="Condition"
            placeholder="condition, e.g. eax == 4"
            value={condition}
            onChange={(e) => setCondition(e.target.value)}
          />
          <button type="submit">Add breakpoint</button>
        </form>
        <label>
          <input
            type="checkbox"
            aria-label="gdb server"
            checked={view.gdb !== null}
            onChange={(e) => void send({ op: 'gdb', enable: e.target.checked })}
          />{' '}
          gdb server
        </label>
        <button onClick={() => void send({ op: 'detach' })}>Detach</button>
      </div>
      {view.gdb !== null && (
        <div className="debugger-gdb">
          In gdb: <code data-testid="gdb-line">{view.gdb}</code>
        </div>
      )}
      {problem && <div className="field-error">{problem}</div>}
      <div className="debugger-status" data-testid="debug-status">
        {running ? 'running' : `stopped: ${view.stopped}`} · instruction {view.instructionCount}
        {view.historyStart !== null && ` · history from ${view.historyStart}`}
      </div>
      {view.historyStart !== null && view.historyEnd > view.historyStart && (
        <div className="debugger-timeline">
          <span>{view.historyStart}</span>
          <input
            type="range"
            aria-label="Timeline"
            min={view.historyStart}
            max={view.historyEnd}
            value={dragCount ?? view.instructionCount}
            disabled={busy || running}
            onChange={(e) => setDragCount(Number(e.target.value))}
            onPointerUp={(e) => {
              const count = Number(e.currentTarget.value);
              setDragCount(null);
              if (count !== view.instructionCount) void send({ op: 'seek', count });
            }}
            onKeyUp={(e) => {
              const count = Number(e.currentTarget.value);
              setDragCount(null);
              if (count !== view.instructionCount) void send({ op: 'seek', count });
            }}
          />
          <span>{view.historyEnd}</span>
        </div>
      )}
      <div className="debugger-body">
        <table className="debugger-disasm" data-testid="disassembly">
          <tbody>
            {view.disassembly.map((l) => (
              <tr
                key={l.address}
                className={(l.current ? 'current ' : '') + (l.breakpoint ? 'bp' : '')}
                onClick={() =>
                  void send(
                    l.breakpoint ? { op: 'clear', address: l.address } : { op: 'break', target: hex(l.address) },
                  )
                }
                title="Click to set or clear a breakpoint"
              >
                <td className="gutter">{l.breakpoint ? '●' : ''}</td>
                <td className="addr">{hex(l.address)}</td>
                <td className="sym">{l.symbol ?? ''}</td>
                <td className="bytes">{l.bytes}</td>
                <td className="text">{l.text}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div className="debugger-side">
          <table className="debugger-regs" data-testid="debug-registers">
            <tbody>
              {view.registers.map((r) => (
                <tr key={r.name} data-reg={r.name} className={r.changed ? 'changed' : ''}>
                  <td>{r.name}</td>
                  <td>{hex(r.value)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <h4>Call stack</h4>
          <ol className="debugger-stack" data-testid="call-stack">
            {view.stack.map((f, i) => (
              <li key={i}>{f.label}</li>
            ))}
          </ol>
          <h4>Watch</h4>
          <ul className="debugger-watches" data-testid="watches">
            {view.watches.map((w, i) => (
              <li key={i} data-watch={w.expression}>
                {w.expression} = <span className="value">{w.value === null ? w.error : hex(w.value)}</span>{' '}
                <button className="link" onClick={() => setWatches(watches.filter((_, k) => k !== i))}>
                  remove
                </button>
              </li>
            ))}
          </ul>
          <form
            onSubmit={(e) => {
              e.preventDefault();
              if (watchText.trim()) setWatches([...watches, watchText.trim()]);
              setWatchText('');
            }}
          >
            <input
              aria-label="Watch"
              placeholder="register, symbol or hex address"
              value={watchText}
              onChange={(e) => setWatchText(e.target.value)}
            />
            <button type="submit">Add watch</button>
          </form>
          <h4>Breakpoints</h4>
          <ul className="debugger-bps" data-testid="breakpoints">
            {view.breakpoints.map((b, i) => (
              <li key={i}>
                {b.label}
                {b.condition !== null && ` if ${b.condition}`}{' '}
                <button className="link" onClick={() => void send({ op: 'clear', address: b.address })}>
                  remove
                </button>
              </li>
            ))}
          </ul>
        </div>
      </div>
      <div className="debugger-memory">
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setMemory(memoryText.trim() || null);
          }}
        >
          <label>
            Memory at{' '}
            <input
              aria-label="Memory at"
              list="debugger-registers"
              placeholder="register to follow, symbol or hex address"
              value={memoryText}
              onChange={(e) => setMemoryText(e.target.value)}
            />
          </label>
          <datalist id="debugger-registers">
            {view.registers.map((r) => (
              <option key={r.name} value={r.name} />
            ))}
          </datalist>
          <button type="submit">Show memory</button>
        </form>
        {view.memory?.error && <div className="field-error">{view.memory.error}</div>}
        {view.memory?.address != null && (
          <table className="debugger-dump" data-testid="memory">
            <tbody>
              {[0, 16, 32, 48].map((off) => (
                <tr key={off}>
                  <td className="addr">{hex(view.memory!.address! + off)}</td>
                  <td>
                    {view
                      .memory!.bytes.slice(off, off + 16)
                      .map((b) => b ?? '??')
                      .join(' ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </div>
  );
}
