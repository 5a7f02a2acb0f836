import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { removeStaleTempFiles, writeFileAtomic, writeFileAtomicSync } from './atomic-file';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-atomic-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** The pid of a process that has exited (so no live process holds it, barring reuse). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

describe('writeFileAtomic', () => {
  it('creates, refuses to create over an existing file, and replaces when asked', async () => {
    const target = join(dir, 'a.json');
    await writeFileAtomic(target, 'one', { overwrite: false });
    await expect(writeFileAtomic(target, 'two', { overwrite: false })).rejects.toMatchObject({ code: 'EEXIST' });
    expect(readFileSync(target, 'utf8')).toBe('one');
    await writeFileAtomic(target, new TextEncoder().encode('three'), { overwrite: true });
    expect(readFileSync(target, 'utf8')).toBe('three');
    expect(readdirSync(dir)).toEqual(['a.json']);
  });
});

describe('writeFileAtomicSync', () => {
  it('replaces a file whole and leaves no temp file behind', () => {
    const target = join(dir, 'head.json');
    writeFileAtomicSync(target, 'one');
    writeFileAtomicSync(target, new Uint8Array([116, 119, 111]));
    expect(readFileSync(target, 'utf8')).toBe('two');
    expect(readdirSync(dir)).toEqual(['head.json']);
  });

  it('leaves the old content and no temp file when the write cannot complete', () => {
    const target = join(dir, 'sub');
    mkdirSync(target);
    expect(() => writeFileAtomicSync(target, 'x')).toThrow();
    expect(readdirSync(dir)).toEqual(['sub']);
  });
});

describe('removeStaleTempFiles', () => {
  it('removes temp files of dead writers and of this process, keeps live writers and real files', async () => {
    const dead = deadPid();
    const live = process.ppid; // the test runner's parent: alive for as long as this test runs
    mkdirSync(join(dir, 'demo'));
    const files = {
      deadTop: `.x.lgsnap.${dead}.0badf00d.tmp`,
      deadNested: join('demo', `.2026-12-02T10-00-00.000Z-5.lgsnap.${dead}.12345678.tmp`),
      ownNested: join('demo', `.y.lgsnap.${process.pid}.abcdef01.tmp`),
      liveNested: join('demo', `.z.lgsnap.${live}.abcdef01.tmp`),
      real: join('demo', 'x.lgsnap'),
      notOurs: join('demo', 'notes.tmp'),
    };
    for (const f of Object.values(files)) writeFileSync(join(dir, f), 'x');
    const removed = await removeStaleTempFiles(dir, 1);
    expect(removed.sort()).toEqual([files.deadTop, files.deadNested, files.ownNested].map((f) => join(dir, f)).sort());
    expect(readdirSync(join(dir, 'demo')).sort()).toEqual([
      '.z.lgsnap.' + live + '.abcdef01.tmp',
      'notes.tmp',
      'x.lgsnap',
    ]);
    expect(readdirSync(dir).sort()).toEqual(['demo']);
  });

  it('does not descend below the depth asked for, and answers [] for a folder that does not exist', async () => {
    mkdirSync(join(dir, 'demo'));
    writeFileSync(join(dir, 'demo', `.a.json.${deadPid()}.00000000.tmp`), 'x');
    expect(await removeStaleTempFiles(dir)).toEqual([]);
    expect(await removeStaleTempFiles(join(dir, 'missing'))).toEqual([]);
  });
});
