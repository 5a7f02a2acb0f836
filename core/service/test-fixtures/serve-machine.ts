// Runs one machine of a WorkbenchService in a process of its own, for tests that kill -9 that
// process: creates the config given as JSON (argv[3]) in the config folder argv[2], starts it,
// writes its console output to stdout and passes stdin to its console.

import { tsxWorkerSpec, WorkbenchService } from '../service';
import type { MachineConfig } from '../api';

const [configDir, configJson] = process.argv.slice(2);
const config = JSON.parse(configJson!) as MachineConfig;
const service = new WorkbenchService({
  configDir: configDir!,
  worker: { ...tsxWorkerSpec(), extra: { paced: false } },
});
service.subscribe((msg) => {
  if (msg.event === 'console.output') process.stdout.write((msg.payload as { data: Uint8Array }).data);
  if (msg.event === 'machine.status') process.stderr.write(`${JSON.stringify(msg.payload)}\n`);
});
const created = await service.call('configs.create', { config });
if (!created.ok) throw new Error(created.error.message);
await service.call('machines.start', { id: config.name });
process.stdin.on(
  'data',
  (d: Buffer) => void service.call('console.input', { id: config.name, data: new Uint8Array(d) }),
);
