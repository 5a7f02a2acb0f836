// The gdb stub against Debian's real gdb in batch mode, on the demo guest with its symbols: break
// by symbol, registers and a variable, step, a watchpoint with old and new value, reverse-stepi to
// the previous registers, reverse-continue to the breakpoint, detach, and the shell still answers.

import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../../..');
const DEMO_ELF = join(ROOT, 'assets/guests/demo/demo.elf');

const SCRIPT = `set pagination off
set confirm off
file ${DEMO_ELF}
target remote 127.0.0.1:PORT
break console_write
continue
info registers
print/x (int)jiffies
stepi
echo STEPPED\\n
info registers eip
disable 1
watch *(int*)&jiffies
continue
delete 2
echo BEFORE\\n
info registers
stepi
reverse-stepi
echo AFTER\\n
info registers
echo END\\n
enable 1
reverse-continue
info registers eip
delete
detach
`;

/** Text between two marker lines of gdb's output. */
function between(out: string, from: string, to: string): string {
  return out.slice(out.indexOf(from) + from.length, out.indexOf(to));
}

describe('gdb stub with the real gdb', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lguest-gdb-'));
  let lguest: ChildProcessWithoutNullStreams | null = null;
  afterAll(() => {
    lguest?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('breaks, reads, steps, watches, steps back, continues back, detaches; the guest runs on', async () => {
    expect(spawnSync('gdb', ['--version']).status, 'gdb is needed: apt-get install -y gdb').toBe(0);
    const child = spawn(process.execPath, [
      join(ROOT, 'bin/lguest.js'),
      '--gdb=0',
      '--gdb-wait',
      '--fast',
      '32',
      'builtin:demo',
    ]);
    lguest = child;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const port = await new Promise<number>((res, rej) => {
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString();
        const m = /gdb server on 127\.0\.0\.1:(\d+)/.exec(stderr);
        if (m) res(Number(m[1]));
      });
      child.on('exit', () => rej(new Error(`lguest exited: ${stderr}`)));
    });
    expect(stderr).toContain(`target remote 127.0.0.1:${port}`);

    const script = join(dir, 'session.gdb');
    writeFileSync(script, SCRIPT.replace('PORT', String(port)));
    const gdb = await new Promise<string>((res) => {
      const g = spawn('gdb', ['-batch', '-nx', '-x', script]);
      let out = '';
      g.stdout.on('data', (b: Buffer) => (out += b.toString()));
      g.stderr.on('data', (b: Buffer) => (out += b.toString()));
      g.on('exit', () => res(out));
    });

    // Breakpoint by symbol, registers, a variable.
    expect(gdb).toMatch(/Breakpoint 1, 0xc0102900 in console_write \(\)/);
    expect(gdb).toMatch(/eip\s+0xc0102900\s+0xc0102900 <console_write>/);
    expect(gdb).toMatch(/cs\s+0x61/);
    expect(gdb).toMatch(/\$1 = 0x0/);
    // One instruction on (push %ebp is one byte).
    expect(between(gdb, 'STEPPED', 'Hardware watchpoint')).toMatch(/eip\s+0xc0102901\s+0xc0102901 <console_write\+1>/);
    // The watchpoint reports the tick that changed jiffies.
    expect(gdb).toMatch(/Hardware watchpoint 2: \*\(int\*\)&jiffies\s+Old value = 0\s+New value = 1/);
    // reverse-stepi: the registers before the step, exactly.
    const before = between(gdb, 'BEFORE', 'AFTER')
      .split('\n')
      .filter((l) => /^\w+\s+0x/.test(l));
    const after = between(gdb, 'AFTER', 'END')
      .split('\n')
      .filter((l) => /^\w+\s+0x/.test(l));
    expect(before.length).toBe(16);
    expect(after).toEqual(before);
    // reverse-continue: back at the breakpoint.
    expect(gdb.slice(gdb.indexOf('END'))).toMatch(
      /Breakpoint 1, 0xc0102900 in console_write \(\)[\s\S]*eip\s+0xc0102900/,
    );
    expect(gdb).toContain('[Inferior 1 (Remote target) detached]');

    // Detached: the guest runs on and answers its shell.
    const answered = new Promise<void>((res) => {
      const look = () => {
        if (stdout.includes('paravirt=lguest')) res();
        else setTimeout(look, 50);
      };
      look();
    });
    await new Promise<void>((res) => {
      const look = () => (stdout.includes('demo$ ') ? res() : setTimeout(look, 50));
      look();
    });
    child.stdin.write('uname -a\n');
    await answered;
    expect(stdout).toContain('lguest demo guest ready');
  }, 120_000);
});
