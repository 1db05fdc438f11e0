import { BackendError } from '../../errors/backend.error.js';
import { BackendTimeoutError } from '../../errors/backend-timeout.error.js';
import { BackendUnavailableError } from '../../errors/backend-unavailable.error.js';
import { BackendValueError } from '../../errors/backend-value.error.js';

/** Replaces every secret in `text` with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * Turns an ioredis failure into a typed {@link BackendError}. The cause is a bare copy of the
 * original message: ioredis errors carry the command arguments, which may hold secrets or values.
 */
export function toBackendError(err: unknown, operation: string, secrets: readonly string[]): BackendError {
  if (err instanceof BackendError) return err;
  const e = err as { message?: string; name?: string; code?: string };
  const raw = redact(String(e?.message ?? err), secrets);
  const cause = new Error(raw);
  cause.name = e?.name ?? 'Error';
  if (/command timed out/i.test(raw)) {
    return new BackendTimeoutError(`Redis did not answer ${operation} in time`, { cause });
  }
  if (/not an integer|out of range/i.test(raw)) {
    return new BackendValueError(`Cannot ${operation}: the stored value is not an integer`, { cause });
  }
  if (/WRONGTYPE/.test(raw)) {
    return new BackendValueError(`Cannot ${operation}: the key holds a value of another type`, { cause });
  }
  return new BackendUnavailableError(`Redis ${operation} failed: ${raw}`, { cause });
}
