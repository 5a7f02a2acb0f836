// kill -9 during overlay writes, snapshots, a restore and a commit to base (a child process killed
// just before its Nth file-system change, at points spread over the whole run): every snapshot it
// had finished stays restorable with its exact contents, and the base image is whole, old or new.

import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { machineDiskOpener } from './machine-disks';
import { OverlayDisk } from './overlay-disk';

const CHILD = fileURLToPath(new URL('./test-disk-crash-child.ts', import.meta.url));
let work: string;
const baseBytes = Uint8Array.from({ length: 64 * 1024 }, (_, i) => (i * 31 + 7) & 0xff);
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'lguest-crash-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

function runChild(dir: string, killAt: number): { lines: string[]; signal: NodeJS.Signals | null } {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', CHILD, join(dir, 'disks'), join(dir, 'base.img'), String(killAt)],
    {
      encoding: 'utf8',
    },
  );
  if (r.signal === null && r.status !== 0) throw new Error(`crash child failed: ${r.stderr}`);
  return { lines: r.stdout.split('\n').filter(Boolean), signal: r.signal };
}

function contents(disk: OverlayDisk): string {
  const all = new Uint8Array(disk.size);
  disk.read(all, 0);
  return sha(all);
}

describe('a crash at any point of overlay writes, snapshot, restore or commit', () => {
  it('leaves every finished snapshot restorable and the base image whole', () => {
    const fresh = (name: string): string => {
      const dir = join(work, name);
      execFileSync('mkdir', ['-p', dir]);
      writeFileSync(join(dir, 'base.img'), baseBytes);
      // The untouched image, to read snapshots against after a commit replaced the base.
      copyFileSync(join(dir, 'base.img'), join(dir, 'original.img'));
      return dir;
    };
    const full = runChild(fresh('full'), -1);
    const total = Number(/^end (\d+)$/.exec(full.lines.at(-1) ?? '')?.[1]);
    expect(full.lines.filter((l) => l.startsWith('snapshot '))).toHaveLength(3);
    expect(total).toBeGreaterThan(50);
    const committed = full.lines.find((l) => l.startsWith('commit '))!.split(' ')[1]!;
    expect(sha(new Uint8Array(readFileSync(join(work, 'full', 'base.img'))))).toBe(committed);

    // Points spread over the run, and every one of the commit's last operations.
    const points = new Set<number>();
    for (let k = 1; k < total; k += 9) points.add(k);
    for (let k = total - 5; k <= total; k++) points.add(k);
    let snapshotsChecked = 0;
    for (const k of points) {
      const dir = fresh(`kill-${k}`);
      const run = runChild(dir, k);
      expect(run.signal, `kill point ${k}`).toBe('SIGKILL');
      const baseNow = sha(new Uint8Array(readFileSync(join(dir, 'base.img'))));
      const commitStarted = run.lines.some((l) => l.startsWith('commit '));
      // The base is the untouched image, or (once the commit began) wholly the committed disk.
      expect([sha(baseBytes), ...(commitStarted ? [committed] : [])], `kill point ${k}`).toContain(baseNow);
      for (const line of run.lines.filter((l) => l.startsWith('snapshot '))) {
        const [, overlay, want] = line.split(' ');
        const disk = OverlayDisk.branch(join(dir, 'original.img'), join(dir, 'disks'), overlay!);
        expect(contents(disk), `kill point ${k}, snapshot ${overlay}`).toBe(want);
        disk.close();
        snapshotsChecked++;
      }
      // The machine starts again on its disk (unless the crash came inside the commit's window
      // between replacing the image and moving head.json, which it then names).
      if (baseNow === sha(baseBytes)) machineDiskOpener(join(dir, 'disks'))(join(dir, 'base.img'), false).close();
    }
    expect(snapshotsChecked).toBeGreaterThan(10);
  }, 120_000);
});
