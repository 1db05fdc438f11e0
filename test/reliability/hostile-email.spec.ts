import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import libmime from 'libmime';
import type { AddressObject } from 'mailparser';
import { Attachment, Email, EmailError, type EmailBuilder, SmtpBackend } from '../../lib/index.js';
import { type ReceivedMail, SmtpPeer } from '../utils/smtp-peer.js';

const SEED = 20_260_707;
const RUNS = 60;

/** Pieces that break naive header writers: line breaks, separators, encoded-word look-alikes, injected headers. */
const NASTY = [
  '\r\n',
  '\n',
  '\r',
  '\r\nBcc: evil@attacker.test',
  '\nX-Injected: 1',
  ',',
  ';',
  ':',
  '<',
  '>',
  '"',
  '\\',
  '@',
  '(',
  ')',
  '=?UTF-8?B?QmNjOiBldmlsQGF0dGFja2VyLnRlc3Q=?=',
  '=?utf-8?q?x?=',
  ' ',
  '  ',
  '\t',
  '\u0000',
  '\u0085',
  '\u2028',
  'é',
  '😀',
  'evil@attacker.test',
  'To: x@attacker.test',
  '\uFEFF',
];
const hostile = fc
  .array(fc.oneof(fc.constantFrom(...NASTY), fc.string({ unit: 'grapheme', maxLength: 12 })), {
    minLength: 1,
    maxLength: 10,
  })
  .map((parts) => parts.join(''));

/** The same without control characters: what passes build() and must then arrive intact. */
const printable = fc
  .array(
    fc.oneof(
      fc.constantFrom(...NASTY.filter((n) => !/[\u0000-\u001f\u0085\u2028]/.test(n))),
      fc.string({ unit: 'grapheme', maxLength: 12 }),
    ),
    {
      minLength: 1,
      maxLength: 10,
    },
  )
  .map((parts) => parts.join(''));
const text = fc.oneof(hostile, printable);
const local = fc.stringMatching(/^[a-z0-9!#$%&'*+/=?^_`{|}~-]{1,12}$/);
/** Address-like strings: valid ones, named ones, and valid ones with hostile text around them. */
const addressish = fc.oneof(
  { weight: 10, arbitrary: local.map((l) => `${l}@example.com`) },
  { weight: 3, arbitrary: fc.tuple(printable, local).map(([n, l]) => `${n} <${l}@example.com>`) },
  { weight: 1, arbitrary: fc.tuple(local, text).map(([l, t]) => `${l}@example.com${t}`) },
  { weight: 1, arbitrary: fc.tuple(text, local).map(([t, l]) => `${t}${l}@example.com`) },
);

/** Headers a plain message has; anything else in a received message must be a header the test set. */
const STANDARD = new Set([
  'from',
  'to',
  'cc',
  'reply-to',
  'subject',
  'message-id',
  'date',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

let peer: SmtpPeer;
let backend: SmtpBackend;

beforeAll(async () => {
  peer = await SmtpPeer.start({ mode: 'none' });
  backend = new SmtpBackend({ host: '127.0.0.1', port: peer.port, encryption: 'none', retry: { retries: 0 } });
});
afterAll(async () => {
  await backend.close();
  await peer.close();
});

const base = (): EmailBuilder => Email.builder().from('sender@example.com').subject('subject').textBody('body');

/** Builds; a refusal must be a validation `EmailError` and means "nothing to send". */
function buildOrRefuse(make: () => Email): Email | undefined {
  try {
    return make();
  } catch (err) {
    expect(err).toBeInstanceOf(EmailError);
    expect((err as EmailError).code).toBe('validation');
    return undefined;
  }
}

/** How many generated emails were accepted and delivered (a property that only ever refused proves little). */
let delivered = 0;

async function deliver(email: Email): Promise<ReceivedMail> {
  delivered++;
  peer.reset();
  await backend.sendEmail(email);
  expect(peer.messages).toHaveLength(1);
  return peer.messages[0];
}

const addresses = (obj: AddressObject | AddressObject[] | undefined) =>
  (obj === undefined ? [] : Array.isArray(obj) ? obj : [obj]).flatMap((o) => o.value.map((v) => v.address));

/** Every header line of the message, unfolded and decoded, keyed by lower-case name. */
function headerLines(mail: ReceivedMail): { key: string; value: string }[] {
  return mail.parsed.headerLines.map(({ key, line }) => {
    const value = line
      .slice(line.indexOf(':') + 1)
      .replace(/\r?\n[ \t]/g, ' ')
      .replace(/^[ \t]/, '');
    return { key, value };
  });
}

/** No header besides the standard ones and `extra`, none twice, and exactly the given recipients. */
function expectNothingExtra(mail: ReceivedMail, recipients: string[], extra: string[] = []): void {
  const keys = headerLines(mail).map((h) => h.key);
  expect(keys.filter((k) => !STANDARD.has(k) && !extra.includes(k))).toEqual([]);
  expect(new Set(keys).size).toBe(keys.length);
  expect([...mail.envelope.to].sort()).toEqual([...recipients].sort());
}

describe('hostile input in every header field: refused by build(), or delivered exactly as given', () => {
  let before = 0;
  beforeEach(() => {
    before = delivered;
  });
  afterEach(() => {
    // Each property must have delivered a fair share of its cases, not refused them all.
    expect(delivered - before).toBeGreaterThanOrEqual(RUNS / 6);
  });

  it('subject', async () => {
    await fc.assert(
      fc.asyncProperty(text, async (subject) => {
        const email = buildOrRefuse(() => base().to('rcpt@example.com').subject(subject).build());
        if (!email) return;
        const mail = await deliver(email);
        expect(mail.parsed.subject).toBe(subject);
        expectNothingExtra(mail, ['rcpt@example.com']);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('display names of from, to, cc and reply-to (given quoted, with escapes)', async () => {
    const quoted = (name: string, address: string) => `"${name.replace(/[\\"]/g, '\\$&')}" <${address}>`;
    await fc.assert(
      fc.asyncProperty(text, text, async (name, other) => {
        const email = buildOrRefuse(() =>
          base()
            .from(quoted(name, 'sender@example.com'))
            .to(quoted(other, 'to@example.com'))
            .cc(quoted(name, 'cc@example.com'))
            .replyTo(quoted(other, 'reply@example.com'))
            .build(),
        );
        if (!email) return;
        const mail = await deliver(email);
        // Blanks at the ends of a display name are dropped by build() (no RFC 5322 parser keeps them).
        [name, other] = [name.trim(), other.trim()];
        const p = mail.parsed;
        const toObject = (o: AddressObject | AddressObject[] | undefined) => (Array.isArray(o) ? o[0] : o);
        const box = (n: string, address: string) => ({ name: n, address });
        expect(p.from?.value).toEqual([box(name, 'sender@example.com')]);
        expect(toObject(p.to)?.value).toEqual([box(other, 'to@example.com')]);
        expect(toObject(p.cc)?.value).toEqual([box(name, 'cc@example.com')]);
        expect(toObject(p.replyTo)?.value).toEqual([box(other, 'reply@example.com')]);
        expectNothingExtra(mail, ['to@example.com', 'cc@example.com']);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('raw address strings in to, cc and bcc add no recipient and no header', async () => {
    await fc.assert(
      fc.asyncProperty(addressish, addressish, addressish, async (to, cc, bcc) => {
        const email = buildOrRefuse(() => base().to(to).cc(cc).bcc(bcc).build());
        if (!email) return;
        const mail = await deliver(email);
        // The only recipients are the three mailboxes build() accepted, as it parsed them.
        const accepted = [email.to[0], email.cc[0], email.bcc[0]].map((a) => /<([^>]*)>\s*$/.exec(a)?.[1] ?? a.trim());
        expectNothingExtra(mail, accepted);
        expect(addresses(mail.parsed.to)).toEqual([accepted[0]]);
        expect(addresses(mail.parsed.cc)).toEqual([accepted[1]]);
        expect(mail.raw.toString('latin1')).not.toContain(accepted[2]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('custom header names and values', async () => {
    const name = fc.oneof(
      { weight: 3, arbitrary: fc.stringMatching(/^X-[A-Za-z0-9-]{1,15}$/) },
      fc.constantFrom(
        'X-Tenant',
        'X-Tag',
        'Bcc',
        'bcc',
        'X-A\r\nBcc',
        'X-A:',
        'X A',
        'Content-Type',
        'X-Ünï',
        'Received',
      ),
      fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }),
    );
    await fc.assert(
      fc.asyncProperty(name, text, async (key, value) => {
        const email = buildOrRefuse(() => base().to('rcpt@example.com').header(key, value).build());
        if (!email) return;
        const mail = await deliver(email);
        const lines = headerLines(mail).filter((h) => h.key === key.toLowerCase());
        expect(lines).toHaveLength(1);
        expect(libmime.decodeWords(lines[0].value)).toBe(value);
        expectNothingExtra(mail, ['rcpt@example.com'], [key.toLowerCase()]);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });

  it('attachment file names', async () => {
    await fc.assert(
      fc.asyncProperty(text, async (filename) => {
        const email = buildOrRefuse(() =>
          base()
            .to('rcpt@example.com')
            .attachment(new Attachment(filename, 'text/plain', Buffer.from('x')))
            .build(),
        );
        if (!email) return;
        const mail = await deliver(email);
        expect(mail.parsed.attachments.map((a) => a.filename)).toEqual([filename]);
        expectNothingExtra(mail, ['rcpt@example.com']);
      }),
      { seed: SEED, numRuns: RUNS },
    );
  });
});
