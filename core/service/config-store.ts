// The machine config store: one JSON file per machine in a directory, written atomically
// (temp file, fsync, rename) so a crash never leaves half a config; corrupt files are listed as such.

import { promises as fs } from 'node:fs';
import { join } from 'node:path';
import type { ConfigDocument, ConfigListing, MachineConfig } from './api';
import { removeStaleTempFiles, syncDir, writeFileAtomic } from '../launcher/atomic-file';
import { validateConfigText, validateConfigValue } from './config-validation';
import { isErrno, ServiceError } from './errors';

const SUFFIX = '.json';

export class ConfigStore {
  /** The tail of the chain that runs every change to the directory one after another. */
  private changes: Promise<unknown> = Promise.resolve();
  /** Changes to existing configs requested so far (a request's number is its place in the queue). */
  private requests = 0;
  /** For each config id removed (deleted or renamed away): the number of requests made by then. */
  private removedAfter = new Map<string, number>();

  constructor(readonly dir: string) {}

  async ensureDir(): Promise<void> {
    await fs.mkdir(this.dir, { recursive: true });
  }

  /** Every config file, valid or not, sorted by id. Temp files from interrupted writes are skipped. */
  async list(): Promise<ConfigListing[]> {
    await this.ensureDir();
    const names = (await fs.readdir(this.dir)).filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.'));
    const listings: ConfigListing[] = [];
    for (const name of names.sort((a, b) => a.localeCompare(b))) {
      const id = name.slice(0, -SUFFIX.length);
      try {
        const doc = await this.read(id);
        listings.push(listingOf(doc));
      } catch (err) {
        // Unreadable (permissions, a directory named *.json): still listed, with the reason.
        const message = err instanceof Error ? err.message : String(err);
        listings.push({ id, ok: false, errors: [{ pointer: '', message }], modifiedMs: 0 });
      }
    }
    return listings;
  }

  /** Removes temp files that killed config writes left behind (at start-up). */
  removeStaleTempFiles(): Promise<string[]> {
    return removeStaleTempFiles(this.dir);
  }

  async read(id: string): Promise<ConfigDocument> {
    const path = this.pathOf(id);
    let text: string;
    let modifiedMs: number;
    try {
      const stat = await fs.stat(path);
      if (!stat.isFile()) throw new ServiceError('not-found', `config "${id}" is not a file`);
      text = await fs.readFile(path, 'utf8');
      modifiedMs = stat.mtimeMs;
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new ServiceError('not-found', `no config named "${id}"`);
      throw err;
    }
    const validation = validateConfigText(text);
    if (validation.ok && validation.config!.name !== id) {
      validation.errors.push({
        pointer: '/name',
        message: `the file is ${id}${SUFFIX} but the config is named "${validation.config!.name}"`,
      });
    }
    return { id, text, validation, modifiedMs };
  }

  async exists(id: string): Promise<boolean> {
    try {
      await fs.stat(this.pathOf(id));
      return true;
    } catch {
      return false;
    }
  }

  /** Stores a new config under its name; refuses to overwrite an existing file. */
  async create(value: unknown): Promise<ConfigListing> {
    const config = checked(value);
    return this.serialized(async () => {
      await this.ensureDir();
      await this.writeAtomic(config.name, serialize(config), { overwrite: false });
      return listingOf(await this.read(config.name));
    });
  }

  /** Replaces config `id`; if the name changed, the file is renamed (refused if the new name is taken). */
  async save(id: string, value: unknown): Promise<ConfigListing> {
    const config = checked(value);
    return this.changeExisting(id, config.name !== id, async () => {
      if (config.name === id) {
        await this.writeAtomic(id, serialize(config), { overwrite: true });
      } else {
        // Link the new name into place first (refused if taken), then drop the old one: a crash in
        // between leaves both, never neither.
        await this.writeAtomic(config.name, serialize(config), { overwrite: false });
        await fs.unlink(this.pathOf(id));
        await syncDir(this.dir);
      }
      return listingOf(await this.read(config.name));
    });
  }

  async delete(id: string): Promise<void> {
    await this.changeExisting(id, true, async () => {
      await fs.unlink(this.pathOf(id));
      await syncDir(this.dir);
    });
  }

  /**
   * Runs a change to config `id` after every change requested before it. A config missing when the
   * request arrives is `not-found`; one that an earlier request in the queue renamed or deleted is
   * a `conflict`: this request was made against a version of the directory that no longer holds.
   * `removes`: the change deletes `id` or renames it away.
   */
  private changeExisting<T>(id: string, removes: boolean, change: () => Promise<T>): Promise<T> {
    // The place in the queue is taken when the request is made, before anything is awaited, so
    // racing requests run in the order they were made.
    const request = ++this.requests;
    return this.serialized(async () => {
      if (!(await this.exists(id))) {
        if ((this.removedAfter.get(id) ?? 0) >= request) {
          throw new ServiceError('conflict', `config "${id}" was renamed or deleted by another request meanwhile`);
        }
        throw new ServiceError('not-found', `no config named "${id}"`);
      }
      const result = await change();
      if (removes) this.removedAfter.set(id, this.requests);
      return result;
    });
  }

  private serialized<T>(change: () => Promise<T>): Promise<T> {
    const result = this.changes.then(change);
    this.changes = result.catch(() => undefined);
    return result;
  }

  pathOf(id: string): string {
    if (id.length === 0 || id.startsWith('.') || /[/\\\0]/.test(id)) {
      throw new ServiceError('bad-request', `"${id}" is not a config id`);
    }
    return join(this.dir, id + SUFFIX);
  }

  private async writeAtomic(id: string, text: string, opts: { overwrite: boolean }): Promise<void> {
    await writeFileAtomic(this.pathOf(id), text, {
      overwrite: opts.overwrite,
      exists: () =>
        new ServiceError('conflict', `a config named "${id}" already exists`, [
          { pointer: '/name', message: `a machine named "${id}" already exists` },
        ]),
    });
  }
}

function checked(value: unknown): MachineConfig {
  const v = validateConfigValue(value);
  if (!v.ok) throw new ServiceError('invalid-config', 'the config does not match the schema', v.errors);
  return v.config!;
}

function serialize(config: MachineConfig): string {
  return JSON.stringify(config, null, 2) + '\n';
}

function listingOf(doc: ConfigDocument): ConfigListing {
  if (doc.validation.ok && doc.validation.errors.length === 0) {
    return { id: doc.id, ok: true, config: doc.validation.config!, modifiedMs: doc.modifiedMs };
  }
  return { id: doc.id, ok: false, errors: doc.validation.errors, modifiedMs: doc.modifiedMs };
}
