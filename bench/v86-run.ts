// Runs the multiboot harness kernel on v86 (npm, x86-to-wasm JIT), headless, in a process of its
// own (v86-process.ts) kept for every round. In the benchmark's process, v86's heap and garbage
// collections between two rounds of this project's emulator made the engine drop compiled code
// of the emulator's that had not run meanwhile (and the other way round), so each round started
// half cold; each system now runs as it would on its own.

import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { HarnessRun } from './markers';

export const SEABIOS = '/usr/share/seabios';

export function v86Missing(): string | null {
  try {
    readFileSync(`${SEABIOS}/bios.bin`);
    return null;
  } catch {
    return `SeaBIOS not found in ${SEABIOS} (Debian: apt-get install -y seabios)`;
  }
}

let child: ChildProcess | null = null;

export async function runOnV86(multiboot: string, memoryMB = 64): Promise<HarnessRun> {
  const c = (child ??= fork(new URL('./v86-process.ts', import.meta.url)));
  // Held only while a run is under way: the benchmark's process may end with it idle.
  c.ref();
  c.channel?.ref();
  try {
    return await new Promise<HarnessRun>((resolve, reject) => {
      const onMessage = (msg: { run?: HarnessRun; error?: string }): void => {
        done();
        if (msg.run !== undefined) resolve(msg.run);
        else reject(new Error(msg.error ?? 'v86: no result'));
      };
      const onExit = (code: number | null): void => {
        done();
        child = null;
        reject(new Error(`v86: its process ended (${code})`));
      };
      const done = (): void => {
        c.off('message', onMessage);
        c.off('exit', onExit);
      };
      c.on('message', onMessage);
      c.on('exit', onExit);
      c.send({ multiboot, memoryMB });
    });
  } finally {
    c.unref();
    c.channel?.unref();
  }
}
