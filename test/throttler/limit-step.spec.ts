import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Redis } from 'ioredis';
import { type Backend, RedisBackend, Throttle, Throttler, ThrottlerConfigError } from '../../lib/index.js';
import { TrackedLimit } from '../../lib/throttler/throttler.service.js';
import { resolveThrottleSettings } from '../../lib/throttler/index.js';
import { freezeDate, thawDate } from '../utils/clock.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { openBackend, type StoreKind, SwitchableBackend } from '../utils/web-app.js';
import { MemoryBackend } from '../../lib/index.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Two limits of one route: `burst` 2 per hour, `sustained` 5 per day. */
function limits(): TrackedLimit[] {
  return [
    new TrackedLimit({ limit: 2, ttlMs: HOUR }, 'r\u0000burst\u0000'),
    new TrackedLimit({ limit: 5, ttlMs: DAY }, 'r\u0000sustained\u0000'),
  ];
}

async function takeAll(throttler: Throttler, tracked: TrackedLimit[], tracker: string, cost = 1) {
  return throttler.takeAll(
    tracked,
    tracked.map(() => tracker),
    cost,
  );
}

describe.each<StoreKind | 'foreign' | 'cluster'>(['memory', 'redis', 'foreign', 'cluster'])(
  'the multi-limit step on %s',
  (kind) => {
    let backend: Backend;
    beforeEach(async () => {
      freezeDate();
      if (kind === 'foreign')
        backend = new SwitchableBackend(new MemoryBackend()).backend(); // no capability of its own
      else if (kind === 'cluster')
        backend = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix: uniquePrefix('step') });
      else backend = await openBackend(kind, 'limit-step');
    });
    afterEach(async () => {
      await backend.close();
      thawDate();
    });

    it("a request refused by one limit leaves the other limit's counter unchanged", async () => {
      const throttler = new Throttler(backend);
      const tracked = limits();
      for (let i = 0; i < 2; i++)
        expect((await takeAll(throttler, tracked, 'ann')).map((r) => r.allowed)).toEqual([true, true]);
      for (let i = 0; i < 4; i++) {
        const refused = await takeAll(throttler, tracked, 'ann');
        expect(refused.map((r) => r.allowed)).toEqual([false, true]);
        expect(refused[1].remaining).toBe(3);
      }
      // Another route sharing `sustained` only: its 3 hits left are all there.
      const sustained = [tracked[1]];
      const after = [];
      for (let i = 0; i < 4; i++) after.push((await takeAll(throttler, sustained, 'ann'))[0].allowed);
      expect(after).toEqual([true, true, true, false]);
    });

    it('a cost is taken from every limit, and only when all have room', async () => {
      const throttler = new Throttler(backend);
      const tracked = limits();
      const r = await takeAll(throttler, tracked, 'bob', 2);
      expect(r.map((x) => x.remaining)).toEqual([0, 3]);
      const refused = await takeAll(throttler, tracked, 'bob', 2);
      expect(refused.map((x) => x.allowed)).toEqual([false, true]);
      expect(refused[1].remaining).toBe(3);
    });

    it('token bucket: burst = limit, then one token per window / limit', async () => {
      const throttler = new Throttler(backend, { algorithm: 'token-bucket' });
      const hits = [];
      for (let i = 0; i < 4; i++) hits.push(await throttler.consume('k', '3/hour'));
      expect(hits.map((h) => h.allowed)).toEqual([true, true, true, false]);
      expect(hits.map((h) => h.remaining)).toEqual([2, 1, 0, 0]);
      expect(hits[3].retryAfterMs).toBe(20 * 60_000);
      jest.setSystemTime(Date.now() + 20 * 60_000 - 1);
      expect((await throttler.consume('k', '3/hour')).allowed).toBe(false);
      jest.setSystemTime(Date.now() + 1);
      expect((await throttler.consume('k', '3/hour')).allowed).toBe(true);
      expect((await throttler.consume('k', '3/hour', { cost: 2 })).allowed).toBe(false);
    });

    it('blockMs: refused for the block, then a fresh window', async () => {
      const throttler = new Throttler(backend);
      const start = Date.now();
      expect((await throttler.consume('c', '1/hour', { blockMs: 2 * HOUR })).allowed).toBe(true);
      const refused = await throttler.consume('c', '1/hour', { blockMs: 2 * HOUR });
      expect(refused).toMatchObject({ allowed: false, blocked: true, retryAfterMs: 2 * HOUR });
      jest.setSystemTime(start + HOUR + 1);
      expect(await throttler.consume('c', '1/hour', { blockMs: 2 * HOUR })).toMatchObject({
        allowed: false,
        blocked: true,
      });
      jest.setSystemTime(start + 2 * HOUR);
      expect((await throttler.consume('c', '1/hour', { blockMs: 2 * HOUR })).allowed).toBe(true);
    });
  },
);

describe('one Redis round trip per request with two limits', () => {
  let backend: RedisBackend;
  let monitor: Redis | undefined;
  let other: Redis;
  const prefix = uniquePrefix('round-trips');
  beforeAll(async () => {
    freezeDate();
    backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    other = new Redis(redisUrl());
  });
  afterAll(async () => {
    monitor?.disconnect();
    other.disconnect();
    await backend.close();
    thawDate();
  });

  it('sends exactly one command (the step script) for both limits, allowed or refused', async () => {
    const throttler = new Throttler(backend, { algorithm: 'sliding-window' });
    const tracked = limits();
    const seen: { args: string[]; source: string }[] = [];
    monitor = await other.monitor();
    const sentinel = `sentinel-${prefix}`;
    let sawSentinel: () => void = () => undefined;
    const sentinelSeen = new Promise<void>((resolve) => (sawSentinel = resolve));
    monitor.on('monitor', (_time: string, args: string[], source: string) => {
      if (args.includes(sentinel)) sawSentinel();
      else if (args.some((a) => a.startsWith(prefix))) seen.push({ args, source });
    });
    for (let i = 0; i < 3; i++) await takeAll(throttler, tracked, 'ann'); // 2 allowed, 1 refused
    const probe = new Redis(redisUrl());
    await probe.echo(sentinel);
    await sentinelSeen;
    probe.disconnect();
    const fromClient = seen.filter((c) => c.source !== 'lua');
    expect(fromClient).toHaveLength(3);
    expect(fromClient.every((c) => /^eval(sha)?$/i.test(c.args[0]))).toBe(true);
    // The script did the reads and writes itself.
    expect(seen.filter((c) => c.source === 'lua').length).toBeGreaterThan(3);
  });
});

describe('bad throttle configuration fails at startup with ThrottlerConfigError', () => {
  const bad: [string, () => unknown][] = [
    ['a negative limit (ours)', () => Throttle({ limit: -1, ttlMs: 1000 })],
    ['a negative limit (@nestjs/throttler shape)', () => Throttle({ default: { limit: -1, ttl: 1000 } })],
    ['blockDuration without ttl', () => Throttle({ login: { limit: 5, blockDuration: 60_000 } as never })],
    ['an unknown shape', () => Throttle({ default: { max: 5, window: 1000 } } as never)],
    ['an unknown option', () => Throttle({ default: { limit: 5, ttl: 1000, burst: 2 } as never })],
    ['a cost above a limit', () => Throttle('2/minute', { cost: 3 })],
    ['a module array entry without ttl', () => resolveThrottleSettings({ limits: [{ name: 'x', limit: 3 } as never] })],
    ['rate and limits together', () => resolveThrottleSettings({ rate: '1/s', limits: '2/s' })],
    ['an unknown headers mode', () => resolveThrottleSettings({ headers: 'draft' as never })],
    ['ignoreUserAgents that are not RegExp', () => resolveThrottleSettings({ ignoreUserAgents: ['bot'] as never })],
    ['a header-unsafe limit name', () => Throttle({ 'my limit': '1/s' })],
  ];
  it.each(bad)('%s', (_what, make) => {
    expect(make).toThrow(ThrottlerConfigError);
  });
});
