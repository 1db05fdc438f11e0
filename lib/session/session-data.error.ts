/** Stable codes of {@link SessionStoreError}. */
export type SessionStoreErrorCode = 'session_data' | 'session_config' | 'session_unavailable';

/**
 * A session cannot be stored (unsafe keys, not JSON), the store is misconfigured, or the storage
 * backend cannot be reached (`session_unavailable`, with `statusCode` 503 so that express and
 * Fastify answer 503 instead of 500).
 */
export class SessionStoreError extends Error {
  override readonly name: string = 'SessionStoreError';
  /** HTTP status the web frameworks answer with (`status` for express, `statusCode` for both). */
  readonly statusCode?: number;
  readonly status?: number;

  constructor(
    readonly code: SessionStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    if (code === 'session_unavailable') this.statusCode = this.status = 503;
  }
}
