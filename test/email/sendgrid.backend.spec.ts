import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Attachment, Email, MemoryBackend, SendGridBackend } from '../../lib/index.js';
import type { HttpPeer } from '../utils/http-peer.js';
import { sendGridBody, startSendGridPeer } from '../utils/sendgrid-peer.js';
import { everythingShown, expectNoSecret } from './secrets.util.js';
import { failure } from './failure.util.js';

const apiKey = 'SG.spec-Very-Secret-Key-123';
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 50 };
const simple = (subject = 'hello') =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject(subject).textBody('body').build();

let peer: HttpPeer;
let backend: SendGridBackend;
const extra: SendGridBackend[] = [];

beforeAll(async () => {
  peer = await startSendGridPeer(apiKey);
  backend = new SendGridBackend(apiKey, { baseUrl: peer.url, retry, timeoutMs: 500 });
});
beforeEach(() => peer.reset());
afterAll(async () => {
  await Promise.all([backend.close(), ...extra.map((b) => b.close())]);
  await peer.close();
});

describe('SendGridBackend: the request, as the v3 API documents it', () => {
  it('POSTs /v3/mail/send with Bearer auth and the documented JSON body', async () => {
    const email = Email.builder()
      .from('Sénder <sender@example.com>')
      .to('a@example.com')
      .to('Bé <b@example.com>')
      .cc('c@example.com')
      .bcc('hidden@example.com')
      .replyTo('reply@example.com')
      .subject('Grüße')
      .bothBody('plain', '<p>html</p>')
      .attachment(new Attachment('a.bin', 'application/octet-stream', Buffer.from([0, 1, 2, 255])))
      .attachment(Attachment.inline('logo.png', 'image/png', Buffer.from('png'), 'logo'))
      .header('X-Tenant-Id', 'tenant ä')
      .tag('welcome')
      .tag('onboarding')
      .metadata('tenantId', 't1')
      .build();
    const sent = await backend.sendEmail(email);
    const [req] = peer.requests;
    expect(sent).toEqual({ messageId: expect.stringMatching(/^[0-9a-f]{32}$/), backend: 'sendgrid' });
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/v3/mail/send');
    expect(req.headers.authorization).toBe(`Bearer ${apiKey}`);
    // The email's headers belong in the JSON only, never in the HTTP request.
    expect(req.headers['x-tenant-id']).toBeUndefined();
    const body = sendGridBody(req);
    expect(body.from).toEqual({ email: 'sender@example.com', name: 'Sénder' });
    expect(body.personalizations).toEqual([
      {
        to: [{ email: 'a@example.com' }, { email: 'b@example.com', name: 'Bé' }],
        cc: [{ email: 'c@example.com' }],
        bcc: [{ email: 'hidden@example.com' }],
      },
    ]);
    expect(body.reply_to).toEqual({ email: 'reply@example.com' });
    expect(body.content).toEqual([
      { type: 'text/plain', value: 'plain' },
      { type: 'text/html', value: '<p>html</p>' },
    ]);
    expect(body.attachments).toEqual([
      {
        content: Buffer.from([0, 1, 2, 255]).toString('base64'),
        filename: 'a.bin',
        type: 'application/octet-stream',
        disposition: 'attachment',
      },
      {
        content: Buffer.from('png').toString('base64'),
        filename: 'logo.png',
        type: 'image/png',
        disposition: 'inline',
        content_id: 'logo',
      },
    ]);
    expect(body.headers).toEqual({ 'X-Tenant-Id': 'tenant ä' });
    expect(body.categories).toEqual(['welcome', 'onboarding']);
    expect(body.custom_args).toEqual({ tenantId: 't1' });
  });

  it('reuses connections across a bulk send', async () => {
    const before = peer.connections;
    const results = await backend.sendBulk(
      Array.from({ length: 20 }, (_, i) => simple(`s${i}`)),
      { concurrency: 4 },
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(peer.connections - before).toBeLessThanOrEqual(4);
  });
});

describe('SendGridBackend: errors, retries and secrets', () => {
  it('400 is `rejected`, not retried, with the API errors as provider message', async () => {
    peer.script({
      status: 400,
      body: { errors: [{ field: 'from.email', message: 'does not match a verified Sender Identity' }] },
    });
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'rejected', status: 400, retryable: false, possiblyDelivered: false });
    expect(err.providerMessage).toBe('from.email: does not match a verified Sender Identity');
    expect(peer.requests).toHaveLength(1);
  });

  it('401 is `authentication`, and the key is nowhere in the error, its cause chain or the backend', async () => {
    const wrongKey = 'SG.wrong-Secret-Key-987';
    const b = new SendGridBackend(wrongKey, { baseUrl: peer.url, retry });
    extra.push(b);
    const err = await failure(b.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'authentication', status: 401, retryable: false });
    expect(peer.requests).toHaveLength(1);
    expectNoSecret(everythingShown(err, b), [wrongKey, `Bearer ${wrongKey}`]);
  });

  it('a provider message echoing the key is redacted', async () => {
    peer.script({ status: 400, body: { errors: [{ message: `bad key Bearer ${apiKey} and ${apiKey}` }] } });
    const err = await failure(backend.sendEmail(simple()));
    expectNoSecret(everythingShown(err), [apiKey]);
    expect(err.providerMessage).toContain('***');
  });

  it.each([413, 403])('%i is permanent: one request only', async (status) => {
    peer.script({ status, body: { errors: [{ message: 'no' }] } });
    const err = await failure(backend.sendEmail(simple()));
    expect(err.retryable).toBe(false);
    expect(peer.requests).toHaveLength(1);
  });

  it('429 honours Retry-After, then succeeds', async () => {
    const b = new SendGridBackend(apiKey, {
      baseUrl: peer.url,
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2000 },
    });
    extra.push(b);
    peer.script({ status: 429, headers: { 'retry-after': '1' }, body: { errors: [{ message: 'too many requests' }] } });
    const start = Date.now();
    const sent = await b.sendEmail(simple());
    expect(sent.messageId).toBeTruthy();
    expect(Date.now() - start).toBeGreaterThanOrEqual(950);
    expect(peer.requests).toHaveLength(2);
  });

  it('429 with a Retry-After beyond maxDelayMs gives up at once as `rate_limited`', async () => {
    peer.script({ status: 429, headers: { 'retry-after': '120' }, body: { errors: [{ message: 'slow down' }] } });
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'rate_limited', retryable: true, retryAfterMs: 120_000 });
    expect(peer.requests).toHaveLength(1);
  });

  it('503 is retried with backoff until it succeeds', async () => {
    peer.script({ status: 503, body: '' }, { status: 503, body: '' });
    await backend.sendEmail(simple());
    expect(peer.requests).toHaveLength(3);
  });

  it('500 may have sent the mail: not retried without a key, retried with one', async () => {
    peer.script({ status: 500, body: '' });
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'provider', status: 500, possiblyDelivered: true, retryable: false });
    expect(peer.requests).toHaveLength(1);
    peer.reset();
    peer.script({ status: 500, body: '' }, { status: 502, body: '' });
    await backend.sendEmail(simple(), { idempotencyKey: 'sg-500' });
    expect(peer.requests).toHaveLength(3);
  });

  it('a hung request is `timeout` after timeoutMs', async () => {
    peer.script('hang');
    const start = Date.now();
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'timeout', possiblyDelivered: true });
    expect(Date.now() - start).toBeLessThan(3000);
    expect(peer.requests).toHaveLength(1);
  });

  it('gives up after `retries` retries of a transient failure', async () => {
    peer.script(...Array.from({ length: 5 }, () => ({ status: 503, body: '' })));
    const err = await failure(backend.sendEmail(simple()));
    expect(err.code).toBe('provider');
    expect(peer.requests).toHaveLength(1 + retry.retries);
  });
});

describe('SendGridBackend: idempotency with a shared storage backend', () => {
  it('a key that failed permanently is released, so the same key can be sent again', async () => {
    const store = new MemoryBackend();
    const b = new SendGridBackend(apiKey, { baseUrl: peer.url, retry, idempotencyStore: store });
    extra.push(b);
    peer.script({ status: 400, body: { errors: [{ message: 'bad' }] } });
    await failure(b.sendEmail(simple(), { idempotencyKey: 'k1' }));
    expect(await b.sendEmail(simple(), { idempotencyKey: 'k1' })).toMatchObject({ backend: 'sendgrid' });
    expect(peer.requests).toHaveLength(2);
    await store.close();
  });

  it('two backends sharing one store (two app instances) deliver a key once', async () => {
    const store = new MemoryBackend();
    const a = new SendGridBackend(apiKey, { baseUrl: peer.url, retry, idempotencyStore: store });
    const b = new SendGridBackend(apiKey, { baseUrl: peer.url, retry, idempotencyStore: store });
    extra.push(a, b);
    peer.script({ status: 202, headers: { 'x-message-id': 'first-id' } });
    const [r1, r2] = await Promise.all([
      a.sendEmail(simple(), { idempotencyKey: 'shared' }),
      b.sendEmail(simple(), { idempotencyKey: 'shared' }),
    ]);
    expect(r1).toEqual({ messageId: 'first-id', backend: 'sendgrid' });
    expect(r2).toEqual(r1);
    expect(peer.requests).toHaveLength(1);
    await store.close();
  });

  it('refuses an invalid idempotency key before any I/O', async () => {
    const err = await failure(backend.sendEmail(simple(), { idempotencyKey: 'a\r\nb' }));
    expect(err.code).toBe('validation');
    expect(peer.requests).toHaveLength(0);
  });
});
