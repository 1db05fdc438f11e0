import { randomUUID } from 'node:crypto';
import type { EmailError } from '../errors/email.error.js';
import { Attachment } from './attachment.js';
import { BaseEmailBackend, type EmailBackendOptions, asEmailError } from './base-email.backend.js';
import { Email } from './email.js';
import type { ValidatedEmail } from './email.validation.js';
import { formatMailbox } from './email.format.js';

/** Options of {@link MemoryEmailBackend}. */
export type MemoryEmailBackendOptions = EmailBackendOptions;

function rebuild(m: ValidatedEmail): Email {
  const b = Email.builder().from(formatMailbox(m.from)).subject(m.subject);
  for (const t of m.to) b.to(formatMailbox(t));
  for (const c of m.cc) b.cc(formatMailbox(c));
  for (const c of m.bcc) b.bcc(formatMailbox(c));
  if (m.replyTo) b.replyTo(formatMailbox(m.replyTo));
  if (m.text) b.textBody(m.text);
  if (m.html) b.htmlBody(m.html);
  for (const a of m.attachments) b.attachment(new Attachment(a.filename, a.contentType, a.content, a.contentId));
  for (const h of m.headers) b.header(h.name, h.value);
  for (const t of m.tags) b.tag(t);
  for (const [k, v] of m.metadata) b.metadata(k, v);
  return b.build();
}

/** One email held by {@link MemoryEmailBackend}. */
export interface SentRecord {
  email: Email;
  messageId: string;
  sentAt: Date;
}

/** Keeps every sent email in memory: the `mail.outbox` of this library, for your own tests. */
export class MemoryEmailBackend extends BaseEmailBackend {
  readonly kind = 'memory';
  readonly #outbox: SentRecord[] = [];

  constructor(options: MemoryEmailBackendOptions = {}) {
    super(options, 'memory');
  }

  /** The emails sent so far, oldest first (a new array each call; emails are immutable). */
  sentEmails(): Email[] {
    return this.#outbox.map((s) => s.email);
  }

  /** The message ids of the emails sent so far, oldest first. */
  messageIds(): string[] {
    return this.#outbox.map((s) => s.messageId);
  }

  /** Every email sent so far with its message id and time, oldest first (copies of the records). */
  sentRecords(): SentRecord[] {
    return this.#outbox.map((s) => ({ ...s, sentAt: new Date(s.sentAt) }));
  }

  /** Forgets every sent email. */
  clear(): void {
    this.#outbox.length = 0;
  }

  protected async deliver(message: ValidatedEmail): Promise<string> {
    const messageId = `<${randomUUID()}@memory.nestjs-backends>`;
    const email = message.source instanceof Email ? message.source : rebuild(message);
    this.#outbox.push({ email, messageId, sentAt: new Date() });
    return messageId;
  }

  protected toEmailError(err: unknown): EmailError {
    return asEmailError(err, this.kind);
  }

  protected override describe(): Record<string, unknown> {
    return { sent: this.#outbox.length };
  }
}
