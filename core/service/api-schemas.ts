// The API's message schemas: every request's params checked with ajv before the service acts, so a
// malformed message from any transport gets a typed 'bad-request' reply naming the field.

import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import type { ApiMethod, ConfigFieldError } from './api';

const ajv = new Ajv({ allErrors: true, strict: true });
// Binary payloads (console bytes, later memory and snapshots) travel as Uint8Array on both transports.
ajv.addKeyword({
  keyword: 'uint8array',
  schemaType: 'boolean',
  validate: (want: boolean, data: unknown) => !want || data instanceof Uint8Array,
  errors: false,
});

/** A config id: the file's name without .json (no path separators, not hidden). */
export const configId = { type: 'string', minLength: 1, maxLength: 200, pattern: '^[^./\\\\\\u0000][^/\\\\\\u0000]*$' };
/** An absolute path of a snapshot export file. */
const exportPath = { type: 'string', minLength: 10, maxLength: 4096, pattern: '^/.*\\.lgexport$' };
/** A snapshot file name in a machine's snapshot folder. */
export const snapshotFile = {
  type: 'string',
  minLength: 8,
  maxLength: 200,
  pattern: '^[0-9A-Za-z][0-9A-Za-z._-]*\\.lgsnap$',
};
const none = { type: 'object', additionalProperties: false, properties: {} };
/** A network name, as machine configs spell it. */
export const networkName = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$' };
const byNetwork = {
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: { name: networkName },
};
/** A group snapshot's manifest file name in the workbench's group snapshot folder. */
const groupFile = { type: 'string', minLength: 9, maxLength: 200, pattern: '^[0-9A-Za-z][0-9A-Za-z._-]*\\.lggroup$' };
const byGroupFile = {
  type: 'object',
  additionalProperties: false,
  required: ['file'],
  properties: { file: groupFile },
};
const byId = { type: 'object', additionalProperties: false, required: ['id'], properties: { id: configId } };

const paramSchemas: { [M in ApiMethod]: object } = {
  'configs.list': none,
  'configs.read': byId,
  // The config's own content is checked against the machine schema by the store, which answers with
  // 'invalid-config' and field errors; here it only has to be an object.
  'configs.create': {
    type: 'object',
    additionalProperties: false,
    required: ['config'],
    properties: { config: { type: 'object' } },
  },
  'configs.save': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'config'],
    properties: { id: configId, config: { type: 'object' } },
  },
  'configs.delete': byId,
  'configs.validate': {
    type: 'object',
    additionalProperties: false,
    required: ['text'],
    properties: { text: { type: 'string', maxLength: 1_000_000 }, forId: { anyOf: [configId, { type: 'null' }] } },
  },
  'configs.schema': none,
  'machines.list': none,
  'machines.start': byId,
  'machines.pause': byId,
  'machines.resume': byId,
  'machines.stop': byId,
  'machines.reset': byId,
  'console.input': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'data'],
    properties: { id: configId, data: { uint8array: true } },
  },
  'console.backlog': byId,
  'inspect.registers': byId,
  'inspect.memory': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'space', 'address', 'length'],
    properties: {
      id: configId,
      space: { enum: ['physical', 'guest-virtual', 'shadow-virtual'] },
      address: { type: 'integer', minimum: 0, maximum: 0xffffffff },
      length: { type: 'integer', minimum: 1, maximum: 65536 },
      since: snapshotFile,
    },
  },
  'inspect.descriptors': byId,
  'inspect.pagetables': {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: {
      id: configId,
      slot: { type: 'integer', minimum: 0, maximum: 3 },
      pde: { type: 'integer', minimum: 0, maximum: 1023 },
    },
  },
  'inspect.counters': byId,
  'inspect.trace': {
    type: 'object',
    additionalProperties: false,
    required: ['id'],
    properties: { id: configId, limit: { type: 'integer', minimum: 1, maximum: 4096 } },
  },
  'inspect.profile': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'action'],
    properties: {
      id: configId,
      action: { enum: ['read', 'start', 'stop', 'reset', 'speedscope'] },
      interval: { type: 'integer', minimum: 100, maximum: 100_000_000 },
      top: { type: 'integer', minimum: 1, maximum: 1000 },
    },
  },
  'debug.command': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'command'],
    properties: {
      id: configId,
      syntax: { enum: ['intel', 'att'] },
      watches: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 200 } },
      memory: { type: 'string', minLength: 1, maxLength: 200 },
      command: {
        oneOf: [
          {
            type: 'object',
            additionalProperties: false,
            required: ['op'],
            properties: {
              op: {
                enum: [
                  'attach',
                  'detach',
                  'view',
                  'continue',
                  'pause',
                  'step',
                  'step-over',
                  'step-out',
                  'step-back',
                  'step-back-over',
                ],
              },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['op', 'target'],
            properties: {
              op: { const: 'break' },
              target: { type: 'string', minLength: 1, maxLength: 200 },
              condition: { type: 'string', maxLength: 500 },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['op', 'count'],
            properties: {
              op: { const: 'seek' },
              count: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
            },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['op', 'address'],
            properties: { op: { const: 'clear' }, address: { type: 'integer', minimum: 0, maximum: 0xffffffff } },
          },
          {
            type: 'object',
            additionalProperties: false,
            required: ['op', 'enable'],
            properties: { op: { const: 'gdb' }, enable: { type: 'boolean' } },
          },
        ],
      },
    },
  },
  'snapshots.take': byId,
  'snapshots.list': byId,
  'snapshots.restore': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'file'],
    properties: { id: configId, file: snapshotFile, allowChangedDisks: { type: 'boolean' } },
  },
  'snapshots.delete': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'file'],
    properties: { id: configId, file: snapshotFile },
  },
  'networks.list': none,
  'networks.start': byNetwork,
  'networks.stop': byNetwork,
  'networks.capture.start': byNetwork,
  'networks.capture.stop': byNetwork,
  'snapshots.label': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'file', 'name', 'note'],
    properties: {
      id: configId,
      file: snapshotFile,
      name: { type: 'string', maxLength: 200 },
      note: { type: 'string', maxLength: 10_000 },
    },
  },
  'snapshots.diff': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'from'],
    properties: { id: configId, from: snapshotFile, to: snapshotFile },
  },
  'snapshots.export': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'file', 'to'],
    properties: { id: configId, file: snapshotFile, to: exportPath, embedBase: { type: 'boolean' } },
  },
  'snapshots.import': {
    type: 'object',
    additionalProperties: false,
    required: ['id', 'from'],
    properties: { id: configId, from: exportPath },
  },
  'disks.commit': byId,
  'snapshots.group.take': {
    type: 'object',
    additionalProperties: false,
    required: ['network'],
    properties: { network: networkName },
  },
  'snapshots.group.list': none,
  'snapshots.group.restore': {
    type: 'object',
    additionalProperties: false,
    required: ['file'],
    properties: { file: groupFile, allowChangedDisks: { type: 'boolean' }, paused: { type: 'boolean' } },
  },
  'snapshots.group.delete': byGroupFile,
};

const validateSnapshotFile = ajv.compile(snapshotFile);
const validateGroupFile = ajv.compile(groupFile);

/** True for a group snapshot manifest name the API accepts; listings show no others. */
export function isGroupSnapshotFileName(name: string): boolean {
  return validateGroupFile(name);
}

/** True for a snapshot file name the API accepts (to restore or delete it); listings show no others. */
export function isSnapshotFileName(name: string): boolean {
  return validateSnapshotFile(name);
}

const validators = new Map<string, ValidateFunction>(
  Object.entries(paramSchemas).map(([method, schema]) => [method, ajv.compile(schema)]),
);

/** The request envelope both transports carry (the params are checked per method afterwards). */
const validateEnvelope = ajv.compile({
  type: 'object',
  required: ['kind', 'id', 'method'],
  properties: {
    kind: { const: 'request' },
    id: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    method: { type: 'string', maxLength: 100 },
    params: {},
  },
  additionalProperties: false,
});

/** Field errors of a request envelope, or null when it is well-formed. */
export function checkEnvelope(msg: unknown): ConfigFieldError[] | null {
  return validateEnvelope(msg) ? null : (validateEnvelope.errors ?? []).map(paramError);
}

export function isApiMethod(method: unknown): method is ApiMethod {
  return typeof method === 'string' && validators.has(method);
}

/** Field errors for params of `method`, or null when they are valid. */
export function checkParams(method: ApiMethod, params: unknown): ConfigFieldError[] | null {
  const validate = validators.get(method)!;
  if (validate(params)) {
    if (method === 'console.input' && (params as { data: Uint8Array }).data.length > 65536) {
      return [{ pointer: '/data', message: 'at most 65536 bytes per message' }];
    }
    return null;
  }
  return (validate.errors ?? []).map((e) =>
    e.keyword === 'uint8array' ? { pointer: e.instancePath, message: 'must be bytes (Uint8Array)' } : paramError(e),
  );
}

function paramError(e: ErrorObject): ConfigFieldError {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params.missingProperty === 'string') {
    return { pointer: `${e.instancePath}/${params.missingProperty}`, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties' && typeof params.additionalProperty === 'string') {
    return { pointer: `${e.instancePath}/${params.additionalProperty}`, message: 'is not a parameter of this method' };
  }
  return { pointer: e.instancePath, message: e.message ?? 'is invalid' };
}
