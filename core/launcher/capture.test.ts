// lguest --capture=FILE: two demo guests ping each other on a shared network; Debian's tshark
// must read the pcap file, decode the ICMP echo requests and replies, with monotonic timestamps.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runLguest } from './cli';
import { pcapHeader, pcapRecord } from './pcap-file';
import { testTerminal, until } from './test-terminal';

const dir = mkdtempSync(join(tmpdir(), 'lguest-capture-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function tshark(args: string[]): string {
  try {
    return execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT')
      throw new Error('this test needs tshark (apt-get install -y tshark)');
    throw e;
  }
}

describe('pcap file format', () => {
  it('writes the classic header (2.4, Ethernet) and records with split timestamps and lengths', () => {
    const h = new DataView(pcapHeader().buffer);
    expect([h.getUint32(0, true), h.getUint16(4, true), h.getUint16(6, true), h.getUint32(20, true)]).toEqual([
      0xa1b2c3d4, 2, 4, 1,
    ]);
    const r = pcapRecord(1_700_000_000_123_456, Uint8Array.of(1, 2, 3));
    const v = new DataView(r.buffer);
    expect([v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true), v.getUint32(12, true)]).toEqual([
      1_700_000_000, 123_456, 3, 3,
    ]);
    expect([...r.subarray(16)]).toEqual([1, 2, 3]);
  });
});

describe('lguest --capture', () => {
  it('records net ping 3 between two demo guests; tshark decodes 3 ICMP echo requests and 3 replies', async () => {
    const paths = ['a', 'b'].map((name) => {
      const p = join(dir, `${name}.json`);
      writeFileSync(p, JSON.stringify({ name, kernel: 'builtin:demo', memoryMB: 16, networks: ['lan0'] }));
      return p;
    });
    const pcap = join(dir, 'lan0.pcap');
    const term = testTerminal();
    const run = runLguest(['--fast', `--capture=${pcap}`, '--multi', ...paths], term.io);
    await until(() => (term.stdout.match(/demo\$ /g) ?? []).length >= 2);
    term.type('@a net ping 3\n');
    await until(() => /ping: 1 peer\(s\), 3 sent, 3 replies/.test(term.stdout));
    term.type('@a halt\n');
    term.type('@b halt\n');
    expect(await run).toBe(0);

    expect(readFileSync(pcap).subarray(0, 4)).toEqual(Buffer.from([0xd4, 0xc3, 0xb2, 0xa1]));
    const rows = tshark([
      '-r',
      pcap,
      '-T',
      'fields',
      '-E',
      'separator=,',
      '-e',
      'frame.time_epoch',
      '-e',
      'eth.src',
      '-e',
      'eth.dst',
      '-e',
      'ip.src',
      '-e',
      'ip.dst',
      '-e',
      'icmp.type',
      '-e',
      'icmp.seq',
    ])
      .trim()
      .split('\n')
      .map((l) => l.split(','));
    expect(rows).toHaveLength(6);
    expect(rows.map((r) => r.slice(1).join(' '))).toEqual([
      // net ping sends all its requests, then waits; b answers each from its interrupt handler.
      '02:00:00:00:00:00 02:00:01:00:00:00 10.0.0.1 10.0.0.2 8 0',
      '02:00:00:00:00:00 02:00:01:00:00:00 10.0.0.1 10.0.0.2 8 1',
      '02:00:00:00:00:00 02:00:01:00:00:00 10.0.0.1 10.0.0.2 8 2',
      '02:00:01:00:00:00 02:00:00:00:00:00 10.0.0.2 10.0.0.1 0 0',
      '02:00:01:00:00:00 02:00:00:00:00:00 10.0.0.2 10.0.0.1 0 1',
      '02:00:01:00:00:00 02:00:00:00:00:00 10.0.0.2 10.0.0.1 0 2',
    ]);
    const times = rows.map((r) => Number(r[0]));
    for (let i = 1; i < times.length; i++) expect(times[i]).toBeGreaterThanOrEqual(times[i - 1]!);
    expect(Math.abs(times[0]! - Date.now() / 1000)).toBeLessThan(600);
    // tshark's own analysis: each request is matched with its reply, and both checksums are good (1).
    const analysis = tshark([
      '-2',
      '-r',
      pcap,
      '-o',
      'ip.check_checksum:TRUE',
      '-T',
      'fields',
      '-E',
      'separator=,',
      '-e',
      'icmp.resp_in',
      '-e',
      'icmp.resp_to',
      '-e',
      'ip.checksum.status',
      '-e',
      'icmp.checksum.status',
    ])
      .trim()
      .split('\n');
    expect(analysis).toEqual(['4,,1,1', '5,,1,1', '6,,1,1', ',1,1,1', ',2,1,1', ',3,1,1']);
  }, 60_000);
});
