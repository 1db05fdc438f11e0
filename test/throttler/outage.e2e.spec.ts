import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { Calls, cacheApp } from '../e2e/web/cache.app.js';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { type FailingStore, failingStore } from '../utils/outage.js';
import { CapturingLogger, MATRIX, type RunningApp, startApp } from '../utils/web-app.js';

/** Retries `check` until it holds (the backend reconnecting), at most `attempts` times. */
async function eventually(check: () => Promise<boolean>, attempts = 100): Promise<boolean> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

describe.each(MATRIX)('backend outage (%s, %s)', (platform, store) => {
  let failing: FailingStore;
  let allowApp: RunningApp;
  let denyApp: RunningApp;
  let cached: RunningApp;
  const logger = new CapturingLogger();
  const calls = new Calls();

  beforeAll(async () => {
    failing = await failingStore(store);
    allowApp = await startApp(
      platform,
      throttleApp({ storage: failing.storage, throttle: { onBackendError: 'allow' } }),
      { logger },
    );
    denyApp = await startApp(
      platform,
      throttleApp({ storage: failing.storage, throttle: { onBackendError: 'deny' } }),
      { logger },
    );
    cached = await startApp(platform, cacheApp({ storage: failing.storage }, calls), { logger });
  });
  afterAll(async () => {
    await Promise.all([allowApp?.close(), denyApp?.close(), cached?.close()]);
    await failing?.dispose();
  });

  it('fails open with one warning per outage, fails closed with 503, and caches nothing while down', async () => {
    expect((await request(allowApp.url).get('/t/limited')).headers['x-ratelimit-limit']).toBe('3');
    await failing.down();

    const before = logger.warnings.filter((w) => w.includes('Throttling')).length;
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await request(allowApp.url).get('/t/limited'));
    expect(open.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(open[0].headers['x-ratelimit-limit']).toBeUndefined();
    expect(logger.warnings.filter((w) => w.includes('Throttling')).length).toBe(before + 1);

    const closed = await request(denyApp.url).get('/t/limited');
    expect(closed.status).toBe(503);
    expect(closed.body).toEqual({ statusCode: 503, message: 'Rate limiting is unavailable' });

    const a = await request(cached.url).get('/cache/items');
    const b = await request(cached.url).get('/cache/items');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.body.n).toBe(2);
    expect(b.headers['x-cache']).toBe('MISS');
    expect(logger.warnings.some((w) => w.startsWith('Cache:'))).toBe(true);
    // The log names the failure, never the response body.
    expect(logger.warnings.some((w) => w.includes('"query"'))).toBe(false);

    await failing.up();
    const recovered = await eventually(
      async () => (await request(allowApp.url).get('/t/limited')).headers['x-ratelimit-limit'] === '3',
    );
    expect(recovered).toBe(true);
    expect((await request(denyApp.url).get('/t/limited')).status).not.toBe(503);
  });
});
