import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ConfigStore } from './config-store';
import { ServiceError } from './errors';

let dir: string;
let store: ConfigStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'lguest-store-'));
  store = new ConfigStore(dir);
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const demo = { name: 'demo', kernel: 'builtin:demo', memoryMB: 32 };

describe('ConfigStore', () => {
  it('creates a config as pretty JSON named after the machine, leaving no temp files', async () => {
    const listing = await store.create(demo);
    expect(listing).toMatchObject({ id: 'demo', ok: true, config: demo });
    expect(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8'))).toEqual(demo);
    expect(readdirSync(dir)).toEqual(['demo.json']);
  });

  it('refuses to create over an existing config', async () => {
    await store.create(demo);
    const err = await store.create({ ...demo, memoryMB: 64 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).code).toBe('conflict');
    expect(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')).memoryMB).toBe(32);
  });

  it('refuses an invalid config with field errors and writes nothing', async () => {
    const err = (await store.create({ name: 'x', kernel: '', memoryMB: 2 }).catch((e: unknown) => e)) as ServiceError;
    expect(err.code).toBe('invalid-config');
    expect(err.fields!.map((f) => f.pointer).sort()).toEqual(['/kernel', '/memoryMB']);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('lists a corrupt file with its parse error and never rewrites it', async () => {
    await store.create(demo);
    writeFileSync(join(dir, 'broken.json'), '{"name": "broken", "kernel": ');
    writeFileSync(join(dir, 'wrong.json'), JSON.stringify({ name: 'wrong', kernel: 'k', memoryMB: 'lots' }));
    const list = await store.list();
    expect(list.map((l) => [l.id, l.ok])).toEqual([
      ['broken', false],
      ['demo', true],
      ['wrong', false],
    ]);
    const broken = list[0]!;
    expect(broken.ok === false && broken.errors[0]!.message).toMatch(/JSON syntax error/);
    const wrong = list[2]!;
    expect(wrong.ok === false && wrong.errors[0]!.pointer).toBe('/memoryMB');
    await store.save('demo', { ...demo, memoryMB: 48 });
    expect(readFileSync(join(dir, 'broken.json'), 'utf8')).toBe('{"name": "broken", "kernel": ');
  });

  it('saves atomically by replacing the file, and renames when the name changes', async () => {
    await store.create(demo);
    await store.save('demo', { ...demo, cmdline: 'console=hvc0' });
    expect(JSON.parse(readFileSync(join(dir, 'demo.json'), 'utf8')).cmdline).toBe('console=hvc0');
    const renamed = await store.save('demo', { ...demo, name: 'demo2' });
    expect(renamed.id).toBe('demo2');
    expect(readdirSync(dir)).toEqual(['demo2.json']);
  });

  it('lets exactly one of ten racing renames win; the others get conflict and leave no files', async () => {
    await store.create(demo);
    const names = Array.from({ length: 10 }, (_, i) => `renamed${i}`);
    const results = await Promise.allSettled(names.map((name) => store.save('demo', { ...demo, name })));
    const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [names[i]!] : []));
    expect(won).toHaveLength(1);
    const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(lost.map((r) => (r.reason as ServiceError).code)).toEqual(Array(9).fill('conflict'));
    expect(readdirSync(dir)).toEqual([`${won[0]}.json`]);
  });

  it('after a rename, saving under the old id is not-found (a later request, not a race)', async () => {
    await store.create(demo);
    await store.save('demo', { ...demo, name: 'demo2' });
    await expect(store.save('demo', { ...demo, name: 'demo3' })).rejects.toMatchObject({ code: 'not-found' });
    expect(readdirSync(dir)).toEqual(['demo2.json']);
  });

  it('serializes a racing delete and rename of one config: one wins, the other is refused', async () => {
    await store.create(demo);
    const [del, ren] = await Promise.allSettled([store.delete('demo'), store.save('demo', { ...demo, name: 'x' })]);
    expect(del.status).toBe('fulfilled');
    expect(ren.status === 'rejected' && (ren.reason as ServiceError).code).toBe('conflict');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('runs racing requests in the order they were made, however slowly the first one looks', async () => {
    await store.create(demo);
    // The first existence check answers last: the delete must still run first.
    const exists = store.exists.bind(store);
    let calls = 0;
    store.exists = async (id: string) => {
      const answer = await exists(id);
      if (calls++ === 0) await new Promise((r) => setTimeout(r, 50));
      return answer;
    };
    const [del, ren] = await Promise.allSettled([store.delete('demo'), store.save('demo', { ...demo, name: 'x' })]);
    expect(del.status).toBe('fulfilled');
    expect(ren.status === 'rejected' && (ren.reason as ServiceError).code).toBe('conflict');
    expect(readdirSync(dir)).toEqual([]);
    await expect(store.delete('demo')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('deletes, and reports a missing config as not-found', async () => {
    await store.create(demo);
    await store.delete('demo');
    expect(readdirSync(dir)).toEqual([]);
    await expect(store.delete('demo')).rejects.toMatchObject({ code: 'not-found' });
    await expect(store.read('nope')).rejects.toMatchObject({ code: 'not-found' });
  });

  it('rejects ids that would escape the directory', () => {
    expect(() => store.pathOf('../etc/passwd')).toThrow(ServiceError);
    expect(() => store.pathOf('.hidden')).toThrow(ServiceError);
  });
});
