import { describe, expect, it, jest } from '@jest/globals';
import { BackendValueError, MemoryBackend } from '../../lib/index.js';

/** A page of about 90 KB, as the cached route of issue 28 returned. */
const PAGE = 'x'.repeat(90_000);
/** What `maxBytes` counts for one such page at least: 2 bytes per character. */
const PAGE_BYTES = 2 * PAGE.length;

describe('MemoryBackend byte bound (#28.10)', () => {
  it('keeps a query-string flood of 90 KB pages within the default 64 MiB', async () => {
    const b = new MemoryBackend();
    for (let i = 0; i < 3000; i++) await b.set(`GET /page?utm=${i}`, PAGE, 60_000);
    // Counted independently of the backend's own tally: the pages alone fill 64 MiB at this count.
    expect(b.size).toBeLessThanOrEqual(Math.floor((64 * 1024 * 1024) / PAGE_BYTES));
    expect(b.bytes).toBeLessThanOrEqual(64 * 1024 * 1024);
    expect(await b.get('GET /page?utm=2999')).toBe(PAGE); // the newest is kept
    expect(await b.exists('GET /page?utm=0')).toBe(false); // the oldest went first
    await b.close();
  });

  it('evicts the least recently used entries to stay within maxBytes', async () => {
    const b = new MemoryBackend({ maxBytes: 1024 * 1024, maxEntryBytes: 256 * 1024 });
    for (let i = 0; i < 5; i++) await b.set(`p${i}`, PAGE);
    expect(await b.get('p0')).toBe(PAGE); // p0 becomes the most recently used
    for (let i = 5; i < 8; i++) await b.set(`p${i}`, PAGE);
    expect(b.size).toBe(5); // 1 MiB / 180 KB
    expect(await b.exists('p0')).toBe(true);
    for (const gone of ['p1', 'p2', 'p3']) expect(await b.exists(gone)).toBe(false);
    expect(b.bytes).toBeLessThanOrEqual(1024 * 1024);
    await b.close();
  });

  it('counts what is stored: replacing, deleting, expiring and clearing give the bytes back', async () => {
    const b = new MemoryBackend();
    const empty = b.bytes;
    expect(empty).toBe(0);
    await b.set('big', PAGE);
    const one = b.bytes;
    expect(one).toBeGreaterThanOrEqual(PAGE_BYTES);
    await b.set('big', 'small');
    expect(b.bytes).toBeLessThan(1000);
    await b.set('big', PAGE);
    expect(b.bytes).toBe(one);
    expect(await b.delete('big')).toBe(true);
    expect(b.bytes).toBe(0);

    await b.set('bytes', Buffer.alloc(50_000));
    expect(b.bytes).toBeGreaterThanOrEqual(50_000);
    await b.set('object', { rows: Array.from({ length: 100 }, () => 'y'.repeat(500)) });
    expect(b.bytes).toBeGreaterThanOrEqual(50_000 + 100 * 1000);
    await b.namespace('ns:').set('n', PAGE);
    await b.namespace('ns:').clear();
    expect(b.bytes).toBeLessThan(50_000 + 100 * 1000 + PAGE_BYTES);
    await b.clear();
    expect(b.bytes).toBe(0);
    expect(b.size).toBe(0);

    await b.close();
  });

  it('gives back the bytes of an entry dropped on expiry', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    const b = new MemoryBackend();
    try {
      await b.set('short', PAGE, 10);
      expect(b.bytes).toBeGreaterThanOrEqual(PAGE_BYTES);
      jest.setSystemTime(1_000_011);
      expect(await b.get('short')).toBeUndefined(); // dropped on read
      expect(b.bytes).toBe(0);
    } finally {
      await b.close();
      jest.useRealTimers();
    }
  });

  it('refuses an entry over maxEntryBytes with BackendValueError and keeps what was there', async () => {
    const b = new MemoryBackend({ maxBytes: 4 * 1024 * 1024, maxEntryBytes: 100_000 });
    await b.set('k', 'old');
    const err = await b.set('k', PAGE).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendValueError);
    expect((err as BackendValueError).code).toBe('value');
    expect((err as Error).message).toMatch(/maxEntryBytes \(100000\)/);
    expect(await b.get('k')).toBe('old');
    await expect(b.setIfAbsent('fresh', PAGE)).rejects.toBeInstanceOf(BackendValueError);
    expect(await b.exists('fresh')).toBe(false);
    await expect(b.set('blob', Buffer.alloc(200_000))).rejects.toBeInstanceOf(BackendValueError);
    await expect(b.set('obj', { page: PAGE })).rejects.toBeInstanceOf(BackendValueError);
    await b.set('fits', 'x'.repeat(40_000));
    expect(await b.get('fits')).toHaveLength(40_000);
    await b.close();
  });

  it('defaults maxEntryBytes to a sixteenth of maxBytes and checks the options', async () => {
    const b = new MemoryBackend({ maxBytes: 1024 * 1024 });
    await expect(b.set('page', PAGE)).rejects.toBeInstanceOf(BackendValueError); // 180 KB > 64 KiB
    await b.set('part', PAGE.slice(0, 20_000));
    await b.close();
    expect(() => new MemoryBackend({ maxBytes: 0 })).toThrow(RangeError);
    expect(() => new MemoryBackend({ maxEntryBytes: 1.5 })).toThrow(RangeError);
    expect(() => new MemoryBackend({ maxBytes: 1000, maxEntryBytes: 2000 })).toThrow(/must not exceed maxBytes/);
  });
});

describe('MemoryBackend eviction per namespace (#28.11)', () => {
  /** The store as the module shares it: sessions and cache in namespaces, counters through the root. */
  function sharedStore(maxEntries: number) {
    const root = new MemoryBackend({ maxEntries });
    return {
      root,
      sessions: root.namespace('session:'),
      cache: root.namespace('cache:', { evictFirst: true }),
    };
  }

  it('a flood of cache misses evicts cache entries only, never idle sessions or counters', async () => {
    const { root, sessions, cache } = sharedStore(5000);
    await sessions.set('sid-alice', '{"userId":"alice"}', 86_400_000);
    const now = Date.now();
    for (let i = 0; i < 5; i++) root.countNow('throttle:login:alice', 3_600_000, now); // an exhausted login limit
    for (let i = 0; i < 10_200; i++) await cache.set(`GET /products?page=${i}`, `page ${i}`, 60_000);
    expect(root.size).toBe(5000);
    expect(await sessions.get('sid-alice')).toBe('{"userId":"alice"}');
    expect(await root.get('throttle:login:alice')).toBe(5);
    expect(await cache.get('GET /products?page=10199')).toBe('page 10199');
    expect(await cache.exists('GET /products?page=0')).toBe(false);
    await root.close();
  });

  it('a flood of counters evicts counters, not the sessions of a smaller namespace', async () => {
    const { root, sessions, cache } = sharedStore(1000);
    for (let i = 0; i < 100; i++) await sessions.set(`sid-${i}`, { user: i }, 86_400_000);
    await cache.set('home', '<h1>home</h1>', 60_000);
    const now = Date.now();
    for (let i = 0; i < 20_000; i++) root.countNow(`throttle:ip:10.0.${i >> 8}.${i & 255}`, 60_000, now);
    expect(root.size).toBe(1000);
    for (let i = 0; i < 100; i++) expect(await sessions.get(`sid-${i}`)).toEqual({ user: i });
    expect(await cache.exists('home')).toBe(false); // the cache goes first
    expect(await root.get('throttle:ip:10.0.78.31')).toBe(1); // the newest counters are kept
    await root.close();
  });

  it('the largest namespace gives way when none is evicted first, and each keeps LRU order', async () => {
    const root = new MemoryBackend({ maxEntries: 300 });
    const a = root.namespace('a:');
    const b = root.namespace('b:');
    for (let i = 0; i < 100; i++) await a.set(`k${i}`, i);
    expect(await a.get('k0')).toBe(0); // a:k0 is now its namespace's most recent
    for (let i = 0; i < 1000; i++) await b.set(`k${i}`, i);
    expect(root.size).toBe(300);
    for (let i = 0; i < 100; i++) expect(await a.get(`k${i}`)).toBe(i);
    expect(await b.exists('k799')).toBe(false);
    expect(await b.get('k800')).toBe(800);
    // Now a grows: b is the larger one and gives way (its least recently used first) until both hold half.
    for (let i = 100; i < 150; i++) await a.set(`k${i}`, i);
    expect(root.size).toBe(300);
    expect(await b.exists('k850')).toBe(false);
    expect(await b.get('k851')).toBe(851);
    expect(await b.get('k800')).toBe(800); // read before the others, after them in recency
    // Both hold 150: a's next write evicts its own least recently used, k0 (read first of a's above).
    await a.set('k150', 150);
    expect(await a.exists('k0')).toBe(false);
    expect(await a.get('k1')).toBe(1);
    expect(await b.get('k852')).toBe(852);
    await root.close();
  });

  it('a namespace of a namespace shares its parent’s pool; clear() of one removes only its keys', async () => {
    const root = new MemoryBackend({ maxEntries: 100 });
    const app = root.namespace('app:');
    const users = app.namespace('users:');
    const sessions = root.namespace('session:');
    await sessions.set('s', 1);
    for (let i = 0; i < 500; i++) await (i % 2 ? users : app).set(`k${i}`, i);
    expect(root.size).toBe(100);
    expect(await sessions.get('s')).toBe(1);
    await users.clear();
    expect(await app.get('k498')).toBe(498);
    expect(await users.exists('k499')).toBe(false);
    expect(await root.get('app:users:k499')).toBeUndefined();
    await root.close();
  });
});

describe('MemoryBackend eviction at the bound (#28.12)', () => {
  it('evicts in exact least-recently-used order, reads counted', async () => {
    const b = new MemoryBackend({ maxEntries: 100 });
    for (let i = 0; i < 100; i++) await b.set(`k${i}`, i);
    for (let i = 0; i < 100; i++) expect(await b.get(`k${i}`)).toBe(i); // every entry read, k0 first
    await b.set('new', 'n');
    expect(await b.exists('k0')).toBe(false); // the least recently used, not one 32 places further
    expect(await b.get('k32')).toBe(32);
    expect(b.size).toBe(100);
    await b.close();
  });

  it('keeps LRU order through many evictions at the bound (writes, reads, increments, deletes)', async () => {
    const max = 200;
    const b = new MemoryBackend({ maxEntries: max });
    // A model of LRU: a Map in recency order (delete + set moves a key to the end).
    const model = new Map<string, number>();
    const touch = (k: string, v: number) => {
      model.delete(k);
      model.set(k, v);
      if (model.size > max) model.delete(model.keys().next().value as string);
    };
    let seed = 7;
    const rand = (n: number) => ((seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648) % n) >>> 0;
    for (let step = 0; step < 10_000; step++) {
      const k = `k${rand(600)}`;
      const op = rand(4);
      if (op === 0) {
        await b.set(k, step);
        touch(k, step);
      } else if (op === 1) {
        const v = await b.get<number>(k);
        expect(v).toBe(model.get(k));
        if (v !== undefined) touch(k, v);
      } else if (op === 2) {
        const v = await b.increment(k);
        const expected = (model.get(k) ?? 0) + 1;
        expect(v).toBe(expected);
        touch(k, expected);
      } else {
        expect(await b.delete(k)).toBe(model.delete(k));
      }
      expect(b.size).toBe(model.size);
    }
    for (const [k, v] of model) expect(await b.get(k)).toBe(v);
    await b.close();
  });
});
