import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Calls, cacheApp } from '../e2e/web/cache.app.js';
import { MATRIX, type RunningApp, startApp, storageFor } from '../utils/web-app.js';

describe.each(MATRIX)('CacheInterceptor e2e (%s, %s)', (platform, store) => {
  let app: RunningApp;
  const calls = new Calls();

  beforeAll(async () => {
    app = await startApp(
      platform,
      cacheApp({ storage: storageFor(store, 'cache-e2e'), cache: { ttlMs: 60_000 } }, calls),
    );
  });
  afterAll(() => app.close());

  it('answers a miss from the handler and the next request from the cache', async () => {
    const miss = await request(app.url).get('/cache/items');
    expect(miss.status).toBe(200);
    expect(miss.headers['x-cache']).toBe('MISS');
    expect(miss.body).toEqual({ n: 1, query: {} });

    const hit = await request(app.url).get('/cache/items');
    expect(hit.status).toBe(200);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-type']).toMatch(/^application\/json/);
    expect(hit.body).toEqual({ n: 1, query: {} });
    expect(calls.of('items')).toBe(1);
  });

  it('answers HEAD from the GET entry', async () => {
    await request(app.url).get('/cache/items?head=1');
    const head = await request(app.url).head('/cache/items?head=1');
    expect(head.status).toBe(200);
    expect(head.headers['x-cache']).toBe('HIT');
    expect(calls.of('items')).toBe(2);
  });

  it('keys by path and query with parameters sorted', async () => {
    const first = await request(app.url).get('/cache/items?b=2&a=1');
    expect(first.headers['x-cache']).toBe('MISS');
    const reordered = await request(app.url).get('/cache/items?a=1&b=2');
    expect(reordered.headers['x-cache']).toBe('HIT');
    expect(reordered.body).toEqual(first.body);
    const other = await request(app.url).get('/cache/items?a=1&b=3');
    expect(other.headers['x-cache']).toBe('MISS');
    expect(other.body.query).toEqual({ a: '1', b: '3' });
  });

  it('caches string results as they were sent', async () => {
    const miss = await request(app.url).get('/cache/text');
    const hit = await request(app.url).get('/cache/text');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
  });

  it('never caches an error', async () => {
    const first = await request(app.url).get('/cache/fails');
    expect(first.status).toBe(404);
    const second = await request(app.url).get('/cache/fails');
    expect(second.status).toBe(200);
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls.of('fails')).toBe(2);
  });

  it('never caches private, no-store, non-200 or streamed responses', async () => {
    for (const path of ['private', 'no-store', 'created', 'stream']) {
      const a = await request(app.url).get(`/cache/${path}`);
      const b = await request(app.url).get(`/cache/${path}`);
      expect(a.status).toBeLessThan(300);
      expect(b.headers['x-cache']).not.toBe('HIT');
      expect(calls.of(path)).toBe(2);
    }
    expect((await request(app.url).get('/cache/stream')).text).toBe('streamed');
  });

  it('never caches a response that sets a cookie', async () => {
    const a = await request(app.url).get('/cache/sets-cookie');
    const b = await request(app.url).get('/cache/sets-cookie');
    expect(a.headers['set-cookie']?.[0]).toMatch(/^visit=1/);
    expect(b.headers['set-cookie']?.[0]).toMatch(/^visit=2/);
    expect(calls.of('sets-cookie')).toBe(2);
  });

  it('does not cache requests with a cookie or Authorization, and says so with X-Cache: BYPASS (#21.9)', async () => {
    await request(app.url).get('/cache/items?cred=1'); // cached for anonymous requests
    const withCookie = await request(app.url).get('/cache/items?cred=1').set('Cookie', 'sid=abc');
    expect(withCookie.headers['x-cache']).toBe('BYPASS'); // #21.9: the skip is visible
    expect(withCookie.body.n).toBeGreaterThan(0);
    const withAuth = await request(app.url).get('/cache/items?cred=1').set('Authorization', 'Bearer t');
    expect(withAuth.headers['x-cache']).toBe('BYPASS');
    const before = calls.of('items');
    await request(app.url).get('/cache/items?cred=1').set('Authorization', 'Bearer t');
    expect(calls.of('items')).toBe(before + 1);
  });

  it('caches credentialed requests per user when trackBy puts the user in the key', async () => {
    const alice1 = await request(app.url).get('/per-user').set({ Authorization: 'Bearer a', 'x-user': 'alice' });
    const bob1 = await request(app.url).get('/per-user').set({ Authorization: 'Bearer b', 'x-user': 'bob' });
    const alice2 = await request(app.url).get('/per-user').set({ Authorization: 'Bearer a', 'x-user': 'alice' });
    expect(alice1.headers['x-cache']).toBe('MISS');
    expect(bob1.headers['x-cache']).toBe('MISS');
    expect(bob1.body.n).not.toBe(alice1.body.n);
    expect(alice2.headers['x-cache']).toBe('HIT');
    expect(alice2.body).toEqual(alice1.body);
  });

  it('uses @CacheKey() as the whole key', async () => {
    const a = await request(app.url).get('/cache/keyed?v=1');
    const b = await request(app.url).get('/cache/keyed?v=2');
    expect(b.headers['x-cache']).toBe('HIT');
    expect(b.body).toEqual(a.body);
  });

  it('lets entries expire after @CacheTTL()', async () => {
    await request(app.url).get('/cache/short');
    await new Promise((r) => setTimeout(r, 400));
    const after = await request(app.url).get('/cache/short');
    expect(after.headers['x-cache']).toBe('MISS');
    expect(calls.of('short')).toBe(2);
  });

  it('runs the handler once for 100 concurrent misses', async () => {
    const responses = await Promise.all(Array.from({ length: 100 }, () => request(app.url).get('/cache/slow')));
    expect(calls.of('slow')).toBe(1);
    for (const res of responses) {
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ n: 1 });
    }
    expect(responses.filter((r) => r.headers['x-cache'] === 'MISS')).toHaveLength(1);
  });

  it('gives a shared handler error to every concurrent waiter and caches nothing', async () => {
    const responses = await Promise.all(Array.from({ length: 20 }, () => request(app.url).get('/cache/slow-fail')));
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(404));
    expect(calls.of('slow-fail')).toBe(1);
    await request(app.url).get('/cache/slow-fail');
    expect(calls.of('slow-fail')).toBe(2);
  });
});
