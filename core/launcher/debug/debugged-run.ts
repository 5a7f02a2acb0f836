// `lguest --gdb` / `--record`: one machine driven by its Debugger, with a gdb remote stub listening
// on 127.0.0.1 and/or its session recorded to a file. While gdb lets the machine run (or no gdb is
// attached) it runs with its console on the terminal, virtual time paced to the wall clock unless --fast.

import type { Launcher } from '../launch';
import { Debugger, type DebugStatus } from './debugger';
import type { MachineConfig } from '../machine-config';
import { listenForGdb, type GdbListener } from './gdb-listener';
import { recordingOf, saveRecording } from './recording';

export interface DebuggedRunOptions {
  /** The gdb stub's port, and whether to stop before the first instruction until gdb continues (QEMU's -S). */
  gdb: { port: number; wait: boolean } | null;
  /** Write the session's recording here at the end (record.ts). */
  record: { path: string; config: MachineConfig; bootEpochSeconds: number } | null;
  /** Jump over idle time instead of pacing it to the wall clock. */
  fast: boolean;
  stderr(text: string): void;
  /** Console output of machines rebuilt by reverse execution. */
  consoleOutput(bytes: Uint8Array): void;
  /** Keyboard input; returns a function that stops it. */
  listenInput?(onData: (bytes: Uint8Array) => void, onEnd: () => void): () => void;
}

/** What ended the session: the guest's death reason, gdb's kill, or three Ctrl-C. */
export type SessionEnd = { kind: 'dead'; reason: string } | { kind: 'killed' } | { kind: 'ctrl-c' };

/** Runs `guest` under its debugger until the guest dies or is killed; writes the recording if asked. */
export async function runDebugged(guest: Launcher, opts: DebuggedRunOptions): Promise<SessionEnd> {
  const dbg = new Debugger(guest, { events: { consoleOutput: opts.consoleOutput } });
  let listener: GdbListener | null = null;
  let finish: (end: SessionEnd) => void = () => {};
  const ended = new Promise<SessionEnd>((res) => (finish = res));
  let over = false;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let scheduled = false;

  const end = (e: SessionEnd) => {
    if (over) return;
    over = true;
    finish(e);
  };

  /** Runs the machine in short pieces between socket and keyboard events, until it stops. */
  const pump = () => {
    scheduled = false;
    if (over) return;
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    const status: DebugStatus = dbg.run(20);
    if (status.state === 'running') return schedule();
    if (status.state === 'stopped') {
      listener?.onStop(status);
      if (status.reason.kind === 'dead') end({ kind: 'dead', reason: status.reason.reason });
      return;
    }
    // Halted: the next timer (now with --fast, else when the wall clock gets there) or input.
    if (status.wakeAtNs === null) return;
    const wake = status.wakeAtNs;
    const aheadMs = opts.fast ? 0 : Math.min(1000, (wake - dbg.machine.virtualTimeNs) / 1e6);
    timer = setTimeout(
      () => {
        timer = null;
        dbg.advanceClock(wake);
        pump();
      },
      Math.max(0, aheadMs),
    );
  };
  const schedule = () => {
    if (!scheduled) {
      scheduled = true;
      setImmediate(pump);
    }
  };

  let ctrlC: number[] = [];
  const stopInput = opts.listenInput?.(
    (bytes) => {
      if (bytes.length === 1 && bytes[0] === 3) {
        const now = performance.now();
        ctrlC = [...ctrlC.filter((t) => now - t < 1000), now];
        if (ctrlC.length >= 3) end({ kind: 'ctrl-c' });
      }
      dbg.consoleInput(bytes);
      if (dbg.stopped === null) schedule();
    },
    () => {},
  );

  if (opts.gdb) {
    listener = await listenForGdb(dbg, opts.gdb.port, {
      stopped: () => {},
      run: schedule,
      kill: () => end({ kind: 'killed' }),
      left: schedule,
    });
    const port = listener.port;
    opts.stderr(
      `lguest: gdb server on 127.0.0.1:${port}${opts.gdb.wait ? ', waiting for gdb before the first instruction' : ''}\n` +
        `lguest: in gdb: target remote 127.0.0.1:${port}\n`,
    );
  }
  if (!opts.gdb?.wait) {
    dbg.resume();
    schedule();
  }
  try {
    return await ended;
  } finally {
    if (timer !== null) clearTimeout(timer);
    stopInput?.();
    listener?.close();
    if (opts.record) {
      dbg.settle();
      const rec = recordingOf(dbg, opts.record.config, opts.record.bootEpochSeconds);
      saveRecording(opts.record.path, rec);
      opts.stderr(
        `lguest: recorded ${rec.events.length} events, ${rec.instructionCount} instructions to ${opts.record.path}; ` +
          `final state sha256 ${rec.stateSha256}\n`,
      );
    }
    dbg.detach();
  }
}
