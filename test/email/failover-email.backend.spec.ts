import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { inspect } from 'node:util';
import {
  type Backend,
  BackendsModule,
  EMAIL_BACKEND,
  Email,
  type EmailBackend,
  EmailError,
  EmailFailoverError,
  FailoverEmailBackend,
  type FailoverSentEmail,
  MemoryBackend,
  MemoryEmailBackend,
  SendGridBackend,
  SmtpBackend,
  STORAGE_BACKEND,
} from '../../lib/index.js';
import type { HttpPeer } from '../utils/http-peer.js';
import { sendGridBody, startSendGridPeer } from '../utils/sendgrid-peer.js';
import { SmtpPeer } from '../utils/smtp-peer.js';
import { failure } from './failure.util.js';

// Primary: SendGridBackend (the real SDK) against a local SendGrid peer that is scripted to answer 503,
// 429, 400, 500 or to trickle. Secondary: SmtpBackend (nodemailer) against a real smtp-server.
const API_KEY = 'SG.failover-secret-key';
const retry = { retries: 1, minDelayMs: 1, maxDelayMs: 20 };
const ATTEMPTS = retry.retries + 1;

let sg: HttpPeer;
let smtp: SmtpPeer;
/** An SMTP server that refuses every recipient for good (550). */
let refusing: SmtpPeer;
/** An SMTP server that refuses every recipient for now (450). */
let busy: SmtpPeer;
const opened: { close(): Promise<void> }[] = [];

const email = (to = 'rcpt@example.com', subject = 'failover') =>
  Email.builder().from('sender@example.com').to(to).subject(subject).textBody('body').build();

function track<T extends { close(): Promise<void> }>(x: T): T {
  opened.push(x);
  return x;
}

function sendgrid(opts: { apiKey?: string; timeoutMs?: number } = {}): SendGridBackend {
  return track(
    new SendGridBackend(opts.apiKey ?? API_KEY, {
      baseUrl: sg.url,
      retry,
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
    }),
  );
}

function smtpTo(peer: SmtpPeer): SmtpBackend {
  return track(new SmtpBackend({ host: '127.0.0.1', port: peer.port, encryption: 'none', retry, poolSize: 1 }));
}

function chain(backends: ConstructorParameters<typeof FailoverEmailBackend>[0], options = {}): FailoverEmailBackend {
  return track(new FailoverEmailBackend(backends, options));
}

const replies = {
  unavailable: { status: 503, body: { errors: [{ message: 'Service Unavailable' }] } },
  rateLimited: { status: 429, body: { errors: [{ message: 'Too many requests' }] } },
  badRequest: { status: 400, body: { errors: [{ field: 'from.email', message: 'Invalid from' }] } },
  serverError: { status: 500, body: '' },
  accepted: (id: string) => ({ status: 202, headers: { 'x-message-id': id } }),
};

beforeAll(async () => {
  sg = await startSendGridPeer(API_KEY);
  smtp = await SmtpPeer.start({ mode: 'none' });
  refusing = await SmtpPeer.start({ mode: 'none', refuse: () => 550 });
  busy = await SmtpPeer.start({ mode: 'none', refuse: () => 450 });
});
beforeEach(() => {
  sg.reset();
  smtp.reset();
  refusing.reset();
  busy.reset();
});
afterEach(async () => {
  for (const x of opened.splice(0).reverse()) await x.close();
});
afterAll(async () => {
  await sg.close();
  await smtp.close();
  await refusing.close();
  await busy.close();
});

describe('FailoverEmailBackend: a transient failure moves the send to the next backend', () => {
  it('SendGrid answers 503 to every attempt: SMTP sends it once, and the result names it', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    const sent = await backend.sendEmail(email('a@example.com', 'after 503'));
    expect(sent.backend).toBe('smtp');
    expect(sg.requests).toHaveLength(ATTEMPTS); // the primary's own retries ran first
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0].parsed.subject).toBe('after 503');
    expect(smtp.messages[0].envelope.to).toEqual(['a@example.com']);
    expect(sent.messageId).toBe(smtp.messages[0].parsed.messageId);
    expect(sent.failedOver).toHaveLength(1);
    expect(sent.failedOver[0]).toMatchObject({ backend: 'sendgrid' });
    expect(sent.failedOver[0].error).toMatchObject({ code: 'provider', status: 503, retryable: true });
  });

  it('SendGrid answers 429: the configured names are reported', async () => {
    const backend = chain([
      { name: 'primary', backend: sendgrid() },
      { name: 'fallback', backend: smtpTo(smtp) },
    ]);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.rateLimited));
    const sent = await backend.sendEmail(email());
    expect(sent.backend).toBe('fallback');
    expect(sent.failedOver.map((f) => [f.backend, f.error.code])).toEqual([['primary', 'rate_limited']]);
    expect(sg.requests).toHaveLength(ATTEMPTS);
    expect(smtp.messages).toHaveLength(1);
  });

  it('a healthy primary sends it and the secondary sees nothing', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    const sent = await backend.sendEmail(email('b@example.com'));
    expect(sent).toMatchObject({ backend: 'sendgrid', failedOver: [] });
    expect(sg.requests).toHaveLength(1);
    expect(sendGridBody(sg.requests[0]).personalizations[0].to).toEqual([{ email: 'b@example.com' }]);
    expect(smtp.messages).toHaveLength(0);
  });

  it('SMTP refusing every recipient for now (450) moves on to SendGrid', async () => {
    const backend = chain([smtpTo(busy), sendgrid()]);
    const sent = await backend.sendEmail(email());
    expect(sent.backend).toBe('sendgrid');
    expect(sent.failedOver[0]).toMatchObject({ backend: 'smtp' });
    expect(sent.failedOver[0].error.retryable).toBe(true);
    expect(busy.messages).toHaveLength(0);
    expect(sg.requests).toHaveLength(1);
  });
});

describe('FailoverEmailBackend: permanent failures stay where they are', () => {
  it('a 400 from SendGrid is not failed over', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    sg.script(replies.badRequest);
    const err = await failure(backend.sendEmail(email()));
    expect(err).not.toBeInstanceOf(EmailFailoverError);
    expect(err).toMatchObject({ code: 'rejected', status: 400, backend: 'sendgrid', retryable: false });
    expect(sg.requests).toHaveLength(1);
    expect(smtp.messages).toHaveLength(0);
  });

  it('a 401 (a wrong API key) is not failed over', async () => {
    const backend = chain([sendgrid({ apiKey: 'SG.wrong-key' }), smtpTo(smtp)]);
    const err = await failure(backend.sendEmail(email()));
    expect(err).toMatchObject({ code: 'authentication', status: 401 });
    expect(sg.requests).toHaveLength(1);
    expect(smtp.messages).toHaveLength(0);
  });

  it('an SMTP 550 for every recipient is not failed over', async () => {
    const backend = chain([smtpTo(refusing), sendgrid()]);
    const err = await failure(backend.sendEmail(email()));
    expect(err).toMatchObject({ code: 'rejected', backend: 'smtp', retryable: false });
    expect(sg.requests).toHaveLength(0);
  });

  it("failoverOn: 'any' fails over a 400 too", async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)], { failoverOn: 'any' });
    sg.script(replies.badRequest);
    const sent = await backend.sendEmail(email());
    expect(sent.backend).toBe('smtp');
    expect(sent.failedOver[0].error).toMatchObject({ code: 'rejected', status: 400 });
    expect(smtp.messages).toHaveLength(1);
  });

  it('an invalid email is refused before any backend is called', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)], { failoverOn: 'any' });
    const err = await failure(backend.sendEmail({ subject: 'not built' } as unknown as Email));
    expect(err.code).toBe('validation');
    expect(sg.requests).toHaveLength(0);
    expect(smtp.messages).toHaveLength(0);
  });

  it('every backend failing rejects with EmailFailoverError listing each, without secrets', async () => {
    const backend = chain([sendgrid(), smtpTo(refusing)]);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    const err = await failure(backend.sendEmail(email()));
    expect(err).toBeInstanceOf(EmailFailoverError);
    const e = err as EmailFailoverError;
    expect(e.failures.map((f) => [f.backend, f.error.code, f.error.status])).toEqual([
      ['sendgrid', 'provider', 503],
      ['smtp', 'rejected', 550],
    ]);
    // The last one's code; retryable because the primary's failure was transient.
    expect(e).toMatchObject({ code: 'rejected', backend: 'smtp', retryable: true, possiblyDelivered: false });
    expect(e.message).toContain('sendgrid (provider, 503)');
    for (const text of [JSON.stringify(e), inspect(e, { depth: 5 }), e.message, String(e.stack)]) {
      expect(text).not.toContain(API_KEY);
    }
    expect(JSON.parse(JSON.stringify(e)).failures).toHaveLength(2);
  });
});

describe('FailoverEmailBackend: in doubt, never twice', () => {
  it('a keyed send that trickles after the request went out is in doubt and never fails over', async () => {
    const backend = chain([sendgrid({ timeoutMs: 500 }), smtpTo(smtp)], { failoverOn: 'any' });
    sg.script(...Array.from({ length: ATTEMPTS }, () => 'trickle' as const));
    const err = await failure(backend.sendEmail(email(), { idempotencyKey: 'order-1' }));
    expect(err).toMatchObject({ code: 'timeout', possiblyDelivered: true, backend: 'sendgrid' });
    expect(sg.requests).toHaveLength(ATTEMPTS); // with a key the primary retries in doubt, then stops
    expect(smtp.messages).toHaveLength(0);
    // The same key again fails at once: no provider call on either backend.
    const again = await failure(backend.sendEmail(email(), { idempotencyKey: 'order-1' }));
    expect(again).toMatchObject({ possiblyDelivered: true });
    expect(sg.requests).toHaveLength(ATTEMPTS);
    expect(smtp.messages).toHaveLength(0);
  });

  it('a 500 (possibly delivered) is not failed over by default, with or without a key', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    sg.script(replies.serverError);
    expect(await failure(backend.sendEmail(email()))).toMatchObject({ code: 'provider', possiblyDelivered: true });
    sg.script(replies.serverError, replies.serverError);
    expect(await failure(backend.sendEmail(email(), { idempotencyKey: 'k-500' }))).toMatchObject({
      possiblyDelivered: true,
    });
    expect(smtp.messages).toHaveLength(0);
  });

  it("failoverOn: 'any' moves an unkeyed 500 on, but never a keyed one", async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)], { failoverOn: 'any' });
    sg.script(replies.serverError);
    expect((await backend.sendEmail(email())).backend).toBe('smtp');
    expect(smtp.messages).toHaveLength(1);
    sg.script(replies.serverError, replies.serverError);
    await failure(backend.sendEmail(email(), { idempotencyKey: 'k-any-500' }));
    expect(smtp.messages).toHaveLength(1);
  });

  it('a key sent by the secondary returns that result again, even once the primary is healthy', async () => {
    // Each backend keeps keys in its own private store here: the chain's own record answers the repeat.
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    const first = await backend.sendEmail(email(), { idempotencyKey: 'welcome-7' });
    const again = await backend.sendEmail(email(), { idempotencyKey: 'welcome-7' });
    expect(again).toEqual({ messageId: first.messageId, backend: 'smtp', failedOver: [] });
    expect(sg.requests).toHaveLength(ATTEMPTS);
    expect(smtp.messages).toHaveLength(1);
  });

  it('concurrent sends with one key make one delivery', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    const sends = await Promise.all([1, 2, 3].map(() => backend.sendEmail(email(), { idempotencyKey: 'same' })));
    expect(new Set(sends.map((s) => s.messageId)).size).toBe(1);
    expect(smtp.messages).toHaveLength(1);
  });
});

describe('FailoverEmailBackend: sendBulk', () => {
  it('applies the rule per email: ok, failed over after a 503, refused for a 400', async () => {
    const backend = chain([sendgrid(), smtpTo(smtp)]);
    // One send at a time, so the scripted replies meet the emails in order.
    sg.script(replies.accepted('sg-1'), ...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    sg.script(replies.badRequest);
    const results = await backend.sendBulk([email('a@example.com'), email('b@example.com'), email('c@example.com')], {
      concurrency: 1,
    });
    expect(results.map((r) => (r.ok ? [r.backend, r.failedOver.length] : [r.error.code, r.error.status]))).toEqual([
      ['sendgrid', 0],
      ['smtp', 1],
      ['rejected', 400],
    ]);
    expect(results[0]).toMatchObject({ ok: true, messageId: 'sg-1' });
    expect(smtp.messages.map((m) => m.envelope.to)).toEqual([['b@example.com']]);
    expect(sg.requests).toHaveLength(1 + ATTEMPTS + 1);
  });
});

describe('FailoverEmailBackend: closing', () => {
  it('close() leaves the backends passed in open, and refuses later sends', async () => {
    const a = track(new MemoryEmailBackend());
    const b = track(new MemoryEmailBackend());
    const backend = new FailoverEmailBackend([a, b]);
    await backend.close();
    expect(await failure(backend.sendEmail(email()))).toMatchObject({ code: 'configuration' });
    await a.sendEmail(email());
    expect(a.sentEmails()).toHaveLength(1);
  });

  it('closes members marked `owned`', async () => {
    const a = new MemoryEmailBackend();
    const b = track(new MemoryEmailBackend());
    const backend = new FailoverEmailBackend([{ backend: a, owned: true }, b]);
    await backend.close();
    expect(await failure(a.sendEmail(email()))).toMatchObject({ code: 'configuration' });
    await b.sendEmail(email());
  });
});

describe('FailoverEmailBackend: bad configuration is a typed error', () => {
  const cases: [string, () => unknown][] = [
    ['an empty list', () => new FailoverEmailBackend([])],
    ['a nested failover', () => new FailoverEmailBackend([new FailoverEmailBackend([new MemoryEmailBackend()])])],
    ['a member that is not a backend', () => new FailoverEmailBackend([{} as EmailBackend])],
    [
      'two members with one name',
      () =>
        new FailoverEmailBackend([
          { name: 'x', backend: new MemoryEmailBackend() },
          { name: 'x', backend: new MemoryEmailBackend() },
        ]),
    ],
    [
      'an unknown failoverOn',
      () => new FailoverEmailBackend([new MemoryEmailBackend()], { failoverOn: 'some' as never }),
    ],
  ];
  it.each(cases)('%s', (_name, make) => {
    let thrown: unknown;
    try {
      make();
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(EmailError);
    expect(thrown).toMatchObject({ code: 'configuration', backend: 'failover' });
  });

  const moduleCases: [string, unknown][] = [
    ['an empty list', { type: 'failover', backends: [] }],
    ['no list', { type: 'failover' }],
    ['a nested failover', { type: 'failover', backends: [{ type: 'memory' }, { type: 'failover', backends: [] }] }],
    ['a member without a type', { type: 'failover', backends: [{ host: '127.0.0.1' }] }],
    ['an unknown failoverOn', { type: 'failover', backends: [{ type: 'memory' }], failoverOn: 'never' }],
    [
      'a member that cannot be built',
      { type: 'failover', backends: [{ type: 'memory' }, { type: 'sendgrid', apiKey: '' }] },
    ],
  ];
  it.each(moduleCases)('module options with %s fail at startup', async (_name, emailOptions) => {
    const compiling = Test.createTestingModule({
      imports: [BackendsModule.forRoot({ email: emailOptions as never })],
    }).compile();
    await expect(compiling).rejects.toBeInstanceOf(EmailError);
    await expect(compiling).rejects.toMatchObject({ code: 'configuration' });
  });
});

describe("BackendsModule: email: { type: 'failover' }", () => {
  it('builds the chain from options, keeps keys in STORAGE_BACKEND and closes the backends it built', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendsModule.forRoot({
          storage: { type: 'memory' },
          email: {
            type: 'failover',
            backends: [
              { type: 'sendgrid', apiKey: API_KEY, baseUrl: sg.url, retry },
              { type: 'smtp', name: 'fallback', host: '127.0.0.1', port: smtp.port, encryption: 'none', retry },
            ],
          },
        }),
      ],
    }).compile();
    await moduleRef.init();
    const backend = moduleRef.get<FailoverEmailBackend>(EMAIL_BACKEND);
    expect(backend).toBeInstanceOf(FailoverEmailBackend);
    expect(backend.members.map((m) => m.name)).toEqual(['sendgrid', 'fallback']);
    sg.script(...Array.from({ length: ATTEMPTS }, () => replies.unavailable));
    const sent: FailoverSentEmail = await backend.sendEmail(email(), { idempotencyKey: 'module-key' });
    expect(sent.backend).toBe('fallback');
    expect(smtp.messages).toHaveLength(1);
    const storage = moduleRef.get<Backend>(STORAGE_BACKEND);
    const { createHash } = await import('node:crypto');
    const id = createHash('sha256').update('module-key').digest('hex');
    expect(await storage.get(`email:failover:${id}`)).toEqual({
      state: 'sent',
      messageId: sent.messageId,
      backend: 'fallback',
    });
    const members = backend.members.map((m) => m.backend);
    await moduleRef.close();
    for (const m of members) expect(await failure(m.sendEmail(email()))).toMatchObject({ code: 'configuration' });
  });

  it('leaves a member given as an object open', async () => {
    const mine = track(new MemoryEmailBackend());
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendsModule.forRoot({
          storage: new MemoryBackend(),
          email: { type: 'failover', backends: [{ type: 'memory' }, { name: 'mine', backend: mine }] },
        }),
      ],
    }).compile();
    await moduleRef.init();
    const backend = moduleRef.get<FailoverEmailBackend>(EMAIL_BACKEND);
    const [built] = backend.members;
    expect(backend.members[1]).toEqual({ name: 'mine', backend: mine });
    await moduleRef.close();
    expect(await failure(built.backend.sendEmail(email()))).toMatchObject({ code: 'configuration' });
    await mine.sendEmail(email());
    expect(mine.sentEmails()).toHaveLength(1);
  });
});
