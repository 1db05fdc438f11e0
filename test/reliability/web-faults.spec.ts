import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { Redis } from 'ioredis';
import { createHmac } from 'node:crypto';
import request from 'supertest';
import type { BackendsModuleOptions } from '../../lib/index.js';
import { Calls, cacheApp } from '../e2e/web/cache.app.js';
import { sessionApp, useSessions } from '../e2e/web/session.app.js';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { freePort } from '../utils/free-port.js';
import { redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { CapturingLogger, PLATFORMS, type RunningApp, startApp } from '../utils/web-app.js';
import { assertFarFromWindowEnd, freezeDate, thawDate } from '../utils/clock.js';

const SEED = 20_260_707;
/** The cookie secret of test/e2e/web/session.app.ts. */
const SESSION_SECRET = 'a-test-secret-that-is-at-least-32-chars-long';

describe.each(PLATFORMS)('Redis down when the %s app starts', (platform) => {
  const apps: RunningApp[] = [];
  const calls = new Calls();
  let storage: BackendsModuleOptions['storage'];
  const logger = new CapturingLogger();

  beforeAll(async () => {
    storage = { type: 'redis', url: `redis://127.0.0.1:${await freePort()}`, commandTimeoutMs: 300 };
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
  });

  async function start(
    module: Parameters<typeof startApp>[1],
    setup?: NonNullable<Parameters<typeof startApp>[2]>['setup'],
  ) {
    const app = await startApp(platform, module, { logger, setup });
    apps.push(app);
    return app;
  }

  it('starts anyway; the throttler follows onBackendError, the cache serves uncached, sessions answer 503', async () => {
    const startedAt = Date.now();
    const allow = await start(throttleApp({ storage, throttle: { onBackendError: 'allow' } }));
    const deny = await start(throttleApp({ storage, throttle: { onBackendError: 'deny' } }));
    const cached = await start(cacheApp({ storage }, calls));
    const sessions = await start(sessionApp({ storage }), (app) => useSessions(app, platform));
    expect(Date.now() - startedAt).toBeLessThan(10_000);

    const t0 = Date.now();
    const open = await Promise.all(Array.from({ length: 10 }, () => request(allow.url).get('/t/limited')));
    expect(open.map((r) => r.status)).toEqual(Array(10).fill(200));
    const closed = await request(deny.url).get('/t/limited');
    expect(closed.status).toBe(503);
    // Fail fast: every request above waited at most about one command timeout.
    expect(Date.now() - t0).toBeLessThan(3000);

    const a = await request(cached.url).get('/cache/items');
    const b = await request(cached.url).get('/cache/items');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.n).toBe(a.body.n + 1);

    const login = await request(sessions.url).post('/session/login').send({ user: 'alice' });
    expect(login.status).toBe(503);
    // The app is still up and answering.
    expect((await request(allow.url).get('/t/limited')).status).toBe(200);
  });
});

describe('throttler hostile input (shared Redis)', () => {
  let app: RunningApp;
  let proxied: RunningApp;
  // These count against hour-long windows: `Date` stands still at one instant and every tracker is
  // deterministic, so where each key's window stands is the same on every run (issue 21 item 2);
  // assertFarFromWindowEnd checks the Redis counters outlive the test.
  let victims = 0;
  /** These tests run for seconds on about a hundred keys: each key's Redis counter must outlive that. */
  const FAR_S = 15;
  beforeAll(async () => {
    freezeDate();
    const storage = { type: 'redis' as const, url: redisUrl(), keyPrefix: uniquePrefix('hostile-throttle') };
    app = await startApp('express', throttleApp({ storage }));
    // One trusted hop (the load balancer), which appends the real client address last.
    proxied = await startApp(
      'express',
      throttleApp({ storage: { ...storage, keyPrefix: uniquePrefix('hostile-proxied') } }),
      {
        setup: (a) => a.getHttpAdapter().getInstance().set('trust proxy', 1),
      },
    );
  });
  afterAll(async () => {
    await app.close();
    await proxied.close();
    thawDate();
  });

  it('arbitrary tracker strings each get their own limit: no reset, no sharing, no escape', async () => {
    // '/u' counts per x-user header (2 per hour); header values are what an attacker controls.
    const tracker = fc
      .string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 })
      .map((s) => s.replace(/[\r\n]/g, ''));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(
          tracker.filter((s) => s.trim() === s && s.length > 0),
          { minLength: 2, maxLength: 4 },
        ),
        async (users) => {
          const victim = `victim-${victims++}`;
          const statuses = async (user: string, n: number) => {
            const out: number[] = [];
            for (let i = 0; i < n; i++) {
              const res = await request(app.url).get('/u').set('x-user', user);
              assertFarFromWindowEnd(res.headers, `/u for ${JSON.stringify(user)}`, FAR_S);
              out.push(res.status);
            }
            return out;
          };
          expect(await statuses(victim, 1)).toEqual([200]);
          // Whatever the other trackers are, they neither spend the victim's quota, nor share it, nor free it.
          for (const u of users) expect(await statuses(`${victim}${u}`, 1)).toEqual([200]);
          for (const u of users) await statuses(u, 3);
          expect(await statuses(victim, 2)).toEqual([200, 429]);
        },
      ),
      { seed: SEED, numRuns: 15, examples: [[['*', '?']], [['{', '}:*']], [[' FLUSHALL', '\\']]] },
    );
  });

  it('a forged X-Forwarded-For cannot reset or escape the client limit when proxies are not trusted', async () => {
    const forged = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string({ unit: 'grapheme-ascii', maxLength: 60 }));
    const statuses: number[] = [];
    await fc.assert(
      fc.asyncProperty(forged, async (xff) => {
        const res = await request(app.url)
          .get('/t/object-rate')
          .set('x-forwarded-for', xff.replace(/[\r\n]/g, ''));
        assertFarFromWindowEnd(res.headers, '/t/object-rate', FAR_S);
        statuses.push(res.status);
      }),
      { seed: SEED, numRuns: 20 },
    );
    // '/t/object-rate' allows 2 per window: 20 requests from one client, whatever header, give 2.
    expect(statuses.filter((s) => s === 200)).toHaveLength(2);
  });

  it('behind a trusted proxy, forged addresses appended by the client do not share or steal another client limit', async () => {
    const victim = '198.51.100.77';
    for (let i = 0; i < 2; i++) {
      const res = await request(proxied.url).get('/t/object-rate').set('x-forwarded-for', victim);
      assertFarFromWindowEnd(res.headers, '/t/object-rate behind the proxy', FAR_S);
      expect(res.status).toBe(200);
    }
    expect((await request(proxied.url).get('/t/object-rate').set('x-forwarded-for', victim)).status).toBe(429);
    const other = await request(proxied.url).get('/t/object-rate').set('x-forwarded-for', `${victim}, 203.0.113.9`);
    expect(other.status).toBe(200);
  });
});

describe('session payloads written straight into Redis', () => {
  let app: RunningApp;
  let raw: Redis;
  const keyPrefix = uniquePrefix('hostile-session');
  beforeAll(async () => {
    raw = new Redis(redisUrl());
    app = await startApp('express', sessionApp({ storage: { type: 'redis', url: redisUrl(), keyPrefix } }), {
      setup: (a) => useSessions(a, 'express'),
    });
  });
  afterAll(async () => {
    await app.close();
    raw.disconnect();
  });

  const signed = (sid: string) =>
    `connect.sid=${encodeURIComponent(`s:${sid}.${createHmac('sha256', SESSION_SECRET).update(sid).digest('base64').replace(/=+$/, '')}`)}`;

  it('__proto__ / constructor.prototype payloads are refused on read: no login, no pollution, key dropped', async () => {
    const login = await request(app.url).post('/session/login').send({ user: 'alice' });
    const sid = decodeURIComponent(String(login.headers['set-cookie']?.[0]).split(';')[0].split('=')[1])
      .slice(2)
      .split('.')[0];
    const key = `${keyPrefix}session:${sid}`;
    expect(await raw.get(key)).toContain('alice');
    expect((await request(app.url).get('/session/me').set('cookie', signed(sid))).body).toEqual({ user: 'alice' });

    const cookie = {
      originalMaxAge: 60_000,
      expires: new Date(Date.now() + 60_000).toISOString(),
      httpOnly: true,
      path: '/',
    };
    const payloads = [
      `{"cookie":${JSON.stringify(cookie)},"userId":"mallory","__proto__":{"isAdmin":true}}`,
      `{"cookie":${JSON.stringify(cookie)},"userId":"mallory","constructor":{"prototype":{"isAdmin":true}}}`,
      `{"cookie":${JSON.stringify(cookie)},"userId":"mallory","a":{"\\u005f_proto__":{"isAdmin":true}}}`,
    ];
    for (const payload of payloads) {
      await raw.set(key, JSON.stringify(payload).startsWith('"') ? payload : payload, 'PX', 60_000);
      const me = await request(app.url).get('/session/me').set('cookie', signed(sid));
      expect(me.status).toBe(401);
      expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
      expect(await raw.exists(key)).toBe(0);
    }
  });
});
