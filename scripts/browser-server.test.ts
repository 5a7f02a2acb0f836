// Browser mode's machine workers start from the bundle of core/service/machine-worker.ts, and a
// machine started from it runs the demo guest to its prompt.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { WorkbenchService } from '../core/service/service';
import { machineWorkerSpec, REPO_ROOT } from './browser-server';

const dir = mkdtempSync(join(tmpdir(), 'browser-worker-'));
let service: WorkbenchService | null = null;
afterAll(async () => {
  await service?.close();
  rmSync(dir, { recursive: true, force: true });
});

it('runs machines from the bundled worker', async () => {
  const worker = await machineWorkerSpec();
  expect(worker).toEqual({ entry: join(REPO_ROOT, 'node_modules/.cache/lguest-worker/bundle.mjs') });
  service = new WorkbenchService({ configDir: join(dir, 'machines'), worker });
  let text = '';
  service.subscribe((m) => {
    if (m.event === 'console.output') text += new TextDecoder().decode((m.payload as { data: Uint8Array }).data);
  });
  await service.seedDefaultConfig();
  expect(await service.call('machines.start', { id: 'demo' })).toMatchObject({ ok: true });
  for (let t = 0; t < 600 && !text.includes('demo$ '); t++) await new Promise((r) => setTimeout(r, 50));
  expect(text).toContain('demo$ ');
}, 60_000);
