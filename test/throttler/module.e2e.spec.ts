import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, Module } from '@nestjs/common';
import { Redis } from 'ioredis';
import request from 'supertest';
import {
  BackendSessionStore,
  BackendsModule,
  CacheService,
  type BackendsModuleOptions,
  Throttle,
  Throttler,
} from '../../lib/index.js';
import { redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { freezeDate, thawDate } from '../utils/clock.js';
import { MATRIX, PLATFORMS, type RunningApp, startApp, storageFor } from '../utils/web-app.js';

// Counts must not depend on where the wall clock stands in a key's window: Date stands still.
beforeAll(() => freezeDate());
afterAll(() => thawDate());

@Controller('g')
class GlobalController {
  @Get('limited')
  @Throttle('2/hour')
  limited() {
    return { ok: true };
  }

  @Get('default')
  byDefault() {
    return { ok: true };
  }
}

function syncApp(options: BackendsModuleOptions) {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: [GlobalController] })
  class SyncModule {}
  return SyncModule;
}

function asyncApp(options: BackendsModuleOptions) {
  @Module({
    imports: [BackendsModule.forRootAsync({ useFactory: async () => options })],
    controllers: [GlobalController],
  })
  class AsyncModule {}
  return AsyncModule;
}

describe.each(MATRIX)('throttle.global (%s, %s)', (platform, store) => {
  const apps: RunningApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it.each([
    ['forRoot', syncApp],
    ['forRootAsync', asyncApp],
  ])('guards every route with %s', async (_name, build) => {
    const app = await startApp(
      platform,
      build({ storage: storageFor(store, 'global'), throttle: { global: true, rate: '3/hour' } }),
    );
    apps.push(app);
    const limited = [];
    for (let i = 0; i < 3; i++) limited.push((await request(app.url).get('/g/limited')).status);
    expect(limited).toEqual([200, 200, 429]);
    const byDefault = await request(app.url).get('/g/default');
    expect(byDefault.headers['x-ratelimit-limit']).toBe('3');
  });

  it.each([
    ['forRoot', syncApp],
    ['forRootAsync', asyncApp],
  ])('adds no guard without throttle.global (%s)', async (_name, build) => {
    const app = await startApp(platform, build({ storage: storageFor(store, 'not-global') }));
    apps.push(app);
    for (let i = 0; i < 3; i++) {
      const res = await request(app.url).get('/g/limited');
      expect(res.status).toBe(200);
      expect(res.headers['x-ratelimit-limit']).toBeUndefined();
    }
  });
});

describe.each(PLATFORMS)('module startup (%s)', (platform) => {
  it('fails with a clear message on an invalid throttle.rate', async () => {
    await expect(startApp(platform, syncApp({ throttle: { rate: '100/fortnight' } }))).rejects.toThrow(
      /Invalid throttle rate "100\/fortnight": unknown unit "fortnight"/,
    );
  });
});

describe('one shared backend, one namespace per capability', () => {
  let app: RunningApp;
  let redis: Redis;
  const keyPrefix = uniquePrefix('namespaces');

  beforeAll(async () => {
    app = await startApp('express', syncApp({ storage: { type: 'redis', url: redisUrl(), keyPrefix } }));
    redis = new Redis(redisUrl());
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
  });

  it('keeps throttle, cache and session keys apart in the same Redis', async () => {
    await app.app.get(Throttler).consume('user:1', '5/minute');
    await app.app.get(CacheService).set('entry', { v: 1 });
    await app.app.get(BackendSessionStore).set('sid-1', { cookie: { expires: new Date(Date.now() + 60_000) } });
    const keys = (await redis.keys(`${keyPrefix}*`)).map((k) => k.slice(keyPrefix.length)).sort();
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe('cache:entry');
    expect(keys[1]).toBe('session:sid-1');
    // Throttle keys are hashed: no user text in Redis key syntax.
    // The hash tag (8 characters of the tracker's hash) keeps the limits of one tracker in one Cluster slot.
    expect(keys[2]).toMatch(/^throttle:\{[A-Za-z0-9_-]{8}\}[A-Za-z0-9_-]{43}:[0-9a-z]+$/);
  });
});
