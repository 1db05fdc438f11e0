import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import request from 'supertest';
import {
  Attachment,
  type Backend,
  EMAIL_BACKEND,
  Email,
  type MemoryEmailBackend,
  STORAGE_BACKEND,
} from '../../lib/index.js';
import { createSampleApp } from '../../sample/bootstrap.js';
import { SampleConfigError } from '../../sample/config/sample-config.error.js';
import { FROZEN_AT, freezeDate, thawDate } from '../utils/clock.js';
import { freePort } from '../utils/free-port.js';
import { redisUrl } from '../utils/redis-env.js';

/** Everything jest can fake except `Date`. */
const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

/** The app's shared storage backend. */
function storageOf(app: INestApplication): Backend {
  return app.get<Backend>(STORAGE_BACKEND);
}

/** The client every request of these tests comes from, as the guard sees it. */
const CLIENT = '127.0.0.1';

/**
 * The first millisecond, at or after `after`, of a window of the limit `name` of route `scope`
 * (windows of `ttlMs`), and the counter key of that window. It mirrors the throttler: windows follow
 * the clock shifted by the first 32 bits of the SHA-256 of scope, limit name and client, and
 * counters live under `throttle:{<tag>}<hash>:<window index>`, where the hash tag (8 characters of the
 * SHA-256 of the client) puts every limit of one client in one Cluster slot.
 */
function windowOf(scope: string, name: string, ttlMs: number, after: number): { start: number; counterKey: string } {
  const digest = createHash('sha256').update(`${scope}\u0000${name}\u0000${CLIENT}`).digest();
  const tag = createHash('sha256').update(CLIENT).digest('base64url').slice(0, 8);
  const offset = digest.readUInt32BE(0) % ttlMs;
  const index = Math.ceil((after + offset) / ttlMs);
  return {
    start: index * ttlMs - offset,
    counterKey: `throttle:{${tag}}${digest.toString('base64url')}:${index.toString(36)}`,
  };
}

describe.each([
  ['memory defaults', () => ({})],
  ['Redis', () => ({ REDIS_URL: redisUrl() })],
])('sample app on %s', (_label, env) => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createSampleApp(env(), false);
    await app.init();
    http = request(app.getHttpServer());
    // Redis is shared by the runs: start from a clean sample namespace.
    await storageOf(app).clear();
  });
  afterAll(async () => {
    await app?.close();
  });

  it('counts visits with the storage backend directly', async () => {
    const first = await http.get('/visits/home').expect(200);
    const second = await http.get('/visits/home').expect(200);
    expect(first.body.visits).toBe(1);
    expect(second.body.visits).toBe(2);
    expect(second.body.windowMsLeft).toBeGreaterThan(0);
  });

  it('throttles /limits/slow at 5 per minute with rate-limit headers', async () => {
    // Date stands still at the start of a minute window, so the six requests all fall in it.
    const window = windowOf('LimitsController.slow', 'default', 60_000, Date.now() + 3_600_000);
    jest.useFakeTimers({ now: window.start, doNotFake: [...REAL_TIMERS] });
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        const res = await http.get('/limits/slow');
        codes.push(res.status);
        if (i === 0) expect(res.headers['x-ratelimit-limit']).toBe('5');
        if (res.status === 429) expect(Number(res.headers['retry-after'])).toBe(60);
      }
      expect(codes).toEqual([200, 200, 200, 200, 200, 429]);
      const left = await storageOf(app).ttl(window.counterKey);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(60_000);
    } finally {
      jest.useRealTimers();
    }
  });

  it('checks burst and sustained limits together on /limits/burst', async () => {
    // The clock (Date only) stands still during the burst; timers and I/O run as usual. On Redis a
    // counter still expires in real time when its window ends, so the burst is placed at the very start
    // of its one-second window: it has the whole second to finish.
    const burst = windowOf('LimitsController.burst', 'burst', 1000, Date.now() + 3_600_000);
    jest.useFakeTimers({ now: burst.start, doNotFake: [...REAL_TIMERS] });
    try {
      const codes = await Promise.all(Array.from({ length: 5 }, () => http.get('/limits/burst').then((r) => r.status)));
      expect(codes.sort()).toEqual([200, 200, 200, 429, 429]);
      // The counter the guard wrote is the one computed here, so the burst was where it was meant to be.
      const left = await storageOf(app).ttl(burst.counterKey);
      expect(left).toBeGreaterThan(0);
      expect(left).toBeLessThanOrEqual(1000);
    } finally {
      jest.useRealTimers();
    }
  });

  it('caches /catalog/products (MISS then HIT) and computes /catalog/stats once', async () => {
    const miss = await http.get('/catalog/products').expect(200);
    const hit = await http.get('/catalog/products').expect(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual(miss.body);
    const stats = await Promise.all(Array.from({ length: 5 }, () => http.get('/catalog/stats').expect(200)));
    expect(new Set(stats.map((s) => s.body.computedAt)).size).toBe(1);
    expect(stats[0].body.count).toBe(3);
  });

  it('logs in, reads /me with the session cookie, and logs out', async () => {
    const agent = request.agent(app.getHttpServer());
    await agent.get('/account/me').expect(401);
    await agent.post('/account/login').send({ username: 'alice', password: 'wonderland' }).expect(200);
    expect((await agent.get('/account/me').expect(200)).body).toEqual({ user: 'alice' });
    await agent.post('/account/logout').expect(200);
    await agent.get('/account/me').expect(401);
  });

  it('ends every session of a user with logout-everywhere', async () => {
    const laptop = request.agent(app.getHttpServer());
    const phone = request.agent(app.getHttpServer());
    await laptop.post('/account/login').send({ username: 'bob', password: 'builder' }).expect(200);
    await phone.post('/account/login').send({ username: 'bob', password: 'builder' }).expect(200);
    expect((await laptop.post('/account/logout-everywhere').expect(200)).body).toEqual({ sessionsEnded: 2 });
    await phone.get('/account/me').expect(401);
  });

  it('limits login attempts per account with the Throttler service', async () => {
    // Date stands still, 14 minutes before the end of the 15-minute window of mallory's counter.
    freezeDate(FROZEN_AT + 60_000);
    try {
      const codes: number[] = [];
      for (let i = 0; i < 6; i++) {
        codes.push((await http.post('/account/login').send({ username: 'mallory', password: 'guess' })).status);
      }
      expect(codes).toEqual([401, 401, 401, 401, 401, 429]);
    } finally {
      thawDate();
    }
  });

  it('sends the welcome email with HTML and an attachment, and shows it on /outbox', async () => {
    const sent = await http.post('/mail/welcome').send({ to: 'Zoë <zoe@example.com>', name: 'Zoë' }).expect(201);
    expect(sent.body).toMatchObject({ backend: 'memory' });
    const page = await http.get('/outbox').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.text).toContain('Welcome, Zoë!');
    expect(page.text).toContain('getting-started.txt');
    await http.post('/mail/welcome').send({ to: 'not an address', name: 'x' }).expect(400);
  });

  it('sends a newsletter in bulk with one result per recipient', async () => {
    const res = await http
      .post('/mail/newsletter')
      .send({ recipients: ['a@example.com', 'bad address', 'b@example.com'] })
      .expect(201);
    expect(res.body.map((r: { ok: boolean }) => r.ok)).toEqual([true, false, true]);
    expect(res.body[1]).toMatchObject({ to: 'bad address', error: 'validation' });
  });
});

describe('sample app configuration', () => {
  it('refuses a malformed variable with an error naming it', async () => {
    await expect(createSampleApp({ REDIS_URL: 'not a url' }, false)).rejects.toThrow(
      new SampleConfigError('REDIS_URL', 'is not a valid URL'),
    );
    await expect(createSampleApp({ MAILGUN_DOMAIN: 'mg.example.com' }, false)).rejects.toBeInstanceOf(
      SampleConfigError,
    );
  });

  it('stops with one line naming REDIS_URL when Redis is unreachable, without the password', async () => {
    const port = await freePort();
    let caught: unknown;
    try {
      await createSampleApp({ REDIS_URL: `redis://:Sup3rSecretPw@127.0.0.1:${port}` }, false);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(SampleConfigError);
    const message = (caught as Error).message;
    expect(message).toMatch(/^REDIS_URL: Redis is unreachable/);
    expect(message).not.toContain('Sup3rSecretPw');
    expect(message).not.toContain('\n');
  });
});

describe('sample index, request validation and outbox (memory)', () => {
  let app: INestApplication;
  let http: ReturnType<typeof request>;

  beforeAll(async () => {
    app = await createSampleApp({}, false);
    await app.init();
    http = request(app.getHttpServer());
  });
  afterAll(async () => {
    await app?.close();
  });

  /** The outbox the sample sends through (memory: no email variable set). */
  const outbox = () => app.get<MemoryEmailBackend>(EMAIL_BACKEND);

  it('lists on GET / every route the app declares, with links for GETs and forms for POSTs', async () => {
    const page = await http.get('/').expect(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    const listed = [...page.text.matchAll(/<section class="route" data-method="(\w+)" data-route="([^"]+)">/g)]
      .map(([, method, route]) => `${method} ${route}`)
      .sort();
    // The routes Express holds, as Nest registered them from the controllers.
    const router = (app.getHttpAdapter().getInstance() as ExpressLike).router;
    const declared = router.stack
      .filter((layer) => layer.route !== undefined && layer.route.path !== '/')
      .flatMap((layer) => Object.keys(layer.route!.methods).map((m) => `${m.toUpperCase()} ${layer.route!.path}`))
      .sort();
    expect(declared.length).toBeGreaterThan(10);
    expect(listed).toEqual(declared);
    expect(page.text).toContain('<a class="route-link" href="/visits/home">');
    expect(page.text).toContain('<form class="route-form" method="post" action="/mail/newsletter" data-json>');
    expect(page.text).toContain('<code class="demo-user">alice</code> / <code>wonderland</code>');
  });

  it.each([
    [
      '/mail/newsletter',
      { to: ['a@example.com'] },
      'recipients must be a non-empty array of email addresses; to is not a field of this route (it takes recipients)',
    ],
    ['/mail/newsletter', { recipients: [] }, 'recipients must be a non-empty array of email addresses'],
    ['/mail/newsletter', { recipients: 'a@example.com' }, 'recipients must be a non-empty array of email addresses'],
    [
      '/mail/newsletter',
      { recipients: ['a@example.com', 7] },
      'recipients must be a non-empty array of email addresses',
    ],
    [
      '/mail/newsletter',
      { recipients: Array.from({ length: 101 }, (_, i) => `u${i}@example.com`) },
      'recipients must list at most 100 email addresses',
    ],
    ['/mail/newsletter', ['a@example.com'], 'the request body must be a JSON object'],
    ['/mail/welcome', {}, 'to must be a non-empty string of at most 320 characters'],
    ['/mail/welcome', { to: ['a@example.com'] }, 'to must be a non-empty string of at most 320 characters'],
    ['/mail/welcome', { to: 'a@example.com', name: 42 }, 'name must be a string of at most 100 characters when given'],
    [
      '/mail/welcome',
      { to: 'a@example.com', nmae: 'Ada' },
      'nmae is not a field of this route (it takes to, name, idempotencyKey)',
    ],
    [
      '/account/login',
      { user: 'alice', password: 'wonderland' },
      'username must be a non-empty string of at most 100 characters; user is not a field of this route (it takes username, password)',
    ],
    ['/account/login', { username: 'alice' }, 'password must be a non-empty string of at most 200 characters'],
    ['/account/logout', { everywhere: true }, 'everywhere is not a field of this route (it takes no body)'],
    ['/account/logout-everywhere', { user: 'bob' }, 'user is not a field of this route (it takes no body)'],
    ['/outbox/clear', { all: true }, 'all is not a field of this route (it takes no body)'],
  ])('refuses a bad body on POST %s with a 400 naming the field (case %#)', async (path, body, message) => {
    const sentBefore = outbox().sentEmails().length;
    const res = await http
      .post(path)
      .send(body as object)
      .expect(400);
    expect(res.body).toEqual({ statusCode: 400, message, error: 'Bad Request' });
    expect(outbox().sentEmails()).toHaveLength(sentBefore);
  });

  it('never echoes a refused password', async () => {
    const res = await http
      .post('/account/login')
      .send({ username: 'alice', password: 'x'.repeat(201) })
      .expect(400);
    expect(JSON.stringify(res.body)).not.toContain('xxx');
  });

  it('shows on /outbox cc, bcc, the text part, the HTML part and attachments, every value escaped', async () => {
    outbox().clear();
    await outbox().sendEmail(
      Email.builder()
        .from('"<b>Boss</b>" <boss@example.com>')
        .to('ada@example.com')
        .cc('carl@example.com')
        .bcc('"Eve <i>" <eve@example.com>')
        .subject('<script>window.pwned = 1</script> & "quotes"')
        .bothBody('Text <b>part</b> & more', '<p onclick="x()">HTML part</p>')
        .attachment(new Attachment('<img src=x onerror=alert(1)>.txt', 'text/plain', 'file body'))
        .build(),
    );
    const page = (await http.get('/outbox').expect(200)).text;
    expect(page).not.toMatch(/<script>window|<b>Boss|<i>"|<img src=x|<b>part|<p onclick/);
    expect(page).toContain(
      '<dd class="subject">&#60;script&#62;window.pwned = 1&#60;/script&#62; &#38; &#34;quotes&#34;</dd>',
    );
    expect(page).toContain('<dd class="cc">carl@example.com</dd>');
    expect(page).toContain('<dd class="bcc">&#34;Eve &#60;i&#62;&#34; &#60;eve@example.com&#62;</dd>');
    expect(page).toContain('<pre class="text">Text &#60;b&#62;part&#60;/b&#62; &#38; more</pre>');
    expect(page).toContain('srcdoc="&#60;p onclick=&#34;x()&#34;&#62;HTML part&#60;/p&#62;"');
    expect(page).toContain('&#60;img src=x onerror=alert(1)&#62;.txt</a>');
  });

  it('downloads an attachment from /outbox, never rendered inline, and 404s an unknown one', async () => {
    outbox().clear();
    await http.post('/mail/welcome').send({ to: 'ada@example.com', name: 'Ada' }).expect(201);
    const [messageId] = outbox().messageIds();
    const base = `/outbox/${encodeURIComponent(messageId)}/attachments`;
    const file = await http.get(`${base}/0`).buffer(true).expect(200);
    expect(file.headers['content-disposition']).toBe("attachment; filename*=UTF-8''getting-started.txt");
    expect(file.headers['content-type']).toMatch(/^text\/plain/);
    expect(file.headers['x-content-type-options']).toBe('nosniff');
    expect(file.text).toBe('Getting started, Ada:\n1. Log in\n2. Explore\n');
    await http.get(`${base}/1`).expect(404);
    await http.get(`${base}/x`).expect(404);
    await http.get(`/outbox/${encodeURIComponent('<nope@example.com>')}/attachments/0`).expect(404);
  });

  it('clears the outbox with POST /outbox/clear and comes back to the page', async () => {
    await http.post('/mail/welcome').send({ to: 'ada@example.com' }).expect(201);
    expect(outbox().sentEmails().length).toBeGreaterThan(0);
    const res = await http.post('/outbox/clear').type('form').send('').expect(303);
    expect(res.headers.location).toBe('/outbox');
    expect(outbox().sentEmails()).toEqual([]);
    expect((await http.get('/outbox').expect(200)).text).toContain('Nothing sent yet.');
  });
});

/** The part of an Express 5 application the route listing reads. */
interface ExpressLike {
  router: { stack: { route?: { path: string; methods: Record<string, boolean> } }[] };
}
