// CLI tests: argument parsing, and the command run against ScriptedHost (a TEST DOUBLE of the
// host implementing the real LguestFile interface) with a scripted terminal.
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runLguest, type CliIo } from './cli';
import { atoi, machineNameFor, parseLguestArgs, UsageError } from './cli-args';
import { kernelBody, makeElf } from './test-images';
import type { RunResult } from '../host/api';
import { ScriptedHost, ScriptedLguestFile, type ScriptStep } from './test-lguest-file';

describe('parseLguestArgs', () => {
  it('takes --gdb[=PORT], --gdb-wait, --record and --replay', () => {
    expect(parseLguestArgs(['--gdb', '32', 'k'])).toMatchObject({ gdb: { port: 1234, wait: false } });
    expect(parseLguestArgs(['--gdb=4000', '--gdb-wait', '32', 'k'])).toMatchObject({ gdb: { port: 4000, wait: true } });
    expect(parseLguestArgs(['--gdb-wait', '--config', 'm.json'])).toMatchObject({ gdb: { port: 1234, wait: true } });
    expect(() => parseLguestArgs(['--gdb=x', '32', 'k'])).toThrow(/--gdb=x: the gdb port must be a number/);
    expect(() => parseLguestArgs(['--gdb', '--multi', 'a.json'])).toThrow(/--gdb debugs one machine/);
    expect(parseLguestArgs(['--record=s.json', '32', 'k'])).toMatchObject({ kind: 'single', record: 's.json' });
    expect(parseLguestArgs(['--replay=s.json'])).toMatchObject({ kind: 'replay', path: 's.json' });
    expect(() => parseLguestArgs(['--replay=s.json', '32', 'k'])).toThrow(/--replay takes the machine/);
  });

  it('takes MEM as the first argument without a dash, then IMAGE, the rest for the kernel', () => {
    const c = parseLguestArgs(['--verbose', '--block=disk.img', '64m', 'vmlinux', 'root=/dev/lgba', '-v', '--block=x']);
    expect(c).toEqual({
      kind: 'single',
      verbose: true,
      fast: false,
      disposable: false,
      devices: [{ kind: 'block', path: 'disk.img', readOnly: false }],
      config: {
        name: 'vmlinux',
        kernel: 'vmlinux',
        memoryMB: 64,
        cmdline: 'root=/dev/lgba -v --block=x ',
        blockDevices: [{ path: 'disk.img', readOnly: false }],
        networks: [],
      },
    });
  });

  it('keeps devices in command-line order, options may sit between MEM and IMAGE', () => {
    const c = parseLguestArgs(['--sharenet=lan', '32', '--block-ro=a.img', '--initrd=initrd.gz', '--fast', 'bzImage']);
    if (c.kind !== 'single') throw new Error(c.kind);
    expect(c.devices).toEqual([
      { kind: 'sharenet', name: 'lan' },
      { kind: 'block', path: 'a.img', readOnly: true },
    ]);
    expect(c.config).toMatchObject({
      memoryMB: 32,
      kernel: 'bzImage',
      initrd: 'initrd.gz',
      networks: ['lan'],
      blockDevices: [{ path: 'a.img', readOnly: true }],
      cmdline: '',
    });
    expect(c.fast).toBe(true);
  });

  it('parses --config and --multi', () => {
    expect(parseLguestArgs(['--config', 'm.json'])).toEqual({
      kind: 'config',
      path: 'm.json',
      verbose: false,
      fast: false,
      disposable: false,
    });
    expect(parseLguestArgs(['--config=m.json', '-v'])).toEqual({
      kind: 'config',
      path: 'm.json',
      verbose: true,
      fast: false,
      disposable: false,
    });
    expect(parseLguestArgs(['--fast', '--disposable', '--multi', 'a.json', 'b.json'])).toEqual({
      kind: 'multi',
      paths: ['a.json', 'b.json'],
      verbose: false,
      fast: true,
      disposable: true,
    });
    expect(parseLguestArgs(['--help'])).toEqual({ kind: 'help' });
  });

  it.each([
    [[], /missing MEM_MB and IMAGE/],
    [['64'], /missing IMAGE/],
    [['lots', 'vmlinux'], /MEM_MB must be a number of MiB, got "lots"/],
    [['--block', '64', 'vmlinux'], /--block needs a value/],
    [['--block=', '64', 'vmlinux'], /--block needs a value/],
    [['--bogus', '64', 'vmlinux'], /unknown option --bogus/],
    [['--tunnet=192.168.19.1', '64', 'vmlinux'], /--tunnet is not available/],
    [['--sharenet=/tmp/net', '64', 'vmlinux'], /a network name is/],
    [['--config'], /--config needs a file name/],
    [['--config', 'a.json', '--multi', 'b.json'], /--multi may be given once, without --config/],
    [['--multi'], /at least one configuration file/],
    [['--block=d.img', '--config', 'a.json'], /put them in the configuration file/],
    [['--config', 'a.json', '64'], /unexpected argument 64/],
  ])('refuses %j', (argv, message) => {
    expect(() => parseLguestArgs(argv)).toThrow(UsageError);
    expect(() => parseLguestArgs(argv)).toThrow(message);
  });

  it('converts MEM like atoi and names machines after the image', () => {
    expect(atoi('64m')).toBe(64);
    expect(atoi('  12')).toBe(12);
    expect(atoi('m64')).toBeNull();
    expect(machineNameFor('/boot/vmlinux-2.6.23+lguest')).toBe('vmlinux-2.6.23-lguest');
    expect(machineNameFor('builtin:demo')).toBe('builtin-demo');
    expect(machineNameFor('...')).toBe('guest');
  });
});

const PO = 0xc0000000;
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-cli-'));
  writeFileSync(
    join(dir, 'vmlinux'),
    makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: kernelBody() }] }),
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

interface Terminal extends CliIo {
  out: string;
  err: string;
  type(bytes: number[]): void;
  clock: number;
}

function terminal(host: ScriptedHost, opts: { realTime?: boolean; inputEnded?: boolean } = {}): Terminal {
  let onData: ((b: Uint8Array) => void) | null = null;
  // Typed before anyone listens, bytes wait (as in a real terminal's input queue).
  const early: Uint8Array[] = [];
  const t: Terminal = {
    out: '',
    err: '',
    clock: 0,
    stdout: (b) => (t.out += new TextDecoder().decode(b)),
    stderr: (s) => (t.err += s),
    now: () => (opts.realTime ? performance.now() : t.clock),
    host: () => host,
    listenInput(d, end) {
      onData = d;
      for (const b of early.splice(0)) d(b);
      // Standard input at its end already, as with `< /dev/null` or a finished pipe.
      if (opts.inputEnded) end();
      return () => (onData = null);
    },
    type: (bytes) => (onData ? onData(Uint8Array.from(bytes)) : early.push(Uint8Array.from(bytes))),
  };
  return t;
}

/** A scripted guest step that prints `text` on the console. */
function prints(text: string): ScriptStep {
  return (f: ScriptedLguestFile) => {
    f.ram.set(new TextEncoder().encode(text), 0x80000);
    f.view.setUint32(0x81000 + 4, 0x80000, true);
    f.view.setUint16(0x81000 + 68, text.length, true);
    f.view.setUint16(0x81000 + 70, 0, true);
    return { kind: 'dma', dma: 0x81000, key: 0 };
  };
}

describe('the lguest command', () => {
  it('prints usage and exits 1 on a usage error; --help exits 0', async () => {
    const t = terminal(new ScriptedHost());
    expect(await runLguest(['64'], t)).toBe(1);
    expect(t.err).toMatch(/^lguest: missing IMAGE\nusage: lguest/);
    expect(await runLguest(['--help'], terminal(new ScriptedHost()))).toBe(0);
  });

  it('refuses a bad image with the loader message and exit status 1', async () => {
    writeFileSync(join(dir, 'junk'), new Uint8Array(200));
    const t = terminal(new ScriptedHost());
    expect(await runLguest(['4', join(dir, 'junk')], t)).toBe(1);
    expect(t.err).toMatch(/^lguest: not an ELF file and no gzip stream found after offset 0x34/);
  });

  it('refuses a FIFO, /dev/zero or an oversized initrd at once, naming the file, with exit status 1', async () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    writeFileSync(join(dir, 'big-initrd'), new Uint8Array(4 * 1024 * 1024 + 1));
    const cases: [string[], string][] = [
      [['4', fifo], `lguest: cannot read kernel ${fifo}: it is a FIFO, not a regular file\n`],
      [['4', '/dev/zero'], 'lguest: cannot read kernel /dev/zero: it is a character device, not a regular file\n'],
      [
        [`--initrd=${join(dir, 'big-initrd')}`, '4', join(dir, 'vmlinux')],
        `lguest: initrd ${join(dir, 'big-initrd')} is 4194305 bytes, larger than the guest's memory (4194304 bytes)\n`,
      ],
      [
        [`--block=${fifo}`, '4', join(dir, 'vmlinux')],
        `lguest: cannot use disk ${fifo}: it is a FIFO, not a regular file or block device\n`,
      ],
      [
        [`--block=/dev/zero`, '4', join(dir, 'vmlinux')],
        `lguest: cannot use disk /dev/zero: it is a character device, not a regular file or block device\n`,
      ],
    ];
    for (const [args, message] of cases) {
      const t = terminal(new ScriptedHost());
      expect(await runLguest(args, t)).toBe(1);
      expect(t.err).toBe(message);
    }
  });

  it('names command-line things in schema errors (MEM_MB out of range)', async () => {
    const t = terminal(new ScriptedHost());
    expect(await runLguest(['2', join(dir, 'vmlinux')], t)).toBe(1);
    expect(t.err).toMatch(/lguest: MEM_MB: must be >= 4/);
  });

  it('exits 0 after the console output when the guest powers off', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) =>
      f.script.push(
        prints('Linux version 2.6.23\r\n'),
        { kind: 'slice' },
        { kind: 'dead', reason: 'CRASH: Power down' },
      );
    const t = terminal(host);
    expect(await runLguest(['--fast', '4', join(dir, 'vmlinux'), 'quiet'], t)).toBe(0);
    expect(t.out).toBe('Linux version 2.6.23\r\n');
    expect(t.err).toBe('lguest: powered off\n');
    expect(new TextDecoder().decode(host.files[0]!.ram.subarray(0x1000, 0x1007))).toBe('quiet \0');
    expect(host.files[0]!.closed).toBe(true);
  });

  it('exits 0 when the guest powers off after standard input has ended', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) => f.script.push({ kind: 'slice' }, { kind: 'dead', reason: 'CRASH: Power down' });
    const t = terminal(host, { inputEnded: true });
    expect(await runLguest(['--fast', '4', join(dir, 'vmlinux')], t)).toBe(0);
    expect(t.err).toBe('lguest: powered off\n');
  });

  it('prints "lguest: <reason>" and exits 1 when the guest is killed', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) => f.script.push({ kind: 'dead', reason: 'unhandled trap 6 at 0xc0123456 (0x0)' });
    const t = terminal(host);
    expect(await runLguest(['4', join(dir, 'vmlinux')], t)).toBe(1);
    expect(t.err).toBe('lguest: unhandled trap 6 at 0xc0123456 (0x0)\n');
  });

  it('reports an exception from the run loop as an internal error, exit 1', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) =>
      f.script.push(() => {
        throw new Error('shadow table corrupted');
      });
    const t = terminal(host);
    expect(await runLguest(['4', join(dir, 'vmlinux')], t)).toBe(1);
    expect(t.err).toBe('lguest: internal error: shadow table corrupted\n');
    expect(host.files[0]!.closed).toBe(true);
  });

  it('quits with status 2 on three Ctrl-C within a second, passing keys to the console', async () => {
    const host = new ScriptedHost();
    const t = terminal(host);
    const done = runLguest(['4', join(dir, 'vmlinux')], t);
    await new Promise((r) => setTimeout(r, 20));
    t.type([3]);
    t.clock = 400;
    t.type([3]);
    t.clock = 1600; // too slow: counting starts again
    t.type([3]);
    t.clock = 1700;
    t.type([3]);
    await new Promise((r) => setTimeout(r, 20));
    t.clock = 1800;
    t.type([3]);
    expect(await done).toBe(2);
    expect(host.files[0]!.closed).toBe(true);
  });

  it('jumps the clock to the next wake-up with --fast', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) =>
      f.script.push({ kind: 'idle', wakeAtNs: 30e9 }, (ff) => ({
        kind: 'dead',
        reason: `CRASH: ${ff.virtualTimeNs === 30e9 ? 'Power down' : 'clock not advanced'}`,
      }));
    const t = terminal(host);
    expect(await runLguest(['--fast', '4', join(dir, 'vmlinux')], t)).toBe(0);
  });

  it('paces idle time to the wall clock by default', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) =>
      f.script.push({ kind: 'idle', wakeAtNs: 80e6 }, { kind: 'dead', reason: 'CRASH: Power down' });
    const t = terminal(host, { realTime: true });
    const started = performance.now();
    expect(await runLguest(['4', join(dir, 'vmlinux')], t)).toBe(0);
    expect(performance.now() - started).toBeGreaterThanOrEqual(70);
    expect(host.files[0]!.virtualTimeNs).toBeGreaterThanOrEqual(80e6);
  });

  it('runs several configured machines on one host with prefixed consoles (--multi)', async () => {
    writeFileSync(
      join(dir, 'a.json'),
      JSON.stringify({ name: 'alpha', kernel: 'vmlinux', memoryMB: 4, networks: ['lan'] }),
    );
    writeFileSync(
      join(dir, 'b.json'),
      JSON.stringify({ name: 'beta', kernel: 'vmlinux', memoryMB: 4, networks: ['lan'] }),
    );
    const host = new ScriptedHost();
    let n = 0;
    host.prepare = (f) => {
      const me = n++;
      f.script.push(
        prints(`hello ${me}\r\nsecond `),
        { kind: 'slice' },
        prints(`line\r\n`),
        me === 0 ? { kind: 'dead', reason: 'CRASH: Power down' } : { kind: 'dead', reason: 'Bad hypercall 11\n' },
      );
    };
    const t = terminal(host);
    expect(await runLguest(['--fast', '--multi', join(dir, 'a.json'), join(dir, 'b.json')], t)).toBe(1);
    // Round-robin slices: a line another guest interrupts is ended first, then resumed with its prefix.
    expect(t.out).toBe(
      '[alpha] hello 0\r\n[alpha] second \r\n[beta] hello 1\r\n[beta] second \r\n[alpha] line\r\n[beta] line\r\n',
    );
    expect(t.err).toContain('lguest: [alpha] powered off\n');
    expect(t.err).toContain('lguest: [beta] Bad hypercall 11\n');
    // Both joined one network on the one host: slots 0 and 1.
    expect(host.files.map((f) => f.view.getUint16(4 * 1024 * 1024 + 2, true))).toEqual([0x4000, 0x4001]);
  });

  it('keeps a halted guest clock going while another guest runs (--multi --fast)', async () => {
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ name: 'busy', kernel: 'vmlinux', memoryMB: 4 }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'sleepy', kernel: 'vmlinux', memoryMB: 4 }));
    const host = new ScriptedHost();
    let n = 0;
    host.prepare = (f) => {
      if (n++ === 0) {
        f.script.push(
          { kind: 'slice' },
          { kind: 'slice' },
          { kind: 'slice' },
          { kind: 'dead', reason: 'CRASH: Power down' },
        );
      } else {
        f.script.push({ kind: 'idle', wakeAtNs: 1e9 }, (ff) => ({
          kind: 'dead',
          reason: ff.virtualTimeNs >= 1e9 ? 'CRASH: Power down' : 'timer starved',
        }));
      }
    };
    const t = terminal(host);
    expect(await runLguest(['--fast', '--multi', join(dir, 'a.json'), join(dir, 'b.json')], t)).toBe(0);
    expect(t.err).not.toContain('starved');
  });

  it('routes "@NAME cmd" keyboard lines to that machine with --multi', async () => {
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ name: 'a', kernel: 'vmlinux', memoryMB: 4 }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'b', kernel: 'vmlinux', memoryMB: 4 }));
    const host = new ScriptedHost();
    const typed: string[][] = [[], []];
    let n = 0;
    host.prepare = (f) => {
      const me = n++;
      const consoleIn = () => {
        // The console's input buffer (bound as the guest's hvc driver does): record what arrives.
        f.view.setUint32(0x82000 + 4, 0x83000, true);
        f.view.setUint16(0x82000 + 68, 256, true);
        f.bind(0, 0x82000, 1, 1);
      };
      const poll = (ff: ScriptedLguestFile): RunResult => {
        const used = ff.view.getUint32(0x82000, true);
        if (used > 0) {
          typed[me]!.push(new TextDecoder().decode(ff.ram.subarray(0x83000, 0x83000 + used)));
          ff.view.setUint32(0x82000, 0, true);
        }
        if (typed[me]!.join('').includes('quit')) return { kind: 'dead', reason: 'CRASH: Power down' };
        if (ff.virtualTimeNs > 2e9) return { kind: 'dead', reason: 'no input arrived' };
        ff.script.push(poll);
        return { kind: 'idle', wakeAtNs: ff.virtualTimeNs + 1e6 };
      };
      f.script.push((ff) => {
        consoleIn();
        return poll(ff);
      });
    };
    const t = terminal(host);
    const done = runLguest(['--fast', '--multi', join(dir, 'a.json'), join(dir, 'b.json')], t);
    // The keyboard is listened to before the first slice runs; input waits for the console buffer.
    t.type([...new TextEncoder().encode('@b ifconfig\recho a\r@b quit\rquit\r')]);
    const status = await done;
    expect(typed[0]!.join('')).toBe('echo a\rquit\r');
    expect(typed[1]!.join('')).toBe('ifconfig\rquit\r');
    expect(status).toBe(0);
  });

  it('reports an invalid configuration file by field', async () => {
    writeFileSync(join(dir, 'bad.json'), '{"name": "x", "kernel": "vmlinux", "memoryMB": "lots"}');
    const t = terminal(new ScriptedHost());
    expect(await runLguest(['--config', join(dir, 'bad.json')], t)).toBe(1);
    expect(t.err).toMatch(/bad\.json: invalid machine configuration:\n {2}\/memoryMB: must be integer/);
  });

  it('prints set-up, first-output timing and the instruction count with --verbose', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) => {
      f.instructionsPerRun = 1000;
      f.script.push(prints('x'), { kind: 'dead', reason: 'CRASH: Power down' });
    };
    const t = terminal(host);
    expect(await runLguest(['-v', '--fast', '4', join(dir, 'vmlinux')], t)).toBe(0);
    expect(t.err).toMatch(/lguest: console: irq 1, key 0/);
    expect(t.err).toMatch(/lguest: first console output \d+ ms after launch/);
    expect(t.err).toMatch(/lguest: vmlinux: 2000 instructions/);
  });

  it('prints the host exit and hypercall counters at exit with --verbose', async () => {
    const host = new ScriptedHost();
    host.prepare = (f) => {
      const exits = new Array<number>(257).fill(0);
      exits[14] = 1878;
      exits[7] = 3;
      const hypercalls = new Array<number>(18).fill(0);
      hypercalls[15] = 788;
      hypercalls[13] = 202;
      const irqsInjected = new Array<number>(32).fill(0);
      irqsInjected[0] = 76;
      Object.assign(f, { stats: { exits, budgetExits: 9, hypercalls, irqsInjected, trapsReflected: 5 } });
      f.script.push({ kind: 'dead', reason: 'CRASH: Power down' });
    };
    const t = terminal(host);
    expect(await runLguest(['-v', '--fast', '4', join(dir, 'vmlinux')], t)).toBe(0);
    expect(t.err).toContain('lguest: vmlinux: exits: #NM 3, #PF 1878, time slice/clock 9\n');
    expect(t.err).toContain('lguest: vmlinux: hypercalls (sync and async): SEND_DMA 202, SET_PMD 788\n');
    expect(t.err).toContain('lguest: vmlinux: interrupts injected: 0: 76; traps reflected 5\n');
  });
});
