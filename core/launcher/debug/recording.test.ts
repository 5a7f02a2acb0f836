// Record/replay through the `lguest` command: a typed session on the demo guest is recorded with the
// hash of its final state; replaying the file reaches the same hash; an edited or broken file does not.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Recording } from './recording';

const LGUEST = join(resolve(import.meta.dirname, '../../..'), 'bin/lguest.js');
const dir = mkdtempSync(join(tmpdir(), 'lguest-rec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function replay(path: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, [LGUEST, `--replay=${path}`], { encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('record and replay', () => {
  it('replays a recorded session to the same final state, and notices an edited one', async () => {
    const file = join(dir, 'session.json');
    const child = spawn(process.execPath, [LGUEST, `--record=${file}`, '--fast', '32', 'builtin:demo']);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const waitFor = (text: string) =>
      new Promise<void>((res) => {
        const look = () => (stdout.split(text).length > 1 ? res() : setTimeout(look, 20));
        look();
      });
    await waitFor('demo$ ');
    child.stdin.write('uname -a\n');
    await waitFor('paravirt=lguest');
    child.stdin.write('halt\n');
    const status = await new Promise<number | null>((res) => child.on('exit', res));
    expect(status).toBe(0);
    const hash = /final state sha256 ([0-9a-f]{64})/.exec(stderr)?.[1];
    expect(hash).toBeDefined();

    const again = replay(file);
    expect(again.status).toBe(0);
    expect(again.stderr).toContain(`final state sha256 ${hash}`);
    expect(again.stderr).toContain('replay matches the recording');
    expect(again.stdout).toBe(stdout);

    // One typed byte changed: a different machine, and the command says so.
    const rec = JSON.parse(readFileSync(file, 'utf8')) as Recording;
    const input = rec.events.find(
      (e) => e.kind === 'input' && Buffer.from(e.base64, 'base64').toString().includes('uname'),
    );
    expect(input).toBeDefined();
    if (input?.kind === 'input') input.base64 = Buffer.from('unamx -a\n').toString('base64');
    const edited = join(dir, 'edited.json');
    writeFileSync(edited, JSON.stringify(rec));
    const other = replay(edited);
    expect(other.status).toBe(1);
    expect(other.stderr).toMatch(/replay DIFFERS from the recording/);
  }, 180_000);

  it('refuses a file that is not a recording, naming the field', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ format: 'lguest-recording', version: 1, config: { name: 'x' } }));
    const r = replay(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad\.json: recording config: /);
  });
});
