/** Stable codes carried by every {@link BackendError}. */
export type BackendErrorCode = 'unavailable' | 'timeout' | 'serialization' | 'value' | 'validation' | 'permission';

/** Base class of every storage error; `code` is stable and safe to branch on. */
export class BackendError extends Error {
  override readonly name: string = 'BackendError';

  constructor(
    readonly code: BackendErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
