import type { EmailError } from '../errors/email.error.js';
import type { Email } from './email.js';

/** A recipient the provider refused while it accepted the message for the others (SMTP RCPT TO). */
export interface RejectedRecipient {
  /** The refused address. */
  address: string;
  /** The server's reply code (e.g. 550, 450); 0 when it gave none. */
  code: number;
  /** A 5xx refusal (retrying cannot help); a 4xx one was retried for this recipient and still refused. */
  permanent: boolean;
}

/** What a successful send resolves to. */
export interface SentEmail {
  /** The provider's message id (SMTP `Message-ID`, SendGrid `X-Message-Id`, SES `MessageId`, Mailgun `id`). */
  messageId: string;
  /** Name of the backend that sent it: `memory`, `console`, `smtp`, `sendgrid`, `ses` or `mailgun`. */
  backend: string;
  /** Recipients that did not get the message although others did; absent when every recipient was accepted. */
  rejected?: RejectedRecipient[];
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
export type BulkResult =
  { ok: true; messageId: string; rejected?: RejectedRecipient[] } | { ok: false; error: EmailError };

/** One interface over every provider: a service sends the same {@link Email} whatever the app configured. */
export interface EmailBackend {
  /** Validates and sends one email; rejects with `EmailError`. */
  sendEmail(email: Email, opts?: SendOptions): Promise<SentEmail>;
  /** Sends every email with bounded concurrency; one result per email, in order; never rejects because some failed. */
  sendBulk(emails: readonly Email[], opts?: BulkOptions): Promise<BulkResult[]>;
  /**
   * Releases connections and clients the backend opened. Sends in flight get until their attempt's
   * deadline (`timeoutMs`); retries not yet started are dropped.
   */
  close(): Promise<void>;
}
