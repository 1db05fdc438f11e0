import { BackendError } from '../../errors/backend.error.js';
import { BackendPermissionError } from '../../errors/backend-permission.error.js';
import { BackendTimeoutError } from '../../errors/backend-timeout.error.js';
import { BackendUnavailableError } from '../../errors/backend-unavailable.error.js';
import { BackendValidationError } from '../../errors/backend-validation.error.js';
import { BackendValueError } from '../../errors/backend-value.error.js';

/** What an ioredis failure may carry: a reply error names the command it answers. */
interface IoRedisFailure {
  message?: string;
  name?: string;
  command?: { name?: string };
}

/** Replaces every secret in `text` with `***`. */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join('***');
  return out;
}

/**
 * An ACL refusal: `NOPERM …` for a command sent by the client, or (Redis 7.0/7.1) "The user executing
 * the script can't …" for a command inside a script, which Redis 7.2 reports as `NOPERM` too.
 */
const PERMISSION = /^NOPERM\b|^ERR The user executing the script can't/;

/**
 * ioredis rejects the commands it was waiting for with this when the socket closes under them (with
 * `maxRetriesPerRequest: 0`): the server dropped the client (`client-output-buffer-limit`,
 * `CLIENT KILL`, `timeout`, a restart) or the link broke.
 */
const CLOSED_IN_FLIGHT = /max retries per request/i;

/** The refused command: the one Redis names (`'incrby' command`), else the one that was sent. */
function refusedCommand(raw: string, sent: string | undefined): string {
  const named = /'([a-z|_-]+)' command/i.exec(raw)?.[1];
  return (named ?? sent ?? 'unknown').toLowerCase();
}

function permissionError(raw: string, sent: string | undefined, what: string, cause: Error): BackendPermissionError {
  const command = refusedCommand(raw, sent);
  const inScript = !/'[a-z|_-]+' command/i.test(raw) && /script/i.test(raw);
  const which = inScript ? `a command of the script sent with ${command.toUpperCase()}` : command.toUpperCase();
  const fix = /access .*keys/i.test(raw)
    ? "on a key outside the ACL user's key patterns; give it `~<keyPrefix>*`"
    : 'the ACL user lacks the permission; grant it the commands listed in the README (Redis ACL)';
  return new BackendPermissionError(command, `Redis refused ${which} (${what}): ${fix}`, { cause });
}

/** A bare copy of an ioredis failure's message, without secrets (ioredis errors carry the arguments). */
function causeOf(err: unknown, secrets: readonly string[]): Error {
  const e = err as IoRedisFailure;
  const cause = new Error(redact(String(e?.message ?? err), secrets));
  cause.name = e?.name ?? 'Error';
  return cause;
}

/**
 * Turns an ioredis failure into a typed {@link BackendError}. The cause is a bare copy of the
 * original message: ioredis errors carry the command arguments, which may hold secrets or values.
 */
export function toBackendError(err: unknown, operation: string, secrets: readonly string[]): BackendError {
  if (err instanceof BackendError) return err;
  const cause = causeOf(err, secrets);
  const raw = cause.message;
  if (/command timed out/i.test(raw)) {
    return new BackendTimeoutError(`Redis did not answer ${operation} in time`, { cause });
  }
  if (PERMISSION.test(raw)) {
    return permissionError(raw, (err as IoRedisFailure)?.command?.name, operation, cause);
  }
  if (/not an integer|not a safe integer|out of range/i.test(raw)) {
    return new BackendValueError(`Cannot ${operation}: the stored value is not an integer`, { cause });
  }
  if (/would overflow/i.test(raw)) {
    return new BackendValueError(`Cannot ${operation}: the result would overflow`, { cause });
  }
  if (/WRONGTYPE/.test(raw)) {
    return new BackendValueError(`Cannot ${operation}: the key holds a value of another type`, { cause });
  }
  if (CLOSED_IN_FLIGHT.test(raw)) {
    return new BackendUnavailableError(
      `Redis ${operation} failed: the connection was closed while the command was in flight (by the server, e.g. ` +
        'client-output-buffer-limit or CLIENT KILL, or by the network); it may have run',
      { cause },
    );
  }
  return new BackendUnavailableError(`Redis ${operation} failed: ${raw}`, { cause });
}

/**
 * The error every call of a connection fails with when Redis refused the SELECT of its handshake
 * (ioredis only emits it and carries on in database 0), or `undefined` for any other event.
 */
export function refusedSelect(err: unknown, secrets: readonly string[]): BackendError | undefined {
  const e = err as IoRedisFailure;
  if (e?.command?.name?.toLowerCase() !== 'select') return undefined;
  const cause = causeOf(err, secrets);
  if (PERMISSION.test(cause.message)) return permissionError(cause.message, 'select', 'connect', cause);
  return new BackendValidationError(
    `Redis refused to select the configured database (${cause.message}): check the database number of the URL or options`,
  );
}
