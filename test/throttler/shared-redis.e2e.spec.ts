import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { freezeDate, thawDate } from '../utils/clock.js';
import { uniquePrefix, redisUrl } from '../utils/redis-env.js';
import { PLATFORMS, type RunningApp, startApp } from '../utils/web-app.js';

describe.each(PLATFORMS)('three %s instances sharing one Redis', (platform) => {
  const apps: RunningApp[] = [];

  beforeAll(async () => {
    freezeDate(); // the burst cannot straddle a window boundary
    const keyPrefix = uniquePrefix('shared-throttle');
    for (let i = 0; i < 3; i++) {
      apps.push(await startApp(platform, throttleApp({ storage: { type: 'redis', url: redisUrl(), keyPrefix } })));
    }
  });
  afterAll(async () => {
    await Promise.all(apps.map((a) => a.close()));
    thawDate();
  });

  it('let exactly `limit` requests through out of 10x as many sent concurrently across them', async () => {
    // '/t/limited-daily' is @Throttle('3/day'). Windows are aligned to the clock (plus a per-key
    // offset), so with a minute window a burst that straddled a boundary let twice the limit through.
    const limit = 3;
    const responses = await Promise.all(
      Array.from({ length: limit * 10 }, (_, i) => request(apps[i % 3].url).get('/t/limited-daily')),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 429)).toHaveLength(limit * 9);
  });
});
