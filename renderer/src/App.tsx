// The workbench shell: machine list on the left, machine controls on top, console and config tabs
// in the middle, machine state and virtual time in the status bar.

import { useCallback, useEffect, useMemo, useState } from 'react';
import type { ConfigListing, JsonSchema, MachineStatus } from '../../core/service/api';
import { call, errorMessage, on } from './api/client';
import { ConfigEditor } from './components/ConfigEditor';
import { ConsoleView } from './components/ConsoleView';
import { DebuggerPanel } from './components/DebuggerPanel';
import { INSPECTOR_TABS, InspectorPanes, type InspectorTab } from './components/inspectors/InspectorPane';
import { MachineControls } from './components/MachineControls';
import { NetworksPanel } from './components/NetworksPanel';
import { DeathReport } from './components/observe/DeathReport';
import { SnapshotsPanel } from './components/SnapshotsPanel';
import { Sidebar } from './components/Sidebar';
import { StatusBar } from './components/StatusBar';
import { installMachineSchema } from './monaco-setup';

type Tab = 'console' | 'config' | 'snapshots' | 'networks' | 'debugger' | InspectorTab;
/** The selection: a stored config's id, or a new config being written. */
export type Selection = { kind: 'config'; id: string } | { kind: 'new' } | null;

export function App() {
  const [configs, setConfigs] = useState<ConfigListing[] | null>(null);
  const [statuses, setStatuses] = useState<Record<string, MachineStatus>>({});
  const [selection, setSelection] = useState<Selection>(null);
  const [tab, setTab] = useState<Tab>('console');
  const [schema, setSchema] = useState<JsonSchema | null>(null);
  const [problem, setProblem] = useState<string | null>(null);
  const [draftDirty, setDraftDirty] = useState(false);

  const refresh = useCallback(async () => {
    try {
      const [list, machines] = await Promise.all([call('configs.list', {}), call('machines.list', {})]);
      setConfigs(list);
      setStatuses((old) => {
        const next = { ...old };
        for (const m of machines) next[m.id] = m;
        return next;
      });
      setSelection((sel) => {
        if (sel?.kind === 'new') return sel;
        if (sel && list.some((c) => c.id === sel.id)) return sel;
        return list.length > 0 ? { kind: 'config', id: list[0]!.id } : null;
      });
    } catch (err) {
      setProblem(`Could not load machines: ${errorMessage(err)}`);
    }
  }, []);

  useEffect(() => {
    void refresh();
    call('configs.schema', {}).then(setSchema, (err: unknown) =>
      setProblem(`Could not load the config schema: ${errorMessage(err)}`),
    );
    const offStatus = on('machine.status', (s) => setStatuses((old) => ({ ...old, [s.id]: s })));
    const offConfigs = on('configs.changed', () => void refresh());
    return () => {
      offStatus();
      offConfigs();
    };
  }, [refresh]);

  const selectedId = selection?.kind === 'config' ? selection.id : null;
  const selectedListing = useMemo(() => configs?.find((c) => c.id === selectedId) ?? null, [configs, selectedId]);
  const status: MachineStatus | null = selectedId
    ? (statuses[selectedId] ?? { id: selectedId, state: 'stopped', virtualTimeNs: 0 })
    : null;

  const select = (sel: Selection): void => {
    const same =
      sel?.kind === selection?.kind &&
      (sel?.kind !== 'config' || (selection?.kind === 'config' && sel.id === selection.id));
    if (same) return;
    // Switching machines replaces the editor: do not drop unsaved edits without asking.
    if (draftDirty && !window.confirm('Discard the unsaved changes to this configuration?')) return;
    setSelection(sel);
    if (sel?.kind === 'new') setTab('config');
    else if (sel?.kind === 'config') {
      const listing = configs?.find((c) => c.id === sel.id);
      if (listing && !listing.ok) setTab('config');
    }
  };

  return (
    <div className="shell">
      <Sidebar configs={configs} statuses={statuses} selection={selection} onSelect={select} />
      <main className="workspace">
        <MachineControls
          listing={selectedListing}
          isNew={selection?.kind === 'new'}
          status={status}
          onError={setProblem}
        />
        {problem && (
          <div className="banner banner-error" role="alert">
            <span>{problem}</span>
            <button className="link" onClick={() => setProblem(null)} aria-label="Dismiss">
              ✕
            </button>
          </div>
        )}
        {status && <DeathReport status={status} />}
        <div className="tabs" role="tablist">
          <button
            role="tab"
            aria-selected={tab === 'console'}
            className={tab === 'console' ? 'tab active' : 'tab'}
            onClick={() => setTab('console')}
          >
            Console
          </button>
          <button
            role="tab"
            aria-selected={tab === 'config'}
            className={tab === 'config' ? 'tab active' : 'tab'}
            onClick={() => setTab('config')}
          >
            Config
          </button>
          <button
            role="tab"
            aria-selected={tab === 'snapshots'}
            className={tab === 'snapshots' ? 'tab active' : 'tab'}
            onClick={() => setTab('snapshots')}
          >
            Snapshots
          </button>
          <button
            role="tab"
            aria-selected={tab === 'networks'}
            className={tab === 'networks' ? 'tab active' : 'tab'}
            onClick={() => setTab('networks')}
          >
            Networks
          </button>
          <button
            role="tab"
            aria-selected={tab === 'debugger'}
            className={tab === 'debugger' ? 'tab active' : 'tab'}
            onClick={() => setTab('debugger')}
          >
            Debugger
          </button>
          {INSPECTOR_TABS.map((t) => (
            <button
              key={t.key}
              role="tab"
              aria-selected={tab === t.key}
              className={tab === t.key ? 'tab active' : 'tab'}
              onClick={() => setTab(t.key)}
            >
              {t.label}
            </button>
          ))}
        </div>
        <section className="tab-body">
          <div className={tab === 'console' ? 'tab-pane' : 'tab-pane hidden'}>
            <ConsoleView id={selectedId} status={status} visible={tab === 'console'} />
          </div>
          <div className={tab === 'config' ? 'tab-pane' : 'tab-pane hidden'}>
            {selection && schema ? (
              <ConfigEditor
                key={selection.kind === 'new' ? '(new)' : selection.id}
                id={selection.kind === 'new' ? null : selection.id}
                running={status !== null && status.state !== 'stopped' && status.state !== 'dead'}
                onSaved={(id) => {
                  setSelection({ kind: 'config', id });
                  void refresh();
                }}
                onDeleted={() => {
                  setSelection(null);
                  void refresh();
                }}
                onCancelNew={() => setSelection(null)}
                onDirtyChange={setDraftDirty}
              />
            ) : (
              <div className="empty">Select a machine, or create one with “New machine”.</div>
            )}
          </div>
          <div className={tab === 'snapshots' ? 'tab-pane' : 'tab-pane hidden'}>
            <SnapshotsPanel id={selectedId} status={status} onRestored={() => setTab('console')} />
          </div>
          <div className={tab === 'networks' ? 'tab-pane' : 'tab-pane hidden'}>
            <NetworksPanel visible={tab === 'networks'} />
          </div>
          <div className={tab === 'debugger' ? 'tab-pane' : 'tab-pane hidden'}>
            <DebuggerPanel id={selectedId} status={status} visible={tab === 'debugger'} />
          </div>
          <InspectorPanes tab={tab} id={selectedId} status={status} />
        </section>
        <StatusBar
          status={status}
          listing={selectedListing}
          machinesRunning={Object.values(statuses).filter((s) => !['stopped', 'dead'].includes(s.state)).length}
        />
      </main>
      <SchemaInstaller schema={schema} />
    </div>
  );
}

/** Hands the schema (from the service) to Monaco's JSON language service. */
function SchemaInstaller({ schema }: { schema: JsonSchema | null }) {
  useEffect(() => {
    if (!schema) return;
    installMachineSchema(schema);
  }, [schema]);
  return null;
}
