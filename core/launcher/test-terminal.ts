// Test helpers for the `lguest` command: a terminal whose output a test reads as text and into
// which it types, and a wait for a condition on what arrived.

import type { CliIo } from './cli';

export interface TestTerminal {
  io: CliIo;
  /** Everything written to stdout and stderr so far, decoded. */
  readonly stdout: string;
  readonly stderr: string;
  /** Keyboard input, as if typed (the command must have started listening). */
  type(text: string): void;
}

export function testTerminal(): TestTerminal {
  let stdout = '';
  let stderr = '';
  let feed: ((b: Uint8Array) => void) | null = null;
  return {
    io: {
      stdout: (b) => (stdout += new TextDecoder().decode(b)),
      stderr: (t) => (stderr += t),
      now: () => performance.now(),
      listenInput: (onData) => {
        feed = onData;
        return () => {};
      },
    },
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
    type(text) {
      if (!feed) throw new Error('the command is not reading the keyboard yet');
      feed(new TextEncoder().encode(text));
    },
  };
}

/** Polls `what` (sync or async) until it gives a value other than undefined or false; throws after `ms`. */
export async function until<T>(
  what: () => T | undefined | false | Promise<T | undefined | false>,
  ms = 60_000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await what();
    if (v !== undefined && v !== false) return v;
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
