import { EmailError } from '../errors/email.error.js';
import { toBuffer } from './attachment.js';
import { EmailMessages } from './email.messages.js';

/** A parsed address: the bare `address` and an optional display name. */
export interface Mailbox {
  name?: string;
  address: string;
}

/** @internal An attachment checked and copied for one send. */
export interface ValidatedAttachment {
  filename: string;
  contentType: string;
  content: Buffer;
  contentId?: string;
  inline: boolean;
}

/** @internal What a backend sends: every field checked, addresses parsed, content copied. */
export interface ValidatedEmail {
  from: Mailbox;
  to: Mailbox[];
  cc: Mailbox[];
  bcc: Mailbox[];
  replyTo?: Mailbox;
  subject: string;
  text?: string;
  html?: string;
  attachments: ValidatedAttachment[];
  headers: { name: string; value: string }[];
  tags: string[];
  metadata: [string, string][];
  /** The object that was validated. */
  source: object;
}

/** Longest address (RFC 5321 path limit minus the angle brackets). */
export const MAX_ADDRESS_LENGTH = 254;
const MAX_LOCAL_LENGTH = 64;
const MAX_LABEL_LENGTH = 63;

/** C0 and C1 controls, DEL, and the Unicode line and paragraph separators. */

const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/;
const HEADER_NAME = /^[\x21-\x39\x3b-\x7e]+$/;
const TOKEN = "[A-Za-z0-9!#$&^_.+'-]+";
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"\\\\]*"))*$`);
const CONTENT_ID = /^[A-Za-z0-9._@+-]{1,200}$/;
/** An RFC 2047 encoded word (`=?charset?B|Q?text?=`), which mail readers decode wherever they find one. */
const ENCODED_WORD = /=\?[^?\s]+\?[bq]\?[^?\s]*\?=/i;
/** Characters that RFC 5322 forbids in an unquoted display name (obs-phrase allows `.`). */
const NAME_SPECIALS = /[()<>[\]:;@\\,"]/;

/** Headers the backends write themselves; a custom header with one of these names is refused. */
export const RESERVED_HEADERS: ReadonlySet<string> = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'reply-to',
  'sender',
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
]);

function invalid(message: string): EmailError {
  return new EmailError('validation', message);
}

/** Throws unless `value` is a string free of control characters. */
export function assertSafeText(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw invalid(EmailMessages.notText(what));
  if (CONTROL.test(value)) throw invalid(EmailMessages.controlChar(what));
}

/**
 * Throws when `value` holds text shaped like an RFC 2047 encoded word: ASCII header text is sent
 * verbatim and mail readers decode such words, so the value would not arrive as given.
 */
function assertNoEncodedWord(value: string, what: string): void {
  if (ENCODED_WORD.test(value)) throw invalid(EmailMessages.encodedWord(what));
}

function parseAddrSpec(spec: string, what: string): string {
  const fail = (why: string) => invalid(EmailMessages.invalidAddress(what, why));
  if (spec.length === 0) throw fail('it is empty');
  if (spec.length > MAX_ADDRESS_LENGTH) throw fail(`it is longer than ${MAX_ADDRESS_LENGTH} characters`);
  if (spec.startsWith('"')) throw fail('quoted local parts are not accepted');
  const at = spec.indexOf('@');
  if (at < 0) throw fail('it has no @');
  if (spec.indexOf('@', at + 1) >= 0) throw fail('it has more than one @');
  const local = spec.slice(0, at);
  const domain = spec.slice(at + 1);
  if (local.length === 0 || local.length > MAX_LOCAL_LENGTH) throw fail('the local part must be 1 to 64 characters');
  if (!local.split('.').every((atom) => ATEXT.test(atom))) throw fail('the local part is not a dot-atom');
  if (domain.startsWith('[')) throw fail('domain literals are not accepted');
  const labels = domain.split('.');
  if (!labels.every((l) => l.length <= MAX_LABEL_LENGTH && LABEL.test(l))) throw fail('the domain is not a host name');
  return spec;
}

function parseName(raw: string, what: string): string | undefined {
  const fail = (why: string) => invalid(EmailMessages.invalidAddress(what, why));
  const trimmed = raw.trim();
  if (trimmed.length === 0) return undefined;
  if (trimmed.startsWith('"')) {
    let out = '';
    let i = 1;
    for (; i < trimmed.length; i++) {
      const c = trimmed[i];
      if (c === '\\') {
        i++;
        if (i >= trimmed.length) throw fail('the display name ends inside an escape');
        out += trimmed[i];
      } else if (c === '"') break;
      else out += c;
    }
    if (i !== trimmed.length - 1) throw fail('text follows the quoted display name');
    // Blanks at the ends carry no meaning and no RFC 5322 parser keeps them.
    const name = out.trim();
    return name.length === 0 ? undefined : name;
  }
  if (NAME_SPECIALS.test(trimmed)) {
    throw fail(
      trimmed.includes('(') ? 'comments are not accepted' : 'the display name has special characters: quote it',
    );
  }
  return trimmed.replace(/ {2,}/g, ' ');
}

/**
 * Parses one address, `a@example.com` or `Name <a@example.com>`, with a strict subset of RFC 5322:
 * no quoted local parts, comments, groups, domain literals or lists. Throws `EmailError` (`validation`).
 */
export function parseMailbox(input: unknown, what = 'address'): Mailbox {
  assertSafeText(input, what);
  const text = input.trim();
  const lt = text.indexOf('<');
  if (lt < 0) {
    if (text.includes('>')) throw invalid(EmailMessages.invalidAddress(what, 'it has a stray >'));
    return { address: parseAddrSpec(text, what) };
  }
  // The angle address must close the input, and the name may only hold "<" inside its quotes.
  if (!text.endsWith('>')) throw invalid(EmailMessages.invalidAddress(what, 'text follows the angle address'));
  let inQuotes = false;
  let open = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inQuotes && c === '\\') i++;
    else if (c === '"') inQuotes = !inQuotes;
    else if (!inQuotes && c === '<') {
      open = i;
      break;
    }
  }
  if (open < 0) throw invalid(EmailMessages.invalidAddress(what, 'it has no angle address'));
  const spec = text.slice(open + 1, -1);
  if (/[<>]/.test(spec)) throw invalid(EmailMessages.invalidAddress(what, 'it has nested angle brackets'));
  const address = parseAddrSpec(spec.trim(), what);
  const name = parseName(text.slice(0, open), what);
  if (name !== undefined) assertNoEncodedWord(name, what);
  return name === undefined ? { address } : { name, address };
}

function parseList(values: unknown, what: string): Mailbox[] {
  if (!Array.isArray(values)) throw invalid(EmailMessages.notText(what));
  return values.map((v, i) => parseMailbox(v, `${what}[${i}]`));
}

function entriesOf(record: unknown, what: string): [string, string][] {
  if (record === null || typeof record !== 'object') throw invalid(EmailMessages.notText(what));
  return Object.entries(record as Record<string, unknown>) as [string, string][];
}

/**
 * Checks an {@link Email} (or an object shaped like one) before any I/O and returns the parsed,
 * copied form the backends send. Throws `EmailError` (`validation`).
 */
export function validateEmail(email: unknown, rawHeaders?: readonly (readonly [string, string])[]): ValidatedEmail {
  if (email === null || typeof email !== 'object') throw invalid(EmailMessages.notAnEmail());
  const e = email as Record<string, unknown>;
  if (e.from === undefined || e.from === '') throw invalid(EmailMessages.missingSender());
  const from = parseMailbox(e.from, 'from');
  const to = parseList(e.to ?? [], 'to');
  const cc = parseList(e.cc ?? [], 'cc');
  const bcc = parseList(e.bcc ?? [], 'bcc');
  if (to.length + cc.length + bcc.length === 0) throw invalid(EmailMessages.missingRecipient());
  const replyTo = e.replyTo === undefined ? undefined : parseMailbox(e.replyTo, 'replyTo');

  if (e.subject === undefined) throw invalid(EmailMessages.emptySubject());
  assertSafeText(e.subject, 'subject');
  assertNoEncodedWord(e.subject, 'subject');
  if (e.subject.trim().length === 0) throw invalid(EmailMessages.emptySubject());

  if (e.text !== undefined && typeof e.text !== 'string') throw invalid(EmailMessages.notText('text'));
  if (e.html !== undefined && typeof e.html !== 'string') throw invalid(EmailMessages.notText('html'));
  const text = e.text as string | undefined;
  const html = e.html as string | undefined;
  if (!text && !html) throw invalid(EmailMessages.missingBody());

  const headers: { name: string; value: string }[] = [];
  const seen = new Set<string>();
  for (const [name, value] of rawHeaders ?? entriesOf(e.headers ?? {}, 'headers')) {
    if (typeof name !== 'string' || !HEADER_NAME.test(name))
      throw invalid(EmailMessages.invalidHeaderName(String(name)));
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) throw invalid(EmailMessages.reservedHeader(name));
    if (seen.has(lower)) throw invalid(EmailMessages.duplicateHeader(name));
    seen.add(lower);
    assertSafeText(value, `header ${name}`);
    assertNoEncodedWord(value, `header ${name}`);
    headers.push({ name, value });
  }

  if (!Array.isArray(e.tags ?? [])) throw invalid(EmailMessages.invalidTag());
  const tags = [...((e.tags ?? []) as unknown[])].map((t) => {
    if (typeof t !== 'string' || t.length === 0 || CONTROL.test(t)) throw invalid(EmailMessages.invalidTag());
    return t;
  });
  const metadata = entriesOf(e.metadata ?? {}, 'metadata').map(([k, v]): [string, string] => {
    if (k.length === 0 || CONTROL.test(k) || typeof v !== 'string' || CONTROL.test(v)) {
      throw invalid(EmailMessages.invalidMetadata());
    }
    return [k, v];
  });

  if (!Array.isArray(e.attachments ?? [])) throw invalid(EmailMessages.invalidContent());
  const cids = new Set<string>();
  const attachments = ((e.attachments ?? []) as Record<string, unknown>[]).map((a, i): ValidatedAttachment => {
    if (a === null || typeof a !== 'object') throw invalid(EmailMessages.invalidContent());
    assertSafeText(a.filename, `attachments[${i}].filename`);
    if (a.filename.trim().length === 0) throw invalid(EmailMessages.notText(`attachments[${i}].filename`));
    assertNoEncodedWord(a.filename, `attachments[${i}].filename`);
    assertSafeText(a.contentType, `attachments[${i}].contentType`);
    if (!CONTENT_TYPE.test(a.contentType)) throw invalid(EmailMessages.invalidContentType(a.contentType));
    const content = toBuffer(a.content);
    const contentId = a.contentId;
    if (contentId === undefined) {
      return { filename: a.filename, contentType: a.contentType, content, inline: false };
    }
    if (typeof contentId !== 'string' || !CONTENT_ID.test(contentId)) throw invalid(EmailMessages.invalidContentId());
    if (cids.has(contentId)) throw invalid(EmailMessages.duplicateContentId(contentId));
    cids.add(contentId);
    return { filename: a.filename, contentType: a.contentType, content, contentId, inline: true };
  });

  return {
    from,
    to,
    cc,
    bcc,
    replyTo,
    subject: e.subject,
    text,
    html,
    attachments,
    headers,
    tags,
    metadata,
    source: e,
  };
}
