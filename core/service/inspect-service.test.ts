// The inspectors through the service boundary: params checked, unknown / stopped / dead machines
// refused with typed errors, and a real demo guest in its worker answered between run slices.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiEventMessage, MachineStatus, MemoryView, PageTablesView, RegistersView } from './api';
import { DEMO_CONFIG, tsxWorkerSpec, WorkbenchService } from './service';
import { until } from '../launcher/test-terminal';

let dir: string;
let service: WorkbenchService;
let consoleText = '';
const statuses: MachineStatus[] = [];

function lastState(id: string): string | undefined {
  return statuses.filter((s) => s.id === id).at(-1)?.state;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-inspect-'));
  service = new WorkbenchService({ configDir: dir, worker: { ...tsxWorkerSpec(), extra: { paced: false } } });
  service.subscribe((m: ApiEventMessage) => {
    if (m.event === 'console.output') consoleText += new TextDecoder().decode((m.payload as { data: Uint8Array }).data);
    if (m.event === 'machine.status') statuses.push(m.payload as MachineStatus);
  });
  await service.store.create(DEMO_CONFIG);
  await service.store.create({ name: 'broken', kernel: 'no-such-kernel.elf', memoryMB: 16 });
});

afterAll(async () => {
  await service?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('inspect.* through the service', () => {
  it('checks params with the API schema', async () => {
    const bad = [
      ['inspect.registers', {}, '/id'],
      ['inspect.memory', { id: 'demo', space: 'linear', address: 0, length: 16 }, '/space'],
      ['inspect.memory', { id: 'demo', space: 'physical', address: -1, length: 16 }, '/address'],
      ['inspect.memory', { id: 'demo', space: 'physical', address: 2 ** 32, length: 16 }, '/address'],
      ['inspect.memory', { id: 'demo', space: 'physical', address: 0, length: 65537 }, '/length'],
      ['inspect.memory', { id: 'demo', space: 'physical', address: 0.5, length: 16 }, '/address'],
      ['inspect.pagetables', { id: 'demo', slot: 4 }, '/slot'],
      ['inspect.pagetables', { id: 'demo', pde: 1024 }, '/pde'],
      ['inspect.counters', { id: 'demo', extra: true }, '/extra'],
    ] as const;
    for (const [method, params, pointer] of bad) {
      const r = await service.call(method, params);
      expect(r, `${method} ${JSON.stringify(params)}`).toMatchObject({
        ok: false,
        error: { code: 'bad-request', fields: [{ pointer }] },
      });
    }
  });

  it('refuses an unknown machine (not-found) and a stopped one (bad-state)', async () => {
    expect(await service.call('inspect.registers', { id: 'nope' })).toMatchObject({
      ok: false,
      error: { code: 'not-found', message: 'there is no machine "nope"' },
    });
    expect(await service.call('inspect.counters', { id: 'demo' })).toMatchObject({
      ok: false,
      error: { code: 'bad-state', message: expect.stringMatching(/stopped/) as unknown },
    });
  });

  it('refuses a dead machine with bad-state', async () => {
    await service.call('machines.start', { id: 'broken' });
    await until(() => lastState('broken') === 'dead');
    expect(await service.call('inspect.descriptors', { id: 'broken' })).toMatchObject({
      ok: false,
      error: { code: 'bad-state', message: expect.stringMatching(/dead/) as unknown },
    });
  });

  it('answers a running and a paused demo guest with real host state', async () => {
    expect(await service.call('machines.start', { id: 'demo' })).toMatchObject({ ok: true });
    await until(() => consoleText.includes('demo$ '));
    // While it runs: answered between slices.
    const live = await service.call('inspect.registers', { id: 'demo' });
    expect(live.ok).toBe(true);
    await service.call('machines.pause', { id: 'demo' });
    await until(() => lastState('demo') === 'paused');

    const regs = (await service.call('inspect.registers', { id: 'demo' })) as { ok: true; result: RegistersView };
    expect([0x61, 0x73]).toContain(regs.result.segments[1]!.selector);
    const again = (await service.call('inspect.registers', { id: 'demo' })) as { ok: true; result: RegistersView };
    expect(again.result.instructionCount).toBe(regs.result.instructionCount); // paused: nothing ran

    const mem = await service.call('inspect.memory', {
      id: 'demo',
      space: 'guest-virtual',
      address: 0xc0100000,
      length: 8192,
    });
    expect(mem.ok).toBe(true);
    const view = (mem as { ok: true; result: MemoryView }).result;
    expect(view.pages).toHaveLength(2);
    expect(view.pages[0]!.bytes).toBeInstanceOf(Uint8Array);
    expect(view.pages[0]!.guest!.phys).toBe(0x100000);

    const pt = (await service.call('inspect.pagetables', { id: 'demo', pde: 0x300 })) as {
      ok: true;
      result: PageTablesView;
    };
    expect(pt.result.slots.some((s) => s.current && s.cr3 === regs.result.guestCr3)).toBe(true);
    expect(pt.result.ptes!.pde).toBe(0x300);

    const counters = await service.call('inspect.counters', { id: 'demo' });
    expect(counters).toMatchObject({ ok: true });

    expect(
      await service.call('inspect.memory', { id: 'demo', space: 'physical', address: 0xfffff000, length: 16 }),
    ).toMatchObject({
      ok: false,
      error: { code: 'out-of-range', message: expect.stringMatching(/outside guest RAM/) },
    });

    await service.call('machines.stop', { id: 'demo' });
    expect(await service.call('inspect.registers', { id: 'demo' })).toMatchObject({
      ok: false,
      error: { code: 'bad-state' },
    });
  });
});
