import { EmailError } from './email.error.js';

/** One failure of an {@link EmailFailoverError}: the backend's name and its error. */
export interface EmailFailoverAttempt {
  /** Name of the backend (its configured `name` or its type). */
  backend: string;
  /** What it failed with, after its own retries. */
  error: EmailError;
}

/**
 * A send that failed on more than one backend of a failover chain (an {@link EmailError}): `code`,
 * `status` and `backend` are the last one's, `failures` lists each. It is `possiblyDelivered` when any
 * attempt was, else `retryable` when any failure was transient.
 */
export class EmailFailoverError extends EmailError {
  /** Every backend tried, in order, with its error. */
  readonly failures: readonly EmailFailoverAttempt[];

  constructor(message: string, failures: readonly EmailFailoverAttempt[]) {
    const last = failures[failures.length - 1];
    const possiblyDelivered = failures.some((f) => f.error.possiblyDelivered);
    super(last.error.code, message, {
      retryable: !possiblyDelivered && failures.some((f) => f.error.retryable),
      possiblyDelivered,
      backend: last.backend,
      ...(last.error.status !== undefined ? { status: last.error.status } : {}),
      ...(last.error.providerMessage !== undefined ? { providerMessage: last.error.providerMessage } : {}),
      ...(last.error.retryAfterMs !== undefined ? { retryAfterMs: last.error.retryAfterMs } : {}),
      cause: last.error,
    });
    this.failures = failures;
  }

  /** The safe fields, with each failure's own safe fields. */
  override toJSON(): Record<string, unknown> {
    return { ...super.toJSON(), failures: this.failures.map((f) => ({ ...f.error.toJSON(), backend: f.backend })) };
  }
}
