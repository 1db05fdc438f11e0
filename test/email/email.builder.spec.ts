import { describe, expect, it } from '@jest/globals';
import { Attachment, Email, EmailError, parseMailbox } from '../../lib/index.js';

const base = () => Email.builder().from('sender@example.com').to('rcpt@example.com').subject('Hello').textBody('Body');

function validationError(fn: () => unknown): EmailError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(EmailError);
    expect((err as EmailError).code).toBe('validation');
    return err as EmailError;
  }
  throw new Error('expected an EmailError');
}

describe('Email.builder()', () => {
  it('builds an immutable email exposing every field read-only', () => {
    const bytes = Buffer.from([1, 2, 3]);
    const email = Email.builder()
      .from('Sénder <sender@example.com>')
      .to('a@example.com')
      .toList(['b@example.com', 'Bé <c@example.com>'])
      .cc('cc@example.com')
      .bcc('bcc@example.com')
      .replyTo('reply@example.com')
      .subject('Grüße')
      .bothBody('text', '<p>html</p>')
      .attachment(new Attachment('a.bin', 'application/octet-stream', bytes))
      .attachment(Attachment.inline('logo.png', 'image/png', 'png-bytes', 'logo@example'))
      .header('X-Tenant', 'ä')
      .tag('welcome')
      .metadata('tenant', 't1')
      .build();
    expect(email.from).toBe('Sénder <sender@example.com>');
    expect(email.to).toEqual(['a@example.com', 'b@example.com', 'Bé <c@example.com>']);
    expect(email.cc).toEqual(['cc@example.com']);
    expect(email.bcc).toEqual(['bcc@example.com']);
    expect(email.replyTo).toBe('reply@example.com');
    expect(email.subject).toBe('Grüße');
    expect([email.text, email.html]).toEqual(['text', '<p>html</p>']);
    expect(email.headers).toEqual({ 'X-Tenant': 'ä' });
    expect(email.tags).toEqual(['welcome']);
    expect(email.metadata).toEqual({ tenant: 't1' });
    expect(email.attachments[1].inline).toBe(true);
    expect(email.attachments[1].contentId).toBe('logo@example');
    expect(Object.isFrozen(email)).toBe(true);
    expect(Object.isFrozen(email.to)).toBe(true);
    expect(() => (email.to as string[]).push('x@example.com')).toThrow(TypeError);
    // The attachment copied its input and hands out copies.
    bytes[0] = 99;
    expect(email.attachments[0].content[0]).toBe(1);
    email.attachments[0].content[0] = 42;
    expect(email.attachments[0].content[0]).toBe(1);
  });

  it('accepts only text or only HTML', () => {
    expect(base().build().text).toBe('Body');
    const html = Email.builder().from('a@example.com').to('b@example.com').subject('s').htmlBody('<b>x</b>').build();
    expect(html.text).toBeUndefined();
  });

  it('accepts bcc as the only recipient', () => {
    expect(Email.builder().from('a@example.com').bcc('b@example.com').subject('s').textBody('t').build().bcc).toEqual([
      'b@example.com',
    ]);
  });

  it.each([
    ['no sender', () => Email.builder().to('a@example.com').subject('s').textBody('t').build(), /sender/],
    ['no recipient', () => Email.builder().from('a@example.com').subject('s').textBody('t').build(), /recipient/],
    ['an empty subject', () => base().subject('   ').build(), /subject/],
    [
      'a missing subject',
      () => Email.builder().from('a@example.com').to('b@example.com').textBody('t').build(),
      /subject/,
    ],
    ['no body', () => Email.builder().from('a@example.com').to('b@example.com').subject('s').build(), /body/],
    ['empty bodies', () => base().bothBody('', '').build(), /body/],
  ])('refuses %s', (_label, fn, message) => {
    expect(validationError(fn).message).toMatch(message);
  });
});

describe('addresses', () => {
  it.each([
    ['a@example.com', { address: 'a@example.com' }],
    ['  a@example.com  ', { address: 'a@example.com' }],
    ['Name <a@example.com>', { name: 'Name', address: 'a@example.com' }],
    ['"Doe, John" <john@example.com>', { name: 'Doe, John', address: 'john@example.com' }],
    ['"Quote \\" inside" <q@example.com>', { name: 'Quote " inside', address: 'q@example.com' }],
    ['Zoë Ünïcødé <z@example.com>', { name: 'Zoë Ünïcødé', address: 'z@example.com' }],
    ['山田 太郎 <taro@example.jp>', { name: '山田 太郎', address: 'taro@example.jp' }],
    ['John Q. Public <jqp@example.com>', { name: 'John Q. Public', address: 'jqp@example.com' }],
    ["o'brien+tag@sub.example.co.uk", { address: "o'brien+tag@sub.example.co.uk" }],
    ['<bare@example.com>', { address: 'bare@example.com' }],
  ])('accepts %j', (input, expected) => {
    expect(parseMailbox(input)).toEqual(expected);
  });

  const long = `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`;
  it.each([
    // GHSA-mm7p-fcc7-pg87 (nodemailer < 7.0.7): quoted local part with @ routed to the wrong domain.
    ['"xclow3n@gmail.com x"@internal.domain', /quoted/],
    // The same research's ESMTP parameter smuggling payload.
    ['"foo@psres.net> ORCPT=admin@admin.com"@test.com', /quoted|stray/],
    // nodemailer#1102: quoted local part misparsed by addressparser.
    ['"test@test.test"@example.com', /quoted/],
    // nodemailer#1707: unquoted @ in the display name.
    ['foo @ beep <foo@beep.com>', /special|quote/],
    // CVE-2021-23400: line breaks in the display name inject headers.
    ['"Attacker\r\nBcc: victim@evil.test" <a@example.com>', /control/],
    ['Attacker\nBcc: victim@evil.test <a@example.com>', /control/],
    // SMTP command injection through the address (GHSA-c7w3-x93f-qmm8 used envelope.size; same CRLF class).
    ['a@example.com>\r\nRCPT TO:<evil@evil.test', /control/],
    ['a@example.com\u0000', /control/],
    ['a@exa\u2028mple.com', /control/],
    ['a@example.com (comment)', /stray|angle|host|comment|special/],
    ['Name (comment) <a@example.com>', /comment/],
    ['a@example.com, b@example.com', /host|more than one/],
    ['group: a@example.com;', /dot-atom/],
    ['a@[127.0.0.1]', /literal/],
    ['a@@example.com', /more than one/],
    ['.a@example.com', /dot-atom/],
    ['a..b@example.com', /dot-atom/],
    ['a@-example.com', /host name/],
    ['a@example..com', /host name/],
    ['no-at-sign', /no @/],
    ['', /empty/],
    ['Name <a@example.com> trailing', /follows/],
    ['Name <<a@example.com>>', /nested/],
    [`${long}`, /254/],
    [`${'a'.repeat(65)}@example.com`, /local part/],
  ])('refuses %j', (input, reason) => {
    const err = validationError(() => parseMailbox(input));
    expect(err.message).toMatch(reason);
  });

  it('refuses a deeply nested group payload quickly (addressparser DoS class, CVE-2025-14874)', () => {
    const payload = `${'a:'.repeat(50_000)}b@example.com${';'.repeat(50_000)}`;
    const start = Date.now();
    validationError(() => parseMailbox(payload));
    expect(Date.now() - start).toBeLessThan(200);
  });

  it('refuses a bad address in any field of the builder', () => {
    validationError(() => base().to('"x@y" z@example.com').build());
    validationError(() => base().cc('bad').build());
    validationError(() => base().bcc('a@example.com\r\n').build());
    validationError(() => base().replyTo('a@').build());
    validationError(() => base().from('Evil\r\n <a@example.com>').build());
  });
});

describe('header injection is refused, never stripped', () => {
  const payloads = [
    '\r\nBcc: evil@example.com',
    '\nBcc: evil@example.com',
    '\rX: y',
    'nul\u0000',
    'tab\there',
    'del\u007f',
    'nel\u0085',
    'ls\u2028',
  ];

  it.each(payloads)('in the subject: %j', (p) => {
    expect(validationError(() => base().subject(`Hi${p}`).build()).message).toMatch(/subject/);
  });

  it.each(payloads)('in a header value: %j', (p) => {
    expect(validationError(() => base().header('X-Test', `v${p}`).build()).message).toMatch(/X-Test/);
  });

  it.each(payloads)('in a display name: %j', (p) => {
    validationError(() => base().to(`"Na${p}me" <a@example.com>`).build());
  });

  it.each(payloads)('in an attachment filename: %j', (p) => {
    validationError(() =>
      base()
        .attachment(new Attachment(`f${p}.txt`, 'text/plain', 'x'))
        .build(),
    );
  });

  it('in a List-* header comment (nodemailer 9.x advisory)', () => {
    validationError(() =>
      base().header('List-Unsubscribe', '<mailto:u@example.com> (x\r\nBcc: evil@example.com)').build(),
    );
  });

  it.each([
    ['Bcc'],
    ['bcc'],
    ['From'],
    ['To'],
    ['Cc'],
    ['Subject'],
    ['Reply-To'],
    ['Sender'],
    ['Content-Type'],
    ['content-transfer-encoding'],
    ['MIME-Version'],
    ['Message-ID'],
    ['Date'],
    ['Return-Path'],
  ])('a backend-owned header %s', (name) => {
    expect(validationError(() => base().header(name, 'x').build()).message).toMatch(/set by the backend/);
  });

  it.each([['X Space'], ['X:Colon'], [''], ['X-Ü'], ['X-\r\nBcc']])('an invalid header name %j', (name) => {
    validationError(() => base().header(name, 'x').build());
  });

  it('a header given twice (case-insensitive)', () => {
    validationError(() => base().header('X-A', '1').header('x-a', '2').build());
  });

  it('accepts a non-ASCII header value and ordinary custom headers', () => {
    expect(
      base().header('X-Tenant-Id', 'tenant ä').header('List-Unsubscribe', '<mailto:u@example.com>').build().headers,
    ).toEqual({
      'X-Tenant-Id': 'tenant ä',
      'List-Unsubscribe': '<mailto:u@example.com>',
    });
  });
});

describe('attachments, tags and metadata', () => {
  it.each([['text'], ['text/'], ['text/plain\r\nX: y'], ['a b/c']])('refuses content type %j', (type) => {
    validationError(() =>
      base()
        .attachment(new Attachment('a.txt', type, 'x'))
        .build(),
    );
  });

  it('accepts a content type with parameters', () => {
    expect(
      base()
        .attachment(new Attachment('a.txt', 'text/plain; charset="utf-8"', 'x'))
        .build().attachments,
    ).toHaveLength(1);
  });

  it('refuses non-byte content and bad content ids', () => {
    validationError(() => new Attachment('a', 'text/plain', 42 as unknown as string));
    validationError(() =>
      base()
        .attachment(Attachment.inline('a.png', 'image/png', 'x', 'bad id<'))
        .build(),
    );
    validationError(() =>
      base()
        .attachment(Attachment.inline('a.png', 'image/png', 'x', 'same'))
        .attachment(Attachment.inline('b.png', 'image/png', 'y', 'same'))
        .build(),
    );
  });

  it('refuses empty or control-character tags and metadata', () => {
    validationError(() => base().tag('').build());
    validationError(() => base().tag('a\nb').build());
    validationError(() => base().metadata('', 'v').build());
    validationError(() => base().metadata('k', 'v\r\n').build());
  });
});
