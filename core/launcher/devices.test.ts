// Device tests drive the Launcher against ScriptedLguestFile, a TEST DOUBLE of the host's
// "/dev/lguest" that implements the real LguestFile interface (GETDMA/IRQ as in 2.6.23).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockBackend } from './block-device';
import { devicesOfConfig, Launcher, launchGuestOn, prepareMachine, type DeviceSpec } from './launch';
import type { MachineConfig } from './machine-config';
import { kernelBody, makeElf } from './test-images';
import { guestMac, MAX_NET_PEERS, sharedNetwork } from './sharenet';
import { ScriptedHost, ScriptedLguestFile, writeDma } from './test-lguest-file';

const PO = 0xc0000000;
const MEM = 4 * 1024 * 1024;
const BLOCK_PAGE = MEM + 0x1000;
const enc = new TextEncoder();

let dir: string;
let output: Uint8Array[];
let logs: string[];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-dev-'));
  writeFileSync(
    join(dir, 'vmlinux'),
    makeElf({ segments: [{ vaddr: PO + 0x100000, paddr: 0x100000, data: kernelBody() }] }),
  );
  output = [];
  logs = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function launch(
  config: Partial<MachineConfig> = {},
  devices?: DeviceSpec[],
  host = new ScriptedHost(),
): Promise<{ guest: Launcher; file: ScriptedLguestFile; host: ScriptedHost }> {
  const guest = await launchGuestOn(
    host,
    { name: 't', kernel: 'vmlinux', memoryMB: 4, ...config },
    { consoleOutput: (b) => output.push(b.slice()), log: (l) => logs.push(l) },
    { baseDir: dir, ...(devices ? { devices } : {}) },
  );
  return { guest, file: host.files[host.files.length - 1]!, host };
}

const text = (chunks: Uint8Array[]) => new TextDecoder().decode(Buffer.concat(chunks));

/** A guest action: put `data` at `at`, describe it with a DMA at `dmaGpa`, SEND_DMA on `key`. */
function sendDma(key: number, dmaGpa: number, sections: { addr: number; data?: Uint8Array; len?: number }[]) {
  return (f: ScriptedLguestFile) => {
    for (const s of sections) if (s.data) f.ram.set(s.data, s.addr);
    writeDma(
      f.view,
      dmaGpa,
      sections.map((s) => ({ addr: s.addr, len: s.len ?? s.data!.length })),
      0xdead,
    );
    return { kind: 'dma' as const, dma: dmaGpa, key };
  };
}

describe('console', () => {
  it('passes SEND_DMA on key 0 to consoleOutput and sets used_len', async () => {
    const { guest, file } = await launch();
    file.script.push(
      sendDma(0, 0x81000, [
        { addr: 0x80000, data: enc.encode('hello') },
        { addr: 0x80100, data: enc.encode(' world\r\n') },
      ]),
    );
    expect(guest.step(1000)).toEqual({ kind: 'idle', wakeAtNs: null });
    expect(text(output)).toBe('hello world\r\n');
    expect(file.view.getUint32(0x81000, true)).toBe(13);
  });

  it('keeps input queued until a buffer is bound, then fills up to the section lengths and raises the IRQ from used_len', async () => {
    const { guest, file } = await launch();
    guest.consoleInput(enc.encode('0123456789'));
    guest.consoleInput(enc.encode('abcdef'));
    guest.step(1000);
    expect(file.irqsSent).toEqual([]);
    expect(guest.pendingConsoleInput).toBe(16);

    // The guest binds one buffer of two sections (8 + 4 bytes) with IRQ 2.
    writeDma(file.view, 0x90000, [
      { addr: 0x91000, len: 8 },
      { addr: 0x92000, len: 4 },
    ]);
    file.bind(0, 0x90000, 1, 2);
    guest.step(1000);
    expect(file.irqsSent).toEqual([2]);
    expect(file.view.getUint32(0x90000, true)).toBe(12);
    expect(new TextDecoder().decode(file.ram.subarray(0x91000, 0x91008))).toBe('01234567');
    expect(new TextDecoder().decode(file.ram.subarray(0x92000, 0x92004))).toBe('89ab');
    expect(guest.pendingConsoleInput).toBe(4);

    // The buffer is still full: nothing is overwritten (unlike 2.6.23's GETDMA would do).
    guest.step(1000);
    expect(file.irqsSent).toEqual([2]);
    expect(new TextDecoder().decode(file.ram.subarray(0x91000, 0x91008))).toBe('01234567');

    // The guest consumed it: the rest goes in on the next step.
    file.view.setUint32(0x90000, 0, true);
    guest.step(1000);
    expect(file.irqsSent).toEqual([2, 2]);
    expect(file.view.getUint32(0x90000, true)).toBe(4);
    expect(new TextDecoder().decode(file.ram.subarray(0x91000, 0x91004))).toBe('cdef');
    expect(guest.pendingConsoleInput).toBe(0);
  });

  it('wakes an idle guest when more input becomes deliverable during the step', async () => {
    const { guest, file } = await launch();
    writeDma(file.view, 0x90000, [{ addr: 0x91000, len: 16 }]);
    file.bind(0, 0x90000, 1, 3);
    // The guest reads its buffer, frees it and halts; the rest of the input must wake it.
    file.script.push((f) => {
      f.view.setUint32(0x90000, 0, true);
      return { kind: 'idle', wakeAtNs: 5000 };
    });
    file.script.push({ kind: 'slice' });
    guest.consoleInput(enc.encode('x'.repeat(20)));
    expect(guest.step(1000)).toEqual({ kind: 'running' });
    expect(file.irqsSent).toEqual([3, 3]);
    expect(file.view.getUint32(0x90000, true)).toBe(4);
  });

  it('kills the guest (not the Launcher) when its input buffer lies outside guest memory', async () => {
    const { guest, file } = await launch();
    writeDma(file.view, 0x90000, [{ addr: MEM + 0x2000, len: 16 }]);
    file.bind(0, 0x90000, 1, 2);
    guest.consoleInput(enc.encode('x'));
    const r = guest.step(1000);
    expect(r.kind).toBe('dead');
    expect(r.kind === 'dead' && r.reason).toMatch(/^Invalid address 0x402000 \(length 16\)/);
    expect(guest.step(1000)).toEqual(r);
    expect(file.runBudgets).toEqual([]);
  });
});

describe('Launcher state', () => {
  it('exports undelivered console input and restores it into another Launcher', async () => {
    const a = await launch();
    a.guest.consoleInput(enc.encode('abc'));
    a.guest.consoleInput(enc.encode('de'));
    const state = a.guest.exportState();
    expect(new TextDecoder().decode(state.console.pendingInput)).toBe('abcde');
    expect(a.guest.pendingConsoleInput).toBe(5); // exporting does not consume
    const b = await launch();
    b.guest.importState(structuredClone(state));
    writeDma(b.file.view, 0x90000, [{ addr: 0x91000, len: 16 }]);
    b.file.bind(0, 0x90000, 1, 2);
    b.guest.step(100);
    expect(new TextDecoder().decode(b.file.ram.subarray(0x91000, 0x91005))).toBe('abcde');
    expect(b.guest.exportState().console.lastFilled).toBe(0x90000);
    expect(() => b.guest.importState({ ...state, version: 2 as 1 })).toThrow(/version 2/);
  });
});

describe('output address checks (handleOutput)', () => {
  it('kills the guest for a DMA struct or section at or past the top of its memory', async () => {
    const a = await launch();
    a.file.script.push({ kind: 'dma', dma: MEM + 0x2000 - 100, key: 0 });
    const r = a.guest.step(1000);
    expect(r.kind === 'dead' && r.reason).toMatch(/Invalid address 0x401f9c \(length 100\) in a struct lguest_dma/);

    const b = await launch();
    b.file.script.push(sendDma(0, 0x81000, [{ addr: MEM + 0x1000 - 4, len: 0x1000 }]));
    const r2 = b.guest.step(1000);
    expect(r2.kind === 'dead' && r2.reason).toMatch(/Invalid address 0x400ffc \(length 4096\) in section 0/);
    expect(output).toEqual([]);
  });

  it('refuses a section that ends exactly at the top (the original tested >=)', async () => {
    const { guest, file } = await launch();
    const top = MEM + 0x2000;
    file.script.push(sendDma(0, 0x81000, [{ addr: top - 16, len: 16 }]));
    expect(guest.step(1000).kind).toBe('dead');
  });

  it('warns about DMA on a key no device watches and leaves used_len alone', async () => {
    const { guest, file } = await launch();
    file.script.push(sendDma(0x1234, 0x81000, [{ addr: 0x80000, data: enc.encode('zz') }]));
    guest.step(1000);
    expect(logs).toContain('Pending dma 0x81000, key 0x1234');
    expect(file.view.getUint32(0x81000, true)).toBe(0xdead);
  });
});

describe('block device', () => {
  let disk: string;
  const sector = (n: number, fill: number) => new Uint8Array(512).fill(fill + n);

  beforeEach(() => {
    disk = join(dir, 'disk.img');
    writeFileSync(disk, Buffer.concat([sector(0, 0x10), sector(1, 0x10), sector(2, 0x10), sector(3, 0x10)]));
  });

  function request(file: ScriptedLguestFile, type: number, sec: number, bytes: number) {
    file.view.setInt32(BLOCK_PAGE, type, true);
    file.view.setUint32(BLOCK_PAGE + 4, sec, true);
    file.view.setUint32(BLOCK_PAGE + 8, bytes, true);
    file.view.setInt32(BLOCK_PAGE + 12, 0, true);
  }
  const result = (file: ScriptedLguestFile) => file.view.getInt32(BLOCK_PAGE + 12, true);

  it('describes itself in the descriptor page and writes num_sectors', async () => {
    const { file } = await launch({ blockDevices: [{ path: 'disk.img' }] });
    expect(file.view.getUint16(MEM, true)).toBe(3);
    expect(file.view.getUint16(MEM + 2, true)).toBe(0x8000);
    expect(file.view.getUint16(MEM + 6, true)).toBe(1);
    expect(file.view.getUint32(MEM + 8, true)).toBe(0x401);
    expect(file.view.getUint32(BLOCK_PAGE + 16, true)).toBe(4);
    expect(file.view.getUint16(MEM + 12, true)).toBe(1); // the console comes last
    expect(file.args!.pfnLimit).toBe(0x402);
  });

  it('reads sectors into the bound reply buffer, sets result 1 and raises the IRQ from GETDMA', async () => {
    const { guest, file } = await launch({ blockDevices: [{ path: 'disk.img' }] });
    writeDma(file.view, 0x90000, [
      { addr: 0x91000, len: 512 },
      { addr: 0x93000, len: 512 },
    ]);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    file.script.push((f) => {
      request(f, 0, 2, 1024);
      writeDma(f.view, 0x81000, [], 0x77);
      return { kind: 'dma', dma: 0x81000, key: BLOCK_PAGE };
    });
    guest.step(1000);
    expect(result(file)).toBe(1);
    expect(file.irqsSent).toEqual([1]);
    expect(file.view.getUint32(0x90000, true)).toBe(1024);
    expect(file.view.getUint32(0x81000, true)).toBe(0);
    expect(file.ram[0x91000]).toBe(0x12);
    expect(file.ram[0x931ff]).toBe(0x13);
  });

  it('writes the sent sections to the file before answering', async () => {
    const { guest, file } = await launch({ blockDevices: [{ path: 'disk.img' }] });
    writeDma(file.view, 0x90000, []);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    file.script.push((f) => {
      request(f, 1, 1, 600);
      return sendDma(BLOCK_PAGE, 0x81000, [
        { addr: 0x80000, data: new Uint8Array(100).fill(0xaa) },
        { addr: 0x84000, data: new Uint8Array(500).fill(0xbb) },
      ])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(1);
    expect(file.irqsSent).toEqual([1]);
    const img = readFileSync(disk);
    expect(img[511]).toBe(0x10);
    expect(img[512]).toBe(0xaa);
    expect(img[611]).toBe(0xaa);
    expect(img[612]).toBe(0xbb);
    expect(img[1111]).toBe(0xbb);
    expect(img[1112]).toBe(0x12);
  });

  it('refuses writes to a read-only disk with result 2', async () => {
    const { guest, file } = await launch({ blockDevices: [{ path: 'disk.img', readOnly: true }] });
    writeDma(file.view, 0x90000, []);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    file.script.push((f) => {
      request(f, 1, 0, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [{ addr: 0x80000, data: new Uint8Array(512).fill(0xee) }])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(file.irqsSent).toEqual([1]);
    expect(readFileSync(disk)[0]).toBe(0x10);
    expect(logs.some((l) => /read-only/.test(l))).toBe(true);
  });

  it('answers bad requests with result 2 and a log line instead of exiting', async () => {
    const { guest, file } = await launch({ blockDevices: [{ path: 'disk.img' }] });
    // No reply buffer bound: the Launcher's own IRQ number is raised.
    file.script.push((f) => {
      request(f, 0, 0, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(file.irqsSent).toEqual([1]);
    expect(logs.some((l) => /didn't give us a dma buffer/.test(l))).toBe(true);

    writeDma(file.view, 0x90000, [{ addr: 0x91000, len: 512 }]);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    // Offset beyond the end of the disk.
    file.script.push((f) => {
      request(f, 0, 4, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(logs.some((l) => /bad offset 2048 vs 2048/.test(l))).toBe(true);

    // A write running past the end changes nothing.
    file.view.setUint32(0x90000, 0, true);
    file.script.push((f) => {
      request(f, 1, 3, 1024);
      return sendDma(BLOCK_PAGE, 0x81000, [{ addr: 0x80000, data: new Uint8Array(1024).fill(0xcc) }])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(logs.some((l) => /write past end 1536\+1024/.test(l))).toBe(true);
    expect(readFileSync(disk).length).toBe(2048);
    expect(readFileSync(disk)[1536]).toBe(0x13);

    // A read cut short by the end of the disk transfers what there is and reports result 2.
    file.view.setUint32(0x90000, 0, true);
    writeDma(file.view, 0x90000, [
      { addr: 0x91000, len: 512 },
      { addr: 0x92000, len: 512 },
    ]);
    file.script.push((f) => {
      request(f, 0, 3, 1024);
      return sendDma(BLOCK_PAGE, 0x81000, [])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(file.view.getUint32(0x90000, true)).toBe(512);
    expect(guest.dead).toBeNull();
  });

  it('answers result 2 when the disk file itself fails (I/O error), and the Launcher stays up', async () => {
    const host = new ScriptedHost();
    const failing: BlockBackend = {
      size: 4096,
      readOnly: false,
      read: () => {
        throw new Error('EIO: i/o error, read');
      },
      write: () => {
        throw new Error('EIO: i/o error, write');
      },
      close: () => {},
    };
    const machine = await prepareMachine(
      { name: 't', kernel: 'vmlinux', memoryMB: 4, blockDevices: [{ path: 'x' }] },
      devicesOfConfig({ name: 't', kernel: 'vmlinux', memoryMB: 4, blockDevices: [{ path: 'x' }] }),
      host,
      () => {},
      (l) => logs.push(l),
      dir,
      () => failing,
    );
    const file = host.open();
    file.initialize({
      memory: machine.memory,
      pfnLimit: machine.pfnLimit,
      pgdir: machine.layout.pgdir,
      start: 0,
      pageOffset: PO,
    });
    const guest = new Launcher({ name: 't', kernel: 'vmlinux', memoryMB: 4 }, machine, file, {
      consoleOutput: () => {},
      log: (l) => logs.push(l),
    });
    writeDma(file.view, 0x90000, [{ addr: 0x91000, len: 512 }]);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    file.script.push((f) => {
      request(f, 0, 0, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [])(f);
    });
    file.script.push((f) => {
      request(f, 1, 0, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [{ addr: 0x80000, data: new Uint8Array(512) }])(f);
    });
    guest.step(1000);
    expect(result(file)).toBe(2);
    expect(file.irqsSent).toEqual([1, 1]);
    expect(logs.some((l) => /read failed at byte 0: EIO/.test(l))).toBe(true);
    expect(logs.some((l) => /write failed at byte 0: EIO/.test(l))).toBe(true);
    expect(guest.dead).toBeNull();
  });

  it('kills the guest when its reply buffer lies outside guest memory', async () => {
    const { guest, file } = await launch({ blockDevices: [{ path: 'disk.img' }] });
    writeDma(file.view, 0x90000, [{ addr: 0xfff00000, len: 512 }]);
    file.bind(BLOCK_PAGE, 0x90000, 1, 1);
    file.script.push((f) => {
      request(f, 0, 0, 512);
      return sendDma(BLOCK_PAGE, 0x81000, [])(f);
    });
    const r = guest.step(1000);
    expect(r.kind === 'dead' && r.reason).toMatch(/Invalid address 0xfff00000/);
  });

  it('refuses a missing disk image before the host is touched', async () => {
    const host = new ScriptedHost();
    await expect(launch({ blockDevices: [{ path: 'nope.img' }] }, undefined, host)).rejects.toThrow(/nope\.img/);
    expect(host.files).toEqual([]);
  });
});

describe('shared network', () => {
  it('gives each guest on a host the first free slot, NOCSUM, and a shared page mapping', async () => {
    const host = new ScriptedHost();
    const a = await launch({ networks: ['lan'] }, undefined, host);
    const b = await launch({ networks: ['lan'] }, undefined, host);
    const c = await launch({ networks: ['other'] }, undefined, host);
    expect(a.file.view.getUint16(MEM, true)).toBe(2);
    expect(a.file.view.getUint16(MEM + 2, true)).toBe(0x4000);
    expect(b.file.view.getUint16(MEM + 2, true)).toBe(0x4001);
    expect(c.file.view.getUint16(MEM + 2, true)).toBe(0x4000);
    expect(a.file.args!.sharedPages).toEqual([{ gpa: MEM + 0x1000, region: 'sharenet:lan', peerSlot: 0 }]);
    expect(c.file.args!.sharedPages).toEqual([{ gpa: MEM + 0x1000, region: 'sharenet:other', peerSlot: 0 }]);
    // A slot is free again once its guest is closed.
    a.guest.close();
    const d = await launch({ networks: ['lan'] }, undefined, host);
    expect(d.file.view.getUint16(MEM + 2, true)).toBe(0x4000);
    // Another host has its own networks.
    const e = await launch({ networks: ['lan'] });
    expect(e.file.view.getUint16(MEM + 2, true)).toBe(0x4000);
  });

  it('refuses a guest when all 682 peer slots of a network are taken', async () => {
    const host = new ScriptedHost();
    const net = sharedNetwork(host, 'full');
    for (let i = 0; i < MAX_NET_PEERS; i++) net.acquireSlot();
    expect(MAX_NET_PEERS).toBe(682);
    await expect(launch({ networks: ['full'] }, undefined, host)).rejects.toThrow('network full is full (682 peers)');
    expect(host.files).toEqual([]);
    net.releaseSlot(5);
    const g = await launch({ networks: ['full'] }, undefined, host);
    expect(g.file.view.getUint16(MEM + 2, true)).toBe(0x4005);
  });

  it('documents the MAC a 2.6.23 guest derives from its guest id', async () => {
    expect(guestMac(0)).toBe('02:00:00:00:00:00');
    expect(guestMac(0x0102)).toBe('02:00:02:01:00:00');
  });

  it('keeps command-line device order: IRQs follow the order the devices were given', async () => {
    writeFileSync(join(dir, 'd.img'), new Uint8Array(1024));
    const { file } = await launch({}, [
      { kind: 'sharenet', name: 'lan' },
      { kind: 'block', path: 'd.img', readOnly: false },
    ]);
    expect(file.view.getUint16(MEM, true)).toBe(2);
    expect(file.view.getUint16(MEM + 12, true)).toBe(3);
    expect(file.view.getUint16(MEM + 24, true)).toBe(1);
    expect(file.args!.sharedPages).toEqual([{ gpa: MEM + 0x1000, region: 'sharenet:lan', peerSlot: 0 }]);
  });
});
