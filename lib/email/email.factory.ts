import { EmailError } from '../errors/email.error.js';
import type { Backend } from '../storage/index.js';
import type { BulkResult, EmailBackend, SentEmail } from './email-backend.interface.js';
import type { EmailOptions } from './email-options.interface.js';
import { ConsoleEmailBackend } from './console-email.backend.js';
import { EmailMessages } from './email.messages.js';
import { EmailRoutingMessages } from './email-routing.messages.js';
import { createFailoverBackend } from './failover.factory.js';
import { MailgunBackend } from './mailgun.backend.js';
import { MemoryEmailBackend } from './memory-email.backend.js';
import { SendGridBackend } from './sendgrid.backend.js';
import { SesBackend } from './ses.backend.js';
import { SmtpBackend } from './smtp.backend.js';

/** An email backend and whether the module that built it must close it. */
export interface OwnedEmailBackend {
  backend: EmailBackend;
  owned: boolean;
}

/** Whether `value` already implements {@link EmailBackend}. */
export function isEmailBackend(value: unknown): value is EmailBackend {
  const v = value as Partial<EmailBackend> | undefined;
  return typeof v?.sendEmail === 'function' && typeof v.sendBulk === 'function' && typeof v.close === 'function';
}

/** What `EMAIL_BACKEND` resolves to when `email` is not configured: every send fails with `configuration`. */
class UnconfiguredEmailBackend implements EmailBackend {
  async sendEmail(): Promise<SentEmail> {
    throw new EmailError('configuration', EmailMessages.notConfigured());
  }
  async sendBulk(emails: readonly unknown[]): Promise<BulkResult[]> {
    return emails.map(() => ({ ok: false, error: new EmailError('configuration', EmailMessages.notConfigured()) }));
  }
  async close(): Promise<void> {}
}

/**
 * Builds the email backend described by the module options; `storage` (the module's
 * `STORAGE_BACKEND`) keeps idempotency keys unless the options name their own store. A failover's
 * members are built the same way and closed with it.
 */
export function createEmailBackend(options: EmailOptions | undefined, storage?: Backend): OwnedEmailBackend {
  if (options === undefined) return { backend: new UnconfiguredEmailBackend(), owned: true };
  if (isEmailBackend(options)) return { backend: options, owned: false };
  const store = { idempotencyStore: storage };
  switch (options.type) {
    case 'memory': {
      const { type: _t, ...rest } = options;
      return { backend: new MemoryEmailBackend({ ...store, ...rest }), owned: true };
    }
    case 'console': {
      const { type: _t, ...rest } = options;
      return { backend: new ConsoleEmailBackend({ ...store, ...rest }), owned: true };
    }
    case 'smtp': {
      const { type: _t, ...rest } = options;
      return { backend: new SmtpBackend({ ...store, ...rest }), owned: true };
    }
    case 'sendgrid': {
      const { type: _t, apiKey, ...rest } = options;
      return { backend: new SendGridBackend(apiKey, { ...store, ...rest }), owned: true };
    }
    case 'ses': {
      const { type: _t, ...rest } = options;
      return { backend: new SesBackend({ ...store, ...rest } as typeof rest), owned: true };
    }
    case 'mailgun': {
      const { type: _t, apiKey, domain, ...rest } = options;
      return { backend: new MailgunBackend(apiKey, domain, { ...store, ...rest }), owned: true };
    }
    case 'failover':
      return createFailoverBackend(options, storage, createEmailBackend);
    default:
      throw new EmailError('configuration', EmailRoutingMessages.unknownType((options as { type?: unknown }).type));
  }
}
