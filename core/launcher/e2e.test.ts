// End to end on the REAL host (core/host) and i386 CPU (core/cpu): a tiny NASM guest prints on the
// console, writes and reads a disk image, takes console input by BIND_DMA + IRQ, and two guests
// swap a frame over a shared network. Needs nasm; fails (does not skip) while host/CPU are missing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LauncherStep } from './api';
import { defaultHost, launchGuest, launchGuestOn, type Launcher } from './launch';
import { makeElf } from './test-images';

const PO = 0xc0000000;
const SOURCE = fileURLToPath(new URL('./e2e-guest/guest.asm', import.meta.url));
let dir: string;

/** Assembles the guest in one MODE and wraps the flat binary in an i386 ELF at 1 MiB. */
function buildGuest(mode: number): string {
  const bin = join(dir, `guest${mode}.bin`);
  execFileSync('nasm', ['-f', 'bin', `-DMODE=${mode}`, '-o', bin, SOURCE]);
  const elf = join(dir, `guest${mode}.elf`);
  writeFileSync(
    elf,
    makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: new Uint8Array(readFileSync(bin)) }] }),
  );
  return elf;
}

interface Console {
  text: string;
}

/** Steps the guests round-robin (jumping idle clocks) until all are dead or the round limit. */
function runAll(guests: Launcher[], rounds = 2000): LauncherStep[] {
  const last: LauncherStep[] = guests.map(() => ({ kind: 'running' }));
  for (let r = 0; r < rounds && last.some((s) => s.kind !== 'dead'); r++) {
    guests.forEach((g, i) => {
      if (last[i]!.kind === 'dead') return;
      const s = g.step(100_000);
      last[i] = s;
      if (s.kind === 'idle' && s.wakeAtNs !== null) g.advanceClockTo(s.wakeAtNs);
    });
  }
  return last;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-e2e-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('Launcher end to end (real host + CPU)', () => {
  it('console output, block write and read, console input by IRQ, power-off', async () => {
    const kernel = buildGuest(1);
    const disk = join(dir, 'disk.img');
    const img = new Uint8Array(4096);
    img.set(new TextEncoder().encode('DISK-SECTOR-ZERO'));
    writeFileSync(disk, img);
    const con: Console = { text: '' };
    const logs: string[] = [];
    const host = await defaultHost();
    const g = await launchGuestOn(
      host,
      { name: 'e2e', kernel, memoryMB: 4, blockDevices: [{ path: disk }] },
      { consoleOutput: (b) => (con.text += new TextDecoder().decode(b)), log: (l) => logs.push(l) },
    );
    g.consoleInput(new TextEncoder().encode('hello, lguest world!'));
    const [end] = runAll([g]);
    g.close();
    expect(con.text).toBe('hello from the e2e guest\r\nW=1\nR=1\nDISK-SECTOR-ZERO<hello, lguest wo><rld!>');
    expect(end).toEqual({ kind: 'dead', reason: 'CRASH: Power down' });
    const after = readFileSync(disk);
    expect(after.subarray(512, 530).toString()).toBe('LGUEST-BLOCK-WRITE');
    expect(after[1023]).toBe('w'.charCodeAt(0));
    expect(after.subarray(0, 16).toString()).toBe('DISK-SECTOR-ZERO');
  });

  it('two guests on one host exchange a frame over a shared network', async () => {
    const sender = buildGuest(2);
    const receiver = buildGuest(3);
    const host = await defaultHost();
    const out = { a: '', b: '' };
    const b = await launchGuestOn(
      host,
      { name: 'b', kernel: receiver, memoryMB: 4, networks: ['lan'] },
      { consoleOutput: (x) => (out.b += new TextDecoder().decode(x)) },
    );
    const a = await launchGuestOn(
      host,
      { name: 'a', kernel: sender, memoryMB: 4, networks: ['lan'] },
      { consoleOutput: (x) => (out.a += new TextDecoder().decode(x)) },
    );
    const ends = runAll([b, a]);
    a.close();
    b.close();
    expect(out.a).toBe('TX-OK');
    expect(out.b).toBe('RX:FRAME-FROM-A');
    expect(ends).toEqual([
      { kind: 'dead', reason: 'CRASH: Power down' },
      { kind: 'dead', reason: 'CRASH: Power down' },
    ]);
  });

  it('boots the bundled demo guest (builtin:demo) to its prompt and powers it off', async () => {
    let text = '';
    const g = await launchGuest(
      { name: 'demo', kernel: 'builtin:demo', memoryMB: 16 },
      { consoleOutput: (b) => (text += new TextDecoder().decode(b)) },
    );
    for (let i = 0; i < 2000 && !text.includes('demo$ '); i++) {
      const s = g.step(200_000);
      if (s.kind === 'idle' && s.wakeAtNs !== null) g.advanceClockTo(s.wakeAtNs);
      if (s.kind === 'dead') break;
    }
    expect(text).toContain('Booting paravirtualized kernel on lguest');
    expect(text).toContain('demo$ ');
    g.consoleInput(new TextEncoder().encode('halt\r'));
    const [end] = runAll([g]);
    g.close();
    expect(end).toEqual({ kind: 'dead', reason: 'CRASH: Power down' });
  });

  it('kill -9 of the lguest command right after a block write completes: the data is in the file', async () => {
    const kernel = buildGuest(1);
    const disk = join(dir, 'kill.img');
    writeFileSync(disk, new Uint8Array(4096));
    const bin = fileURLToPath(new URL('../../bin/lguest.js', import.meta.url));
    // The guest prints W=1 once the Launcher has answered its write, then waits for console input.
    const child = spawn(process.execPath, [bin, '--fast', `--block=${disk}`, '4', kernel], { stdio: 'pipe' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) =>
      child.on('exit', (_code, signal) => resolve(signal)),
    );
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no W=1 in 60 s; output: ${out}`)), 60_000);
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('W=1')) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
    });
    expect(await exited).toBe('SIGKILL');
    const after = readFileSync(disk);
    expect(after.subarray(512, 530).toString()).toBe('LGUEST-BLOCK-WRITE');
    // The killed command left its disk lock behind; it is stale, so the next run takes the disk.
    expect(existsSync(`${disk}.lock`)).toBe(true);
    const g = await launchGuestOn(
      await defaultHost(),
      { name: 'again', kernel, memoryMB: 4, blockDevices: [{ path: disk }] },
      {
        consoleOutput: () => {},
      },
    );
    g.close();
    expect(existsSync(`${disk}.lock`)).toBe(false);
  });

  it('refuses a second machine on a writable disk that one already has, naming the disk', async () => {
    const kernel = buildGuest(1);
    const disk = join(dir, 'shared.img');
    writeFileSync(disk, new Uint8Array(4096));
    const host = await defaultHost();
    const first = await launchGuestOn(
      host,
      { name: 'a', kernel, memoryMB: 4, blockDevices: [{ path: disk }] },
      {
        consoleOutput: () => {},
      },
    );
    await expect(
      launchGuestOn(
        host,
        { name: 'b', kernel, memoryMB: 4, blockDevices: [{ path: disk }] },
        { consoleOutput: () => {} },
      ),
    ).rejects.toThrow(`disk ${disk} is in use by another machine of this process`);
    // Read-only it may be shared.
    const reader = await launchGuestOn(
      host,
      { name: 'c', kernel, memoryMB: 4, blockDevices: [{ path: disk, readOnly: true }] },
      {
        consoleOutput: () => {},
      },
    );
    reader.close();
    first.close();
  });
});
