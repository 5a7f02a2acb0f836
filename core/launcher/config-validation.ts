// Checking a machine configuration against the one JSON Schema (machine-config.schema.json) with
// ajv: every problem is reported with the JSON pointer of the field, syntax errors with line/column.

import { Ajv, type ErrorObject } from 'ajv';
import { machineConfigSchema, type MachineConfig } from './machine-config';

export interface ConfigProblem {
  /** JSON pointer of the offending field ('' for the whole document). */
  path: string;
  message: string;
  /** For JSON syntax errors: 1-based position in the text. */
  line?: number;
  column?: number;
}

export type ConfigCheck = { ok: true; config: MachineConfig } | { ok: false; errors: ConfigProblem[] };

const ajv = new Ajv({ allErrors: true, strict: false });
const validateSchema = ajv.compile<MachineConfig>(machineConfigSchema);

function escapePointerToken(token: string): string {
  return token.replace(/~/g, '~0').replace(/\//g, '~1');
}

function problemFromAjv(e: ErrorObject): ConfigProblem {
  const params = e.params as Record<string, unknown>;
  if (e.keyword === 'required' && typeof params['missingProperty'] === 'string') {
    return { path: `${e.instancePath}/${escapePointerToken(params['missingProperty'])}`, message: 'is required' };
  }
  if (e.keyword === 'additionalProperties' && typeof params['additionalProperty'] === 'string') {
    return {
      path: `${e.instancePath}/${escapePointerToken(params['additionalProperty'])}`,
      message: 'is not a known setting',
    };
  }
  return { path: e.instancePath, message: e.message ?? 'is invalid' };
}

/** 1-based line and column of a character offset. */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, Math.max(0, Math.min(offset, text.length))).split('\n');
  return { line: before.length, column: before[before.length - 1]!.length + 1 };
}

function syntaxProblem(text: string, err: unknown): ConfigProblem {
  const raw = err instanceof Error ? err.message : String(err);
  const pos = /position (\d+)/.exec(raw);
  // V8 leaves the position out when the text simply ends early: that is the end of the text.
  const { line, column } = lineColumnAt(text, pos ? Number(pos[1]) : text.length);
  const why = raw.replace(/\s*in JSON at position \d+.*$/s, '').replace(/\s*\(line \d+ column \d+\)$/, '');
  return { path: '', message: `JSON syntax error at line ${line}, column ${column}: ${why}`, line, column };
}

/** Validates a parsed value, or JSON text, as a machine configuration. */
export function validateMachineConfig(input: unknown): ConfigCheck {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (err) {
      return { ok: false, errors: [syntaxProblem(input, err)] };
    }
  }
  if (validateSchema(value)) return { ok: true, config: value };
  const errors = (validateSchema.errors ?? []).map(problemFromAjv);
  return { ok: false, errors };
}

export function formatConfigProblems(errors: readonly ConfigProblem[]): string {
  return errors.map((e) => (e.path ? `${e.path}: ${e.message}` : e.message)).join('\n');
}
