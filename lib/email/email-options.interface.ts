import type { EmailBackend } from './email-backend.interface.js';
import type { ConsoleEmailBackendOptions } from './console-email.backend.js';
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

/** How the module gets its email backend: a description of one, or any {@link EmailBackend} object. */
export type EmailOptions =
  | MemoryEmailOptions
  | ConsoleEmailOptions
  | SmtpEmailOptions
  | SendGridEmailOptions
  | SesEmailOptions
  | MailgunEmailOptions
  | EmailBackend;
