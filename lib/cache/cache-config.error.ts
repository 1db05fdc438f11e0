/** A cache option or decorator argument is malformed; raised at startup, never per request. */
export class CacheConfigError extends Error {
  override readonly name: string = 'CacheConfigError';
  /** Stable code of this error. */
  readonly code = 'invalid_cache_options';
}

/** @internal Checks a TTL given in ms. */
export function assertCacheTtl(ttlMs: unknown, what: string): number {
  if (typeof ttlMs !== 'number' || !Number.isSafeInteger(ttlMs) || ttlMs < 1) {
    throw new CacheConfigError(`${what} must be a whole number of milliseconds >= 1 (got ${String(ttlMs)})`);
  }
  return ttlMs;
}
