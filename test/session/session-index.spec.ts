import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { type Backend, BackendSessionStore, MemoryBackend, RedisBackend } from '../../lib/index.js';
import { DelayProxy } from '../utils/delay-proxy.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { rawCommand, RedisProcess } from '../utils/redis-server.js';

const inMs = (ms: number) => new Date(Date.now() + ms);
const session = (data: Record<string, unknown>, expiresInMs = 60_000) => ({
  cookie: { originalMaxAge: expiresInMs, expires: inMs(expiresInMs), httpOnly: true, path: '/' },
  ...data,
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const byUser = { userId: (s: any) => s.userId };

/**
 * How many session ids the store holds in the process. Reads a private field on purpose: nothing
 * public shows it without pruning it first (`written` was its name before #21.4).
 */
function heldIds(store: BackendSessionStore): number {
  const inside = store as unknown as { local?: { size: number }; written?: Set<string> };
  return inside.local?.size ?? inside.written!.size;
}

describe('BackendSessionStore on a bounded MemoryBackend', () => {
  const opened: Backend[] = [];
  const memory = (maxEntries: number) => {
    const backend = new MemoryBackend({ maxEntries });
    opened.push(backend);
    return backend;
  };
  afterAll(() => Promise.all(opened.map((b) => b.close())));

  it('holds no more session ids than the backend can hold, however many are written (#21.4)', async () => {
    const store = new BackendSessionStore(memory(1000), byUser);
    for (let i = 0; i < 50_000; i++) await store.set(`s-${i}`, session({ userId: `u-${i % 100}` }));
    // Pruned once past twice the live sessions (at least 1024): never near the 50,000 written.
    expect(heldIds(store)).toBeLessThanOrEqual(2 * 1000 + 1024);
    const ids = (await store.ids()) as string[];
    expect(ids.length).toBeLessThanOrEqual(1000);
    expect(ids).toContain('s-49999');
  });

  it('never evicts a live session to destroy another one at maxEntries (#21.5)', async () => {
    const backend = memory(100);
    const store = new BackendSessionStore(backend);
    for (let i = 0; i < 90; i++) await store.set(`live-${i}`, session({ n: i }));
    for (let i = 0; i < 10; i++) await store.set(`doomed-${i}`, session({ n: i }));
    for (let i = 0; i < 10; i++) await store.destroy(`doomed-${i}`);
    const raw = backend.namespace('session:');
    const lost: string[] = [];
    for (let i = 0; i < 90; i++) if (!(await raw.exists(`live-${i}`))) lost.push(`live-${i}`);
    expect(lost).toEqual([]);
  });

  it('keeps every session in the per-user index while other sessions fill the backend (#28.2)', async () => {
    const store = new BackendSessionStore(memory(50), byUser);
    await store.set('ann-1', session({ userId: 'ann' }));
    for (let i = 0; i < 200; i++) {
      await store.set(`flood-${i}`, session({ n: i }));
      expect(await store.get('ann-1')).not.toBeNull(); // in use, so the LRU keeps it
    }
    await store.set('ann-2', session({ userId: 'ann' }));
    expect(await store.destroyAllForUser('ann')).toBe(2);
    expect(await store.get('ann-1')).toBeNull();
    expect(await store.get('ann-2')).toBeNull();
  });

  it('shares one index between stores built on the same backend and prefix', async () => {
    const backend = memory(1000);
    const one = new BackendSessionStore(backend, byUser);
    const two = new BackendSessionStore(backend, byUser);
    await one.set('shared-1', session({ userId: 'cy' }));
    expect(await two.destroyAllForUser('cy')).toBe(1);
    expect(await one.get('shared-1')).toBeNull();
  });
});

type Kind = 'memory' | 'redis' | 'cluster';

async function open(kind: Kind): Promise<Backend> {
  if (kind === 'memory') return new MemoryBackend();
  const target = kind === 'redis' ? redisUrl() : { cluster: clusterNodes() };
  return RedisBackend.connect(target, { keyPrefix: uniquePrefix('session-index') });
}

describe.each<Kind>(['memory', 'redis', 'cluster'])('BackendSessionStore index and touch on %s', (kind) => {
  let backend: Backend;
  let store: BackendSessionStore;
  let raw: Backend;

  beforeAll(async () => {
    backend = await open(kind);
    store = new BackendSessionStore(backend, { prefix: 'sess:', ...byUser });
    raw = backend.namespace('sess:');
  });
  afterAll(() => backend.close());

  it('touch writes the new expiry into the stored session and keeps its data (#21.7)', async () => {
    // As express-session's own store test "touch() should reset session expiration".
    const first = session({ n: 1, userId: 'dee' }, 60_000);
    await store.set('touch-exp', first);
    const before = (await store.get('touch-exp')) as any;
    const later = session({ n: 999, userId: 'dee' }, 180_000);
    await store.touch('touch-exp', later);
    const after = (await store.get('touch-exp')) as any;
    expect(new Date(after.cookie.expires).getTime()).toBe(later.cookie.expires.getTime());
    expect(new Date(after.cookie.expires).getTime()).not.toBe(new Date(before.cookie.expires).getTime());
    expect(after.n).toBe(1); // touch is not a save: the stored data stays
    expect(await raw.ttl('touch-exp')).toBeGreaterThan(120_000);
  });

  it('touch never recreates a destroyed session, nor one that never was', async () => {
    await store.set('touch-gone', session({ userId: 'dee' }));
    await store.destroy('touch-gone');
    await store.touch('touch-gone', session({ userId: 'dee' }, 180_000));
    expect(await raw.exists('touch-gone')).toBe(false);
    await store.touch('touch-never', session({ userId: 'dee' }));
    expect(await raw.exists('touch-never')).toBe(false);
  });

  it('all() is an array of sessions, each with its id (#21.6)', async () => {
    const own = new BackendSessionStore(backend, { prefix: 'all-sess:' });
    await own.set('a-1', session({ n: 1 }));
    await own.set('a-2', session({ n: 2 }));
    const all = (await own.all()) as any[];
    expect(Array.isArray(all)).toBe(true);
    expect(all.map((s) => [s.id, s.n]).sort()).toEqual([
      ['a-1', 1],
      ['a-2', 2],
    ]);
    const viaCallback = await new Promise<any>((resolve, reject) =>
      own.all((err, value) => (err ? reject(err) : resolve(value))),
    );
    expect(viaCallback).toHaveLength(2);
    await own.clear();
  });

  it('a touched session stays in the per-user index', async () => {
    await store.set('idx-1', session({ userId: 'eve' }, 60_000));
    await store.touch('idx-1', session({ userId: 'eve' }, 180_000));
    expect(await store.destroyAllForUser('eve')).toBe(1);
    expect(await raw.exists('idx-1')).toBe(false);
  });
});

describe('BackendSessionStore on Redis: the per-user index', () => {
  let backend: RedisBackend;

  beforeAll(async () => {
    backend = await RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('session-ttl') });
  });
  afterAll(() => backend.close());

  it('gives every key it writes a lifetime, the index one at least as long as its longest session (#28.2)', async () => {
    const store = new BackendSessionStore(backend, { prefix: 'sess:', ...byUser });
    await store.set('ttl-a', session({ userId: 'fay' }, 60_000));
    await store.set('ttl-b', session({ userId: 'fay' }, 600_000));
    await store.set('ttl-c', session({ userId: 'gus' }, 60_000));
    await store.touch('ttl-a', session({ userId: 'fay' }, 120_000));
    await store.destroy('ttl-c');
    const client = backend.client as any;
    const [, keys] = (await client.scan('0', 'MATCH', `${backend.keyPrefix}*`, 'COUNT', 1000)) as [string, string[]];
    expect(keys.length).toBeGreaterThan(2);
    const lifetimes = await Promise.all(keys.map((k) => client.pttl(k) as Promise<number>));
    expect(lifetimes.filter((ms) => ms <= 0)).toEqual([]);
    const longestSession = (await backend.namespace('sess:').ttl('ttl-b')) as number;
    expect(Math.max(...lifetimes)).toBeGreaterThanOrEqual(longestSession);
  });

  it('destroys a login saved during destroyAllForUser by that call or the next (#28.1)', async () => {
    // Two instances: A saves logins through a link that delays each chunk 5 ms, B logs the user out everywhere.
    const url = new URL(redisUrl());
    const proxy = await DelayProxy.start(Number(url.port), 5);
    const prefix = uniquePrefix('session-race');
    const slow = await RedisBackend.connect(proxy.url, { keyPrefix: prefix });
    const fast = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    try {
      const a = new BackendSessionStore(slow, byUser);
      const b = new BackendSessionStore(fast, byUser);
      const survivors: string[] = [];
      for (let round = 0; round < 40; round++) {
        const sid = `login-${round}`;
        await Promise.all([
          a.set(sid, session({ userId: 'hal' })),
          sleep(round % 40).then(() => b.destroyAllForUser('hal')),
        ]);
        await b.destroyAllForUser('hal');
        if ((await b.get(sid)) !== null) survivors.push(sid);
      }
      expect(survivors).toEqual([]);
      expect(await b.destroyAllForUser('hal')).toBe(0);
    } finally {
      await Promise.all([slow.close(), fast.close()]);
      await proxy.close();
    }
  });

  it('reads sessions indexed by the 0.1 store (counter, floor and slots) on upgrade', async () => {
    const store = new BackendSessionStore(backend, { prefix: 'legacy:', ...byUser });
    const raw = backend.namespace('legacy:');
    const { hashKey } = await import('../../lib/utils/hash.util.js');
    const h = hashKey('ivy');
    await raw.set('old-1', JSON.stringify(session({ userId: 'ivy' })), 60_000);
    await raw.set('\u0000n:' + h, 1);
    await raw.set(`\u0000s:${h}:1`, 'old-1', 60_000);
    await raw.set('\u0000m:old-1', `${h}:1`, 60_000);
    expect(await store.destroyAllForUser('ivy')).toBe(1);
    expect(await raw.exists('old-1')).toBe(false);
    expect(await raw.exists(`\u0000s:${h}:1`)).toBe(false);
    expect(await raw.exists('\u0000n:' + h)).toBe(false); // its range is empty now: not walked again
  });
});

describe('BackendSessionStore on Redis: the eviction policy', () => {
  let server: RedisProcess;
  const backends: RedisBackend[] = [];
  let warn: ReturnType<typeof jest.spyOn>;
  let debug: ReturnType<typeof jest.spyOn>;

  beforeAll(async () => {
    server = await RedisProcess.start(['--maxmemory-policy', 'allkeys-lru']);
    await rawCommand(server.port, 'ACL SETUSER no-config on >no-config-pw ~* &* +@all -config');
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
    await server.destroy();
  });
  afterEach(() => {
    jest.restoreAllMocks();
  });

  const connect = async (url: string) => {
    const backend = await RedisBackend.connect(url, { keyPrefix: uniquePrefix('session-policy') });
    backends.push(backend);
    return backend;
  };
  const spy = () => {
    warn = jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  };

  it('warns at startup when Redis may evict any key (allkeys-lru) (#28.2)', async () => {
    spy();
    const store = new BackendSessionStore(await connect(server.url), byUser);
    expect(await store.checkEvictionPolicy()).toBe('allkeys-lru');
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0][0])).toMatch(/maxmemory-policy is "allkeys-lru".*noeviction/);
  });

  it('says nothing on a Redis that evicts nothing', async () => {
    spy();
    const store = new BackendSessionStore(await connect(redisUrl()), byUser);
    expect(await store.checkEvictionPolicy()).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
  });

  it('only logs at debug level when CONFIG GET is refused (ACL)', async () => {
    spy();
    const url = `redis://no-config:no-config-pw@127.0.0.1:${server.port}`;
    const store = new BackendSessionStore(await connect(url), byUser);
    expect(await store.checkEvictionPolicy()).toBeUndefined();
    expect(warn).not.toHaveBeenCalled();
    expect(String(debug.mock.calls[0]?.[0])).toMatch(/maxmemory-policy/);
  });
});
