// The demo guest, end to end through the `lguest` command: the committed image is current, its pure
// parts pass their native tests, and a guest booted by `node bin/lguest.js` answers typed commands
// with real output: the shell, the demofs disk (writes reach the host file), faults, hypercall
// traces, crash/halt exit statuses, and a ping between two guests on one shared network.

import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildDemoFs, DIR_START, SECTOR } from './mkfs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEMO_DIR = fileURLToPath(new URL('./', import.meta.url));
const LGUEST = join(ROOT, 'bin', 'lguest.js');
const IMAGE = join(DEMO_DIR, 'demo.elf');

/** Printed exactly once, just before the first prompt (README: "Tests can rely on"). */
const READY = 'lguest demo guest ready';
const PROMPT = 'demo$ ';
/** Generous: the machine may be loaded (2 cores, other suites, gcc). */
const BOOT_TIMEOUT = 120_000;
const COMMAND_TIMEOUT = 60_000;
const EXIT_TIMEOUT = 60_000;
/** Per test: several commands, each allowed COMMAND_TIMEOUT. */
const TEST_TIMEOUT = 240_000;

const readyTimes: { what: string; ms: number }[] = [];
const sessions: GuestSession[] = [];
let tmp: string;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'demo-guest-test-'));
});

afterAll(() => {
  for (const s of sessions) s.kill();
  if (readyTimes.length) {
    console.log(
      'demo guest: spawn -> "lguest demo guest ready":\n' +
        readyTimes.map((t) => `  ${t.what}: ${t.ms.toFixed(0)} ms`).join('\n'),
    );
  }
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** Runs a script to the end; resolves with its status and output (never rejects on failure). */
function runScript(path: string, timeoutMs: number): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', [path], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path} did not finish within ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/**
 * A `node bin/lguest.js` process with plain pipes (no pty). Output is matched from a cursor that
 * moves past each match, so every wait looks only at output produced after the previous one;
 * commands are written only when the shell's prompt has been seen.
 */
class GuestSession {
  readonly child: ChildProcessWithoutNullStreams;
  readonly spawnedAt = performance.now();
  /** Console output, CR LF turned into LF. */
  out = '';
  err = '';
  private cursor = 0;
  private atPrompt = false;
  private exitInfo: Exit | null = null;
  private readonly exited: Promise<Exit>;
  private waiters = new Set<() => void>();

  constructor(
    args: string[],
    /** The prompt as it appears in the output ("[a] demo$ " with --multi). */
    readonly prompt = PROMPT,
  ) {
    this.child = spawn(process.execPath, [LGUEST, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    sessions.push(this);
    this.child.stdout.setEncoding('utf8').on('data', (d: string) => {
      this.out += d.replace(/\r\n/g, '\n');
      this.notify();
    });
    this.child.stderr.setEncoding('utf8').on('data', (d: string) => {
      this.err += d;
      this.notify();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        this.notify();
        resolve(this.exitInfo);
      });
    });
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
  }

  private describe(): string {
    return `--- console output ---\n${this.out.slice(-3000)}\n--- stderr ---\n${this.err.slice(-2000)}`;
  }

  /**
   * Waits until `pattern` appears in the output after the cursor (or anywhere with `anywhere`),
   * moves the cursor past it (unless `anywhere`), and returns the text from the old cursor to the
   * end of the match.
   */
  waitFor(pattern: string | RegExp, opts: { timeoutMs?: number; anywhere?: boolean } = {}): Promise<string> {
    const timeoutMs = opts.timeoutMs ?? COMMAND_TIMEOUT;
    const anywhere = opts.anywhere ?? false;
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const from = anywhere ? 0 : this.cursor;
        const rest = this.out.slice(from);
        let end = -1;
        if (typeof pattern === 'string') {
          const i = rest.indexOf(pattern);
          if (i >= 0) end = i + pattern.length;
        } else {
          const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(rest);
          if (m) end = m.index + m[0].length;
        }
        if (end >= 0) {
          if (!anywhere) this.cursor = from + end;
          finish();
          resolve(rest.slice(0, end));
          return true;
        }
        if (this.exitInfo) {
          finish();
          reject(
            new Error(
              `lguest exited (${JSON.stringify(this.exitInfo)}) before ${String(pattern)} appeared\n${this.describe()}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${String(pattern)}\n${this.describe()}`));
      }, timeoutMs);
      const waiter = () => void check();
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(waiter);
      };
      if (!check()) this.waiters.add(waiter);
    });
  }

  /** Waits for the ready line and then the first prompt; returns ms from spawn to the ready line. */
  async ready(what: string, readyLine = READY): Promise<number> {
    await this.waitFor(readyLine, { timeoutMs: BOOT_TIMEOUT });
    const ms = performance.now() - this.spawnedAt;
    readyTimes.push({ what, ms });
    console.log(`demo guest (${what}): spawn -> ready line in ${ms.toFixed(0)} ms`);
    await this.waitFor(this.prompt, { timeoutMs: BOOT_TIMEOUT });
    this.atPrompt = true;
    return ms;
  }

  /** Types a line (the guest takes CR, LF or CR LF; a raw terminal sends CR). */
  type(line: string): void {
    if (!this.atPrompt) throw new Error(`typing ${JSON.stringify(line)} while the shell shows no prompt`);
    this.atPrompt = false;
    this.child.stdin.write(line + '\r');
  }

  /**
   * Runs one shell command: types it at the prompt, waits for the next prompt, and returns what the
   * command printed (the echoed command line and the prompt left out).
   */
  async run(line: string, timeoutMs = COMMAND_TIMEOUT): Promise<string> {
    this.type(line);
    // The guest echoes what it reads; the command's output follows the echoed line.
    await this.waitFor(line + '\n', { timeoutMs });
    const text = await this.waitFor(this.prompt, { timeoutMs });
    this.atPrompt = true;
    return text.slice(0, text.length - this.prompt.length);
  }

  /** Resolves when the process has ended (fails the test if it takes longer than the timeout). */
  async exit(timeoutMs = EXIT_TIMEOUT): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`lguest still running after ${timeoutMs} ms\n${this.describe()}`)),
        timeoutMs,
      );
    });
    try {
      return await Promise.race([this.exited, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Lines of stderr that the Launcher wrote (skips e.g. Node warnings). */
  launcherErrors(): string[] {
    return this.err.split('\n').filter((l) => l.startsWith('lguest:'));
  }

  kill(): void {
    if (this.exitInfo === null && this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

/** The files of a demofs image, read from its directory (README: "demofs: the on-disk format"). */
function readDemoFs(img: Uint8Array): Map<string, string> {
  const view = new DataView(img.buffer, img.byteOffset, img.byteLength);
  expect(new TextDecoder().decode(img.subarray(0, 8))).toBe('DEMOFS01');
  const files = new Map<string, string>();
  for (let i = 0; i < 32; i++) {
    const entry = DIR_START * SECTOR + i * 64;
    if (img[entry] === 0) continue;
    const nameBytes = img.subarray(entry, entry + 48);
    const name = new TextDecoder().decode(nameBytes.subarray(0, nameBytes.indexOf(0)));
    const start = view.getUint32(entry + 48, true);
    const size = view.getUint32(entry + 52, true);
    files.set(name, new TextDecoder().decode(img.subarray(start * SECTOR, start * SECTOR + size)));
  }
  return files;
}

describe('demo guest build', () => {
  it('the committed demo.elf is what build.sh makes (check.sh)', async () => {
    const { code, output } = await runScript(join(DEMO_DIR, 'check.sh'), 300_000);
    expect(code, `check.sh failed:\n${output}`).toBe(0);
    expect(output).toMatch(/check\.sh: demo\.elf and user-symbols\/ are up to date \([0-9a-f]{64}\)/);
  }, 320_000);

  it('check.sh fails when a user program symbol map is stale', async () => {
    // A copy of the guest's folder, with one symbol of bench.map moved.
    const copy = mkdtempSync(join(tmpdir(), 'demo-stale-'));
    try {
      cpSync(DEMO_DIR, copy, { recursive: true });
      const map = join(copy, 'user-symbols', 'bench.map');
      writeFileSync(map, readFileSync(map, 'latin1').replace(/^08048060 T main$/m, '08048064 T main'), 'latin1');
      const { code, output } = await runScript(join(copy, 'check.sh'), 300_000);
      expect(code).toBe(1);
      expect(output).toContain('check.sh: user-symbols/ is stale or missing');
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  }, 320_000);

  it('its pure parts pass their native unit tests (test-native.sh)', async () => {
    const { code, output } = await runScript(join(DEMO_DIR, 'test-native.sh'), 300_000);
    expect(code, `test-native.sh failed:\n${output}`).toBe(0);
    expect(output).toMatch(/\b\d+ checks, 0 failures\b/);
  }, 320_000);
});

describe('demo guest on the lguest command: shell', { timeout: TEST_TIMEOUT }, () => {
  let guest: GuestSession;

  beforeAll(async () => {
    guest = new GuestSession(['--fast', '32', IMAGE]);
    await guest.ready('32 MiB, no devices but the console');
  }, BOOT_TIMEOUT + 10_000);

  it('boots through the standard path and says so', () => {
    expect(guest.out.startsWith('lguest demo guest ')).toBe(true);
    expect(guest.out).toContain('Booting paravirtualized kernel on lguest (guest id 0)');
    expect(guest.out).toContain(' LGUEST: 0000000000000000 - 0000000002000000 (usable)');
    expect(guest.out).toContain('hvc0: lguest console');
    expect(guest.out).toContain('demofs: no block device');
    expect(guest.out.split(READY).length - 1).toBe(1);
  });

  it('uname names the system; uname -a shows what lguest gave it', async () => {
    expect(await guest.run('uname')).toMatch(/^lguest-demo \S+ i686\n$/);
    const all = await guest.run('uname -a');
    expect(all).toMatch(/^lguest-demo \S+ i686 paravirt=lguest guestid=0 cpl=1 page_offset=0xc0000000 tsc_khz=\d+\n$/);
  });

  it('help lists the commands', async () => {
    const help = await guest.run('help');
    expect(help).toMatch(/^commands:\n/);
    for (const cmd of [
      'help',
      'uname',
      'ls',
      'cat FILE',
      'write FILE TEXT',
      'net',
      'fault',
      'trace CMD',
      'crash',
      'halt',
    ])
      expect(help).toMatch(new RegExp(`^  ${cmd.replace(/[[\]]/g, '\\$&')}\\b`, 'm'));
  });

  it('echo and an unknown command', async () => {
    expect(await guest.run('echo hello from the host')).toBe('hello from the host\n');
    expect(await guest.run('no-such-command')).toBe("no-such-command: command not found (try 'help')\n");
  });

  it('ls without a block device refuses', async () => {
    // The guest prints the missing-filesystem message (see the report about the wording).
    expect(await guest.run('ls')).toBe('no block device (start the guest with a disk image)\n');
  });

  it('fpfmt: doubles and long doubles format as the same code compiled natively formats them', async () => {
    // The same source with the same x87 code generation, run on the real CPU.
    const exe = join(tmp, 'fpfmt-native');
    execFileSync('gcc', [
      ...['-m32', '-march=i686', '-O2', '-std=gnu11', '-fno-builtin', '-mno-sse', '-mno-sse2', '-mfpmath=387'],
      ...['-Wall', '-Wextra', '-Werror', '-DNATIVE', '-o', exe, join(DEMO_DIR, 'user', 'fpfmt.c')],
    ]);
    const native = execFileSync(exe, { encoding: 'utf8' });
    expect(native).toContain('%f 1.4 = 1.400000\n');
    expect(native).toContain('%f fldpi = 3.141593\n');
    expect(native).toContain('%.10g 3.14159265358979 = 3.141592654\n');
    expect(await guest.run('run fpfmt')).toBe(native);
  });

  it('fault: a ring-3 process segfaults, is killed, and the shell goes on', async () => {
    const out = await guest.run('fault');
    expect(out).toMatch(/^fault\[\d+\]: segfault at 0xc0100000 ip 0x[0-9a-f]{8} sp 0x[0-9a-f]{8} error 5$/m);
    expect(out).toMatch(/^\[\d+\] fault exited with status 142$/m); // 128 + page fault (14)
    const div = await guest.run('fault div');
    expect(div).toMatch(/^fault\[\d+\]: divide error \(trap 0\) ip 0x[0-9a-f]{8} /m);
    expect(div).toMatch(/^\[\d+\] fault exited with status 128$/m);
    expect(await guest.run('echo still alive')).toBe('still alive\n');
    expect(await guest.run('uname')).toMatch(/^lguest-demo /);
  });

  it('trace uname lists the hypercalls it caused, by name and count', async () => {
    const out = await guest.run('trace uname');
    expect(out).toMatch(/^lguest-demo \S+ i686\n/);
    const total =
      /^trace: (\d+) hypercalls \((\d+) synchronous, (\d+) through the async ring, (\d+) ring-full\)$/m.exec(out);
    expect(total, out).not.toBeNull();
    const [, all, sync, ring] = total!.map(Number);
    expect(all).toBeGreaterThan(0);
    expect(sync! + ring!).toBe(all);
    expect(out).toMatch(/^\s+nr\s+name\s+sync\s+async$/m);
    const rows = [...out.matchAll(/^\s+(\d+)\s+([A-Z_]+)\s+(\d+)\s+(\d+)$/gm)];
    const sendDma = rows.find((r) => r[2] === 'SEND_DMA');
    expect(sendDma, out).toBeDefined();
    expect(sendDma![1]).toBe('13'); // LHCALL_SEND_DMA in the 2.6.23 ABI
    expect(Number(sendDma![3])).toBeGreaterThan(0);
    const counted = rows.reduce((n, r) => n + Number(r[3]) + Number(r[4]), 0);
    expect(counted).toBe(all);
    expect(out).toMatch(/^\s+1 (int |ring) SEND_DMA\(0x0, 0x[0-9a-f]+, 0x[0-9a-f]+\)$/m);
  });

  it('crash MSG kills the guest: exit status 1 and "lguest: CRASH: MSG" on stderr', async () => {
    guest.type('crash boom');
    const exit = await guest.exit();
    expect(exit).toEqual({ code: 1, signal: null });
    expect(guest.launcherErrors()).toEqual(['lguest: CRASH: boom']);
  });
});

describe('demo guest on the lguest command: block device', { timeout: TEST_TIMEOUT }, () => {
  const KNOWN = 'known text, put on the disk by mkfs.ts';
  let disk: string;
  let guest: GuestSession;

  beforeAll(async () => {
    disk = join(tmp, 'disk.img');
    const enc = new TextEncoder();
    writeFileSync(
      disk,
      buildDemoFs([{ name: 'notes.txt', data: enc.encode(KNOWN + '\n') }], { sectors: 512, label: 'vitest' }),
    );
    guest = new GuestSession(['--fast', `--block=${disk}`, '32', IMAGE]);
    await guest.ready('32 MiB with a demofs disk');
  }, BOOT_TIMEOUT + 10_000);

  it('finds the disk and mounts it', () => {
    expect(guest.out).toMatch(/^ {2}device 0: block {3}features 0x[0-9a-f]+ pages 1 pfn 0x[0-9a-f]+ irq 1$/m);
    expect(guest.out).toContain('lgba: 512 sectors (256 KiB)');
    expect(guest.out).toContain('demofs: lgba mounted, label "vitest", 1 files');
  });

  it('ls lists the file; cat prints its text', async () => {
    const ls = await guest.run('ls');
    expect(ls).toMatch(new RegExp(`^\\s+${KNOWN.length + 1}  notes\\.txt$`, 'm'));
    expect(ls).toMatch(/^1 files, \d+ KiB free$/m);
    expect(await guest.run('cat notes.txt')).toBe(KNOWN + '\n');
    expect(await guest.run('cat missing.txt')).toMatch(/^cat: missing\.txt: /);
  });

  it('write f2 hello-disk reaches the disk file on the host', async () => {
    expect(await guest.run('write f2 hello-disk')).toBe('wrote 11 bytes to f2\n');
    expect(await guest.run('cat f2')).toBe('hello-disk\n');
    const ls = await guest.run('ls');
    expect(ls).toMatch(/^\s+11 {2}f2$/m);
    expect(ls).toMatch(/^2 files, /m);
    // Block writes are fsync'ed before the guest hears back, so the file has them already.
    const files = readDemoFs(readFileSync(disk));
    expect(files.get('f2')).toBe('hello-disk\n');
    expect(files.get('notes.txt')).toBe(KNOWN + '\n');
  });

  it('halt powers off: exit status 0, "lguest: powered off" on stderr, the disk keeps the data', async () => {
    guest.type('halt');
    await guest.waitFor('System halted.');
    const exit = await guest.exit();
    expect(exit).toEqual({ code: 0, signal: null });
    expect(guest.launcherErrors()).toEqual(['lguest: powered off']);
    const img = readFileSync(disk);
    expect(img.includes('hello-disk')).toBe(true);
    expect(readDemoFs(img)).toEqual(
      new Map([
        ['notes.txt', KNOWN + '\n'],
        ['f2', 'hello-disk\n'],
      ]),
    );
  });
});

describe('demo guest on the lguest command: two guests on one network (--multi)', { timeout: TEST_TIMEOUT }, () => {
  let guest: GuestSession;

  beforeAll(
    async () => {
      for (const name of ['a', 'b']) {
        const config = { name, kernel: 'builtin:demo', memoryMB: 32, networks: ['t'] };
        writeFileSync(join(tmp, `${name}.json`), JSON.stringify(config, null, 2));
      }
      // Keyboard input goes to the first machine only: b just sits at its prompt, answering pings
      // from its interrupt handler.
      guest = new GuestSession(['--fast', '--multi', join(tmp, 'a.json'), join(tmp, 'b.json')], '[a] demo$ ');
      await guest.waitFor(`[b] ${READY}`, { timeoutMs: BOOT_TIMEOUT, anywhere: true });
      await guest.waitFor('[b] demo$ ', { timeoutMs: BOOT_TIMEOUT, anywhere: true });
      await guest.ready('--multi a b, shared network', `[a] ${READY}`);
    },
    2 * BOOT_TIMEOUT + 10_000,
  );

  afterAll(() => guest?.kill());

  it('both guests join network "t" in their own slots', () => {
    expect(guest.out).toMatch(/^\[a\] {3}eth0: slot 0, mac 02:00:00:00:00:00, irq \d+$/m);
    expect(guest.out).toMatch(/^\[b\] {3}eth0: slot 1, mac 02:00:01:00:00:00, irq \d+$/m);
  });

  it('a sees b as a peer', async () => {
    const out = await guest.run('net');
    expect(out).toMatch(/^\[a\] eth0: slot 0 mac 02:00:00:00:00:00 irq \d+$/m);
    expect(out).toMatch(/^\[a\] {3}peer slot 1: 02:00:01:00:00:00$/m);
  });

  it('net ping 3 in a gets 3 replies from b', async () => {
    const out = await guest.run('net ping 3');
    expect(out).toMatch(/^\[a\] ping: 1 peer\(s\), 3 sent, 3 replies in \d+ ms$/m);
    // b counted the pings it answered; a counted its frames.
    const info = await guest.run('net');
    expect(info).toMatch(/^\[a\] {3}rx (\d+) \(dropped 0\) {2}tx (\d+) \(errors 0\) {2}pings answered 0$/m);
    const [, rx, tx] = /rx (\d+) .* tx (\d+) /.exec(info)!;
    expect(Number(rx)).toBeGreaterThanOrEqual(3);
    expect(Number(tx)).toBeGreaterThanOrEqual(3);
  });

  it('halting a leaves b running; a is reported powered off', async () => {
    guest.type('halt');
    await guest.waitFor('[a] System halted.');
    await expect
      .poll(() => guest.launcherErrors(), { timeout: EXIT_TIMEOUT, interval: 100 })
      .toEqual(['lguest: [a] powered off']);
    // b is still there, so the command has not ended.
    expect(guest.child.exitCode).toBeNull();
    guest.kill();
    expect((await guest.exit()).signal).toBe('SIGKILL');
  });
});
