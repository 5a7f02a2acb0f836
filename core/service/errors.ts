// Errors the service reports to a UI: a code from the API contract, a sentence, and field errors.
// Thrown inside the service, turned into a typed reply at the boundary; never a crash.

import type { ApiErrorCode, ApiErrorInfo, ConfigFieldError } from './api';

export class ServiceError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly fields?: ConfigFieldError[],
  ) {
    super(message);
    this.name = 'ServiceError';
  }

  toInfo(): ApiErrorInfo {
    return this.fields
      ? { code: this.code, message: this.message, fields: this.fields }
      : { code: this.code, message: this.message };
  }
}

/** Any thrown value as an API error: ServiceErrors keep their code, anything else is 'internal'. */
export function toErrorInfo(err: unknown): ApiErrorInfo {
  if (err instanceof ServiceError) return err.toInfo();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'internal', message };
}

/** True when `err` is a Node system error with this errno code (ENOENT, EEXIST, ...). */
export function isErrno(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
