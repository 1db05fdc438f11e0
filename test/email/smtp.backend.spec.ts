import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import libmime from 'libmime';
import { createHash, randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { Attachment, Email, EmailError, SmtpBackend, type SmtpConfig } from '../../lib/index.js';
import { freePort } from '../utils/free-port.js';
import { SmtpPeer } from '../utils/smtp-peer.js';
import { generateCertificate, type TestCertificate } from '../utils/tls-cert.js';

const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 20 };
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const simple = (to = 'rcpt@example.com', subject = 'hello') =>
  Email.builder().from('sender@example.com').to(to).subject(subject).textBody('body').build();

let cert: TestCertificate;
const backends: SmtpBackend[] = [];
const peers: SmtpPeer[] = [];

function backend(config: Omit<SmtpConfig, 'host'> & { host?: string }): SmtpBackend {
  const b = new SmtpBackend({ host: '127.0.0.1', timeoutMs: 3000, retry, ...config });
  backends.push(b);
  return b;
}
async function peer(options: Parameters<typeof SmtpPeer.start>[0]): Promise<SmtpPeer> {
  const p = await SmtpPeer.start(options);
  peers.push(p);
  return p;
}

beforeAll(async () => {
  cert = await generateCertificate();
});
afterEach(() => {
  jest.restoreAllMocks();
});
afterAll(async () => {
  await Promise.all(backends.map((b) => b.close()));
  await Promise.all(peers.map((p) => p.close()));
});

describe('SmtpBackend: what arrives, parsed field by field', () => {
  it('plain SMTP: envelope Bcc, no Bcc header, RFC 2047 subject, text before html, bytes, inline cid, headers', async () => {
    const p = await peer({ mode: 'none' });
    const b = backend({ port: p.port, encryption: 'none' });
    const bin = randomBytes(70_000);
    const png = randomBytes(2_000);
    const email = Email.builder()
      .from('Sénder Ünïcode <sender@example.com>')
      .to('Tö Two <to@example.com>')
      .cc('cc@example.com')
      .bcc('Hidden Person <hidden@example.com>')
      .subject('Grüße ✓ über SMTP')
      .bothBody('Plain ✓', '<p>HTML ✓ <img src="cid:logo@nb"></p>')
      .attachment(new Attachment('résumé.bin', 'application/octet-stream', bin))
      .attachment(Attachment.inline('logo.png', 'image/png', png, 'logo@nb'))
      .header('X-Tenant-Id', 'tenant ä')
      .build();
    const sent = await b.sendEmail(email);
    expect(p.messages).toHaveLength(1);
    const [m] = p.messages;
    expect(sent.messageId).toBe(m.parsed.messageId);
    expect(m.envelope.from).toBe('sender@example.com');
    expect([...m.envelope.to].sort()).toEqual(['cc@example.com', 'hidden@example.com', 'to@example.com']);
    const head = m.raw.toString('latin1').split('\r\n\r\n')[0];
    expect(head).not.toMatch(/^bcc:/im);
    expect(m.raw.toString('latin1')).not.toContain('hidden@example.com');
    expect(head).toMatch(/^Subject: =\?UTF-8\?/m);
    expect(m.parsed.subject).toBe('Grüße ✓ über SMTP');
    expect(m.parsed.from?.value[0]).toMatchObject({ name: 'Sénder Ünïcode', address: 'sender@example.com' });
    expect(m.parsed.to && !Array.isArray(m.parsed.to) && m.parsed.to.value[0]).toMatchObject({ name: 'Tö Two' });
    const raw = m.raw.toString('latin1');
    expect(raw).toMatch(/multipart\/alternative/);
    expect(raw.indexOf('Content-Type: text/plain')).toBeGreaterThan(raw.indexOf('multipart/alternative'));
    expect(raw.indexOf('Content-Type: text/plain')).toBeLessThan(raw.indexOf('Content-Type: text/html'));
    expect(m.parsed.text?.trim()).toBe('Plain ✓');
    const file = m.parsed.attachments.find((a) => a.filename === 'résumé.bin');
    expect(file && sha(file.content)).toBe(sha(bin));
    const inline = m.parsed.attachments.find((a) => a.cid === 'logo@nb');
    expect(inline?.contentDisposition).toBe('inline');
    expect(inline && sha(inline.content)).toBe(sha(png));
    expect(libmime.decodeWords(m.parsed.headers.get('x-tenant-id') as string)).toBe('tenant ä');
  });

  it('implicit TLS with the certificate pinned through tls.ca', async () => {
    const p = await peer({ mode: 'tls', cert });
    const b = backend({ port: p.port, encryption: 'tls', tls: { ca: cert.cert } });
    await b.sendEmail(simple());
    expect(p.messages).toHaveLength(1);
  });

  it('STARTTLS + AUTH: verify() checks the credentials and the mail arrives', async () => {
    const auth = { username: 'u', password: 'right-Pa55' };
    const p = await peer({ mode: 'starttls', cert, auth });
    const b = backend({ port: p.port, encryption: 'starttls', auth, tls: { ca: cert.cert } });
    await expect(b.verify()).resolves.toBe(true);
    await b.sendEmail(simple());
    expect(p.messages).toHaveLength(1);
  });

  it('reuses pooled connections across a bulk send (no more than poolSize)', async () => {
    const p = await peer({ mode: 'none' });
    const b = backend({ port: p.port, encryption: 'none', poolSize: 2 });
    const results = await b.sendBulk(
      Array.from({ length: 20 }, (_, i) => simple(`r${i}@example.com`, `s${i}`)),
      { concurrency: 5 },
    );
    expect(results.every((r) => r.ok)).toBe(true);
    expect(p.messages).toHaveLength(20);
    expect(p.connections.size).toBeLessThanOrEqual(2);
  });
});

describe('SmtpBackend: TLS is enforced', () => {
  it('starttls fails against a server that does not offer STARTTLS, and sends nothing', async () => {
    const p = await peer({ mode: 'none' });
    const b = backend({ port: p.port, encryption: 'starttls' });
    const err = (await b.sendEmail(simple()).catch((e: unknown) => e)) as EmailError;
    expect(err).toBeInstanceOf(EmailError);
    expect(err.code).toBe('connection');
    expect(err.retryable).toBe(false);
    expect(p.messages).toHaveLength(0);
  });

  it('refuses a certificate it cannot verify (no pinned CA)', async () => {
    const p = await peer({ mode: 'tls', cert });
    const b = backend({ port: p.port, encryption: 'tls' });
    const err = (await b.sendEmail(simple()).catch((e: unknown) => e)) as EmailError;
    expect(err.code).toBe('connection');
    expect(err.retryable).toBe(false);
    expect(p.messages).toHaveLength(0);
  });

  it('logs a warning when verification is turned off, then connects', async () => {
    const warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const p = await peer({ mode: 'tls', cert });
    const b = backend({ port: p.port, encryption: 'tls', tls: { rejectUnauthorized: false } });
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/verification is OFF/));
    await b.sendEmail(simple());
    expect(p.messages).toHaveLength(1);
  });
});

describe('SmtpBackend: failures', () => {
  it('a wrong password is `authentication` and the password is nowhere in the error', async () => {
    const password = 'wrong-Secret-Pa55word';
    const p = await peer({ mode: 'starttls', cert, auth: { username: 'u', password: 'right' } });
    const b = backend({
      port: p.port,
      encryption: 'starttls',
      auth: { username: 'u', password },
      tls: { ca: cert.cert },
    });
    const err = (await b.sendEmail(simple()).catch((e: unknown) => e)) as EmailError;
    expect(err.code).toBe('authentication');
    expect(err.status).toBe(535);
    expect(err.retryable).toBe(false);
    const b64 = Buffer.from(password).toString('base64');
    let chain = '';
    for (let e: unknown = err; e; e = (e as Error).cause)
      chain += `${String(e)} ${(e as Error).stack} ${JSON.stringify(e)} `;
    const shown = `${err.message} ${String(err)} ${JSON.stringify(err)} ${inspect(err, { depth: 10, showHidden: true })} ${chain} ${inspect(b, { showHidden: true })}`;
    expect(shown).not.toContain(password);
    expect(shown).not.toContain(b64);
    await expect(b.verify()).rejects.toMatchObject({ code: 'authentication' });
  });

  it('a recipient refused with 550 fails only its own email in a bulk', async () => {
    const p = await peer({ mode: 'none', refuse: (a) => a === 'refused@example.com' });
    const b = backend({ port: p.port, encryption: 'none' });
    const results = await b.sendBulk([simple('a@example.com'), simple('refused@example.com'), simple('c@example.com')]);
    expect(results.map((r) => r.ok)).toEqual([true, false, true]);
    const failed = results[1];
    expect(!failed.ok && failed.error.code).toBe('rejected');
    expect(!failed.ok && failed.error.status).toBe(550);
    expect(p.messages.map((m) => m.envelope.to[0])).toEqual(expect.arrayContaining(['a@example.com', 'c@example.com']));
    expect(p.messages).toHaveLength(2);
  });

  it('connection refused is `connection` and retryable', async () => {
    const b = backend({ port: await freePort(), encryption: 'none' });
    const err = (await b.sendEmail(simple()).catch((e: unknown) => e)) as EmailError;
    expect(err.code).toBe('connection');
    expect(err.retryable).toBe(true);
  });

  it('a timeout after DATA is `timeout`, possibly delivered, and retried only with an idempotency key', async () => {
    const p = await peer({ mode: 'none', dataDelayMs: 700 });
    const b = backend({ port: p.port, encryption: 'none', timeoutMs: 250 });
    const err = (await b.sendEmail(simple()).catch((e: unknown) => e)) as EmailError;
    expect(err.code).toBe('timeout');
    expect(err.possiblyDelivered).toBe(true);
    await new Promise((r) => setTimeout(r, 900));
    expect(p.messages).toHaveLength(1);
    p.reset();
    const keyed = (await b
      .sendEmail(simple(), { idempotencyKey: 'smtp-timeout' })
      .catch((e: unknown) => e)) as EmailError;
    expect(keyed.code).toBe('timeout');
    await new Promise((r) => setTimeout(r, 900));
    expect(p.messages).toHaveLength(1 + retry.retries);
    // The key stays reserved "in doubt": sending it again does not reach the server.
    const again = (await b
      .sendEmail(simple(), { idempotencyKey: 'smtp-timeout' })
      .catch((e: unknown) => e)) as EmailError;
    expect(again.code).toBe('timeout');
    expect(again.message).toMatch(/in doubt/);
    expect(p.messages).toHaveLength(1 + retry.retries);
  });

  it('validates its configuration', () => {
    expect(() => new SmtpBackend({ host: '', port: 25, encryption: 'none' })).toThrow(EmailError);
    expect(() => new SmtpBackend({ host: '127.0.0.1', port: 0, encryption: 'none' })).toThrow(/port/);
    expect(() => new SmtpBackend({ host: '127.0.0.1', port: 25, encryption: 'ssl' as 'tls' })).toThrow(/encryption/);
  });

  it('after close(), sends fail with `configuration`', async () => {
    const p = await peer({ mode: 'none' });
    const b = backend({ port: p.port, encryption: 'none' });
    await b.close();
    await b.close();
    await expect(b.sendEmail(simple())).rejects.toMatchObject({ code: 'configuration' });
  });
});
