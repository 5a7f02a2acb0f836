// The workbench service: implements every method of the API contract over the config store and
// the machine manager, and checks each incoming message at the boundary before acting on it.

import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type {
  ApiEventMessage,
  ApiMethod,
  ApiMethods,
  ApiParams,
  ApiReplyMessage,
  ApiResult,
  MachineConfig,
  MachineStatus,
} from './api';
import { checkEnvelope, checkParams, isApiMethod } from './api-schemas';
import { ConfigStore } from './config-store';
import { markChangedBytes } from './memory-changes';
import { configSchema, validateConfigText } from './config-validation';
import { ServiceError, toErrorInfo } from './errors';
import { MachineManager, type MachineWorkerSpec } from './machines';
import { Networks } from './networks';
import { snapshotHandlers, SnapshotStore } from './snapshots';
import { GroupSnapshots, GroupSnapshotStore } from './group-snapshots';
import { removeStaleTempFiles } from '../launcher/atomic-file';

export interface ServiceOptions {
  /** Directory holding one <name>.json per machine. */
  configDir: string;
  worker?: MachineWorkerSpec;
  /** Directory of the machines' snapshot folders (default: "snapshots" beside configDir). */
  snapshotDir?: string;
  /** Directory of network captures (default: "captures" beside configDir). */
  captureDir?: string;
  /** Directory of group snapshot manifests (default: "group-snapshots" beside the snapshot directory). */
  groupSnapshotDir?: string;
}

/** The default config created on first start, so the app runs its built-in demo guest out of the box. */
export const DEMO_CONFIG: MachineConfig = { name: 'demo', kernel: 'builtin:demo', memoryMB: 32 };

/** Browser mode's config directory: $LGUEST_WORKBENCH_DATA, else ~/.local/share/lguest-workbench/machines. */
export function defaultBrowserConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.LGUEST_WORKBENCH_DATA;
  return base ? join(base, 'machines') : join(homedir(), '.local', 'share', 'lguest-workbench', 'machines');
}

/**
 * Dev and browser mode run the TypeScript worker entry through tsx. Node 20 does not apply
 * `execArgv: ['--import', 'tsx']` to a worker's own entry ("Unknown file extension .ts"), so the
 * worker starts from a two-line bootstrap that registers tsx's loader and then imports the entry.
 */
export function tsxWorkerSpec(entry: URL = new URL('./machine-worker.ts', import.meta.url)): MachineWorkerSpec {
  const tsxApi = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href;
  const bootstrap =
    `const api = await import(${JSON.stringify(tsxApi)}); (api.register ?? api.default.register)();\n` +
    `await import(${JSON.stringify(entry.href)});`;
  return { entry: bootstrap, eval: true };
}

type Handlers = { [M in ApiMethod]: (params: ApiParams<M>) => Promise<ApiResult<M>> };

export class WorkbenchService {
  readonly store: ConfigStore;
  readonly machines: MachineManager;
  readonly snapshots: SnapshotStore;
  readonly networks: Networks;
  readonly groupSnapshots: GroupSnapshotStore;
  private readonly listeners = new Set<(msg: ApiEventMessage) => void>();
  private readonly handlers: Handlers;

  constructor(opts: ServiceOptions) {
    this.store = new ConfigStore(opts.configDir);
    const worker = opts.worker ?? tsxWorkerSpec();
    const snapshotDir = opts.snapshotDir ?? join(opts.configDir, '..', 'snapshots');
    const snapshots = new SnapshotStore(snapshotDir);
    this.groupSnapshots = new GroupSnapshotStore(
      opts.groupSnapshotDir ?? join(snapshotDir, '..', 'group-snapshots'),
      snapshots,
    );
    // A machine's disk overlays live beside its snapshots, which name them.
    const spec = { ...worker, extra: { baseDir: opts.configDir, ...worker.extra }, disksDirOf: snapshots.disksDirOf };
    this.machines = new MachineManager(spec, (msg) => this.emit(msg));
    this.snapshots = snapshots;
    this.networks = new Networks(
      this.machines,
      this.store,
      opts.captureDir ?? join(opts.configDir, '..', 'captures'),
      (id) => this.configFor(id),
    );
    this.handlers = this.makeHandlers();
  }

  /** Creates the demo config when the store holds no configs at all (first start). */
  async seedDefaultConfig(): Promise<void> {
    const listing = await this.store.list();
    if (listing.length === 0) await this.store.create(DEMO_CONFIG);
  }

  /** Start-up: removes the temp files of config and snapshot writes that a kill interrupted. */
  async removeStaleTempFiles(): Promise<string[]> {
    return [
      ...(await this.store.removeStaleTempFiles()),
      ...(await this.snapshots.removeStaleTempFiles()),
      ...(await removeStaleTempFiles(this.groupSnapshots.dir)),
    ];
  }

  /** Subscribes a transport to every event; returns the unsubscribe function. */
  subscribe(listener: (msg: ApiEventMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The boundary: any method name and params (from IPC or a WebSocket frame) in, a typed reply out.
   * Never throws; a bad message is a 'bad-request' or 'unknown-method' error reply.
   */
  async call(
    method: unknown,
    params: unknown,
  ): Promise<{ ok: true; result: unknown } | { ok: false; error: ReturnType<typeof toErrorInfo> }> {
    try {
      if (!isApiMethod(method)) {
        throw new ServiceError(
          'unknown-method',
          `unknown method ${JSON.stringify(method)?.slice(0, 80) ?? String(method)}`,
        );
      }
      const fields = checkParams(method, params ?? {});
      if (fields) {
        const summary = fields.map((f) => `${f.pointer || '(params)'} ${f.message}`).join('; ');
        throw new ServiceError('bad-request', `bad params for ${method}: ${summary}`, fields);
      }
      const handler = this.handlers[method] as (p: unknown) => Promise<unknown>;
      return { ok: true, result: await handler(params ?? {}) };
    } catch (err) {
      return { ok: false, error: toErrorInfo(err) };
    }
  }

  /** The same boundary for a whole request envelope (WebSocket frames). */
  async handleMessage(msg: unknown): Promise<ApiReplyMessage> {
    const problems = checkEnvelope(msg);
    if (problems) {
      const rawId = typeof msg === 'object' && msg !== null ? (msg as { id?: unknown }).id : undefined;
      const id = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? rawId : -1;
      const summary = problems.map((f) => `${f.pointer || '(message)'} ${f.message}`).join('; ');
      return {
        kind: 'reply',
        id,
        ok: false,
        error: { code: 'bad-request', message: `not a request message: ${summary}`, fields: problems },
      };
    }
    const { id, method, params } = msg as { id: number; method: string; params?: unknown };
    const reply = await this.call(method, params);
    return { kind: 'reply', id, ...reply };
  }

  async close(): Promise<void> {
    this.networks.close();
    await this.machines.stopAll();
    this.listeners.clear();
  }

  private emit(msg: ApiEventMessage): void {
    for (const l of this.listeners) {
      try {
        l(msg);
      } catch {
        /* one broken transport must not stop the others */
      }
    }
  }

  private configsChanged(...ids: string[]): void {
    this.emit({ kind: 'event', event: 'configs.changed', payload: { ids } });
  }

  private async configFor(id: string): Promise<MachineConfig> {
    const doc = await this.store.read(id);
    if (!doc.validation.ok || doc.validation.errors.length > 0) {
      throw new ServiceError(
        'invalid-config',
        `config "${id}" is not valid; fix it before starting`,
        doc.validation.errors,
      );
    }
    return doc.validation.config!;
  }

  /** An inspector's machine id: a machine that exists (else 'not-found'); its state is checked next. */
  private async inspectable(id: string): Promise<string> {
    if (!this.machines.isActive(id) && !(await this.store.exists(id))) {
      throw new ServiceError('not-found', `there is no machine "${id}"`);
    }
    return id;
  }

  private makeHandlers(): Handlers {
    const store = this.store;
    const machines = this.machines;
    const h: { [M in keyof ApiMethods]: (p: ApiParams<M>) => Promise<ApiResult<M>> } = {
      'configs.list': () => store.list(),
      'configs.read': ({ id }) => store.read(id),
      'configs.create': async ({ config }) => {
        const listing = await store.create(config);
        this.configsChanged(listing.id);
        return listing;
      },
      'configs.save': async ({ id, config }) => {
        if (machines.isActive(id) && config.name !== id) {
          throw new ServiceError('bad-state', `stop machine "${id}" before renaming it`, [
            { pointer: '/name', message: 'cannot rename a running machine' },
          ]);
        }
        const listing = await store.save(id, config);
        if (listing.id !== id) machines.forget(id);
        this.configsChanged(id, listing.id);
        return listing;
      },
      'configs.delete': async ({ id }) => {
        if (machines.isActive(id)) throw new ServiceError('bad-state', `stop machine "${id}" before deleting it`);
        await store.delete(id);
        machines.forget(id);
        this.configsChanged(id);
        return { deleted: id };
      },
      'configs.validate': async ({ text, forId }) => {
        const v = validateConfigText(text);
        if (v.ok) {
          const name = v.config!.name;
          if (name !== forId && (await store.exists(name))) {
            return { ok: false, errors: [{ pointer: '/name', message: `a machine named "${name}" already exists` }] };
          }
        }
        return v;
      },
      'configs.schema': async () => configSchema(),
      'machines.list': async () => {
        const listing = await store.list();
        return listing.map((l): MachineStatus => machines.status(l.id));
      },
      'machines.start': async ({ id }) => machines.start(id, await this.configFor(id)),
      'machines.pause': async ({ id }) => machines.pause(id),
      'machines.resume': async ({ id }) => machines.resume(id),
      'machines.stop': ({ id }) => machines.stop(id),
      'machines.reset': async ({ id }) => {
        const config = await this.configFor(id);
        if (machines.isActive(id)) await machines.stop(id);
        return machines.start(id, config);
      },
      'console.input': async ({ id, data }) => ({ accepted: machines.input(id, data) }),
      'console.backlog': async ({ id }) => ({ data: machines.backlog(id) }),
      'inspect.registers': async ({ id }) => machines.inspect(await this.inspectable(id), { kind: 'registers' }),
      'inspect.memory': async ({ id, space, address, length, since }) => {
        const view = await machines.inspect(await this.inspectable(id), { kind: 'memory', space, address, length });
        return since === undefined ? view : markChangedBytes(view, await this.snapshots.fullRamOf(id, since));
      },
      'inspect.descriptors': async ({ id }) => machines.inspect(await this.inspectable(id), { kind: 'descriptors' }),
      'inspect.pagetables': async ({ id, slot, pde }) =>
        machines.inspect(await this.inspectable(id), {
          kind: 'pagetables',
          ...(slot !== undefined ? { slot } : {}),
          ...(pde !== undefined ? { pde } : {}),
        }),
      'inspect.counters': async ({ id }) => machines.inspect(await this.inspectable(id), { kind: 'counters' }),
      'networks.list': () => this.networks.list(),
      'networks.start': ({ name }) => this.networks.start(name),
      'networks.stop': ({ name }) => this.networks.stop(name),
      'networks.capture.start': async ({ name }) => this.networks.startCapture(name),
      'networks.capture.stop': async ({ name }) => this.networks.stopCapture(name),
      'inspect.trace': async ({ id, limit }) =>
        machines.inspect(await this.inspectable(id), { kind: 'trace', ...(limit !== undefined ? { limit } : {}) }),
      'inspect.profile': async ({ id, action, interval, top }) =>
        machines.inspect(await this.inspectable(id), {
          kind: 'profile',
          action,
          ...(interval !== undefined ? { interval } : {}),
          ...(top !== undefined ? { top } : {}),
        }),
      'debug.command': async ({ id, command, syntax, watches, memory }) =>
        machines.debug(await this.inspectable(id), command, {
          syntax: syntax ?? 'intel',
          watches: watches ?? [],
          memory: memory ?? null,
        }),
      ...snapshotHandlers({
        store: this.snapshots,
        machines,
        machineExists: (id) => store.exists(id),
        groupOf: (id, file) => this.groupSnapshots.groupOf(id, file),
        emit: (msg) => this.emit(msg),
      }),
      ...new GroupSnapshots({
        groups: this.groupSnapshots,
        snapshots: this.snapshots,
        machines,
        emit: (msg) => this.emit(msg),
      }).handlers(),
    };
    return h;
  }
}
