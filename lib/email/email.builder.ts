import type { Attachment } from './attachment.js';
import { Email, type EmailInit } from './email.js';

/** Fluent builder of an {@link Email}; `build()` validates everything and throws `EmailError` (`validation`). */
export class EmailBuilder {
  readonly #init: EmailInit = { to: [], cc: [], bcc: [], attachments: [], headers: [], tags: [], metadata: [] };

  /** Sets the sender. */
  from(address: string): this {
    this.#init.from = address;
    return this;
  }

  /** Adds a primary recipient (call again to add more). */
  to(address: string): this {
    this.#init.to.push(address);
    return this;
  }

  /** Adds several primary recipients. */
  toList(addresses: readonly string[]): this {
    this.#init.to.push(...addresses);
    return this;
  }

  /** Adds a carbon-copy recipient. */
  cc(address: string): this {
    this.#init.cc.push(address);
    return this;
  }

  /** Adds a blind-copy recipient. */
  bcc(address: string): this {
    this.#init.bcc.push(address);
    return this;
  }

  /** Sets the reply-to address. */
  replyTo(address: string): this {
    this.#init.replyTo = address;
    return this;
  }

  /** Sets the subject. */
  subject(subject: string): this {
    this.#init.subject = subject;
    return this;
  }

  /** Sets the plain-text body. */
  textBody(text: string): this {
    this.#init.text = text;
    return this;
  }

  /** Sets the HTML body. */
  htmlBody(html: string): this {
    this.#init.html = html;
    return this;
  }

  /** Sets both bodies; the text part comes first in multipart/alternative. */
  bothBody(text: string, html: string): this {
    this.#init.text = text;
    this.#init.html = html;
    return this;
  }

  /** Adds an attachment (or an inline one from `Attachment.inline`). */
  attachment(attachment: Attachment): this {
    this.#init.attachments.push(attachment);
    return this;
  }

  /** Adds a custom header; headers the backend owns (`From`, `Bcc`, `Content-Type`...) are refused. */
  header(name: string, value: string): this {
    this.#init.headers.push([name, value]);
    return this;
  }

  /** Adds a provider tag. */
  tag(name: string): this {
    this.#init.tags.push(name);
    return this;
  }

  /** Adds a provider metadata entry (a later value for the same key replaces the earlier one). */
  metadata(key: string, value: string): this {
    this.#init.metadata.push([key, value]);
    return this;
  }

  /** Validates and returns the immutable {@link Email}. */
  build(): Email {
    const i = this.#init;
    return new Email({
      ...i,
      to: [...i.to],
      cc: [...i.cc],
      bcc: [...i.bcc],
      attachments: [...i.attachments],
      headers: [...i.headers],
      tags: [...i.tags],
      metadata: [...i.metadata],
    });
  }
}
