import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import {
  Email,
  EmailError,
  type EmailBackend,
  MailgunBackend,
  SendGridBackend,
  SesBackend,
  SmtpBackend,
} from '../../lib/index.js';
import { HttpPeer } from '../utils/http-peer.js';
import { startMailgunPeer } from '../utils/mailgun-peer.js';
import { RawSmtpPeer } from '../utils/raw-smtp-peer.js';
import { startSendGridPeer } from '../utils/sendgrid-peer.js';
import { SmtpPeer } from '../utils/smtp-peer.js';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

// A trickling peer answers 200 and then sends one body byte every 300 ms, forever; an SMTP peer
// answers EHLO with a multi-line reply that never ends. Every attempt must end at timeoutMs.
const TIMEOUT_MS = 1000;
/** How long a test waits before calling a send "still pending": far beyond any bound under test. */
const GUARD_MS = 12_000;
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 50 };
const simple = (to = 'rcpt@example.com') =>
  Email.builder().from('sender@example.com').to(to).subject('deadline').textBody('body').build();

type Settled<T> = { state: 'resolved'; value: T } | { state: 'rejected'; error: unknown } | { state: 'pending' };

/** Where `promise` stands after at most `guardMs`: outcomes are asserted, never durations. */
async function settle<T>(promise: Promise<T>, guardMs = GUARD_MS): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<Settled<T>>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'pending' }), guardMs);
  });
  try {
    return await Promise.race([
      promise.then(
        (value): Settled<T> => ({ state: 'resolved', value }),
        (error: unknown): Settled<T> => ({ state: 'rejected', error }),
      ),
      guard,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function failure(s: Settled<unknown>) {
  if (s.state !== 'rejected') return { state: s.state };
  const e = s.error as EmailError;
  expect(e).toBeInstanceOf(EmailError);
  return { state: s.state, code: e.code, retryable: e.retryable, possiblyDelivered: e.possiblyDelivered };
}

interface Target {
  name: string;
  peer: HttpPeer;
  make(): EmailBackend;
}

const targets: Target[] = [];
const opened: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  const sg = await startSendGridPeer('SG.deadline-key');
  const mg = await startMailgunPeer('key-deadline', 'mg.example.test');
  const ses = await HttpPeer.start(() => ({ status: 200, body: { MessageId: 'ses-id' } }));
  const options = { retry, timeoutMs: TIMEOUT_MS };
  targets.push(
    { name: 'sendgrid', peer: sg, make: () => new SendGridBackend('SG.deadline-key', { ...options, baseUrl: sg.url }) },
    {
      name: 'mailgun',
      peer: mg,
      make: () => new MailgunBackend('key-deadline', 'mg.example.test', { ...options, url: mg.url }),
    },
    {
      name: 'ses',
      peer: ses,
      make: () =>
        new SesBackend({
          ...options,
          endpoint: ses.url,
          region: 'us-east-1',
          credentials: { accessKeyId: 'AKID', secretAccessKey: 'deadline-secret' },
        }),
    },
  );
});
beforeEach(() => {
  for (const t of targets) t.peer.reset();
});
afterAll(async () => {
  for (const x of opened.reverse()) await x.close();
  for (const t of targets) await t.peer.close();
});

function backendFor(t: Target): EmailBackend {
  const b = t.make();
  opened.push(b);
  return b;
}

describe.each(['sendgrid', 'mailgun', 'ses'])('%s: a provider that answers 200 and trickles its body', (name) => {
  const target = () => targets.find((t) => t.name === name)!;

  it('the send fails with `timeout`, in doubt (the request was sent), and is not retried without a key', async () => {
    const t = target();
    const backend = backendFor(t);
    t.peer.script('trickle');
    const s = await settle(backend.sendEmail(simple()), GUARD_MS);
    expect(failure(s)).toEqual({ state: 'rejected', code: 'timeout', retryable: false, possiblyDelivered: true });
    expect(t.peer.requests).toHaveLength(1);
  }, 30_000);

  it('sendBulk: every email ends, each with its own result', async () => {
    const t = target();
    const backend = backendFor(t);
    t.peer.script('trickle', 'trickle');
    const s = await settle(
      backend.sendBulk([simple('a@example.com'), simple('b@example.com'), simple('c@example.com')]),
    );
    expect(s.state).toBe('resolved');
    const results = (s as { value: Awaited<ReturnType<EmailBackend['sendBulk']>> }).value;
    expect(results.map((r) => (r.ok ? 'ok' : r.error.code)).sort()).toEqual(['ok', 'timeout', 'timeout']);
  }, 30_000);

  it('close() during a keyed send that trickles resolves, and the send ends with `timeout`', async () => {
    const t = target();
    const backend = t.make();
    // Every attempt trickles: the keyed send would retry in doubt, close() drops the retries.
    t.peer.script('trickle', 'trickle', 'trickle');
    const sending = settle(backend.sendEmail(simple(), { idempotencyKey: `close-${name}` }));
    while (t.peer.requests.length === 0) await new Promise((r) => setTimeout(r, 10));
    const closed = await settle(backend.close());
    expect(closed.state).toBe('resolved');
    expect(failure(await sending)).toEqual({
      state: 'rejected',
      code: 'timeout',
      retryable: false,
      possiblyDelivered: true,
    });
    expect(t.peer.requests).toHaveLength(1);
  }, 30_000);
});

describe('smtp: a server whose EHLO reply never ends', () => {
  async function smtp() {
    const peer = await RawSmtpPeer.start({ endlessEhlo: true });
    const backend = new SmtpBackend({
      host: '127.0.0.1',
      port: peer.port,
      encryption: 'none',
      retry,
      timeoutMs: TIMEOUT_MS,
      poolSize: 1,
    });
    opened.push(peer);
    return { peer, backend };
  }

  it('every attempt fails with `timeout`; nothing was sent, so it is retried, then given up', async () => {
    const { peer, backend } = await smtp();
    opened.push(backend);
    const s = await settle(backend.sendEmail(simple()));
    expect(failure(s)).toEqual({ state: 'rejected', code: 'timeout', retryable: true, possiblyDelivered: false });
    expect(peer.received).toBe(0);
    expect(peer.connections).toBe(1 + retry.retries);
  }, 30_000);

  it('close() during a keyed send resolves; the send fails with `timeout`, not in doubt (nothing was sent)', async () => {
    const { peer, backend } = await smtp();
    const sending = settle(backend.sendEmail(simple(), { idempotencyKey: 'smtp-close' }));
    while (peer.connections === 0) await new Promise((r) => setTimeout(r, 10));
    expect((await settle(backend.close())).state).toBe('resolved');
    expect(failure(await sending)).toMatchObject({ state: 'rejected', code: 'timeout', possiblyDelivered: false });
    expect(peer.received).toBe(0);
  }, 30_000);

  it('a server that received the whole message and answers late: `timeout`, in doubt, not retried without a key', async () => {
    const peer = await SmtpPeer.start({ mode: 'none', dataDelayMs: TIMEOUT_MS * 4 });
    opened.push(peer);
    const backend = new SmtpBackend({
      host: '127.0.0.1',
      port: peer.port,
      encryption: 'none',
      retry,
      timeoutMs: TIMEOUT_MS,
      poolSize: 1,
    });
    opened.push(backend);
    const s = await settle(backend.sendEmail(simple()));
    expect(failure(s)).toEqual({ state: 'rejected', code: 'timeout', retryable: false, possiblyDelivered: true });
  }, 30_000);
});
