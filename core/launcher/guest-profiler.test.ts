// The guest profiler on the demo guest: sampling changes nothing the guest or a snapshot could
// see, the profile of `bench` is led by the bench program's loop (named by its symbol map), and
// the speedscope export satisfies speedscope's own file-format schema.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Ajv } from 'ajv';
import { describe, expect, it } from 'vitest';
import type { I386 } from '../cpu/cpu';
import type { Lguest } from '../host/lg';
import type { LguestFileImpl } from '../host/lguest-user';
import { encodeMachineState, machineStateOf } from '../snapshot/machine-snapshot';
import { GuestProfiler } from './guest-profiler';
import { launchGuest, type Launcher } from './launch';
import type { MachineConfig } from './machine-config';
import { replayTo } from './replay';
import { kernelSymbols } from './symbol-table';
import { readVirtual } from './debug/guest-access';
import { guestHolds, userProgramSymbols } from './user-program-symbols';

const DEMO: MachineConfig = { name: 'demo', kernel: 'builtin:demo', memoryMB: 32 };
/** Past the first prompt (about 0.96M instructions). */
const PROMPT = 1_500_000;
/** Enough for `bench 100000` to finish. */
const END = PROMPT + 6_000_000;

async function boot(): Promise<{ guest: Launcher; output: () => string }> {
  let text = '';
  const guest = await launchGuest(
    DEMO,
    { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
    { bootEpochSeconds: 1_191_888_000 },
  );
  return { guest, output: () => text };
}

function lgOf(guest: Launcher): Lguest {
  return (guest.file as LguestFileImpl).guest!;
}

function runBench(guest: Launcher): void {
  const bench = { at: PROMPT, bytes: new TextEncoder().encode('bench 100000\r') };
  expect(replayTo(guest, END, [bench])).toEqual({ kind: 'reached', instructionCount: END });
}

describe('the guest profiler on the demo guest', () => {
  it('sampling on or off: the same instructions, output and machine state, byte for byte', async () => {
    const off = await boot();
    runBench(off.guest);
    const stateOff = encodeMachineState(machineStateOf(off.guest.exportMachineState()));
    off.guest.close();

    const on = await boot();
    // With the user programs: recognising them reads guest memory, and must change nothing either.
    const { programs } = await userProgramSymbols('builtin:demo');
    const lgOn = lgOf(on.guest);
    // Compiled whatever LGUEST_COMPILE says (eager stays eager): the last part compares its
    // samples with the interpreter's.
    const cpuOn = lgOn.cpu as I386;
    cpuOn.blockThreshold = Math.min(cpuOn.blockThreshold, 50_000);
    const profiler = new GuestProfiler(lgOn, { kernel: null, programs });
    // A prime interval: sample points fall everywhere relative to the Launcher's slices.
    profiler.start(997);
    runBench(on.guest);
    const stateOn = encodeMachineState(machineStateOf(on.guest.exportMachineState()));
    on.guest.close();

    expect(on.output()).toContain('kernel made');
    expect(on.output()).toBe(off.output());
    expect(profiler.profile().samples).toBe(Math.floor(END / 997));
    expect(profiler.profile().rows.some((r) => r.program === 'bench')).toBe(true);
    expect(Buffer.compare(stateOn, stateOff)).toBe(0);

    // Compiled code notes samples ahead (cpu.ts passMark): the interpreter alone takes the same ones.
    const interpreted = await boot();
    const lgInterpreted = lgOf(interpreted.guest);
    (lgInterpreted.cpu as I386).blockThreshold = Infinity;
    new GuestProfiler(lgInterpreted, { kernel: null, programs }).start(997);
    runBench(interpreted.guest);
    interpreted.guest.close();
    expect(cpuOn.blockCount).toBeGreaterThan(0);
    expect(lgOn.sampler!.since(0)).toEqual(lgInterpreted.sampler!.since(0));
  });

  it("the top of a bench profile is the bench program's loop (its main), by name; kernel code is named by symbols", async () => {
    const symbols = await kernelSymbols('builtin:demo');
    expect(symbols).not.toBeNull();
    const { programs, problems } = await userProgramSymbols('builtin:demo');
    expect(problems).toEqual([]);
    expect(programs.map((p) => p.name)).toEqual(['bench', 'fault', 'fpfmt', 'hello', 'rev', 'spin']);
    const run = await boot();
    const profiler = new GuestProfiler(lgOf(run.guest), { kernel: symbols, programs });
    profiler.start(1000);
    expect(replayTo(run.guest, PROMPT)).toMatchObject({ kind: 'reached' });
    profiler.reset();
    runBench(run.guest);
    run.guest.close();
    const p = profiler.profile(10);
    expect(p.samples).toBe((END - PROMPT) / 1000);
    expect(p.symbols).toBe(true);
    expect(p.programs).toContain('bench');
    expect(p.kernelSamples + p.userSamples).toBe(p.samples);
    const topRow = p.rows[0]!;
    const benchMain = programs.find((x) => x.name === 'bench')!.symbols.named('main')!;
    expect(topRow).toMatchObject({ mode: 'user', program: 'bench', name: 'main', address: benchMain.address });
    expect(topRow.share).toBeGreaterThan(0.2);
    // The shell started bench from the kernel: no user sample is put in another program.
    expect(p.rows.filter((r) => r.mode === 'user').every((r) => r.program === 'bench')).toBe(true);
    const kernelRows = p.rows.filter((r) => r.mode === 'kernel');
    expect(kernelRows.length).toBeGreaterThan(0);
    expect(kernelRows.every((r) => symbols!.lookup(r.address)?.name === r.name)).toBe(true);
  });

  it('guestHolds compares bytes in the running address space, across a page boundary, without copying', async () => {
    const run = await boot();
    // Into bench's integer loop: the guest runs in bench's address space.
    const bench = { at: PROMPT, bytes: new TextEncoder().encode('bench 100000\r') };
    expect(replayTo(run.guest, PROMPT + 2_000_000, [bench])).toMatchObject({ kind: 'reached' });
    const lg = lgOf(run.guest);
    const across = readVirtual(lg, 0x08048ff0, 32)!;
    expect(across).not.toBeNull();
    expect(guestHolds(lg, 0x08048ff0, across)).toBe(true);
    across[31] ^= 0xff; // the last byte, on the second page
    expect(guestHolds(lg, 0x08048ff0, across)).toBe(false);
    expect(guestHolds(lg, 0x00001000, Uint8Array.of(0))).toBe(false); // unmapped
    const { programs } = await userProgramSymbols('builtin:demo');
    const sig = programs.find((p) => p.name === 'bench')!.signature;
    expect(guestHolds(lg, sig.address, sig.bytes)).toBe(true);
    run.guest.close();
  });

  it("exports a speedscope file that validates against speedscope's schema", async () => {
    const run = await boot();
    const profiler = new GuestProfiler(lgOf(run.guest), {
      kernel: await kernelSymbols('builtin:demo'),
      programs: (await userProgramSymbols('builtin:demo')).programs,
    });
    profiler.start(5000);
    runBench(run.guest);
    run.guest.close();
    const file = profiler.speedscope('demo bench');
    const require = createRequire(import.meta.url);
    const schema = JSON.parse(
      readFileSync(require.resolve('speedscope/dist/release/file-format-schema.json'), 'utf8'),
    ) as object;
    const validate = new Ajv({ strict: false }).compile(schema);
    expect(validate(JSON.parse(JSON.stringify(file))), JSON.stringify(validate.errors)).toBe(true);
    const prof = file.profiles[0]!;
    expect(prof.samples).toHaveLength(Math.floor(END / 5000));
    expect(prof.weights.every((w) => w === 5000)).toBe(true);
    const roots = new Set(prof.samples.map((s) => file.shared.frames[s[0]!]!.name));
    expect([...roots].sort()).toEqual(['kernel', 'user']);
    const names = new Set(file.shared.frames.map((f) => f.name));
    expect(names).toContain('main');
    expect([...names].some((n) => /^bench \(address space 0x[0-9a-f]{8}\)$/.test(n))).toBe(true);
  });
});
