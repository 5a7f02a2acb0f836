// Bundles of TypeScript entry modules (bin/source-bundle.js): used only while every file one was
// built from is unchanged, and each module keeps its own import.meta.url inside it.

import { mkdirSync, mkdtempSync, rmSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { currentBundle, sourceBundle } from '../bin/source-bundle.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A two-module program: main.ts returns what lib/where.ts exports. */
function program(): { entry: string; where: string; cache: string } {
  const dir = mkdtempSync(join(tmpdir(), 'source-bundle-'));
  dirs.push(dir);
  mkdirSync(join(dir, 'lib'));
  const entry = join(dir, 'main.ts');
  const where = join(dir, 'lib/where.ts');
  writeFileSync(entry, "import { where } from './lib/where';\nexport const main = (): string => where;\n");
  writeFileSync(where, 'export const where: string = import.meta.url;\n');
  // Files written a minute ago, so that a later edit has a different time.
  const then = new Date(Date.now() - 60_000);
  utimesSync(entry, then, then);
  utimesSync(where, then, then);
  return { entry, where, cache: join(dir, 'cache') };
}

let loads = 0;
const load = async (path: string): Promise<{ main(): string }> =>
  (await import(`${pathToFileURL(path).href}?${++loads}`)) as { main(): string };

describe('a source bundle', () => {
  it('is built once, then current until a source changes', async () => {
    const p = program();
    const b = sourceBundle({ entry: p.entry, cache: p.cache });
    expect(b.isCurrent()).toBe(false);
    await b.build();
    expect(b.isCurrent()).toBe(true);
    // A module's import.meta.url is its own source file, as when it runs through tsx.
    expect((await load(b.path)).main()).toBe(pathToFileURL(p.where).href);

    // (The same size as before: only the modification time tells.)
    writeFileSync(p.where, "export const where: string = 'edited-edited';\n");
    const later = new Date(Date.now() - 30_000);
    utimesSync(p.where, later, later);
    expect(b.isCurrent()).toBe(false);
    await b.build();
    expect(b.isCurrent()).toBe(true);
    expect((await load(b.path)).main()).toBe('edited-edited');
  });

  it('is built by currentBundle only when it is not current', async () => {
    const p = program();
    const b = sourceBundle({ entry: p.entry, cache: p.cache });
    const path = await currentBundle(b);
    expect(path).toBe(b.path);
    expect(b.isCurrent()).toBe(true);
    // Dated back: written again, it would be dated now.
    const old = new Date(Date.now() - 10_000);
    utimesSync(path, old, old);
    expect(await currentBundle(b)).toBe(path);
    expect(statSync(path).mtimeMs).toBeLessThan(Date.now() - 5_000);
  });

  it('is not current when a source or the bundle is gone', async () => {
    const p = program();
    const b = sourceBundle({ entry: p.entry, cache: p.cache });
    await b.build();
    unlinkSync(p.where);
    expect(b.isCurrent()).toBe(false);
    const q = program();
    const c = sourceBundle({ entry: q.entry, cache: q.cache });
    await c.build();
    unlinkSync(c.path);
    expect(c.isCurrent()).toBe(false);
  });

  it('refuses a build whose sources changed while it ran', async () => {
    const p = program();
    const future = new Date(Date.now() + 60_000);
    utimesSync(p.where, future, future);
    const b = sourceBundle({ entry: p.entry, cache: p.cache });
    await expect(b.build()).rejects.toThrow('the sources changed while the bundle was built');
    expect(b.isCurrent()).toBe(false);
  });
});
