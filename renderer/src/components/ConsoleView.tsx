// The guest console: xterm.js fed by the machine's console stream (backlog first, then live
// batches) through a TerminalGuard, so that no byte stream can freeze the page; keystrokes go to
// the machine as bytes.

import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import { useEffect, useRef } from 'react';
import type { MachineStatus } from '../../../core/service/api';
import { api, call } from '../api/client';
import { TerminalGuard } from '../terminal-guard';

/** Largest piece of console output handed to xterm.js in one write. */
const WRITE_PIECE = 1024;

interface Props {
  id: string | null;
  status: MachineStatus | null;
  visible: boolean;
}

export function ConsoleView({ id, status, visible }: Props) {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | null>(null);
  const guard = useRef<TerminalGuard | null>(null);
  const fit = useRef<FitAddon | null>(null);
  const activeId = useRef<string | null>(null);
  const state = status?.state ?? 'stopped';
  const live = state !== 'stopped' && state !== 'dead';
  const liveRef = useRef(live);
  liveRef.current = live;

  /** Fits the terminal to its box, only while it is shown (xterm cannot measure a hidden element). */
  const safeFit = (): void => {
    const el = host.current;
    if (!term.current || !fit.current || !el || el.offsetParent === null || el.clientWidth === 0) return;
    fit.current.fit();
  };

  useEffect(() => {
    const t = new Terminal({
      cursorBlink: true,
      fontFamily: '"DejaVu Sans Mono", "Liberation Mono", Menlo, Consolas, monospace',
      fontSize: 13,
      scrollback: 10_000,
      theme: { background: '#0d1117', foreground: '#d7dde5', cursor: '#7aa2f7', selectionBackground: '#2d4f7c' },
    });
    const f = new FitAddon();
    t.loadAddon(f);
    t.open(host.current!);
    term.current = t;
    guard.current = new TerminalGuard(() => ({ rows: t.rows, cols: t.cols }));
    fit.current = f;
    const encoder = new TextEncoder();
    const input = t.onData((data) => {
      const target = activeId.current;
      if (!target || !liveRef.current) return;
      void api.invoke('console.input', { id: target, data: encoder.encode(data) });
    });
    const observer = new ResizeObserver(() => safeFit());
    observer.observe(host.current!);
    return () => {
      observer.disconnect();
      input.dispose();
      term.current = null;
      // xterm 5.5's viewport syncs itself on a timer armed in open(); disposing synchronously (as
      // React StrictMode's mount-unmount-mount does) makes that timer hit a disposed renderer.
      setTimeout(() => t.dispose(), 0);
    };
  }, []);

  // Switching machines: clear, replay what the machine printed so far, then follow its stream.
  // Output that arrives before the backlog reply is already contained in it and is skipped.
  useEffect(() => {
    const t = term.current;
    const g = guard.current;
    if (!t || !g) return;
    const reset = (): void => {
      t.reset();
      g.reset();
    };
    // In pieces, so that xterm.js can yield to the page between them while it works through a flood.
    const show = (data: Uint8Array): void => {
      const safe = g.filter(data);
      for (let at = 0; at < safe.length; at += WRITE_PIECE) t.write(safe.subarray(at, at + WRITE_PIECE));
    };
    reset();
    activeId.current = id;
    if (!id) return;
    let backlogLoaded = false;
    let cancelled = false;
    const off = api.on('console.output', (ev) => {
      if (ev.id === id && backlogLoaded && !cancelled) show(ev.data);
    });
    // A restored snapshot replaces the console with the scrollback it kept.
    const offRestored = api.on('console.restored', (ev) => {
      if (ev.id !== id || cancelled) return;
      reset();
      show(ev.data);
      backlogLoaded = true;
    });
    call('console.backlog', { id }).then(
      ({ data }) => {
        if (cancelled) return;
        show(data);
        backlogLoaded = true;
      },
      () => {
        backlogLoaded = true;
      },
    );
    return () => {
      cancelled = true;
      off();
      offRestored();
    };
  }, [id]);

  // A machine that starts again begins a fresh console.
  const prevState = useRef(state);
  useEffect(() => {
    if (prevState.current !== 'starting' && state === 'starting') {
      term.current?.reset();
      guard.current?.reset();
    }
    prevState.current = state;
  }, [state]);

  useEffect(() => {
    if (visible) {
      requestAnimationFrame(() => safeFit());
      if (live) term.current?.focus();
    }
  }, [visible, live]);

  return (
    <div className="console">
      {id && !live && (
        <div className={state === 'dead' ? 'console-note console-note-dead' : 'console-note'}>
          {state === 'dead'
            ? `The machine is dead: ${status?.reason ?? 'no reason given'}`
            : 'The machine is stopped. Start it to see its console.'}
        </div>
      )}
      {!id && <div className="console-note">No machine selected.</div>}
      <div className="terminal-host" ref={host} data-testid="terminal" />
    </div>
  );
}
