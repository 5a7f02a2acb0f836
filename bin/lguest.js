#!/usr/bin/env node
// The `lguest` command: loads the TypeScript Launcher (bundled, see source-bundle.js), hands over to
// core/launcher/cli.ts and exits with its status once the terminal output has drained. Whatever
// happens, the command ends with a `lguest: ` line and a documented status (`lguest --help`):
// an exception, or a run loop left waiting on nothing (Node would exit 13 silently), is reported
// as an internal error with status 70.

import { loadCli } from './source-bundle.js';

const EXIT_INTERNAL = 70;
let settled = false;
process.on('exit', () => {
  if (settled) return;
  process.stderr.write('lguest: internal error: the Launcher stopped with nothing left to wait for\n');
  process.exitCode = EXIT_INTERNAL;
});

let status;
try {
  const { main } = await loadCli();
  status = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`lguest: internal error: ${e instanceof Error ? e.message : String(e)}\n`);
  status = EXIT_INTERNAL;
}
settled = true;
process.stdout.write('', () => process.exit(status));
