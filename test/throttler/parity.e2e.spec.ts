import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Controller, type ExecutionContext, Get, Injectable, Module, UseGuards } from '@nestjs/common';
import request from 'supertest';
import { BackendsModule, type BackendsModuleOptions, SkipThrottle, Throttle, ThrottlerGuard } from '../../lib/index.js';
import { type RunningApp, MATRIX, startApp, storageFor } from '../utils/web-app.js';
import { MID_HOUR, freezeDate, thawDate } from './frozen-date.js';

// Behaviour taken from @nestjs/throttler's documentation and e2e tests, run on our guard.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Fails when a reset header (any name) says the window ends within a minute of the frozen instant (see clock.ts). */
function farFromWindowEnd(headers: Record<string, string | string[] | undefined>, what: string): void {
  for (const [name, value] of Object.entries(headers)) {
    if (/^x-ratelimit-reset/.test(name) && Number(value) < 60) {
      throw new Error(`${what}: ${name} is ${String(value)} s; pick another instant for freezeDate()`);
    }
  }
}

async function get(app: RunningApp, path: string, headers: Record<string, string> = {}) {
  const res = await request(app.url).get(path).set(headers);
  farFromWindowEnd(res.headers, path);
  return res;
}

@Controller('p')
@UseGuards(ThrottlerGuard)
class ParityController {
  /** The module's named limits (short: 2/day, long: 5/2 days). */
  @Get('named')
  named() {
    return { ok: true };
  }

  /** @nestjs/throttler's decorator shape: overrides `default`, keeps the module's others. */
  @Get('default')
  @Throttle({ default: { limit: 1, ttl: DAY } })
  byDefault() {
    return { ok: true };
  }

  @Get('block')
  @Throttle({ login: { limit: 1, ttl: HOUR, blockDuration: 3 * HOUR } })
  @SkipThrottle({ short: true, long: true })
  block() {
    return { ok: true };
  }

  @Get('skip-short')
  @SkipThrottle({ short: true })
  skipShort() {
    return { ok: true };
  }

  @Get('plan')
  @Throttle({ plan: { limit: (ctx: ExecutionContext) => (planOf(ctx) === 'pro' ? 3 : 1), ttl: () => DAY } })
  @SkipThrottle({ short: true, long: true })
  plan() {
    return { ok: true };
  }

  @Get('cost')
  @Throttle('5/day', { cost: 2 })
  cost() {
    return { ok: true };
  }
}

function planOf(ctx: ExecutionContext): unknown {
  return ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-plan'];
}

/** A subclass that counts per `x-user` and shares its counters between routes (generateKey ignores the route). */
@Injectable()
class SharedKeyGuard extends ThrottlerGuard {
  protected override getTracker(_context: ExecutionContext, req: Record<string, any>): string {
    return String(req.headers['x-user'] ?? 'nobody');
  }

  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `shared:${name}:${tracker}`;
  }
}

@Controller('k')
@UseGuards(SharedKeyGuard)
@Throttle({ default: { limit: 2, ttl: DAY } })
@SkipThrottle({ short: true, long: true })
class SharedKeyController {
  @Get('a')
  a() {
    return { ok: 'a' };
  }

  @Get('b')
  b() {
    return { ok: 'b' };
  }
}

function appOf(options: BackendsModuleOptions) {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: [ParityController, SharedKeyController] })
  class ParityModule {}
  return ParityModule;
}

beforeAll(() => freezeDate());
afterAll(() => thawDate());

describe.each(MATRIX)('@nestjs/throttler parity, per-limit headers (%s, %s)', (platform, store) => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp(
      platform,
      appOf({
        storage: storageFor(store, 'throttle-parity'),
        throttle: {
          limits: [
            { name: 'short', limit: 2, ttl: DAY },
            { name: 'long', limit: 5, ttl: 2 * DAY },
          ],
          headers: 'per-limit',
          skipIf: (ctx) =>
            ctx.switchToHttp().getRequest<{ headers: Record<string, unknown> }>().headers['x-skip'] === '1',
          ignoreUserAgents: [/googlebot/i],
          errorMessage: (_ctx, detail) => `Slow down (${detail.name}: ${detail.limit} per ${detail.ttl / HOUR} h)`,
        },
      }),
    );
  });
  afterAll(() => app.close());

  it('counts named throttlers with a header set each; one that refuses leaves the other unchanged', async () => {
    const first = await get(app, '/p/named');
    expect(first.status).toBe(200);
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-short': '2',
      'x-ratelimit-remaining-short': '1',
      'x-ratelimit-limit-long': '5',
      'x-ratelimit-remaining-long': '4',
    });
    expect(first.headers['x-ratelimit-limit']).toBeUndefined();
    expect(Number(first.headers['x-ratelimit-reset-short'])).toBeLessThanOrEqual(DAY / 1000);
    expect((await get(app, '/p/named')).headers['x-ratelimit-remaining-long']).toBe('3');

    for (let i = 0; i < 3; i++) {
      const refused = await get(app, '/p/named');
      expect(refused.status).toBe(429);
      expect(Number(refused.headers['retry-after-short'])).toBeGreaterThan(0);
      expect(refused.headers['retry-after']).toBe(refused.headers['retry-after-short']);
      expect(refused.headers['x-ratelimit-limit-short']).toBeUndefined();
      // Refused by `short`: `long` was not charged (@nestjs/throttler would have counted it).
      expect(refused.headers['x-ratelimit-remaining-long']).toBe('3');
    }
  });

  it('uses no suffix for the limit named `default`, and keeps the module limits it does not name', async () => {
    const first = await get(app, '/p/default');
    expect(first.status).toBe(200);
    expect(first.headers['x-ratelimit-limit']).toBe('1');
    expect(first.headers['x-ratelimit-remaining']).toBe('0');
    expect(first.headers['x-ratelimit-limit-short']).toBe('2');
    const refused = await get(app, '/p/default');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.headers['x-ratelimit-remaining-short']).toBe('1');
  });

  it('answers 429 with errorMessage computed from the context and the limit', async () => {
    const res = await get(app, '/p/default');
    expect(res.status).toBe(429);
    expect(res.body).toEqual({ statusCode: 429, message: 'Slow down (default: 1 per 24 h)' });
  });

  it('blockDuration: once exceeded the tracker is refused for the block, and Retry-After says so', async () => {
    try {
      expect((await get(app, '/p/block')).status).toBe(200);
      const refused = await get(app, '/p/block');
      expect(refused.status).toBe(429);
      expect(refused.headers['retry-after-login']).toBe(String(3 * 3600));
      expect(refused.headers['retry-after']).toBe(String(3 * 3600));
      // Two hours later the hour window is over, the block is not.
      jest.setSystemTime(MID_HOUR + 2 * HOUR);
      const still = await request(app.url).get('/p/block');
      expect(still.status).toBe(429);
      expect(still.headers['retry-after']).toBe(String(3600));
      jest.setSystemTime(MID_HOUR + 3 * HOUR);
      const after = await request(app.url).get('/p/block');
      expect(after.status).toBe(200);
      expect(after.headers['x-ratelimit-remaining-login']).toBe('0');
    } finally {
      jest.setSystemTime(MID_HOUR);
    }
  });

  it('@SkipThrottle({ short: true }) skips that throttler only', async () => {
    const res = await get(app, '/p/skip-short');
    expect(res.status).toBe(200);
    expect(res.headers['x-ratelimit-limit-short']).toBeUndefined();
    expect(res.headers['x-ratelimit-limit-long']).toBe('5');
    // `short` (2 per day) would refuse the third.
    expect((await get(app, '/p/skip-short')).status).toBe(200);
    const third = await get(app, '/p/skip-short');
    expect(third.status).toBe(200);
    expect(third.headers['x-ratelimit-remaining-long']).toBe('2');
  });

  it('skipIf(context) and ignoreUserAgents let requests through uncounted and without headers', async () => {
    for (let i = 0; i < 4; i++) {
      const skipped = await get(app, '/p/default', { 'x-skip': '1' });
      expect(skipped.status).toBe(200);
      expect(skipped.headers['x-ratelimit-limit']).toBeUndefined();
      const bot = await get(app, '/p/default', { 'user-agent': 'Mozilla/5.0 (compatible; Googlebot/2.1)' });
      expect(bot.status).toBe(200);
      expect(bot.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });

  it('computes limits and windows per request from the execution context', async () => {
    const pro = [];
    for (let i = 0; i < 4; i++) pro.push((await get(app, '/p/plan', { 'x-plan': 'pro' })).status);
    expect(pro).toEqual([200, 200, 200, 429]);
    // Same counter, a smaller limit: the free plan is already past it.
    const free = await get(app, '/p/plan', { 'x-plan': 'free' });
    expect(free.status).toBe(429);
    expect(free.headers['retry-after-plan']).toBeDefined();
  });

  it('charges a route its cost on every limit', async () => {
    const a = await get(app, '/p/cost');
    expect(a.status).toBe(200);
    expect(a.headers['x-ratelimit-remaining']).toBe('3');
    expect((await get(app, '/p/cost')).headers['x-ratelimit-remaining']).toBe('1');
    const refused = await get(app, '/p/cost');
    expect(refused.status).toBe(429); // 1 left, the route costs 2
  });

  it('getTracker and generateKey overrides of a subclass: routes share the key it returns', async () => {
    expect((await get(app, '/k/a', { 'x-user': 'ann' })).status).toBe(200);
    expect((await get(app, '/k/b', { 'x-user': 'ann' })).status).toBe(200);
    expect((await get(app, '/k/a', { 'x-user': 'ann' })).status).toBe(429);
    expect((await get(app, '/k/b', { 'x-user': 'bob' })).status).toBe(200);
  });
});

describe.each(MATRIX)('IETF and disabled headers (%s, %s)', (platform, store) => {
  const apps: RunningApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it("headers: 'ietf' sends RateLimit-Policy and RateLimit for every limit", async () => {
    const app = await startApp(
      platform,
      appOf({
        storage: storageFor(store, 'throttle-ietf'),
        throttle: { limits: { burst: { limit: 2, ttlMs: DAY }, daily: '10/day' }, headers: 'ietf' },
      }),
    );
    apps.push(app);
    const res = await request(app.url).get('/p/named');
    expect(res.status).toBe(200);
    expect(res.headers['ratelimit-policy']).toBe('"burst";q=2;w=86400, "daily";q=10;w=86400');
    expect(res.headers['ratelimit']).toMatch(/^"burst";r=1;t=\d+, "daily";r=9;t=\d+$/);
    expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    await request(app.url).get('/p/named');
    const refused = await request(app.url).get('/p/named');
    expect(refused.status).toBe(429);
    expect(refused.headers['ratelimit']).toMatch(/^"burst";r=0;t=\d+, "daily";r=8;t=\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('headers: false sends none, not even Retry-After (as setHeaders: false)', async () => {
    const app = await startApp(
      platform,
      appOf({ storage: storageFor(store, 'throttle-noheaders'), throttle: { rate: '1/day', headers: false } }),
    );
    apps.push(app);
    const ok = await request(app.url).get('/p/named');
    expect(ok.status).toBe(200);
    const refused = await request(app.url).get('/p/named');
    expect(refused.status).toBe(429);
    for (const r of [ok, refused]) {
      expect(Object.keys(r.headers).filter((h) => /ratelimit|retry-after/.test(h))).toEqual([]);
    }
  });
});
