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
import { HttpPeer, type Reply } from '../utils/http-peer.js';
import { startMailgunPeer } from '../utils/mailgun-peer.js';
import { RawSmtpPeer } from '../utils/raw-smtp-peer.js';
import { startSendGridPeer } from '../utils/sendgrid-peer.js';
import { generateCertificate, type TestCertificate } from '../utils/tls-cert.js';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

const TIMEOUT_MS = 400;
const SLACK_MS = 600;
const retry = { retries: 2, minDelayMs: 1, maxDelayMs: 3000 };
const simple = () =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject('fault').textBody('body').build();

/** What a caller sees of a send: the error fields that drive its decisions, and what reached the provider. */
interface Observed {
  ok: boolean;
  code?: string;
  retryable?: boolean;
  possiblyDelivered?: boolean;
  status?: number;
  retryAfterMs?: number;
  requests: number;
  ms: number;
}

/** One HTTP provider behind a local peer that can be scripted to fail. */
interface HttpTarget {
  name: string;
  peer: HttpPeer;
  backend: EmailBackend;
  /** This provider's way of saying `status` (its error body and headers). */
  fail(status: number, headers?: Record<string, string>): Reply;
  /** Whether the SDK lets the backend read `Retry-After`. */
  seesRetryAfter: boolean;
}

async function observe(target: { backend: EmailBackend; count(): number }, key?: string): Promise<Observed> {
  const before = target.count();
  const start = Date.now();
  try {
    await target.backend.sendEmail(simple(), key === undefined ? undefined : { idempotencyKey: key });
    return { ok: true, requests: target.count() - before, ms: Date.now() - start };
  } catch (err) {
    expect(err).toBeInstanceOf(EmailError);
    const e = err as EmailError;
    return {
      ok: false,
      code: e.code,
      retryable: e.retryable,
      possiblyDelivered: e.possiblyDelivered,
      status: e.status,
      retryAfterMs: e.retryAfterMs,
      requests: target.count() - before,
      ms: Date.now() - start,
    };
  }
}

const sesError = (status: number, type: string, headers: Record<string, string> = {}): Reply => ({
  status,
  headers: { 'x-amzn-errortype': type, 'x-amzn-requestid': 'req-1', ...headers },
  body: { message: type },
});

let targets: HttpTarget[];
let cert: TestCertificate;

beforeAll(async () => {
  cert = await generateCertificate();
  const sgPeer = await startSendGridPeer('SG.faults-key');
  const mgPeer = await startMailgunPeer('key-faults', 'mg.example.test');
  const sesPeer = await HttpPeer.start(() => ({ status: 200, body: { MessageId: 'ses-id' } }));
  const options = { retry, timeoutMs: TIMEOUT_MS };
  targets = [
    {
      name: 'sendgrid',
      peer: sgPeer,
      backend: new SendGridBackend('SG.faults-key', { ...options, baseUrl: sgPeer.url }),
      fail: (status, headers) => ({ status, headers, body: { errors: [{ message: `status ${status}` }] } }),
      seesRetryAfter: true,
    },
    {
      name: 'ses',
      peer: sesPeer,
      backend: new SesBackend({
        ...options,
        endpoint: sesPeer.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: 'faults-secret' },
      }),
      fail: (status, headers) =>
        sesError(
          status,
          status === 429 ? 'TooManyRequestsException' : status === 503 ? 'ServiceUnavailable' : 'InternalFailure',
          headers,
        ),
      seesRetryAfter: true,
    },
    {
      name: 'mailgun',
      peer: mgPeer,
      backend: new MailgunBackend('key-faults', 'mg.example.test', { ...options, url: mgPeer.url }),
      fail: (status, headers) => ({ status, headers, body: { message: `status ${status}` } }),
      // mailgun.js drops response headers from its errors; the backend reads them through its request hook.
      seesRetryAfter: true,
    },
  ];
});
beforeEach(() => {
  for (const t of targets) t.peer.reset();
});
afterAll(async () => {
  for (const t of targets) {
    await t.backend.close();
    await t.peer.close();
  }
});

/** Runs the same fault against every HTTP provider and returns what each caller saw. */
async function acrossProviders(
  script: (t: HttpTarget) => Reply[],
  key?: (t: HttpTarget) => string,
): Promise<Record<string, Observed>> {
  const seen: Record<string, Observed> = {};
  for (const t of targets) {
    t.peer.script(...script(t));
    seen[t.name] = await observe({ backend: t.backend, count: () => t.peer.requests.length }, key?.(t));
  }
  return seen;
}

/** The decision-relevant fields, which must be the same for every provider. */
const decision = ({ ok, code, retryable, possiblyDelivered, requests }: Observed) => ({
  ok,
  code,
  retryable,
  possiblyDelivered,
  requests,
});

function expectSameEverywhere(seen: Record<string, Observed>, expected: Partial<Observed>): void {
  for (const [name, o] of Object.entries(seen))
    expect({ name, ...decision(o) }).toEqual({ name, ...decision({ ...o, ...expected }) });
}

describe('email faults: the same outcome on every HTTP provider', () => {
  it('429 with Retry-After: retried once the provider allows it, then sent', async () => {
    const seen = await acrossProviders((t) => [t.fail(429, { 'retry-after': '1' })]);
    expectSameEverywhere(seen, { ok: true, requests: 2 });
    for (const t of targets) if (t.seesRetryAfter) expect(seen[t.name].ms).toBeGreaterThanOrEqual(950);
  });

  it('429 with a Retry-After beyond maxDelayMs: not retried, `rate_limited` with retryAfterMs', async () => {
    const seen = await acrossProviders((t) => [t.fail(429, { 'retry-after': '120' })]);
    for (const t of targets.filter((x) => x.seesRetryAfter)) {
      expect(decision(seen[t.name])).toEqual({
        ok: false,
        code: 'rate_limited',
        retryable: true,
        possiblyDelivered: false,
        requests: 1,
      });
      expect(seen[t.name].retryAfterMs).toBe(120_000);
    }
  });

  it('503: retried with backoff until it is sent', async () => {
    const seen = await acrossProviders((t) => [t.fail(503), t.fail(503)]);
    expectSameEverywhere(seen, { ok: true, requests: 3 });
  });

  it('500: in doubt, not retried without a key; retried with one, and the key then returns the first result', async () => {
    const seen = await acrossProviders((t) => [t.fail(500)]);
    expectSameEverywhere(seen, { ok: false, code: 'provider', retryable: false, possiblyDelivered: true, requests: 1 });
    const keyed = await acrossProviders(
      (t) => [t.fail(500)],
      (t) => `500-${t.name}`,
    );
    expectSameEverywhere(keyed, { ok: true, requests: 2 });
    const again = await acrossProviders(
      () => [],
      (t) => `500-${t.name}`,
    );
    expectSameEverywhere(again, { ok: true, requests: 0 });
  });

  it('connection reset after the request arrived: in doubt, not retried without a key; retried with one', async () => {
    const seen = await acrossProviders(() => ['reset']);
    expectSameEverywhere(seen, {
      ok: false,
      code: 'connection',
      retryable: false,
      possiblyDelivered: true,
      requests: 1,
    });
    const keyed = await acrossProviders(
      () => ['reset'],
      (t) => `reset-${t.name}`,
    );
    expectSameEverywhere(keyed, { ok: true, requests: 2 });
    const again = await acrossProviders(
      () => [],
      (t) => `reset-${t.name}`,
    );
    expectSameEverywhere(again, { ok: true, requests: 0 });
  });

  it('an in-doubt failure that persists with a key: retried up to retry.retries, then the key answers "in doubt" without a send', async () => {
    const keyed = await acrossProviders(
      (t) => Array.from({ length: 1 + retry.retries }, () => t.fail(500)),
      (t) => `500x-${t.name}`,
    );
    expectSameEverywhere(keyed, {
      ok: false,
      code: 'provider',
      retryable: false,
      possiblyDelivered: true,
      requests: 1 + retry.retries,
    });
    const again = await acrossProviders(
      () => [],
      (t) => `500x-${t.name}`,
    );
    expectSameEverywhere(again, {
      ok: false,
      code: 'provider',
      retryable: false,
      possiblyDelivered: true,
      requests: 0,
    });
  });

  it('a hang past timeoutMs: `timeout` in doubt, within the deadline, one request', async () => {
    const seen = await acrossProviders(() => ['hang']);
    expectSameEverywhere(seen, { ok: false, code: 'timeout', retryable: false, possiblyDelivered: true, requests: 1 });
    for (const o of Object.values(seen)) expect(o.ms).toBeLessThan(TIMEOUT_MS + SLACK_MS);
  });

  it('nothing listening: `connection`, retried (nothing was sent), then given up', async () => {
    const dead = [
      new SendGridBackend('SG.x', { retry, baseUrl: 'http://127.0.0.1:1' }),
      new SesBackend({
        retry,
        endpoint: 'http://127.0.0.1:1',
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
      new MailgunBackend('key-x', 'mg.example.test', { retry, url: 'http://127.0.0.1:1' }),
    ];
    try {
      for (const backend of dead) {
        const o = await observe({ backend, count: () => 0 });
        expect({ kind: backend.constructor.name, ...decision(o) }).toEqual({
          kind: backend.constructor.name,
          ...decision({ ...o, ok: false, code: 'connection', retryable: true, possiblyDelivered: false }),
        });
      }
    } finally {
      await Promise.all(dead.map((b) => b.close()));
    }
  });

  it('a TLS certificate that does not verify: `connection`, not retried, nothing reaches the API', async () => {
    const handled: string[] = [];
    const tlsPeer = await HttpPeer.start((req) => {
      handled.push(req.url);
      return { status: 200, body: { MessageId: 'x', id: 'x' } };
    }, cert);
    const backends = [
      new SendGridBackend('SG.x', { retry, baseUrl: tlsPeer.url }),
      new SesBackend({
        retry,
        endpoint: tlsPeer.url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      }),
      new MailgunBackend('key-x', 'mg.example.test', { retry, url: tlsPeer.url }),
    ];
    try {
      for (const backend of backends) {
        const connectionsBefore = tlsPeer.connections;
        const o = await observe({ backend, count: () => handled.length });
        expect({ kind: backend.constructor.name, ...decision(o) }).toEqual({
          kind: backend.constructor.name,
          ok: false,
          code: 'connection',
          retryable: false,
          possiblyDelivered: false,
          requests: 0,
        });
        expect(tlsPeer.connections - connectionsBefore).toBe(1);
      }
    } finally {
      await Promise.all(backends.map((b) => b.close()));
      await tlsPeer.close();
    }
  });
});

describe('email faults: SMTP gives the same outcomes', () => {
  const opened: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const x of opened.reverse()) await x.close();
  });
  async function smtp(options: Parameters<typeof RawSmtpPeer.start>[0]) {
    const peer = await RawSmtpPeer.start(options);
    const backend = new SmtpBackend({
      host: '127.0.0.1',
      port: peer.port,
      encryption: 'none',
      retry,
      timeoutMs: TIMEOUT_MS,
      poolSize: 1,
    });
    opened.push(peer, backend);
    return { peer, backend, count: () => peer.received };
  }

  it('421 (service unavailable, like 503) and 451 (like 429): retried, then sent once', async () => {
    for (const reply of ['421 4.3.2 try again later', '451 4.7.1 rate limited']) {
      const t = await smtp({ rcptReplies: [reply] });
      expect(decision(await observe(t))).toEqual({ ok: true, requests: 1 });
    }
  });

  it('554 at RCPT: `rejected`, not retried', async () => {
    const t = await smtp({ rcptReplies: ['554 5.7.1 no'] });
    const o = await observe(t);
    expect(decision(o)).toEqual({
      ok: false,
      code: 'rejected',
      retryable: false,
      possiblyDelivered: false,
      requests: 0,
    });
    expect(t.peer.connections).toBe(1);
  });

  it('reset before the greeting: `connection`, retried (nothing was sent), then given up', async () => {
    const t = await smtp({ resetAt: 'greeting' });
    const o = await observe(t);
    expect(decision(o)).toEqual({
      ok: false,
      code: 'connection',
      retryable: true,
      possiblyDelivered: false,
      requests: 0,
    });
    expect(t.peer.connections).toBe(1 + retry.retries);
  });

  it('reset after the message arrived: in doubt, not retried without a key; retried with one', async () => {
    const t = await smtp({ resetAt: 'after-data' });
    expect(decision(await observe(t))).toEqual({
      ok: false,
      code: 'connection',
      retryable: false,
      possiblyDelivered: true,
      requests: 1,
    });
    // Every attempt is reset after the message: retried retry.retries times, then "in doubt" for the key.
    expect(decision(await observe(t, 'smtp-reset'))).toEqual({
      ok: false,
      code: 'connection',
      retryable: false,
      possiblyDelivered: true,
      requests: 1 + retry.retries,
    });
    const connections = t.peer.connections;
    expect(decision(await observe(t, 'smtp-reset'))).toEqual({
      ok: false,
      code: 'connection',
      retryable: false,
      possiblyDelivered: true,
      requests: 0,
    });
    expect(t.peer.connections).toBe(connections);
  });

  it('a server that accepts and never greets: `timeout` within the deadline per attempt, retried (nothing was sent)', async () => {
    const t = await smtp({ silent: true });
    const o = await observe(t);
    expect(decision(o)).toEqual({ ok: false, code: 'timeout', retryable: true, possiblyDelivered: false, requests: 0 });
    expect(t.peer.connections).toBe(1 + retry.retries);
    expect(o.ms).toBeLessThan((1 + retry.retries) * (TIMEOUT_MS + SLACK_MS));
  });
});
