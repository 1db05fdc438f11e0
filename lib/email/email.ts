import type { Attachment } from './attachment.js';
import { EmailBuilder } from './email.builder.js';
import { validateEmail } from './email.validation.js';

/** @internal Everything an {@link Email} is made of, as the builder collects it. */
export interface EmailInit {
  from?: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject?: string;
  text?: string;
  html?: string;
  attachments: Attachment[];
  headers: [string, string][];
  tags: string[];
  metadata: [string, string][];
}

function frozenRecord(entries: [string, string][]): Readonly<Record<string, string>> {
  const record = Object.create(null) as Record<string, string>;
  for (const [k, v] of entries) record[k] = v;
  return Object.freeze(record);
}

/**
 * An immutable, validated email. Build one with {@link Email.builder}; every field is read-only.
 * @example Email.builder().from('a@example.com').to('b@example.com').subject('Hi').textBody('Hello').build()
 */
export class Email {
  /** Sender, `a@example.com` or `Name <a@example.com>`. */
  readonly from: string;
  /** Primary recipients. */
  readonly to: readonly string[];
  /** Carbon-copy recipients. */
  readonly cc: readonly string[];
  /** Blind-copy recipients: in the envelope, never in the headers. */
  readonly bcc: readonly string[];
  /** Where replies go. */
  readonly replyTo?: string;
  /** Subject line (any Unicode text, no line breaks). */
  readonly subject: string;
  /** Plain-text body. */
  readonly text?: string;
  /** HTML body. */
  readonly html?: string;
  /** Attached and inline files. */
  readonly attachments: readonly Attachment[];
  /** Custom headers, e.g. `X-Tenant-Id`. */
  readonly headers: Readonly<Record<string, string>>;
  /** Provider tags (SendGrid categories, Mailgun `o:tag`, SES tags). */
  readonly tags: readonly string[];
  /** Provider metadata (SendGrid `custom_args`, Mailgun `v:` variables, SES tags). */
  readonly metadata: Readonly<Record<string, string>>;

  /** @internal Use {@link Email.builder}; throws `EmailError` (`validation`) on invalid input. */
  constructor(init: EmailInit) {
    this.from = init.from as string;
    this.to = Object.freeze([...init.to]);
    this.cc = Object.freeze([...init.cc]);
    this.bcc = Object.freeze([...init.bcc]);
    if (init.replyTo !== undefined) this.replyTo = init.replyTo;
    this.subject = init.subject as string;
    if (init.text !== undefined) this.text = init.text;
    if (init.html !== undefined) this.html = init.html;
    this.attachments = Object.freeze([...init.attachments]);
    this.headers = frozenRecord(init.headers);
    this.tags = Object.freeze([...init.tags]);
    this.metadata = frozenRecord(init.metadata);
    validateEmail(this, init.headers);
    Object.freeze(this);
  }

  /** Starts a fluent builder. */
  static builder(): EmailBuilder {
    return new EmailBuilder();
  }
}
