import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { simpleParser } from 'mailparser';
import { inspect } from 'node:util';
import { Attachment, Email, MailgunBackend, MailgunRegion } from '../../lib/index.js';
import type { HttpPeer } from '../utils/http-peer.js';
import { fieldValues, parseMailgunForm, startMailgunPeer } from '../utils/mailgun-peer.js';
import { everythingShown, expectNoSecret } from './secrets.util.js';
import { failure } from './failure.util.js';

const apiKey = 'key-spec-Very-Secret-456';
const domain = 'mg.example.test';
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 50 };
const simple = (subject = 'hello') =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject(subject).textBody('body').build();

let peer: HttpPeer;
let backend: MailgunBackend;
const extra: MailgunBackend[] = [];

beforeAll(async () => {
  peer = await startMailgunPeer(apiKey, domain);
  backend = new MailgunBackend(apiKey, domain, { url: peer.url, retry, timeoutMs: 500 });
});
beforeEach(() => peer.reset());
afterAll(async () => {
  await Promise.all([backend.close(), ...extra.map((b) => b.close())]);
  await peer.close();
});

describe('MailgunBackend: the request, as the Messages API documents it', () => {
  it('POSTs multipart fields with Basic auth: addresses, h:, o:tag, v:, attachments', async () => {
    const bin = Buffer.from([0, 1, 2, 3, 254, 255]);
    const email = Email.builder()
      .from('Sénder <sender@example.com>')
      .to('a@example.com')
      .to('b@example.com')
      .cc('c@example.com')
      .bcc('hidden@example.com')
      .replyTo('reply@example.com')
      .subject('Grüße')
      .bothBody('plain', '<p>html</p>')
      .attachment(new Attachment('résumé.bin', 'application/octet-stream', bin))
      .header('X-Tenant-Id', 't-42')
      .tag('welcome')
      .tag('onboarding')
      .metadata('tenant-id', 't1')
      .build();
    const sent = await backend.sendEmail(email);
    const [req] = peer.requests;
    expect(sent.messageId).toMatch(new RegExp(`@${domain.replace(/\./g, '\\.')}>$`));
    expect(req.url).toBe(`/v3/${domain}/messages`);
    expect(req.headers.authorization).toBe(`Basic ${Buffer.from(`api:${apiKey}`).toString('base64')}`);
    const form = await parseMailgunForm(req);
    expect(fieldValues(form, 'from')).toEqual(['"Sénder" <sender@example.com>']);
    expect(fieldValues(form, 'to')).toEqual(['a@example.com', 'b@example.com']);
    expect(fieldValues(form, 'cc')).toEqual(['c@example.com']);
    expect(fieldValues(form, 'bcc')).toEqual(['hidden@example.com']);
    expect(fieldValues(form, 'subject')).toEqual(['Grüße']);
    expect(fieldValues(form, 'text')).toEqual(['plain']);
    expect(fieldValues(form, 'html')).toEqual(['<p>html</p>']);
    expect(fieldValues(form, 'h:Reply-To')).toEqual(['reply@example.com']);
    expect(fieldValues(form, 'h:X-Tenant-Id')).toEqual(['t-42']);
    expect(fieldValues(form, 'o:tag')).toEqual(['welcome', 'onboarding']);
    expect(fieldValues(form, 'v:tenant-id')).toEqual(['t1']);
    expect(form.files).toHaveLength(1);
    expect(form.files[0]).toMatchObject({
      field: 'attachment',
      filename: 'résumé.bin',
      mimeType: 'application/octet-stream',
    });
    expect(form.files[0].data.equals(bin)).toBe(true);
  });

  it('sends an email with an inline image as MIME, with Bcc in `to` and not in the message', async () => {
    const png = Buffer.from('not-really-a-png');
    const email = Email.builder()
      .from('sender@example.com')
      .to('a@example.com')
      .bcc('hidden@example.com')
      .subject('inline')
      .htmlBody('<img src="cid:logo@nb">')
      .attachment(Attachment.inline('logo.png', 'image/png', png, 'logo@nb'))
      .tag('t')
      .build();
    await backend.sendEmail(email);
    const [req] = peer.requests;
    expect(req.url).toBe(`/v3/${domain}/messages.mime`);
    const form = await parseMailgunForm(req);
    expect(fieldValues(form, 'to').sort()).toEqual(['a@example.com', 'hidden@example.com']);
    expect(fieldValues(form, 'o:tag')).toEqual(['t']);
    const mime = form.files.find((f) => f.field === 'message');
    expect(mime).toBeDefined();
    expect(mime!.data.toString('latin1')).not.toMatch(/^bcc:/im);
    const parsed = await simpleParser(mime!.data);
    expect(parsed.attachments[0].cid).toBe('logo@nb');
    expect(parsed.attachments[0].content.equals(png)).toBe(true);
  });

  it('withRegion(EU) targets the EU host; the API key never shows in util.inspect', () => {
    const eu = MailgunBackend.withRegion(apiKey, domain, MailgunRegion.EU);
    extra.push(eu);
    expect(inspect(eu)).toContain('https://api.eu.mailgun.net');
    expect(inspect(new MailgunBackend(apiKey, domain))).toContain('https://api.mailgun.net');
    expectNoSecret(inspect(eu, { showHidden: true, depth: 10 }) + JSON.stringify(eu), [apiKey]);
  });
});

describe('MailgunBackend: errors, retries and secrets', () => {
  it('401 is `authentication` and the key is nowhere', async () => {
    const wrong = 'key-wrong-Secret-000';
    const b = new MailgunBackend(wrong, domain, { url: peer.url, retry });
    extra.push(b);
    const err = await failure(b.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'authentication', status: 401, retryable: false });
    expect(peer.requests).toHaveLength(1);
    expectNoSecret(everythingShown(err, b), [wrong, `api:${wrong}`]);
  });

  it('400 is `rejected` with the API message, not retried', async () => {
    peer.script({ status: 400, body: { message: "'from' parameter is not a valid address" } });
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({
      code: 'rejected',
      status: 400,
      providerMessage: "'from' parameter is not a valid address",
    });
    expect(peer.requests).toHaveLength(1);
  });

  it('429 is `rate_limited` and retried', async () => {
    peer.script({ status: 429, headers: { 'retry-after': '0' }, body: { message: 'Too many requests' } });
    await backend.sendEmail(simple());
    expect(peer.requests).toHaveLength(2);
  });

  it('500 is not retried without a key, retried with one', async () => {
    peer.script({ status: 500, body: { message: 'Internal' } });
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'provider', possiblyDelivered: true });
    expect(peer.requests).toHaveLength(1);
    peer.reset();
    peer.script({ status: 500, body: { message: 'Internal' } });
    await backend.sendEmail(simple(), { idempotencyKey: 'mg-500' });
    expect(peer.requests).toHaveLength(2);
  });

  it('a hung request is `timeout`, and a refused connection is `connection` (not a 400)', async () => {
    peer.script('hang');
    const err = await failure(backend.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'timeout', possiblyDelivered: true });
    const dead = new MailgunBackend(apiKey, domain, { url: 'http://127.0.0.1:1', retry: { retries: 0 } });
    extra.push(dead);
    const refused = await failure(dead.sendEmail(simple()));
    expect(refused).toMatchObject({ code: 'connection', retryable: true });
    expect(refused.status).toBeUndefined();
  });
});

/** Records the delays the retry policy chose instead of sleeping them. */
class RecordingMailgun extends MailgunBackend {
  readonly delays: number[] = [];
  protected override wait(ms: number): Promise<void> {
    this.delays.push(ms);
    return Promise.resolve();
  }
}

describe('MailgunBackend: Retry-After (mailgun.js errors carry no headers; the backend reads them)', () => {
  const recording = (maxDelayMs = 10_000) => {
    const b = new RecordingMailgun(apiKey, domain, { url: peer.url, retry: { retries: 2, minDelayMs: 1, maxDelayMs } });
    extra.push(b);
    return b;
  };

  it('429 with `Retry-After: 3`: the retry waits the 3 s the provider asked for, then sends', async () => {
    const b = recording();
    peer.script({ status: 429, headers: { 'retry-after': '3' }, body: { message: 'Too many requests' } });
    const sent = await b.sendEmail(simple());
    expect(sent.messageId).toContain(domain);
    expect(peer.requests).toHaveLength(2);
    expect(b.delays).toEqual([3000]);
  });

  it('503 with an HTTP-date Retry-After: the retry waits until that date, not the 1 ms backoff', async () => {
    const b = recording();
    const at = new Date(Date.now() + 8000);
    peer.script({ status: 503, headers: { 'retry-after': at.toUTCString() }, body: { message: 'Unavailable' } });
    await b.sendEmail(simple());
    expect(peer.requests).toHaveLength(2);
    expect(b.delays).toHaveLength(1);
    // The date has whole seconds and the clock moves on: anything far above the 1 ms backoff is the date.
    expect(b.delays[0]).toBeGreaterThan(1000);
  });

  it('a Retry-After beyond maxDelayMs: not retried, `rate_limited` with retryAfterMs', async () => {
    const b = recording(1000);
    peer.script({ status: 429, headers: { 'retry-after': '120' }, body: { message: 'Too many requests' } });
    const err = await failure(b.sendEmail(simple()));
    expect(err).toMatchObject({ code: 'rate_limited', retryable: true, status: 429, retryAfterMs: 120_000 });
    expect(peer.requests).toHaveLength(1);
    expect(b.delays).toEqual([]);
  });

  it('a successful answer is still parsed as before (the response hook keeps the JSON body)', async () => {
    const b = recording();
    const sent = await b.sendEmail(simple());
    expect(sent.messageId).toMatch(/^<.+@mg\.example\.test>$/);
  });
});
