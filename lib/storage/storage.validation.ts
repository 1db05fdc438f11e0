import { BackendValidationError } from '../errors/backend-validation.error.js';

/** Longest accepted key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;

/**
 * Refuses a key that is not a non-empty string of at most {@link MAX_KEY_BYTES} bytes of well-formed
 * text. A lone surrogate has no UTF-8 form: Redis would receive U+FFFD, so two different keys
 * would share one value.
 */
export function assertKey(key: string): void {
  if (typeof key !== 'string' || key.length === 0) {
    throw new BackendValidationError('Storage key must be a non-empty string');
  }
  if (!key.isWellFormed()) {
    throw new BackendValidationError('Storage key must be well-formed text: it contains a lone UTF-16 surrogate');
  }
  // A UTF-16 unit takes at most 3 UTF-8 bytes: short keys skip the byte count.
  if (key.length > MAX_KEY_BYTES / 3 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
    throw new BackendValidationError(`Storage key is longer than ${MAX_KEY_BYTES} bytes`);
  }
}

/** Refuses a TTL that is not `undefined`, `null` or a positive safe integer of milliseconds. */
export function assertTtl(ttlMs: number | null | undefined): void {
  if (ttlMs == null) return;
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) {
    throw new BackendValidationError(
      `TTL must be a positive whole number of milliseconds, or null for no expiry (got ${String(ttlMs)})`,
    );
  }
}

/** Refuses an increment delta that is not a safe integer. */
export function assertDelta(delta: number): void {
  if (!Number.isSafeInteger(delta)) {
    throw new BackendValidationError(`Increment delta must be a safe integer (got ${String(delta)})`);
  }
}

/** Refuses a TTL that is not a positive safe integer of milliseconds (`hit` and `expire` need one). */
export function assertRequiredTtl(ttlMs: number): void {
  if (ttlMs == null) {
    throw new BackendValidationError(
      `TTL is required here: a positive whole number of milliseconds (got ${String(ttlMs)})`,
    );
  }
  assertTtl(ttlMs);
}

/** Refuses a `keys()` pattern that is not well-formed text (`undefined` lists every key). */
export function assertPattern(pattern: string | undefined): void {
  if (pattern === undefined) return;
  if (typeof pattern !== 'string') {
    throw new BackendValidationError(`Key pattern must be a string (got ${typeof pattern})`);
  }
  if (!pattern.isWellFormed()) {
    throw new BackendValidationError('Key pattern must be well-formed text: it contains a lone UTF-16 surrogate');
  }
}
