// The process v86 runs in for the benchmark (see v86-run.ts): it takes {multiboot, memoryMB} over
// IPC, runs the multiboot harness kernel on v86 (npm, x86-to-wasm JIT) headless with SeaBIOS and
// its VGA BIOS from Debian's `seabios` package, serial port 0 carrying the markers, and answers
// {run} or {error}. It ends when the benchmark lets go of it.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { V86 } from 'v86';
import { HARNESS_TIMEOUT_MS, MarkerClock, type HarnessRun } from './markers';
import { SEABIOS } from './v86-run';

function buffer(path: string): ArrayBuffer {
  const b = readFileSync(path);
  return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
}

async function run(multiboot: string, memoryMB: number): Promise<HarnessRun> {
  const clock = new MarkerClock();
  const emulator = new V86({
    wasm_path: createRequire(import.meta.url).resolve('v86/build/v86.wasm'),
    bios: { buffer: buffer(`${SEABIOS}/bios.bin`) },
    vga_bios: { buffer: buffer(`${SEABIOS}/vgabios-stdvga.bin`) },
    multiboot: { buffer: buffer(multiboot) },
    memory_size: memoryMB << 20,
    autostart: true,
    disable_keyboard: true,
    disable_mouse: true,
    disable_speaker: true,
  });
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('v86: the harness did not finish in time')), HARNESS_TIMEOUT_MS);
      emulator.add_listener('serial0-output-byte', (byte: number) => {
        clock.feed(String.fromCharCode(byte));
        if (clock.done || clock.transcript.at(-1)?.startsWith('bench: fault')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
  } finally {
    await emulator.destroy();
  }
  return clock.result('v86');
}

process.on('message', (msg: { multiboot: string; memoryMB: number }) => {
  run(msg.multiboot, msg.memoryMB).then(
    (result) => process.send!({ run: result }),
    (err: unknown) => process.send!({ error: err instanceof Error ? err.message : String(err) }),
  );
});
process.on('disconnect', () => process.exit(0));
