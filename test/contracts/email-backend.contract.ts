import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Attachment, Email, type EmailBackend, EmailError } from '../../lib/index.js';

/** One email as the backend's peer received it, normalized so every backend can be compared. */
export interface DeliveredEmail {
  from: { address: string; name?: string };
  to: string[];
  cc: string[];
  /** Envelope recipients (to + cc + bcc), when the peer can see the envelope. */
  recipients?: string[];
  /** Addresses that appear in a Bcc header or any other visible place (must stay empty). */
  visibleBcc: string[];
  replyTo?: string;
  subject: string;
  text?: string;
  html?: string;
  attachments: { filename: string; contentType: string; content: Buffer }[];
  /** Custom headers, lower-cased names, decoded values. */
  headers: Record<string, string>;
}

/** A backend under test, wired to its local peer. */
export interface EmailBackendFixture {
  backend: EmailBackend;
  /** The name `SentEmail.backend` must carry. */
  kind: string;
  /** What the peer received since the last reset, in order of arrival. */
  delivered(): Promise<DeliveredEmail[]>;
  /** How many sends reached the peer since the last reset. */
  providerCalls(): Promise<number>;
  reset(): Promise<void>;
  /** Secret values that must never show in errors or inspection. */
  secrets: string[];
  dispose(): Promise<void>;
}

const sender = 'Sénder Ünïcode <sender@example.com>';

function fullEmail(bytes: Buffer): Email {
  return Email.builder()
    .from(sender)
    .to('first@example.com')
    .to('Tö Two <second@example.com>')
    .cc('copy@example.com')
    .bcc('hidden@example.com')
    .replyTo('reply@example.com')
    .subject('Grüße ✓ from the contract')
    .bothBody('Plain ✓ body', '<p>HTML ✓ body</p>')
    .attachment(new Attachment('random.bin', 'application/octet-stream', bytes))
    .header('X-Tenant-Id', 'tenant-42')
    .tag('welcome')
    .metadata('tenantId', 't1')
    .build();
}

function simple(subject: string, to = 'rcpt@example.com'): Email {
  return Email.builder().from('sender@example.com').to(to).subject(subject).textBody(`body of ${subject}`).build();
}

/** Objects shaped like an Email that bypass the builder: every backend must refuse them before any I/O. */
const forged: [string, Record<string, unknown>][] = [
  ['a CRLF in the subject', { subject: 'Hi\r\nBcc: evil@example.com' }],
  ['a Bcc smuggled in a custom header', { headers: { 'X-A': 'v\r\nBcc: evil@example.com' } }],
  ['a backend-owned header', { headers: { Bcc: 'evil@example.com' } }],
  ['a quoted local part with @', { to: ['"evil@attacker.test x"@example.com'] }],
  ['no body', { text: undefined }],
];

function forge(patch: Record<string, unknown>): Email {
  const base: Record<string, unknown> = {
    from: 'sender@example.com',
    to: ['rcpt@example.com'],
    cc: [],
    bcc: [],
    subject: 'forged',
    text: 'body',
    attachments: [],
    headers: {},
    tags: [],
    metadata: {},
  };
  return { ...base, ...patch } as unknown as Email;
}

/**
 * The email contract: every EmailBackend runs these same cases against its real local peer, so the
 * backends cannot drift apart.
 */
export function describeEmailBackendConformance(name: string, factory: () => Promise<EmailBackendFixture>): void {
  describe(`EmailBackend conformance: ${name}`, () => {
    let f: EmailBackendFixture;
    beforeAll(async () => {
      f = await factory();
    });
    beforeEach(async () => {
      await f.reset();
    });
    afterAll(async () => {
      await f?.dispose();
    });

    it('sends a minimal text email and resolves its message id', async () => {
      const sent = await f.backend.sendEmail(simple('minimal'));
      expect(typeof sent.messageId).toBe('string');
      expect(sent.messageId.length).toBeGreaterThan(0);
      expect(sent.backend).toBe(f.kind);
      const [got] = await f.delivered();
      expect(got.from.address).toBe('sender@example.com');
      expect(got.to).toEqual(['rcpt@example.com']);
      expect(got.subject).toBe('minimal');
      expect(got.text?.trim()).toBe('body of minimal');
    });

    it('delivers every field: UTF-8 subject and names, to/cc, bcc only in the envelope, both bodies, bytes, headers', async () => {
      const bytes = randomBytes(20_000);
      await f.backend.sendEmail(fullEmail(bytes));
      const [got] = await f.delivered();
      expect(got.from).toEqual({ address: 'sender@example.com', name: 'Sénder Ünïcode' });
      expect(got.to).toEqual(['first@example.com', 'second@example.com']);
      expect(got.cc).toEqual(['copy@example.com']);
      if (got.recipients) {
        expect([...got.recipients].sort()).toEqual(
          ['copy@example.com', 'first@example.com', 'hidden@example.com', 'second@example.com'].sort(),
        );
      }
      expect(got.visibleBcc).toEqual([]);
      expect(got.replyTo).toBe('reply@example.com');
      expect(got.subject).toBe('Grüße ✓ from the contract');
      expect(got.text?.trim()).toBe('Plain ✓ body');
      expect(got.html?.trim()).toBe('<p>HTML ✓ body</p>');
      expect(got.attachments).toHaveLength(1);
      expect(got.attachments[0].filename).toBe('random.bin');
      expect(got.attachments[0].contentType).toBe('application/octet-stream');
      expect(got.attachments[0].content.equals(bytes)).toBe(true);
      expect(got.headers['x-tenant-id']).toBe('tenant-42');
    });

    it.each(forged)('refuses an Email-like object with %s before any I/O', async (_label, patch) => {
      const err = await f.backend.sendEmail(forge(patch)).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EmailError);
      expect((err as EmailError).code).toBe('validation');
      expect(await f.providerCalls()).toBe(0);
    });

    it('sendBulk returns one result per email, in order, and an invalid email fails alone', async () => {
      const emails = [simple('b0'), simple('b1'), forge({ subject: 'x\ny' }), simple('b3'), simple('b4'), simple('b5')];
      const results = await f.backend.sendBulk(emails, { concurrency: 3 });
      expect(results).toHaveLength(6);
      expect(results.map((r) => r.ok)).toEqual([true, true, false, true, true, true]);
      const failed = results[2];
      expect(!failed.ok && failed.error.code).toBe('validation');
      const ids = results.flatMap((r) => (r.ok ? [r.messageId] : []));
      expect(new Set(ids).size).toBe(5);
      const subjects = (await f.delivered()).map((d) => d.subject).sort();
      expect(subjects).toEqual(['b0', 'b1', 'b3', 'b4', 'b5']);
    });

    it('sendBulk of nothing resolves an empty list', async () => {
      expect(await f.backend.sendBulk([])).toEqual([]);
    });

    it('an idempotency key sent twice returns the first result and calls the provider once', async () => {
      const key = `contract-${randomBytes(6).toString('hex')}`;
      const first = await f.backend.sendEmail(simple('idem'), { idempotencyKey: key });
      const second = await f.backend.sendEmail(simple('idem'), { idempotencyKey: key });
      expect(second).toEqual(first);
      expect(await f.providerCalls()).toBe(1);
    });

    it('concurrent sends with one idempotency key deliver once and share the result', async () => {
      const key = `concurrent-${randomBytes(6).toString('hex')}`;
      const results = await Promise.all(
        Array.from({ length: 5 }, () => f.backend.sendEmail(simple('race'), { idempotencyKey: key })),
      );
      expect(new Set(results.map((r) => r.messageId)).size).toBe(1);
      expect(await f.providerCalls()).toBe(1);
    });

    it('shows no secret in util.inspect or JSON.stringify of the backend', () => {
      const shown = `${inspect(f.backend, { depth: 10, showHidden: true })}${JSON.stringify(f.backend)}`;
      for (const secret of f.secrets) expect(shown).not.toContain(secret);
    });
  });
}
