import type { EmailBackend } from './email-backend.interface.js';
import type { ConsoleEmailBackendOptions } from './console-email.backend.js';
import type { FailoverOn } from './failover-email.interface.js';
import type { MailgunOptions } from './mailgun.backend.js';
import type { MemoryEmailBackendOptions } from './memory-email.backend.js';
import type { SendGridOptions } from './sendgrid.backend.js';
import type { SesConfig } from './ses.backend.js';
import type { SmtpConfig } from './smtp.backend.js';

/** {@link MemoryEmailBackend}: keeps sent emails in memory (tests). */
export type MemoryEmailOptions = { type: 'memory' } & MemoryEmailBackendOptions;
/** {@link ConsoleEmailBackend}: writes the RFC 5322 message to a stream (development). */
export type ConsoleEmailOptions = { type: 'console' } & ConsoleEmailBackendOptions;
/** {@link SmtpBackend}: nodemailer's pooled SMTP transport. */
export type SmtpEmailOptions = { type: 'smtp' } & SmtpConfig;
/** {@link SendGridBackend}: the SendGrid v3 API. */
export type SendGridEmailOptions = { type: 'sendgrid'; apiKey: string } & SendGridOptions;
/** {@link SesBackend}: Amazon SES v2. */
export type SesEmailOptions = { type: 'ses' } & SesConfig;
/** {@link MailgunBackend}: the Mailgun Messages API. */
export type MailgunEmailOptions = { type: 'mailgun'; apiKey: string; domain: string } & MailgunOptions;

/** A description of one provider backend (every `type` except `failover`). */
export type ProviderEmailOptions =
  | MemoryEmailOptions
  | ConsoleEmailOptions
  | SmtpEmailOptions
  | SendGridEmailOptions
  | SesEmailOptions
  | MailgunEmailOptions;

/**
 * One backend of a failover chain: a description with an optional `name` (reported in `SentEmail.backend`;
 * @default its `type`), an {@link EmailBackend} object, or `{ name, backend }` (objects are never closed by the chain).
 */
export type FailoverMemberOptions =
  (ProviderEmailOptions & { name?: string }) | EmailBackend | { name: string; backend: EmailBackend };

/** {@link FailoverEmailBackend}: tries `backends` in order (created and closed by the module, except objects). */
export interface FailoverEmailOptions {
  type: 'failover';
  /** The chain, primary first; at least one, and none of them a failover itself. */
  backends: readonly FailoverMemberOptions[];
  /** Which failures move a send to the next backend. @default 'transient' */
  failoverOn?: FailoverOn;
}

/** How the module gets its email backend: a description of one, or any {@link EmailBackend} object. */
export type EmailOptions = ProviderEmailOptions | FailoverEmailOptions | EmailBackend;

/**
 * Several email backends by name (told apart from the one-backend form by having `backends` and no
 * `type`): `default` is the one behind `EMAIL_BACKEND` and `@InjectEmail()`, every other one is
 * injected with `@InjectEmail(name)` (token: `getEmailBackendToken(name)`).
 */
export interface NamedEmailOptions {
  /** The backends by name; names are letters, digits, `_`, `-`, `.` and `:`, and `default` is required. */
  backends: { default: EmailOptions } & Record<string, EmailOptions>;
}
