import type { Writable } from 'node:stream';
import type { EmailError } from '../errors/email.error.js';
import { assertPackage } from '../utils/load-package.util.js';
import { BaseEmailBackend, type EmailBackendOptions, asEmailError } from './base-email.backend.js';
import type { ValidatedEmail } from './email.validation.js';
import { composeMime, importMailComposer, type MailComposerCtor } from './mime.composer.js';

/** Options of {@link ConsoleEmailBackend}. */
export interface ConsoleEmailBackendOptions extends EmailBackendOptions {
  /** Where the messages are written. @default process.stdout */
  stream?: Writable;
}

const SEPARATOR = `\r\n${'-'.repeat(79)}\r\n`;

/**
 * Writes each email as the full RFC 5322 message that would go over SMTP (Bcc left out), followed by
 * a separator line, to a stream: a development default. Needs nodemailer to compose the message.
 */
export class ConsoleEmailBackend extends BaseEmailBackend {
  readonly kind = 'console';
  readonly #stream: Writable;
  #Composer?: MailComposerCtor;

  constructor(options: ConsoleEmailBackendOptions = {}) {
    super(options, 'console');
    // nodemailer is imported on the first send; a missing package is still reported here.
    assertPackage('nodemailer', 'ConsoleEmailBackend');
    this.#stream = options.stream ?? process.stdout;
  }

  protected async deliver(message: ValidatedEmail): Promise<string> {
    this.#Composer ??= await importMailComposer('ConsoleEmailBackend');
    const { raw, messageId } = await composeMime(this.#Composer, message);
    const text = Buffer.concat([raw, Buffer.from(SEPARATOR)]);
    await new Promise<void>((resolve, reject) => {
      this.#stream.write(text, (err) => (err ? reject(err) : resolve()));
    });
    return messageId;
  }

  protected toEmailError(err: unknown): EmailError {
    return asEmailError(err, this.kind);
  }
}
