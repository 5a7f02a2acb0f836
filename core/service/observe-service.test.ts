// Watching a machine through the service: live counter rates as events, the exit trace, the
// guest profiler while the demo guest runs `bench`, and the last exits carried by a death.

import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEventMessage, MachineRates, MachineStatus, ProfileView, TraceView } from './api';
import { DEMO_CONFIG, tsxWorkerSpec, WorkbenchService } from './service';
import { resolveGuestFile } from '../launcher/kernel-path';
import { until } from '../launcher/test-terminal';

let dir: string;
let service: WorkbenchService;
let consoleText = '';
const statuses: MachineStatus[] = [];
const rates: MachineRates[] = [];

async function call<T>(method: string, params: object): Promise<T> {
  const r = (await service.call(method as 'inspect.trace', params as { id: string })) as {
    ok: boolean;
    result?: unknown;
    error?: unknown;
  };
  if (!r.ok) throw new Error(`${method}: ${JSON.stringify(r.error)}`);
  return r.result as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-observe-'));
  service = new WorkbenchService({ configDir: dir, worker: { ...tsxWorkerSpec(), extra: { paced: false } } });
  service.subscribe((m: ApiEventMessage) => {
    if (m.event === 'console.output') consoleText += new TextDecoder().decode((m.payload as { data: Uint8Array }).data);
    if (m.event === 'machine.status') statuses.push(m.payload as MachineStatus);
    if (m.event === 'machine.rates') rates.push(m.payload as MachineRates);
  });
  await service.store.create(DEMO_CONFIG);
});

afterAll(async () => {
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('observing the demo guest through the service', () => {
  it('checks the new params', async () => {
    for (const [method, params, pointer] of [
      ['inspect.trace', { id: 'demo', limit: 0 }, '/limit'],
      ['inspect.profile', { id: 'demo', action: 'launch' }, '/action'],
      ['inspect.profile', { id: 'demo', action: 'start', interval: 5 }, '/interval'],
    ] as const) {
      expect(await service.call(method, params as never)).toMatchObject({
        ok: false,
        error: { code: 'bad-request', fields: [{ pointer }] },
      });
    }
  });

  it('streams rates, profiles bench, traces exits, and reports the exits before a crash', async () => {
    await service.call('machines.start', { id: 'demo' });
    await until(() => consoleText.includes('demo$ '));
    await until(() => rates.some((r) => r.id === 'demo'));
    expect(rates[0]!.rates.instructionsPerSecond).toBeGreaterThanOrEqual(0);

    const started = await call<ProfileView>('inspect.profile', { id: 'demo', action: 'start', interval: 5000 });
    expect(started.running).toBe(true);
    await service.call('console.input', { id: 'demo', data: new TextEncoder().encode('bench 2000000\r') });
    await until(() => consoleText.includes('hypercalls meanwhile'));
    // Unpaced, the idle guest's timer ticks run flat out too: bench's loop still leads by far.
    const p = await call<ProfileView>('inspect.profile', { id: 'demo', action: 'read', top: 5 });
    expect(p.profile.samples).toBeGreaterThan(100);
    // The worker loads the demo's user-program maps: the top row is the bench program's loop, by name.
    expect(p.profile.rows[0]).toMatchObject({ mode: 'user', program: 'bench', name: 'main' });
    expect(p.profile.rows[0]!.address).toBeGreaterThanOrEqual(0x08048000);
    expect(p.mapProblems).toEqual([]);
    const s = await call<ProfileView>('inspect.profile', { id: 'demo', action: 'speedscope' });
    expect(s.speedscope?.profiles[0]!.samples.length).toBe(s.profile.samples);
    const stopped = await call<ProfileView>('inspect.profile', { id: 'demo', action: 'stop' });
    expect(stopped.running).toBe(false);

    // Busy while bench ran (about 30M instructions): some interval saw millions of instructions per second.
    expect(Math.max(...rates.map((r) => r.rates.instructionsPerSecond))).toBeGreaterThan(1e6);

    const trace = await call<TraceView>('inspect.trace', { id: 'demo', limit: 50 });
    expect(trace.events).toHaveLength(50);
    expect(trace.recorded).toBeGreaterThan(50);

    await service.call('console.input', { id: 'demo', data: new TextEncoder().encode('crash boom\r') });
    const dead = await until(() => statuses.find((x) => x.id === 'demo' && x.state === 'dead'));
    expect(dead.reason).toBe('CRASH: boom');
    expect(dead.lastExits!.length).toBeGreaterThan(1);
    expect(dead.lastExits!.at(-1)).toMatchObject({ vector: 0x1f, decision: 'killed', hypercall: { number: 2 } });
  });

  it('names the user program maps it could not use in the profile', async () => {
    // The demo kernel beside a user-symbols/ directory holding one malformed map.
    const kernelDir = join(dir, 'maps-kernel');
    mkdirSync(join(kernelDir, 'user-symbols'), { recursive: true });
    copyFileSync(resolveGuestFile('builtin:demo'), join(kernelDir, 'kernel.elf'));
    writeFileSync(join(kernelDir, 'user-symbols', 'broken.map'), '08048060 T main\n');
    await service.store.create({ name: 'maps', kernel: join(kernelDir, 'kernel.elf'), memoryMB: 32 });
    await service.call('machines.start', { id: 'maps' });
    await until(() => statuses.some((x) => x.id === 'maps' && (x.state === 'running' || x.state === 'idle')));
    const problems = await until(async () => {
      const v = await call<ProfileView>('inspect.profile', { id: 'maps', action: 'read' });
      return v.mapProblems.length > 0 ? v.mapProblems : undefined;
    });
    expect(problems).toEqual(['user program map broken: no "# signature ADDRESS HEX" line']);
    await service.call('machines.stop', { id: 'maps' });
  });
});
