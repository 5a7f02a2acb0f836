// Machine config validation as the service reports it: the Launcher's own check
// (validateMachineConfig over core/launcher/machine-config.schema.json), problems as API field errors.

import { validateMachineConfig, type ConfigCheck } from '../launcher/config-validation';
import { machineConfigSchema } from '../launcher/machine-config';
import type { ConfigValidation, JsonSchema } from './api';

export function configSchema(): JsonSchema {
  return machineConfigSchema as JsonSchema;
}

function toValidation(check: ConfigCheck): ConfigValidation {
  if (check.ok) return { ok: true, config: check.config, errors: [] };
  return {
    ok: false,
    errors: check.errors.map((p) =>
      p.line !== undefined
        ? { pointer: p.path, message: p.message, line: p.line, column: p.column ?? 1 }
        : { pointer: p.path, message: p.message },
    ),
  };
}

/** Validates a parsed value (an object from an API message) as a machine config. */
export function validateConfigValue(value: unknown): ConfigValidation {
  // validateMachineConfig reads a string as JSON text; a string is never a config value.
  if (typeof value === 'string') return { ok: false, errors: [{ pointer: '', message: 'must be object' }] };
  return toValidation(validateMachineConfig(value));
}

/** Validates config text: syntax errors carry line and column, schema errors a pointer. */
export function validateConfigText(text: string): ConfigValidation {
  return toValidation(validateMachineConfig(text));
}
