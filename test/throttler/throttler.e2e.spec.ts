import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import request from 'supertest';
import { BackendsModule, Throttle, Throttler, ThrottlerGuard } from '../../lib/index.js';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { assertFarFromWindowEnd, freezeDate, thawDate } from '../utils/clock.js';
import { MATRIX, type RunningApp, startApp, storageFor } from '../utils/web-app.js';

async function hit(app: RunningApp, path: string, headers: Record<string, string> = {}) {
  const res = await request(app.url).get(path).set(headers);
  assertFarFromWindowEnd(res.headers, path);
  return res;
}

// Counts must not depend on where the wall clock stands in a key's window: Date stands still.
beforeAll(() => freezeDate());
afterAll(() => thawDate());

describe.each(MATRIX)('ThrottlerGuard e2e (%s, %s)', (platform, store) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      platform,
      throttleApp({ storage: storageFor(store, 'throttle-e2e'), throttle: { rate: '4/hour' } }),
    );
  });
  afterAll(() => app.close());

  it('lets `limit` requests through with rate-limit headers, then answers 429 with Retry-After', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await hit(app, '/t/limited');
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBe('3');
      const reset = Number(res.headers['x-ratelimit-reset']);
      expect(reset).toBeGreaterThanOrEqual(1);
      expect(reset).toBeLessThanOrEqual(3600);
      remaining.push(res.headers['x-ratelimit-remaining']);
    }
    expect(remaining).toEqual(['2', '1', '0']);

    const refused = await hit(app, '/t/limited');
    expect(refused.status).toBe(429);
    expect(refused.body).toEqual({ statusCode: 429, message: 'Too Many Requests' });
    expect(refused.headers['content-type']).toMatch(/application\/json/);
    expect(refused.headers['x-ratelimit-limit']).toBe('3');
    expect(refused.headers['x-ratelimit-remaining']).toBe('0');
    const retryAfter = Number(refused.headers['retry-after']);
    expect(Number.isInteger(retryAfter)).toBe(true);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(3600);
  });

  it('applies throttle.rate to guarded routes without @Throttle', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await hit(app, '/t/default')).status);
    expect(statuses).toEqual([200, 200, 200, 200, 429]);
  });

  it('does not count nor decorate a @SkipThrottle() route', async () => {
    for (let i = 0; i < 4; i++) {
      const res = await hit(app, '/t/skipped');
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('@SkipThrottle() on a class skips its routes, and @SkipThrottle(false) on a handler re-enables it', async () => {
    for (let i = 0; i < 3; i++) expect((await hit(app, '/skip-class/free')).status).toBe(200);
    expect((await hit(app, '/skip-class/counted')).status).toBe(200);
    expect((await hit(app, '/skip-class/counted')).status).toBe(429);
  });

  it('checks named limits together and reports the one that binds', async () => {
    const burst = [];
    for (let i = 0; i < 3; i++) burst.push(await hit(app, '/t/named-burst'));
    expect(burst.map((r) => r.status)).toEqual([200, 200, 429]);
    expect(burst[0].headers['x-ratelimit-limit']).toBe('2');
    expect(burst[2].headers['x-ratelimit-limit']).toBe('2');

    const sustained = [];
    for (let i = 0; i < 4; i++) sustained.push(await hit(app, '/t/named-sustained'));
    expect(sustained.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(sustained[3].headers['x-ratelimit-limit']).toBe('3');
    // The day-long window is the one that refused: retry only after more than the hour window could.
    expect(Number(sustained[3].headers['retry-after'])).toBeGreaterThan(0);
  });

  it('understands multi-unit rate strings and { limit, ttlMs } objects', async () => {
    const first = await hit(app, '/t/multi-unit');
    expect(first.headers['x-ratelimit-limit']).toBe('5');
    expect(Number(first.headers['x-ratelimit-reset'])).toBeLessThanOrEqual(15 * 60);

    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await hit(app, '/t/object-rate')).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('shares counters between routes of one scope', async () => {
    expect((await hit(app, '/t/shared-a')).status).toBe(200);
    expect((await hit(app, '/t/shared-b')).status).toBe(200);
    expect((await hit(app, '/t/shared-a')).status).toBe(200);
    expect((await hit(app, '/t/shared-b')).status).toBe(429);
  });

  it('a handler @Throttle replaces the controller one', async () => {
    expect((await hit(app, '/c/inherits')).headers['x-ratelimit-limit']).toBe('10');
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await hit(app, '/c/overrides')).status);
    expect(statuses).toEqual([200, 200, 429]);
  });

  it('a getTracker override counts each tracker apart', async () => {
    const alice = [];
    for (let i = 0; i < 3; i++) alice.push((await hit(app, '/u', { 'x-user': 'alice' })).status);
    expect(alice).toEqual([200, 200, 429]);
    expect((await hit(app, '/u', { 'x-user': 'bob' })).status).toBe(200);
    // Redis key syntax in a tracker is just text: hashed into the key, it counts on its own.
    expect((await hit(app, '/u', { 'x-user': 'alice*' })).status).toBe(200);
    expect((await hit(app, '/u', { 'x-user': 'x FLUSHALL {tag}:*' })).status).toBe(200);
  });

  it('a spoofed X-Forwarded-For does not change the tracker when the app does not trust proxies', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      statuses.push((await hit(app, '/t/limited', { 'x-forwarded-for': `203.0.113.${i + 10}` })).status);
    }
    // '/t/limited' was exhausted by the first test: every spoofed address is still the same client.
    expect(statuses).toEqual([429, 429, 429, 429]);
  });

  it('leaves routes without the guard alone', async () => {
    const res = await hit(app, '/open');
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
  });
});

describe.each(MATRIX)('ThrottlerGuard with throttle.tracker (%s, %s)', (platform, store) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      platform,
      throttleApp({
        storage: storageFor(store, 'throttle-tracker'),
        throttle: { tracker: (req) => String(req.headers['x-api-key'] ?? req.ip) },
      }),
    );
  });
  afterAll(() => app.close());

  it('counts by throttle.tracker', async () => {
    const a = [];
    for (let i = 0; i < 4; i++) a.push((await hit(app, '/t/limited', { 'x-api-key': 'key-a' })).status);
    expect(a).toEqual([200, 200, 200, 429]);
    expect((await hit(app, '/t/limited', { 'x-api-key': 'key-b' })).status).toBe(200);
  });
});

describe('ThrottlerGuard and a trust-proxy setting changed while the app runs (express, memory)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp('express', throttleApp({ storage: storageFor('memory', 'throttle-proxy-live') }));
  });
  afterAll(() => app.close());

  it('follows the setting on the next request, in both directions', async () => {
    const express = app.app.getHttpAdapter().getInstance();
    const spoofed = (ip: string) => hit(app, '/t/limited', { 'x-forwarded-for': ip });
    const before: number[] = [];
    for (let i = 0; i < 4; i++) before.push((await spoofed(`203.0.113.${i + 1}`)).status);
    // Trusting no proxy: every request is the socket's client, whose 3 per hour are spent.
    expect(before).toEqual([200, 200, 200, 429]);

    express.set('trust proxy', true);
    expect((await spoofed('198.51.100.20')).status).toBe(200);
    expect((await spoofed('198.51.100.21')).status).toBe(200);

    express.set('trust proxy', false);
    expect((await spoofed('198.51.100.22')).status).toBe(429);
  });
});

/** A subclass written before the guard took the HTTP adapter: it passes two arguments to `super`. */
@Injectable()
class TwoArgumentGuard extends ThrottlerGuard {
  constructor(throttler: Throttler, reflector: Reflector) {
    super(throttler, reflector);
  }
}

@Controller('two')
@UseGuards(TwoArgumentGuard)
class TwoArgumentController {
  @Get()
  @Throttle('1/hour')
  get() {
    return { ok: true };
  }
}

@Module({ imports: [BackendsModule.forRoot({})], controllers: [TwoArgumentController] })
class TwoArgumentModule {}

describe.each([false, true])('a guard subclass passing two arguments to super, trust proxy %s (express)', (trust) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp('express', TwoArgumentModule, { trustProxy: trust });
  });
  afterAll(() => app.close());

  it("still follows the app's trust-proxy setting (through req.app)", async () => {
    const spoofed = async (ip: string) => (await hit(app, '/two', { 'x-forwarded-for': ip })).status;
    expect(await spoofed('198.51.100.30')).toBe(200);
    // Trusted, the header is the client: a new address has its own limit. Untrusted, it is the same client.
    expect(await spoofed('198.51.100.31')).toBe(trust ? 200 : 429);
    expect(await spoofed('198.51.100.31')).toBe(429);
  });
});

describe.each(MATRIX)('ThrottlerGuard behind a trusted proxy (%s, %s)', (platform, store) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(platform, throttleApp({ storage: storageFor(store, 'throttle-proxy') }), { trustProxy: true });
  });
  afterAll(() => app.close());

  it('follows X-Forwarded-For only through the app trust-proxy setting (req.ip)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++)
      statuses.push((await hit(app, '/t/object-rate', { 'x-forwarded-for': '198.51.100.7' })).status);
    expect(statuses).toEqual([200, 200, 429, 429]);
    expect((await hit(app, '/t/object-rate', { 'x-forwarded-for': '198.51.100.8' })).status).toBe(200);
  });

  it('groups IPv6 clients by /64', async () => {
    const statuses: number[] = [];
    for (const ip of ['2001:db8:1:2::1', '2001:db8:1:2:ffff::9', '2001:0db8:0001:0002:1:2:3:4']) {
      statuses.push((await hit(app, '/t/shared-a', { 'x-forwarded-for': ip })).status);
    }
    expect(statuses).toEqual([200, 200, 200]);
    expect((await hit(app, '/t/shared-b', { 'x-forwarded-for': '2001:db8:1:2:aaaa::1' })).status).toBe(429);
    expect((await hit(app, '/t/shared-b', { 'x-forwarded-for': '2001:db8:1:3::1' })).status).toBe(200);
  });
});

describe('ThrottlerGuard and a replaced setHeader (express, memory)', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp('express', throttleApp({ storage: storageFor('memory', 'throttle-set-header') }), {
      setup: (nest) => {
        // Replaced on Express's response prototype: rewrites one header's value.
        const express = nest.getHttpAdapter().getInstance();
        const inherited = express.response.setHeader;
        express.response.setHeader = function (this: object, name: string, value: unknown) {
          return inherited.call(this, name, name === 'X-RateLimit-Remaining' ? `proto-${String(value)}` : value);
        };
        // Replaced on the response object itself by a middleware, for requests that ask for it.
        nest.use((req: Record<string, any>, res: Record<string, any>, next: () => void) => {
          if (req.headers['x-wrap'] === '1') {
            const own = res.setHeader;
            res.setHeader = function (this: object, name: string, value: unknown) {
              return own.call(this, name, name === 'X-RateLimit-Limit' ? `own-${String(value)}` : value);
            };
          }
          next();
        });
      },
    });
  });
  afterAll(() => app.close());

  it("goes through the response prototype's setHeader", async () => {
    const res = await hit(app, '/t/limited');
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('3');
    expect(res.headers['x-ratelimit-remaining']).toBe('proto-2');
  });

  it("goes through the response's own setHeader when a middleware set one", async () => {
    const res = await hit(app, '/t/limited', { 'x-wrap': '1' });
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit']).toBe('own-3');
    expect(res.headers['x-ratelimit-remaining']).toBe('proto-1');
  });
});
