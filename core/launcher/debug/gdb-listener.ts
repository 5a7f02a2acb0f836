// The gdb stub's socket: listens on 127.0.0.1 only, one gdb at a time. A gdb that connects finds
// the machine stopped; one that leaves (detach or a dropped connection) leaves no breakpoint behind.

import { createServer, type Socket } from 'node:net';
import type { Debugger, DebugStatus } from './debugger';
import { GdbStub } from './gdb-stub';

/** What the owner of the machine does for the stub. */
export interface GdbMachineControl {
  /** gdb connected and stopped the machine. */
  stopped(): void;
  /** Drive the machine (gdb continued or stepped); report stops through `onStop`. */
  run(): void;
  /** gdb's kill. */
  kill(): void;
  /** gdb left; the machine runs on. */
  left(): void;
}

export interface GdbListener {
  readonly port: number;
  /** The machine stopped or halted while gdb waited for it. */
  onStop(status: DebugStatus): void;
  close(): void;
}

/** Starts listening; `port` 0 picks a free one. */
export async function listenForGdb(dbg: Debugger, port: number, control: GdbMachineControl): Promise<GdbListener> {
  let socket: Socket | null = null;
  let stub: GdbStub | null = null;
  const leave = () => {
    stub = null;
    socket = null;
    for (const bp of [...dbg.breakpoints.values()]) dbg.removeBreakpointsAt(bp.address);
    for (const wp of [...dbg.watchpoints.values()]) dbg.removeWatchpointsAt(wp.address, wp.length, wp.access);
    dbg.exitBreaks.clear();
    dbg.hypercallBreaks.clear();
    if (dbg.stopped !== null && dbg.stopped.kind !== 'dead') dbg.resume();
    control.left();
  };
  const server = createServer((s) => {
    if (socket !== null) {
      s.end();
      return;
    }
    socket = s;
    s.setNoDelay(true);
    // A new gdb finds the machine stopped, as gdbserver does on attach.
    dbg.pause();
    control.stopped();
    const mine = new GdbStub(dbg, (text) => s.write(text, 'latin1'), {
      run: () => control.run(),
      kill: () => {
        s.end();
        control.kill();
      },
      detached: () => s.end(),
    });
    stub = mine;
    s.on('data', (chunk: Buffer) => mine.receive(chunk));
    s.on('close', () => {
      if (stub === mine) leave();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(port, '127.0.0.1', () => res());
  });
  const address = server.address();
  return {
    port: typeof address === 'object' && address !== null ? address.port : port,
    onStop: (status) => stub?.onStop(status),
    close: () => {
      (socket as Socket | null)?.destroy();
      server.close();
    },
  };
}
