// A gdb remote stub for one machine: answers gdb's packets from a Debugger (registers, memory
// through the guest's page tables, breakpoints never written into guest memory, watchpoints,
// stepping, reverse stepping) and drives the machine while gdb lets it run.

import type { Debugger, DebugStatus, StopReason, WatchAccess } from './debugger';
import { GDB_REG_COUNT, readVirtual, writeGdbRegister, writeVirtual } from './guest-access';
import { framePacket, fromHex, PacketReader, toHex, unescapeBinary } from './gdb-packets';
import { registerHex, TARGET_REGS, TARGET_XML } from './gdb-target';

/** Largest packet we accept and announce (hex of a 2 KiB memory read fits). */
const PACKET_SIZE = 0x4000;
const SIGTRAP = 5,
  SIGINT = 2;
const WATCH_KINDS: Record<string, WatchAccess> = { '2': 'write', '3': 'read', '4': 'access' };
const STOP_WORD: Record<WatchAccess, string> = { write: 'watch', read: 'rwatch', access: 'awatch' };

/** The machine side of a connection: the stub asks it to run the machine and to end the guest. */
export interface StubHost {
  /** Starts driving the machine (it is running now); reports each stop through stub.onStop. */
  run(): void;
  /** gdb's 'k': end the guest. */
  kill(): void;
  /** gdb left (D, or the connection closed): the machine runs on. */
  detached(): void;
}

export class GdbStub {
  private readonly reader = new PacketReader();
  private noAck = false;
  /** A c/s/bc/bs is in progress: its stop reply is owed. */
  private waiting = false;
  /** Breakpoint ids gdb inserted with Z1 (reported as hwbreak). */
  private readonly hardware = new Set<number>();
  private closed = false;

  constructor(
    private readonly dbg: Debugger,
    private readonly write: (text: string) => void,
    private readonly host: StubHost,
  ) {}

  /** Bytes from gdb. */
  receive(chunk: Uint8Array): void {
    for (const msg of this.reader.push(chunk)) {
      if (this.closed) return;
      if (msg.kind === 'interrupt') {
        if (this.waiting) this.dbg.pause();
        continue;
      }
      if (msg.kind === 'bad-checksum') {
        if (!this.noAck) this.write('-');
        continue;
      }
      if (!this.noAck) this.write('+');
      const reply = this.handle(msg.data);
      if (reply !== null) this.send(reply);
      // Acknowledgements end after the reply to the request that ends them.
      if (msg.data === 'QStartNoAckMode') this.noAck = true;
    }
  }

  /** The machine stopped (or halted for good) while gdb waited: send the stop reply. */
  onStop(status: DebugStatus): void {
    if (!this.waiting || status.state !== 'stopped') return;
    this.waiting = false;
    this.send(this.stopReply(status.reason));
  }

  get expectingStop(): boolean {
    return this.waiting;
  }

  private send(data: string): void {
    this.write(framePacket(data));
  }

  private stopReply(r: StopReason): string {
    const t = (sig: number, extra = '') => `T${sig.toString(16).padStart(2, '0')}thread:01;${extra}`;
    switch (r.kind) {
      case 'breakpoint':
        return t(SIGTRAP, this.hardware.has(r.id) ? 'hwbreak:;' : 'swbreak:;');
      case 'watchpoint':
        return t(SIGTRAP, `${STOP_WORD[r.access]}:${(r.address >>> 0).toString(16)};`);
      case 'pause':
        return t(SIGINT);
      case 'history-start':
        return t(SIGTRAP, 'replaylog:begin;');
      case 'dead':
        return 'W00';
      default:
        return t(SIGTRAP);
    }
  }

  /** One packet; the reply, or null when the reply is a stop reply sent later. */
  handle(p: string): string | null {
    const cpu = this.dbg.processor;
    switch (p[0]) {
      case '?':
        return this.stopReply(this.dbg.stopped ?? { kind: 'pause' });
      case 'g': {
        let out = '';
        for (let n = 0; n < TARGET_REGS; n++) out += registerHex(cpu, n)!;
        return out;
      }
      case 'G': {
        const bytes = fromHex(p.slice(1));
        if (bytes === null || bytes.length < GDB_REG_COUNT * 4) return 'E01';
        const v = new DataView(bytes.buffer);
        for (let n = 0; n < GDB_REG_COUNT; n++) writeGdbRegister(cpu, n, v.getUint32(n * 4, true));
        return 'OK';
      }
      case 'p': {
        const hex = registerHex(cpu, parseInt(p.slice(1), 16));
        return hex ?? 'E01';
      }
      case 'P': {
        const [n, value] = p.slice(1).split('=');
        const bytes = fromHex(value ?? '');
        if (bytes === null || bytes.length !== 4) return 'E01';
        return writeGdbRegister(cpu, parseInt(n!, 16), new DataView(bytes.buffer).getUint32(0, true)) ? 'OK' : 'E01';
      }
      case 'm': {
        const [addr, len] = p
          .slice(1)
          .split(',')
          .map((x) => parseInt(x, 16));
        if (!Number.isFinite(addr) || !Number.isFinite(len) || len! > PACKET_SIZE / 2) return 'E01';
        const bytes = readVirtual(this.dbg.lguest, addr!, len!);
        return bytes === null ? 'E14' : toHex(bytes);
      }
      case 'M':
      case 'X': {
        const colon = p.indexOf(':');
        const [addr, len] = p
          .slice(1, colon)
          .split(',')
          .map((x) => parseInt(x, 16));
        const bytes = p[0] === 'M' ? fromHex(p.slice(colon + 1)) : unescapeBinary(p.slice(colon + 1));
        if (colon < 0 || bytes === null || bytes.length !== len || !Number.isFinite(addr)) return 'E01';
        return writeVirtual(this.dbg.lguest, cpu, addr!, bytes) ? 'OK' : 'E14';
      }
      case 'c':
      case 'C':
        return this.go(() => this.dbg.resume());
      case 's':
      case 'S':
        return this.go(() => this.dbg.stepInstruction());
      case 'b':
        if (p === 'bs') return this.reverse(() => this.dbg.reverseStep());
        if (p === 'bc') return this.reverse(() => this.dbg.reverseContinue());
        return '';
      case 'Z':
      case 'z':
        return this.breakpoint(p);
      case 'D':
        this.closed = true;
        this.send('OK');
        this.host.detached();
        return null;
      case 'k':
        this.closed = true;
        this.host.kill();
        return null;
      case 'H':
      case 'T':
        return 'OK';
      case 'v':
        return this.vPacket(p);
      case 'q':
      case 'Q':
        return this.query(p);
      default:
        return '';
    }
  }

  private go(start: () => void): null {
    start();
    this.waiting = true;
    this.host.run();
    return null;
  }

  private reverse(run: () => DebugStatus): string {
    const status = run();
    return status.state === 'stopped' ? this.stopReply(status.reason) : this.stopReply({ kind: 'step' });
  }

  private breakpoint(p: string): string {
    const [type, addrText, kindText] = p.slice(1).split(/[,;]/);
    const addr = parseInt(addrText ?? '', 16);
    const len = parseInt(kindText ?? '', 16);
    if (!Number.isFinite(addr)) return 'E01';
    const insert = p[0] === 'Z';
    if (type === '0' || type === '1') {
      if (!insert) return this.dbg.removeBreakpointsAt(addr) > 0 ? 'OK' : 'E01';
      const bp = this.dbg.addBreakpoint(addr);
      if (type === '1') this.hardware.add(bp.id);
      return 'OK';
    }
    const access = WATCH_KINDS[type ?? ''];
    if (access === undefined || !Number.isFinite(len)) return '';
    if (!insert) return this.dbg.removeWatchpointsAt(addr, len, access) > 0 ? 'OK' : 'E01';
    try {
      this.dbg.addWatchpoint(addr, len, access);
    } catch {
      return 'E01';
    }
    return 'OK';
  }

  private vPacket(p: string): string | null {
    if (p === 'vCont?') return 'vCont;c;C;s;S';
    if (p === 'vMustReplyEmpty') return '';
    if (p.startsWith('vCont;')) {
      // The first action that applies to our one thread (or to all) decides.
      for (const action of p.slice(6).split(';')) {
        const [what, thread] = action.split(':');
        if (thread !== undefined && thread !== '1' && thread !== '01' && thread !== '-1' && thread !== 'p1.1') continue;
        if (what![0] === 's' || what![0] === 'S') return this.go(() => this.dbg.stepInstruction());
        if (what![0] === 'c' || what![0] === 'C') return this.go(() => this.dbg.resume());
      }
      return 'E01';
    }
    if (p.startsWith('vKill')) {
      this.closed = true;
      this.host.kill();
      return 'OK';
    }
    return '';
  }

  private query(p: string): string {
    if (p.startsWith('qSupported'))
      return `PacketSize=${PACKET_SIZE.toString(16)};qXfer:features:read+;swbreak+;hwbreak+;vContSupported+;ReverseStep+;ReverseContinue+;QStartNoAckMode+`;
    if (p === 'QStartNoAckMode') return 'OK';
    if (p === 'qAttached') return '1';
    if (p === 'qC') return 'QC01';
    if (p === 'qfThreadInfo') return 'm01';
    if (p === 'qsThreadInfo') return 'l';
    if (p.startsWith('qSymbol')) return 'OK';
    if (p.startsWith('qXfer:features:read:target.xml:')) {
      const [off, len] = p
        .slice('qXfer:features:read:target.xml:'.length)
        .split(',')
        .map((x) => parseInt(x, 16));
      const chunk = TARGET_XML.slice(off, off! + len!);
      return (off! + len! >= TARGET_XML.length ? 'l' : 'm') + chunk;
    }
    if (p.startsWith('qRcmd,')) {
      const text = Buffer.from(p.slice(6), 'hex').toString();
      return toHex(new TextEncoder().encode(`${this.monitor(text)}\n`));
    }
    return '';
  }

  /** "monitor ..." commands: the instruction count. */
  private monitor(cmd: string): string {
    if (cmd.trim() === 'icount') return `instruction count ${this.dbg.count}`;
    return `unknown monitor command "${cmd.trim()}" (try: icount)`;
  }
}
