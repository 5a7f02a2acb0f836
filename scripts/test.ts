// `npm test`: checks the system packages the tests need, runs the unit suite and the end-to-end
// suite with vitest, and ends with one summary line over both: "N passed, N failed".

import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface Requirement {
  what: string;
  debianPackage: string;
  present: () => boolean;
}

const requirements: Requirement[] = [
  { what: 'Chromium (end-to-end tests)', debianPackage: 'chromium', present: () => existsSync('/usr/bin/chromium') },
  {
    what: 'NASM (test guests, differential tests)',
    debianPackage: 'nasm',
    present: () => commandWorks('nasm', ['-v']),
  },
  {
    what: '32-bit gcc (differential tests, demo guest)',
    debianPackage: 'gcc-multilib',
    present: () => compiles32Bit(),
  },
  {
    what: 'tshark (network capture tests read the pcap files)',
    debianPackage: 'tshark',
    present: () => commandWorks('tshark', ['--version']),
  },
  { what: 'gdb (the gdb stub test)', debianPackage: 'gdb', present: () => commandWorks('gdb', ['--version']) },
];

function commandWorks(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

function compiles32Bit(): boolean {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-m32-'));
  try {
    const r = spawnSync('gcc', ['-m32', '-x', 'c', '-o', join(dir, 'a.out'), '-'], {
      input: 'int main(void){return 0;}',
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    return r.status === 0;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface SuiteResult {
  passed: number;
  failed: number;
  skipped: number;
}

interface VitestJson {
  numPassedTests: number;
  numFailedTests: number;
  numPendingTests: number;
  numTodoTests: number;
  numFailedTestSuites: number;
}

function runVitest(label: string, extraArgs: string[]): SuiteResult {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-test-'));
  const out = join(dir, 'result.json');
  console.log(`\n=== ${label} ===`);
  const r = spawnSync(
    'npx',
    ['vitest', 'run', ...extraArgs, '--reporter=default', '--reporter=json', `--outputFile.json=${out}`],
    { stdio: 'inherit' },
  );
  try {
    if (!existsSync(out)) {
      console.error(`${label}: vitest produced no result file (exit status ${r.status})`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    const json = JSON.parse(readFileSync(out, 'utf8')) as VitestJson;
    // A suite that fails to load has no test results of its own: count it as a failure.
    const failed = json.numFailedTests + json.numFailedTestSuites;
    return { passed: json.numPassedTests, failed, skipped: json.numPendingTests + json.numTodoTests };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const missing = requirements.filter((req) => !req.present());
if (missing.length > 0) {
  for (const req of missing) {
    console.error(`missing system package: ${req.debianPackage} — needed for ${req.what}.`);
  }
  console.error(`Install with: sudo apt-get install -y ${missing.map((m) => m.debianPackage).join(' ')}`);
  console.log(`0 passed, ${missing.length} failed`);
  process.exit(1);
}

const unit = runVitest('unit tests', []);
const e2e = runVitest('end-to-end tests', ['--config', 'e2e/vitest.config.ts']);
const total = {
  passed: unit.passed + e2e.passed,
  failed: unit.failed + e2e.failed,
  skipped: unit.skipped + e2e.skipped,
};
console.log(`\nunit: ${unit.passed} passed, ${unit.failed} failed; e2e: ${e2e.passed} passed, ${e2e.failed} failed`);
console.log(`${total.passed} passed, ${total.failed} failed` + (total.skipped ? `, ${total.skipped} skipped` : ''));
process.exit(total.failed > 0 ? 1 : 0);
