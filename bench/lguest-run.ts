// The benchmark's runs on this project's emulator, the way `lguest --fast` runs a guest: the real
// Launcher (core/launcher) on the real host and CPU, stepped in slices, virtual time jumping to
// the next timer whenever the guest halts.

import { SLICE_INSTRUCTIONS } from '../core/launcher/cli';
import { resolveGuestFile } from '../core/launcher/kernel-path';
import { launchGuest } from '../core/launcher/launch';
import type { MachineConfig } from '../core/launcher/machine-config';
import { HARNESS_TIMEOUT_MS, MarkerClock, type HarnessRun } from './markers';

const POWER_DOWN = 'CRASH: Power down';
const DEMO_PROMPT = 'demo$ ';

/** Runs `config` until it powers off or `finished()` says so; console text goes to `onText`. */
async function runFast(config: MachineConfig, onText: (text: string) => void, finished = () => false): Promise<void> {
  const decoder = new TextDecoder();
  const guest = await launchGuest(
    config,
    { consoleOutput: (bytes) => onText(decoder.decode(bytes, { stream: true })) },
    { bootEpochSeconds: 0 },
  );
  const deadline = performance.now() + HARNESS_TIMEOUT_MS;
  try {
    while (!finished()) {
      if (performance.now() > deadline) throw new Error(`${config.name}: still running after ${HARNESS_TIMEOUT_MS} ms`);
      const step = guest.step(SLICE_INSTRUCTIONS);
      if (step.kind === 'dead') {
        if (step.reason === POWER_DOWN) return;
        throw new Error(`${config.name}: guest killed: ${step.reason}`);
      }
      if (step.kind === 'idle') {
        if (step.wakeAtNs === null) throw new Error(`${config.name}: guest halted with no timer set`);
        guest.advanceClockTo(step.wakeAtNs);
      }
    }
  } finally {
    guest.close();
  }
}

/** The harness kernel (bench/harness) as an lguest guest, timed between its markers. */
export async function runOnLguest(kernel: string, memoryMB = 64): Promise<HarnessRun> {
  const clock = new MarkerClock();
  await runFast({ name: 'bench', kernel, memoryMB }, (text) => clock.feed(text));
  return clock.result('lguest');
}

/** Milliseconds from launching builtin:demo (32 MB) to its first "demo$ " prompt. */
export async function demoLaunchToPromptMs(): Promise<number> {
  const t0 = performance.now();
  let output = '';
  let promptAt: number | null = null;
  await runFast(
    { name: 'demo', kernel: resolveGuestFile('builtin:demo'), memoryMB: 32 },
    (text) => {
      output += text;
      if (promptAt === null && output.includes(DEMO_PROMPT)) promptAt = performance.now();
    },
    () => promptAt !== null,
  );
  if (promptAt === null) throw new Error(`demo guest powered off before its prompt:\n${output}`);
  return promptAt - t0;
}
