import type { EmailError } from '../errors/email.error.js';
import type { Email } from './email.js';

/** What a successful send resolves to. */
export interface SentEmail {
  /** The provider's message id (SMTP `Message-ID`, SendGrid `X-Message-Id`, SES `MessageId`, Mailgun `id`). */
  messageId: string;
  /** Name of the backend that sent it: `memory`, `console`, `smtp`, `sendgrid`, `ses` or `mailgun`. */
  backend: string;
}

/** Options of {@link EmailBackend.sendEmail}. */
export interface SendOptions {
  /**
   * Sending the same key again (within 24 h) returns the first result without a provider call. A
   * send that ended in doubt (`possiblyDelivered`) keeps its key, so sending it again fails at once
   * instead of delivering a second copy.
   */
  idempotencyKey?: string;
}

/** Options of {@link EmailBackend.sendBulk}. */
export interface BulkOptions {
  /** Most sends in flight at once. @default 5 */
  concurrency?: number;
}

/** The outcome of one email of a bulk send. */
export type BulkResult = { ok: true; messageId: string } | { ok: false; error: EmailError };

/** One interface over every provider: a service sends the same {@link Email} whatever the app configured. */
export interface EmailBackend {
  /** Validates and sends one email; rejects with `EmailError`. */
  sendEmail(email: Email, opts?: SendOptions): Promise<SentEmail>;
  /** Sends every email with bounded concurrency; one result per email, in order; never rejects because some failed. */
  sendBulk(emails: readonly Email[], opts?: BulkOptions): Promise<BulkResult[]>;
  /** Releases connections and clients the backend opened. */
  close(): Promise<void>;
}
