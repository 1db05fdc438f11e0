import type { Mailbox, ValidatedEmail } from './email.validation.js';

const PLAIN_NAME = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]+$/;

function encodedWords(text: string): string {
  // RFC 2047 B-encoding, split on character boundaries so no word exceeds 75 characters.
  const words: string[] = [];
  let chunk = '';
  for (const ch of text) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(' ');
}

/**
 * @internal Formats a mailbox as `Name <addr>`; names with specials are quoted, and non-ASCII names
 * are RFC 2047 encoded when `encode` is set (APIs that expect header syntax, such as SES).
 */
export function formatMailbox(m: Mailbox, encode = false): string {
  if (m.name === undefined) return m.address;

  if (encode && /[^\x00-\x7f]/.test(m.name)) return `${encodedWords(m.name)} <${m.address}>`;
  if (PLAIN_NAME.test(m.name)) return `${m.name} <${m.address}>`;
  return `"${m.name.replace(/[\\"]/g, '\\$&')}" <${m.address}>`;
}

/** @internal The nodemailer message options for a validated email (addresses pre-parsed, no file or URL access). */
export function toNodemailerMessage(m: ValidatedEmail): Record<string, unknown> {
  const box = (b: Mailbox) => ({ name: b.name ?? '', address: b.address });
  return {
    from: box(m.from),
    to: m.to.map(box),
    cc: m.cc.map(box),
    bcc: m.bcc.map(box),
    ...(m.replyTo ? { replyTo: box(m.replyTo) } : {}),
    subject: m.subject,
    ...(m.text ? { text: m.text } : {}),
    ...(m.html ? { html: m.html } : {}),
    attachments: m.attachments.map((a) => ({
      filename: a.filename,
      contentType: a.contentType,
      content: a.content,
      contentDisposition: a.inline ? 'inline' : 'attachment',
      ...(a.contentId ? { cid: a.contentId } : {}),
    })),
    headers: m.headers.map((h) => ({ key: h.name, value: h.value })),
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}

/** @internal Every recipient of the envelope: to, cc and bcc. */
export function envelopeRecipients(m: ValidatedEmail): string[] {
  return [...m.to, ...m.cc, ...m.bcc].map((b) => b.address);
}
