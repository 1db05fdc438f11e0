/** Stable codes carried by every {@link EmailError}. */
export type EmailErrorCode =
  | 'validation'
  | 'configuration'
  | 'connection'
  | 'timeout'
  | 'authentication'
  | 'rejected'
  | 'rate_limited'
  | 'provider';

/** Details of an {@link EmailError}; every text in it is already free of secrets. */
export interface EmailErrorDetails {
  /** The same send may succeed if tried again later. @default false */
  retryable?: boolean;
  /** The provider may have accepted the mail before the failure (timeout, HTTP 500/502/504). @default false */
  possiblyDelivered?: boolean;
  /** HTTP status or SMTP reply code returned by the provider. */
  status?: number;
  /** The provider's own explanation, with secrets removed. */
  providerMessage?: string;
  /** Name of the backend that failed (`smtp`, `sendgrid`...). */
  backend?: string;
  /** How long the provider asked us to wait (`Retry-After`), in ms. */
  retryAfterMs?: number;
  /** A sanitized copy of the underlying error (never the SDK's own error object). */
  cause?: Error;
}

/** Every email failure: `code` is stable and safe to branch on; no text in it carries a secret. */
export class EmailError extends Error {
  override readonly name = 'EmailError';
  /** Whether trying the same send again later may succeed. */
  readonly retryable: boolean;
  /** Whether the provider may have accepted the mail before the failure. */
  readonly possiblyDelivered: boolean;
  /** HTTP status or SMTP reply code returned by the provider. */
  readonly status?: number;
  /** The provider's own explanation, sanitized. */
  readonly providerMessage?: string;
  /** Name of the backend that failed. */
  readonly backend?: string;
  /** How long the provider asked us to wait, in ms. */
  readonly retryAfterMs?: number;

  constructor(
    readonly code: EmailErrorCode,
    message: string,
    details: EmailErrorDetails = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.retryable = details.retryable ?? false;
    this.possiblyDelivered = details.possiblyDelivered ?? false;
    if (details.status !== undefined) this.status = details.status;
    if (details.providerMessage !== undefined) this.providerMessage = details.providerMessage;
    if (details.backend !== undefined) this.backend = details.backend;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
  }

  /** The safe fields only, for structured logs. */
  toJSON(): Record<string, unknown> {
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      possiblyDelivered: this.possiblyDelivered,
      status: this.status,
      providerMessage: this.providerMessage,
      backend: this.backend,
      retryAfterMs: this.retryAfterMs,
    };
  }
}
