import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { type Backend, CacheService, MemoryBackend } from '../../lib/index.js';
import { openBackend, type StoreKind, SwitchableBackend } from '../utils/web-app.js';

describe.each<StoreKind>(['memory', 'redis'])('CacheService on %s', (kind) => {
  let backend: Backend;
  let cache: CacheService;
  beforeEach(async () => {
    backend = await openBackend(kind, 'cache-service');
    cache = new CacheService(backend, { ttlMs: 60_000 });
  });
  afterEach(() => backend.close());

  it('gets, sets and deletes in the cache: namespace with the default TTL', async () => {
    await cache.set('a', { x: 1 });
    expect(await cache.get('a')).toEqual({ x: 1 });
    const ttl = await backend.namespace('cache:').ttl('a');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
    expect(await cache.delete('a')).toBe(true);
    expect(await cache.get('a')).toBeUndefined();
  });

  it('stores very long keys under a hash', async () => {
    const key = 'k'.repeat(5000);
    await cache.set(key, 1);
    expect(await cache.get(key)).toBe(1);
  });

  it('wrap runs the function once for concurrent callers and caches the result', async () => {
    let runs = 0;
    const fn = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 50));
      return { runs };
    };
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.wrap('w', fn)));
    expect(runs).toBe(1);
    expect(results.every((r) => r.runs === 1)).toBe(true);
    expect(await cache.wrap('w', fn)).toEqual({ runs: 1 });
    expect(runs).toBe(1);
  });

  it('wrap gives an error to every waiter and caches nothing', async () => {
    let runs = 0;
    const fn = async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
      throw new Error('boom');
    };
    const settled = await Promise.allSettled(Array.from({ length: 5 }, () => cache.wrap('e', fn)));
    expect(settled.every((s) => s.status === 'rejected')).toBe(true);
    expect(runs).toBe(1);
    expect(await cache.get('e')).toBeUndefined();
  });
});

describe('CacheService with a failing backend', () => {
  it('wrap answers from the function when the backend is down; get reports the failure', async () => {
    const inner = new MemoryBackend();
    const sw = new SwitchableBackend(inner);
    const cache = new CacheService(sw.backend());
    sw.down = true;
    expect(await cache.wrap('k', () => 42)).toBe(42);
    await expect(cache.get('k')).rejects.toMatchObject({ code: 'unavailable' });
    sw.down = false;
    expect(await cache.wrap('k', () => 43)).toBe(43);
    expect(await cache.wrap('k', () => 44)).toBe(43);
    await inner.close();
  });

  it('refuses a TTL that is not a positive whole number', () => {
    const inner = new MemoryBackend();
    expect(() => new CacheService(inner, { ttlMs: 0 })).toThrow(/cache.ttlMs/);
    return inner.close();
  });
});
