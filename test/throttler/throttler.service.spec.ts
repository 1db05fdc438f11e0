import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type Backend, MemoryBackend, Throttler } from '../../lib/index.js';
import { freezeDate, thawDate } from '../utils/clock.js';
import { openBackend, type StoreKind } from '../utils/web-app.js';

describe.each<StoreKind>(['memory', 'redis'])('Throttler.consume on %s', (kind) => {
  let backend: Backend;
  beforeEach(async () => {
    freezeDate(); // every hit of a test at one instant: no run crosses a window's end
    backend = await openBackend(kind, 'throttler-service');
  });
  afterEach(async () => {
    await backend.close();
    thawDate();
  });

  it('allows `limit` hits per window and reports remaining, reset and retry-after', async () => {
    const throttler = new Throttler(backend);
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await throttler.consume('login:ann@example.com', '3/15m'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    for (const r of results) {
      expect(r.limit).toBe(3);
      expect(r.resetMs).toBeGreaterThan(0);
      expect(r.resetMs).toBeLessThanOrEqual(900_000);
    }
    expect(results[0].retryAfterMs).toBe(0);
    expect(results[3].retryAfterMs).toBe(results[3].resetMs);
    expect((await throttler.consume('login:bob@example.com', '3/15m')).allowed).toBe(true);
  });

  it('reset() forgets the hits of a key', async () => {
    const throttler = new Throttler(backend);
    await throttler.consume('k', { limit: 1, ttlMs: 3_600_000 });
    expect((await throttler.consume('k', { limit: 1, ttlMs: 3_600_000 })).allowed).toBe(false);
    await throttler.reset('k', { limit: 1, ttlMs: 3_600_000 });
    expect((await throttler.consume('k', { limit: 1, ttlMs: 3_600_000 })).allowed).toBe(true);
  });

  it('counts exactly under concurrency: one increment per hit', async () => {
    const throttler = new Throttler(backend);
    const results = await Promise.all(Array.from({ length: 50 }, () => throttler.consume('burst', '10/hour')));
    expect(results.filter((r) => r.allowed)).toHaveLength(10);
  });

  it('rejects an invalid rate', async () => {
    await expect(new Throttler(backend).consume('k', '10 per minute')).rejects.toMatchObject({ code: 'invalid_rate' });
  });
});

describe('Throttler windows (memory, controlled clock)', () => {
  let backend: MemoryBackend;
  beforeEach(() => {
    jest.useFakeTimers({
      now: new Date('2030-01-01T00:00:00Z'),
      doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'],
    });
    backend = new MemoryBackend();
  });
  afterEach(async () => {
    await backend.close();
    jest.useRealTimers();
  });

  it('weighs the previous window by its remaining overlap', async () => {
    const throttler = new Throttler(backend, { algorithm: 'sliding-window' });
    const rate = { limit: 10, ttlMs: 1000 };
    const first = await throttler.consume('k', rate);
    // Go to the start of a window whose previous window is empty.
    jest.setSystemTime(Date.now() + first.resetMs + rate.ttlMs);
    const inWindow = [];
    for (let i = 0; i < 11; i++) inWindow.push(await throttler.consume('k', rate));
    expect(inWindow.filter((r) => r.allowed)).toHaveLength(10);
    const refused = inWindow[10];
    expect(refused.allowed).toBe(false);
    // The window is full: the retry fits once its 10 hits weigh 9, 10% into the next window.
    expect(refused.retryAfterMs).toBe(refused.resetMs + 100);

    // 5% into the next window: 10 * 0.95 + 1 > 10, refused.
    jest.setSystemTime(Date.now() + refused.resetMs + 50);
    expect((await throttler.consume('k', rate)).allowed).toBe(false);
    // 60% in: 10 * 0.4 + 1 = 5, allowed, with the estimate in `remaining`.
    jest.setSystemTime(Date.now() + 550);
    const later = await throttler.consume('k', rate);
    expect(later.allowed).toBe(true);
    expect(later.remaining).toBe(5);
  });

  it('starts a fixed window over once the previous one has expired', async () => {
    const throttler = new Throttler(backend);
    const rate = { limit: 2, ttlMs: 1000 };
    const start = Date.now();
    const hits = [];
    for (let i = 0; i < 3; i++) hits.push(await throttler.consume('k', rate));
    expect(hits.map((r) => r.allowed)).toEqual([true, true, false]);
    expect(hits[2].retryAfterMs).toBe(hits[2].resetMs);
    jest.setSystemTime(start + hits[2].resetMs);
    const next = await throttler.consume('k', rate);
    expect(next).toMatchObject({ allowed: true, remaining: 1, resetMs: 1000 });
    expect((await throttler.consume('k', rate)).remaining).toBe(0);
    expect((await throttler.consume('k', rate)).allowed).toBe(false);
  });

  it('refuses an unknown algorithm', () => {
    expect(() => new Throttler(backend, { algorithm: 'leaky-bucket' as never })).toThrow(/Unknown throttle algorithm/);
  });
});

describe('Throttler on a MemoryBackend that changes increment', () => {
  it('goes through the overridden increment for every hit (the synchronous path is for the plain class only)', async () => {
    const seen: string[] = [];
    const deltas: number[] = [];
    class CountingBackend extends MemoryBackend {
      override incrementBy(key: string, delta: number, ttlMs?: number | null): Promise<number> {
        seen.push(key);
        deltas.push(delta);
        return super.incrementBy(key, delta, ttlMs);
      }
    }
    const backend = new CountingBackend();
    const throttler = new Throttler(backend, { namespace: 'rl:' });
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await throttler.consume('ann', '2/hour'));
    expect(results.map((r) => r.allowed)).toEqual([true, true, false]);
    // Each hit is counted through the override; the refused one is taken back (it consumes nothing).
    expect(deltas).toEqual([1, 1, 1, -1]);
    expect(seen.every((k) => k.startsWith('rl:'))).toBe(true);
    await backend.close();
  });
});
