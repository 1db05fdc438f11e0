import addressparser from 'nodemailer/lib/addressparser';
import libmime from 'libmime';
import type { AddressObject, ParsedMail } from 'mailparser';
import type { DeliveredEmail } from '../contracts/email-backend.contract.js';
import type { Email } from '../../lib/index.js';
import type { SendGridBody } from '../utils/sendgrid-peer.js';
import { fieldValues, type MailgunForm } from '../utils/mailgun-peer.js';
import type { SesStoredEmail } from '../utils/ses-peer.js';

const STANDARD = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
  'content-disposition',
  'content-id',
  'return-path',
  'received',
  'x-mailer',
]);

/** Parses one address (`Name <a@b>`, possibly RFC 2047 encoded) with nodemailer's own parser. */
export function parseAddress(text: string): { address: string; name?: string } {
  const [first] = addressparser(libmime.decodeWords(text)) as { address?: string; name?: string }[];
  return first.name ? { address: first.address ?? '', name: first.name } : { address: first.address ?? '' };
}

function addresses(obj: AddressObject | AddressObject[] | undefined): string[] {
  const list = obj === undefined ? [] : Array.isArray(obj) ? obj : [obj];
  return list.flatMap((o) => o.value.map((v) => v.address ?? ''));
}

/** Normalizes a message parsed by mailparser (SMTP and console backends). */
export function fromParsedMail(parsed: ParsedMail, raw: Buffer, envelope?: string[]): DeliveredEmail {
  const headers: Record<string, string> = {};
  for (const [key, value] of parsed.headers) {
    if (!STANDARD.has(key) && typeof value === 'string') headers[key] = libmime.decodeWords(value);
  }
  const fromValue = parsed.from?.value[0];
  const rawHeaders = raw.toString('utf8').split(/\r?\n\r?\n/)[0];
  return {
    from: fromValue?.name
      ? { address: fromValue.address ?? '', name: fromValue.name }
      : { address: fromValue?.address ?? '' },
    to: addresses(parsed.to),
    cc: addresses(parsed.cc),
    recipients: envelope,
    visibleBcc: [...addresses(parsed.bcc), ...(/^bcc:/im.test(rawHeaders) ? ['<Bcc header>'] : [])],
    replyTo: addresses(parsed.replyTo)[0],
    subject: parsed.subject ?? '',
    text: parsed.text,
    html: parsed.html === false ? undefined : parsed.html,
    attachments: parsed.attachments.map((a) => ({
      filename: a.filename ?? '',
      contentType: a.contentType,
      content: a.content,
    })),
    headers,
  };
}

/** Normalizes a SendGrid request body. */
export function fromSendGrid(b: SendGridBody): DeliveredEmail {
  const p = b.personalizations[0];
  const emails = (list?: { email: string }[]) => (list ?? []).map((a) => a.email);
  return {
    from: b.from.name ? { address: b.from.email, name: b.from.name } : { address: b.from.email },
    to: emails(p.to),
    cc: emails(p.cc),
    recipients: [...emails(p.to), ...emails(p.cc), ...emails(p.bcc)],
    visibleBcc: Object.keys(b.headers ?? {}).filter((h) => h.toLowerCase() === 'bcc'),
    replyTo: b.reply_to?.email,
    subject: b.subject,
    text: b.content.find((c) => c.type === 'text/plain')?.value,
    html: b.content.find((c) => c.type === 'text/html')?.value,
    attachments: (b.attachments ?? []).map((a) => ({
      filename: a.filename,
      contentType: a.type ?? '',
      content: Buffer.from(a.content, 'base64'),
    })),
    headers: Object.fromEntries(Object.entries(b.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
  };
}

/** Normalizes a Mailgun `messages` form. */
export function fromMailgun(form: MailgunForm): DeliveredEmail {
  const headers: Record<string, string> = {};
  for (const [k, v] of form.fields) if (k.startsWith('h:') && k !== 'h:Reply-To') headers[k.slice(2).toLowerCase()] = v;
  const to = fieldValues(form, 'to').map((t) => parseAddress(t).address);
  const cc = fieldValues(form, 'cc').map((t) => parseAddress(t).address);
  const bcc = fieldValues(form, 'bcc').map((t) => parseAddress(t).address);
  const replyTo = fieldValues(form, 'h:Reply-To')[0];
  return {
    from: parseAddress(fieldValues(form, 'from')[0]),
    to,
    cc,
    recipients: [...to, ...cc, ...bcc],
    visibleBcc: Object.keys(headers).filter((h) => h === 'bcc'),
    replyTo: replyTo ? parseAddress(replyTo).address : undefined,
    subject: fieldValues(form, 'subject')[0],
    text: fieldValues(form, 'text')[0],
    html: fieldValues(form, 'html')[0],
    attachments: form.files
      .filter((f) => f.field === 'attachment')
      .map((f) => ({ filename: f.filename, contentType: f.mimeType, content: f.data })),
    headers,
  };
}

/** Normalizes an email stored by aws-ses-v2-local (Simple content). */
export function fromSes(e: SesStoredEmail): DeliveredEmail {
  const addr = (list: string[]) => list.map((t) => parseAddress(t).address);
  const headers: Record<string, string> = {};
  for (const h of e.headers ?? []) headers[h.name.toLowerCase()] = h.value;
  return {
    from: parseAddress(e.from),
    to: addr(e.destination.to),
    cc: addr(e.destination.cc),
    recipients: [...addr(e.destination.to), ...addr(e.destination.cc), ...addr(e.destination.bcc)],
    visibleBcc: Object.keys(headers).filter((h) => h === 'bcc'),
    replyTo: e.replyTo[0] ? parseAddress(e.replyTo[0]).address : undefined,
    subject: libmime.decodeWords(e.subject),
    text: e.body.text,
    html: e.body.html,
    attachments: e.attachments.map((a) => ({
      filename: a.filename ?? '',
      contentType: a.contentType,
      content: Buffer.from(a.content, 'base64'),
    })),
    headers,
  };
}

/** Normalizes an Email kept by the MemoryEmailBackend. */
export function fromEmail(e: Email): DeliveredEmail {
  const addr = (list: readonly string[]) => list.map((t) => parseAddress(t).address);
  return {
    from: parseAddress(e.from),
    to: addr(e.to),
    cc: addr(e.cc),
    recipients: [...addr(e.to), ...addr(e.cc), ...addr(e.bcc)],
    visibleBcc: Object.keys(e.headers).filter((h) => h.toLowerCase() === 'bcc'),
    replyTo: e.replyTo ? parseAddress(e.replyTo).address : undefined,
    subject: e.subject,
    text: e.text,
    html: e.html,
    attachments: e.attachments.map((a) => ({ filename: a.filename, contentType: a.contentType, content: a.content })),
    headers: Object.fromEntries(Object.entries(e.headers).map(([k, v]) => [k.toLowerCase(), v])),
  };
}
