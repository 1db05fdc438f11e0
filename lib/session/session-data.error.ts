/** Stable codes of {@link SessionStoreError}. */
export type SessionStoreErrorCode = 'session_data' | 'session_config';

/** A session cannot be stored (unsafe keys, not JSON) or the store is misconfigured. */
export class SessionStoreError extends Error {
  override readonly name: string = 'SessionStoreError';

  constructor(
    readonly code: SessionStoreErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
