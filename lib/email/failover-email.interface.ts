import type { EmailError } from '../errors/email.error.js';
import type { EmailFailoverAttempt } from '../errors/email-failover.error.js';
import type { Backend } from '../storage/index.js';
import type { EmailBackend, RejectedRecipient, SentEmail } from './email-backend.interface.js';

/**
 * Which failures move a send on to the next backend of a failover chain. `transient`: retryable
 * ones (429, 503, SMTP 4xx, connection refused) that did not leave the mail in doubt; `any`: every
 * failure except a validation error and, for a send with an idempotency key, one in doubt.
 */
export type FailoverOn = 'transient' | 'any';

/** Options of {@link FailoverEmailBackend}. */
export interface FailoverEmailBackendOptions {
  /** Which failures move a send to the next backend. @default 'transient' */
  failoverOn?: FailoverOn;
  /**
   * Where the chain remembers, per idempotency key, which backend sent the email or that it ended in
   * doubt (the module passes its storage). @default a private MemoryBackend
   */
  idempotencyStore?: Backend;
  /** How long that is remembered, in ms. @default 86400000 (24 h) */
  idempotencyTtlMs?: number;
}

/** A backend of a failover chain with the name results report, and whether the chain closes it. */
export interface FailoverMember {
  /** The backend. */
  backend: EmailBackend;
  /** Reported in `SentEmail.backend` and in errors. @default the name the backend reports (its type) */
  name?: string;
  /** The chain created it, so its `close()` closes it. @default false */
  owned?: boolean;
}

/** What a send through a failover chain resolves to: `backend` names the backend that sent it. */
export interface FailoverSentEmail extends SentEmail {
  /** The backends that failed this send before `backend` took it, in order; empty when the first one sent it. */
  failedOver: EmailFailoverAttempt[];
}

/** The outcome of one email of a bulk send through a failover chain. */
export type FailoverBulkResult =
  | { ok: true; messageId: string; backend: string; rejected?: RejectedRecipient[]; failedOver: EmailFailoverAttempt[] }
  | { ok: false; error: EmailError };
