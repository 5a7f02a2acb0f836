#!/usr/bin/env node
// The `lguest` command: registers tsx so the TypeScript Launcher runs as-is, then hands over to
// core/launcher/cli.ts and exits with its status once the terminal output has drained.

import { register } from 'tsx/esm/api';

register();
const { main } = await import('../core/launcher/cli.ts');
const status = await main(process.argv.slice(2));
process.stdout.write('', () => process.exit(status));
