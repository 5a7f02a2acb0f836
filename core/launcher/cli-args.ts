// The `lguest` command line, parsed as the 2.6.23 Launcher did (MEM is the first argument without
// a dash, options use --opt=value, devices keep their order, the rest is the kernel's command
// line), plus this workbench's --config, --multi and --fast.

import { basename } from 'node:path';
import { joinKernelArgs } from './boot-params';
import type { DeviceSpec } from './launch';
import type { MachineConfig } from './machine-config';

/** The gdb stub's port when --gdb names none (QEMU's -s uses the same). */
export const DEFAULT_GDB_PORT = 1234;

export const USAGE = `usage: lguest [--verbose] [--fast] [--capture=FILE] [--disposable] [--gdb[=PORT]] [--gdb-wait]
              [--record=FILE] [--sharenet=NAME] [--block=FILE] [--block-ro=FILE] [--initrd=FILE]
              [--stats[=SECONDS]] [--trace=FILE] MEM_MB IMAGE [KERNEL ARGS...]
       lguest [--verbose] [--fast] [--capture=FILE] [--disposable] [--gdb[=PORT]] [--gdb-wait] [--record=FILE] --config MACHINE.json
       lguest [--verbose] [--fast] [--capture=FILE] [--disposable] --multi A.json B.json ...
       lguest --replay=RECORDING

  MEM_MB        guest RAM in MiB (as atoi: "64m" is 64)
  IMAGE         vmlinux (ELF) or bzImage of a lguest guest kernel, or builtin:demo
  --block=FILE  serve FILE as the next lguest block device (lgba, lgbb, ...)
  --block-ro=FILE  the same, refusing guest writes
  --sharenet=NAME  join the shared network NAME (guests on one host: see --multi)
  --initrd=FILE load FILE as the initrd at the top of guest memory
  --config FILE run the machine described by a JSON machine configuration
  --multi FILES run several configured machines on one host, consoles prefixed by name;
                keyboard input goes to the first machine
  --capture=FILE  record every frame the host moves between guests on its networks into FILE,
                a pcap file (Ethernet) for tcpdump, Wireshark or tshark; written when lguest ends
  --fast        do not pace virtual time to the wall clock: jump to the next timer when idle
  --verbose     print device set-up, time to first console output and instruction count,
                and under a kill message the last exits the host handled before it
  --stats[=SECONDS]  every SECONDS (default 1) print instructions, exits, hypercalls, interrupts
                and page faults per second
  --trace=FILE  write every exit the host handled to FILE as JSON lines
  --disposable  disk writes go to temporary overlays deleted at exit; disk images stay unchanged
  --gdb[=PORT]  serve the gdb remote protocol on 127.0.0.1:PORT (default 1234); one machine only
  --gdb-wait    with --gdb: stop before the first instruction until gdb continues
  --record=FILE record the session (console input and clock, by instruction count) to FILE,
                with the final state's SHA-256; one machine only
  --replay=FILE replay a recorded session and check that it ends in the same state
Three Ctrl-C within a second quit.

Exit status (the reason is always printed on stderr as "lguest: <reason>"):
  0   the guest powered off ("lguest: powered off")
  1   a guest was killed (by the host or the Launcher), halted with nothing left that can
      wake it, or could not start (bad arguments, configuration, image, initrd or disk)
  2   quit by three Ctrl-C
  70  internal error of the lguest command itself`;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface CommonFlags {
  verbose: boolean;
  fast: boolean;
  /** --capture=FILE: a pcap of the host's network traffic. */
  capture?: string;
  disposable: boolean;
  /** --stats[=SECONDS]: the interval of the rate lines. */
  statsSeconds?: number;
  /** --trace=FILE: where the exit trace goes. */
  trace?: string;
  /** --gdb / --gdb-wait: serve gdb on this port, stopped before the first instruction if `wait`. */
  gdb?: { port: number; wait: boolean };
  /** --record=FILE */
  record?: string;
}

export type CliCommand =
  | { kind: 'help' }
  | ({ kind: 'single'; config: MachineConfig; devices: DeviceSpec[] } & CommonFlags)
  | ({ kind: 'config'; path: string } & CommonFlags)
  | ({ kind: 'multi'; paths: string[] } & CommonFlags)
  | ({ kind: 'replay'; path: string } & CommonFlags);

const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$/;

/** atoi(): optional blanks and sign, then as many digits as there are; null if none. */
export function atoi(text: string): number | null {
  const m = /^[ \t\n\r\f\v]*([+-]?\d+)/.exec(text);
  return m ? parseInt(m[1]!, 10) : null;
}

/** A machine name the schema accepts, derived from the image file's name. */
export function machineNameFor(image: string): string {
  const base = basename(image)
    .replace(/[^A-Za-z0-9 ._-]/g, '-')
    .replace(/^[^A-Za-z0-9]+/, '');
  return base.slice(0, 64) || 'guest';
}

function valueOf(arg: string, name: string): string {
  const v = arg.slice(name.length + 1);
  if (v === '') throw new UsageError(`option ${name} needs a value: ${name}=...`);
  return v;
}

export function parseLguestArgs(argv: readonly string[]): CliCommand {
  const flags: CommonFlags = { verbose: false, fast: false, disposable: false };
  const devices: DeviceSpec[] = [];
  const positional: string[] = [];
  let initrd: string | undefined;
  let configPath: string | undefined;
  let multi: string[] | undefined;
  let kernelArgs: string[] = [];
  let replay: string | undefined;

  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (multi === undefined && positional.length === 2) {
      // Everything after the image belongs to the guest kernel, dashes and all.
      kernelArgs = argv.slice(i);
      break;
    }
    if (!a.startsWith('-') || a === '-') {
      if (multi !== undefined) multi.push(a);
      else if (configPath === '') configPath = a;
      else positional.push(a);
      continue;
    }
    if (configPath === '') throw new UsageError('--config needs a file name');
    const name = a.includes('=') ? a.slice(0, a.indexOf('=')) : a;
    switch (name) {
      case '-h':
      case '--help':
        return { kind: 'help' };
      case '-v':
      case '--verbose':
        flags.verbose = true;
        break;
      case '--fast':
        flags.fast = true;
        break;
      case '--capture':
        flags.capture = valueOf(a, name);
        break;
      case '--disposable':
        flags.disposable = true;
        break;
      case '--stats': {
        const text = a.includes('=') ? valueOf(a, name) : '1';
        const seconds = Number(text);
        if (!Number.isFinite(seconds) || seconds < 0.1 || seconds > 3600)
          throw new UsageError(`--stats=${text}: the interval is a number of seconds from 0.1 to 3600`);
        flags.statsSeconds = seconds;
        break;
      }
      case '--trace':
        flags.trace = valueOf(a, name);
        break;
      case '--gdb': {
        const port = a.includes('=') ? Number(valueOf(a, name)) : DEFAULT_GDB_PORT;
        if (!Number.isInteger(port) || port < 0 || port > 65535)
          throw new UsageError(`${a}: the gdb port must be a number from 0 to 65535`);
        flags.gdb = { port, wait: flags.gdb?.wait ?? false };
        break;
      }
      case '--record':
        flags.record = valueOf(a, name);
        break;
      case '--replay':
        replay = valueOf(a, name);
        break;
      case '--gdb-wait':
        flags.gdb = { port: flags.gdb?.port ?? DEFAULT_GDB_PORT, wait: true };
        break;
      case '--block':
      case '--block-ro':
        devices.push({ kind: 'block', path: valueOf(a, name), readOnly: name === '--block-ro' });
        break;
      case '--sharenet': {
        const net = valueOf(a, name);
        if (!NETWORK_NAME.test(net)) {
          throw new UsageError(
            `--sharenet=${net}: a network name is 1-32 letters, digits, '.', '_' or '-', starting with a letter or digit`,
          );
        }
        devices.push({ kind: 'sharenet', name: net });
        break;
      }
      case '--initrd':
        initrd = valueOf(a, name);
        break;
      case '--tunnet':
        throw new UsageError(
          '--tunnet is not available in the workbench (no host tap devices); use --sharenet=NAME between guests',
        );
      case '--config':
        if (configPath !== undefined || multi !== undefined)
          throw new UsageError('--config may be given once, without --multi');
        configPath = a.includes('=') ? valueOf(a, name) : '';
        break;
      case '--multi':
        if (configPath !== undefined || multi !== undefined)
          throw new UsageError('--multi may be given once, without --config');
        if (a.includes('=')) throw new UsageError('--multi takes the configuration files as separate arguments');
        multi = [];
        break;
      default:
        throw new UsageError(`unknown option ${a}`);
    }
  }

  if (flags.gdb && multi !== undefined) throw new UsageError('--gdb debugs one machine: not with --multi');
  if (flags.record !== undefined && multi !== undefined)
    throw new UsageError('--record records one machine: not with --multi');
  if (replay !== undefined) {
    if (positional.length > 0 || configPath !== undefined || multi !== undefined || devices.length > 0)
      throw new UsageError('--replay takes the machine from the recording: give no image, config or devices');
    return { kind: 'replay', path: replay, ...flags };
  }
  const machineOptions = devices.length > 0 || initrd !== undefined;
  if (configPath !== undefined || multi !== undefined) {
    if (configPath === '') throw new UsageError('--config needs a file name');
    if (machineOptions)
      throw new UsageError(
        'device and --initrd options describe a machine on the command line; with --config/--multi put them in the configuration file',
      );
    if (multi !== undefined) {
      if (multi.length === 0) throw new UsageError('--multi needs at least one configuration file');
      return { kind: 'multi', paths: multi, ...flags };
    }
    if (positional.length > 0) throw new UsageError(`unexpected argument ${positional[0]} with --config`);
    return { kind: 'config', path: configPath!, ...flags };
  }

  if (positional.length < 2)
    throw new UsageError(positional.length === 0 ? 'missing MEM_MB and IMAGE' : 'missing IMAGE');
  const memoryMB = atoi(positional[0]!);
  if (memoryMB === null) throw new UsageError(`MEM_MB must be a number of MiB, got "${positional[0]}"`);
  const image = positional[1]!;
  const config: MachineConfig = {
    name: machineNameFor(image),
    kernel: image,
    memoryMB,
    cmdline: joinKernelArgs(kernelArgs),
    blockDevices: devices.filter((d) => d.kind === 'block').map((d) => ({ path: d.path, readOnly: d.readOnly })),
    networks: devices.filter((d) => d.kind === 'sharenet').map((d) => d.name),
  };
  if (initrd !== undefined) config.initrd = initrd;
  return { kind: 'single', config, devices, ...flags };
}
