// `npm run bench`: every benchmark of the project, one after another, each in its own process so
// that one section's threads, caches and garbage never disturb the next. Each section prints its
// own figures against its targets; at the end this names every section that exited non-zero (a
// failed run, a wrong checksum, or a target that section enforces).
//
// Knob: BENCH_SECTIONS=cpu,snapshot (a subset, in this order). The CPU section's own knobs
// (BENCH_PROGRAMS, BENCH_RUNS, BENCH_SYSTEMS) pass through.

import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const SECTIONS: { name: string; file: string; what: string }[] = [
  { name: 'cpu', file: 'cpu.ts', what: 'guest code vs native, v86 and QEMU' },
  { name: 'multi-guest', file: 'multi-guest.ts', what: 'two guests on one host vs one' },
  { name: 'snapshot', file: 'snapshot.ts', what: 'snapshot and restore times' },
  { name: 'debugger', file: 'debugger.ts', what: 'throughput under the debugger, reverse-stepi' },
  { name: 'observability', file: 'observability.ts', what: 'cost of tracing and sampling' },
];

function chosen(): typeof SECTIONS {
  const env = process.env['BENCH_SECTIONS'];
  if (env === undefined || env === '') return SECTIONS;
  const names = env.split(',');
  const unknown = names.filter((n) => !SECTIONS.some((s) => s.name === n));
  if (unknown.length > 0)
    throw new Error(
      `unknown section(s) ${unknown.join(', ')} in BENCH_SECTIONS (known: ${SECTIONS.map((s) => s.name).join(', ')})`,
    );
  return SECTIONS.filter((s) => names.includes(s.name));
}

const missed: string[] = [];
for (const s of chosen()) {
  console.log(`\n=== ${s.name}: ${s.what}`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(HERE, s.file)], { stdio: 'inherit' });
  if (r.status !== 0) missed.push(`${s.name} (${r.signal ?? `exit ${r.status}`})`);
}
console.log(
  missed.length === 0 ? '\nevery section ran to the end' : `\nsections that exited non-zero: ${missed.join(', ')}`,
);
process.exitCode = missed.length === 0 ? 0 : 1;
