import type MailComposerClass from 'nodemailer/lib/mail-composer';
import { assertPackage, importPackage } from '../utils/load-package.util.js';
import { toNodemailerMessage } from './email.format.js';
import type { ValidatedEmail } from './email.validation.js';

/** @internal nodemailer's MailComposer class. */
export type MailComposerCtor = typeof MailComposerClass;

/**
 * @internal Imports nodemailer's MailComposer (its ES module build, the copy an ESM app shares), or
 * rejects with `MissingDependencyError` naming nodemailer.
 */
export async function importMailComposer(feature: string): Promise<MailComposerCtor> {
  assertPackage('nodemailer', feature);
  return (await importPackage<{ default: MailComposerCtor }>('nodemailer/lib/mail-composer', feature)).default;
}

/** @internal The full RFC 5322 message as it would go over SMTP (MailComposer leaves Bcc out of the headers). */
export async function composeMime(
  Composer: MailComposerCtor,
  message: ValidatedEmail,
): Promise<{ raw: Buffer; messageId: string }> {
  const node = new Composer(toNodemailerMessage(message) as ConstructorParameters<MailComposerCtor>[0]).compile();
  const raw = await node.build();
  return { raw, messageId: node.messageId() };
}
