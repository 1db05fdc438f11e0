import { EmailError } from '../errors/email.error.js';
import { EmailMessages } from './email.messages.js';

/** Content accepted for an attachment; a string is taken as UTF-8. */
export type AttachmentContent = Buffer | Uint8Array | string;

/** @internal Copies accepted content into a fresh Buffer, or throws a validation error. */
export function toBuffer(content: unknown): Buffer {
  if (typeof content === 'string') return Buffer.from(content, 'utf8');
  if (content instanceof Uint8Array) return Buffer.from(content);
  throw new EmailError('validation', EmailMessages.invalidContent());
}

/** A file attached to an {@link Email}; `inline` ones are referenced from the HTML as `cid:<contentId>`. */
export class Attachment {
  readonly #content: Buffer;
  /** Content id for `cid:` references (inline attachments only). */
  readonly contentId?: string;
  /** Whether the attachment is shown inline (an image referenced from the HTML). */
  readonly inline: boolean;

  /** A regular attachment; the content is copied. */
  constructor(
    readonly filename: string,
    readonly contentType: string,
    content: AttachmentContent,
    contentId?: string,
  ) {
    this.#content = toBuffer(content);
    this.inline = contentId !== undefined;
    if (contentId !== undefined) this.contentId = contentId;
    Object.freeze(this);
  }

  /** An inline attachment referenced from the HTML body as `cid:<contentId>`. */
  static inline(filename: string, contentType: string, content: AttachmentContent, contentId: string): Attachment {
    return new Attachment(filename, contentType, content, contentId);
  }

  /** A copy of the bytes. */
  get content(): Buffer {
    return Buffer.from(this.#content);
  }

  /** Size in bytes. */
  get size(): number {
    return this.#content.length;
  }
}
