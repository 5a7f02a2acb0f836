// Multi-guest benchmark (`npx tsx bench/multi-guest.ts`): the workbench's machines share one lguest
// host but each runs on its own worker thread, so CPU-bound guests should use every core. It runs
// one, then two demo guests on a shared network, each running the CPU-bound `spin` program, and
// compares the total guest throughput (virtual time retired per wall second, i.e. instructions
// x 10 ns while no guest idles). Prints the ratio; the target on a 2-core machine is >= 1.7.

import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ApiEventMessage, MachineStatus } from '../core/service/api';
import { WorkbenchService } from '../core/service/service';

/** Wall time each configuration is measured over, after a warm-up. */
const MEASURE_MS = Number(process.env['MULTI_BENCH_MS'] ?? 8000);
const WARMUP_MS = 2000;
const TARGET = 1.7;

async function until(what: () => boolean, ms = 60_000): Promise<void> {
  const t0 = Date.now();
  while (!what()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Measured {
  /** Summed guest virtual ns per wall second. */
  rate: number;
  /** CPU seconds this process (all its threads) used per wall second: the cores it really got. */
  cores: number;
}

/** Boots `count` demo guests, starts `spin` in each, measures their summed throughput. */
async function throughput(count: number): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-multi-bench-'));
  const service = new WorkbenchService({ configDir: join(dir, 'machines') });
  const consoles = new Map<string, string>();
  const statuses = new Map<string, MachineStatus>();
  service.subscribe((m: ApiEventMessage) => {
    if (m.event === 'console.output') {
      const { id, data } = m.payload as { id: string; data: Uint8Array };
      consoles.set(id, (consoles.get(id) ?? '') + new TextDecoder().decode(data));
    } else if (m.event === 'machine.status') {
      const s = m.payload as MachineStatus;
      statuses.set(s.id, s);
    }
  });
  const ids = Array.from({ length: count }, (_, i) => `g${i}`);
  try {
    for (const id of ids) {
      const config = { name: id, kernel: 'builtin:demo', memoryMB: 16, networks: ['lan0'] };
      const r = await service.call('configs.create', { config });
      if (!r.ok) throw new Error(r.error.message);
    }
    const started = await service.call('networks.start', { name: 'lan0' });
    if (!started.ok) throw new Error(started.error.message);
    await until(() => ids.every((id) => consoles.get(id)?.includes('demo$ ')));
    for (const id of ids) await service.call('console.input', { id, data: new TextEncoder().encode('spin 100000\n') });
    await until(() => ids.every((id) => consoles.get(id)?.includes('spin[')));
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const at = (): number => ids.reduce((sum, id) => sum + (statuses.get(id)?.virtualTimeNs ?? 0), 0);
    const v0 = at();
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, MEASURE_MS));
    const v1 = at();
    const c1 = process.cpuUsage(c0);
    const seconds = (performance.now() - t0) / 1000;
    return { rate: (v1 - v0) / seconds, cores: (c1.user + c1.system) / 1e6 / seconds };
  } finally {
    await service.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const one = await throughput(1);
const two = await throughput(2);
const ratio = two.rate / one.rate;
const mips = (vnsPerSec: number): string => (vnsPerSec / 10 / 1e6).toFixed(1);
console.log(`cores: ${availableParallelism()}, load average ${loadavg()[0]!.toFixed(1)}`);
console.log(`1 guest : ${mips(one.rate)} M guest instructions/s, process on ${one.cores.toFixed(2)} cores`);
console.log(`2 guests: ${mips(two.rate)} M guest instructions/s (total), process on ${two.cores.toFixed(2)} cores`);
// Per core actually obtained, so that a busy machine does not hide whether the host serializes guests.
console.log(`throughput per core used, 2/1: ${(two.rate / two.cores / (one.rate / one.cores)).toFixed(2)}`);
console.log(`throughput ratio 2/1: ${ratio.toFixed(2)} (target >= ${TARGET})`);
process.exitCode = ratio >= TARGET ? 0 : 1;
