import { Redis } from 'ioredis';
import { Keyv } from 'keyv';
import KeyvRedis from '@keyv/redis';
import { createCache } from 'cache-manager';
import { RateLimiterMemory, RateLimiterRedis } from 'rate-limiter-flexible';
import { RedisStore } from 'connect-redis';
import { createClient } from 'redis';
import { BackendSessionStore, MemoryBackend, RedisBackend } from '../lib/index.js';
import { type BenchContext, type Comparison, compare, concurrentOps, sequentialOps } from './bench.util.js';

/** The ceiling for any Promise API: a bare async wrapper around a Map. */
class BareAsyncMap {
  private readonly map = new Map<string, unknown>();
  async get(key: string): Promise<unknown> {
    return this.map.get(key);
  }
  async set(key: string, value: unknown): Promise<void> {
    this.map.set(key, value);
  }
  async has(key: string): Promise<boolean> {
    return this.map.has(key);
  }
  async increment(key: string): Promise<number> {
    const next = ((this.map.get(key) as number | undefined) ?? 0) + 1;
    this.map.set(key, next);
    return next;
  }
}

const SMALL_OBJECT = { id: 42, name: 'Ada Lovelace', roles: ['admin', 'editor'], active: true };
const KIB_OBJECT = { items: Array.from({ length: 16 }, (_, i) => ({ id: i, label: `item-${i}`, tags: ['a', 'b'] })) };

/** The calls express-session makes of a store, with callbacks: `get(sid, cb)` and `set(sid, session, cb)`. */
interface CallbackStore {
  get(sid: string, cb: (err: unknown, value?: unknown) => void): unknown;
  set(sid: string, session: object, cb: (err?: unknown) => void): unknown;
}

/** One request's worth of store calls, as express-session makes them: load the session, save it changed. */
function sessionRoundTrip(store: CallbackStore, sid: string): Promise<void> {
  return new Promise((resolve, reject) => {
    store.get(sid, (err, value) => {
      if (err) return reject(err);
      const session = (value ?? {
        cookie: { originalMaxAge: null, expires: null, httpOnly: true, path: '/' },
        n: 0,
      }) as { n: number };
      session.n++;
      store.set(sid, session, (e) => (e ? reject(e) : resolve()));
    });
  });
}

const RAW_INCR = `local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/** Memory and Redis storage against the bare async Map, lru-cache, Keyv, cache-manager, rate-limiter-flexible and raw ioredis. */
export async function runStorageBench(ctx: BenchContext): Promise<Comparison[]> {
  const out: Comparison[] = [];
  // Full runs cut each round into 10 interleaved slices per side (see compare), each of n calls.
  const shape = { slices: ctx.quick ? 1 : 10 };
  const cmp = (spec: Parameters<typeof compare>[0], ours: () => Promise<number>, peer: () => Promise<number>) =>
    compare(spec, ctx.rounds, ours, peer, shape);
  const n = ctx.quick ? 20_000 : 50_000;
  const keys = 1000;
  const key = (i: number) => `k${i % keys}`;

  const ours = new MemoryBackend({ maxEntries: 1_000_000 });
  const bare = new BareAsyncMap();
  const keyv = new Keyv();
  const cacheManager = createCache();
  for (let i = 0; i < keys; i++) {
    await ours.set(key(i), i);
    await bare.set(key(i), i);
    await keyv.set(key(i), i);
    await cacheManager.set(key(i), i);
  }

  const mem = (workload: string, peerLabel: string, target: Comparison['target']) => ({
    group: 'storage (memory)',
    workload,
    unit: 'ops/s',
    oursLabel: 'MemoryBackend',
    peerLabel,
    target,
  });

  out.push(
    await cmp(
      mem('get primitive, sequential', 'bare async Map', { ratio: 0.7, text: '>= 70% of bare async Map' }),
      () => sequentialOps(n, (i) => ours.get(key(i))),
      () => sequentialOps(n, (i) => bare.get(key(i))),
    ),
  );
  out.push(
    await cmp(
      mem('set primitive, sequential', 'bare async Map', { ratio: 0.7, text: '>= 70% of bare async Map' }),
      () => sequentialOps(n, (i) => ours.set(key(i), i)),
      () => sequentialOps(n, (i) => bare.set(key(i), i)),
    ),
  );
  // Counters get stores of their own: left in `ours`, they doubled its map against Keyv's and
  // cache-manager's in the rows below (1,000 more entries made a set about 10 % slower).
  const oursCounters = new MemoryBackend({ maxEntries: 1_000_000 });
  const bareCounters = new BareAsyncMap();
  out.push(
    await cmp(
      mem('increment, sequential', 'bare async Map', { ratio: 0.7, text: '>= 70% of bare async Map' }),
      () => sequentialOps(n, (i) => oursCounters.increment(`c${i % keys}`)),
      () => sequentialOps(n, (i) => bareCounters.increment(`c${i % keys}`)),
    ),
  );
  await oursCounters.close();
  out.push(
    await cmp(
      mem('get primitive, sequential', 'Keyv (memory)', { ratio: 5, text: '>= 5x Keyv' }),
      () => sequentialOps(n, (i) => ours.get(key(i))),
      () => sequentialOps(n, (i) => keyv.get(key(i))),
    ),
  );
  out.push(
    await cmp(
      mem('set primitive, sequential', 'Keyv (memory)', { ratio: 5, text: '>= 5x Keyv' }),
      () => sequentialOps(n, (i) => ours.set(key(i), i)),
      () => sequentialOps(n, (i) => keyv.set(key(i), i)),
    ),
  );
  // No target: the ceiling of the row above, a bare async Map (no checks, no expiry, no copies).
  out.push(
    await cmp(
      {
        ...mem('set primitive, sequential: the ceiling, a bare async Map', 'Keyv (memory)', undefined),
        oursLabel: 'bare async Map',
        ceilingOf: 'set primitive, sequential vs Keyv (memory)',
      },
      () => sequentialOps(n, (i) => bare.set(key(i), i)),
      () => sequentialOps(n, (i) => keyv.set(key(i), i)),
    ),
  );
  out.push(
    await cmp(
      mem('get primitive, sequential', 'cache-manager', { ratio: 2.5, text: '>= 2.5x cache-manager' }),
      () => sequentialOps(n, (i) => ours.get(key(i))),
      () => sequentialOps(n, (i) => cacheManager.get(key(i))),
    ),
  );
  out.push(
    await cmp(
      mem('set primitive, sequential', 'cache-manager', { ratio: 2.5, text: '>= 2.5x cache-manager' }),
      () => sequentialOps(n, (i) => ours.set(key(i), i)),
      () => sequentialOps(n, (i) => cacheManager.set(key(i), i)),
    ),
  );

  const limiter = new RateLimiterMemory({ points: 1e12, duration: 3600 });
  const oursLimits = new MemoryBackend({ maxEntries: 1_000_000 });
  out.push(
    await cmp(
      mem('increment with TTL, sequential', 'RateLimiterMemory.consume', {
        ratio: 1,
        text: '>= rate-limiter-flexible memory',
      }),
      () => sequentialOps(n, (i) => oursLimits.increment(`rl${i % keys}`, 3_600_000)),
      () => sequentialOps(n, (i) => limiter.consume(`rl${i % keys}`)),
    ),
  );
  await oursLimits.close();

  for (let i = 0; i < keys; i++) {
    await ours.set(`o${i}`, SMALL_OBJECT);
    await keyv.set(`o${i}`, SMALL_OBJECT);
  }
  out.push(
    await cmp(
      mem('get small object, sequential', 'Keyv (memory)', { ratio: 3, text: '>= 3x Keyv' }),
      () => sequentialOps(n, (i) => ours.get(`o${i % keys}`)),
      () => sequentialOps(n, (i) => keyv.get(`o${i % keys}`)),
    ),
  );
  out.push(
    await cmp(
      mem('set small object, sequential', 'Keyv (memory)', { ratio: 3, text: '>= 3x Keyv' }),
      () => sequentialOps(n, (i) => ours.set(`o${i % keys}`, SMALL_OBJECT)),
      () => sequentialOps(n, (i) => keyv.set(`o${i % keys}`, SMALL_OBJECT)),
    ),
  );
  out.push(
    await cmp(
      mem('get 1 KiB object, sequential', 'Keyv (memory)', undefined),
      () => sequentialOps(n / 4, (i) => ours.get(`o${i % keys}`)),
      () => sequentialOps(n / 4, (i) => keyv.get(`o${i % keys}`)),
    ),
  );
  for (let i = 0; i < keys; i++) {
    await ours.set(`big${i}`, KIB_OBJECT);
    await keyv.set(`big${i}`, KIB_OBJECT);
  }
  out.push(
    await cmp(
      mem('set 1 KiB object, sequential', 'Keyv (memory)', undefined),
      () => sequentialOps(n / 4, (i) => ours.set(`big${i % keys}`, KIB_OBJECT)),
      () => sequentialOps(n / 4, (i) => keyv.set(`big${i % keys}`, KIB_OBJECT)),
    ),
  );
  await ours.close();

  // How cost grows with the key space, and 100 calls in flight.
  for (const size of ctx.quick ? [1_000, 100_000] : [1_000, 100_000, 1_000_000]) {
    // Bounded by entries only: at 1,000,000 keys the default 64 MiB maxBytes would evict a part of them.
    const big = new MemoryBackend({ maxEntries: size * 2, maxBytes: Number.MAX_SAFE_INTEGER });
    const map = new BareAsyncMap();
    for (let i = 0; i < size; i++) {
      await big.set(`s${i}`, i);
      await map.set(`s${i}`, i);
    }
    // Each call continues where the previous slice stopped, so the rounds walk the whole key space.
    let cursor = 0;
    const at = () => `s${(cursor++ * 7919) % size}`;
    const label = `${size.toLocaleString('en-US')} keys`;
    out.push(
      await cmp(
        mem(`get primitive, sequential, ${label}`, 'bare async Map', undefined),
        () => sequentialOps(n, () => big.get(at())),
        () => sequentialOps(n, () => map.get(at())),
      ),
    );
    out.push(
      await cmp(
        mem(`exists, sequential, ${label}`, 'bare async Map', undefined),
        () => sequentialOps(n, () => big.exists(at())),
        () => sequentialOps(n, () => map.has(at())),
      ),
    );
    out.push(
      await cmp(
        mem(`increment, sequential, ${label}`, 'bare async Map', undefined),
        () => sequentialOps(n, () => big.increment(at())),
        () => sequentialOps(n, () => map.increment(at())),
      ),
    );
    out.push(
      await cmp(
        mem(`get primitive, 100 in flight, ${label}`, 'bare async Map', undefined),
        () => concurrentOps(n, 100, () => big.get(at())),
        () => concurrentOps(n, 100, () => map.get(at())),
      ),
    );
    await big.close();
  }

  // Inserts of new keys into a full store, each evicting one, against the same inserts below the bound
  // (#28.12: a fresh Map iterator per eviction once cost ~100x). The store below the bound is emptied
  // between calls (untimed) before it reaches the bound, so it never evicts.
  {
    const bound = 100_000;
    const full = new MemoryBackend({ maxEntries: bound });
    const roomy = new MemoryBackend({ maxEntries: bound });
    for (let i = 0; i < bound; i++) await full.set(`f${i}`, i);
    let fullNext = bound;
    let roomyNext = 0;
    out.push(
      await cmp(
        {
          ...mem(
            `set a new key, at the bound (each set evicts one), ${bound.toLocaleString('en-US')} keys`,
            'MemoryBackend below its bound',
            { ratio: 0.5, text: '>= 50% of inserts below the bound' },
          ),
          oursLabel: 'MemoryBackend at its bound',
        },
        () => sequentialOps(n, () => full.set(`f${fullNext}`, fullNext++)),
        async () => {
          if (roomy.size > bound - n) await roomy.clear();
          return sequentialOps(n, () => roomy.set(`r${roomyNext}`, roomyNext++));
        },
      ),
    );
    await full.close();
    await roomy.close();
  }

  // Redis: 100 calls in flight on one connection, shared by both sides.
  const r = ctx.quick ? 5_000 : 10_000;
  const inFlight = 100;
  const prefix = 'bench:';
  const clientOptions = { commandTimeout: 1000, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false };
  // The backend's own cost per call, without the network: RedisBackend over a stand-in client whose
  // commands answer at once, against the same stand-in called directly (the rows below include Redis).
  const answered = { ok: Promise.resolve('OK'), one: Promise.resolve(1) };
  const instant = {
    status: 'ready',
    options: { autoPipeliningIgnoredCommands: [] as string[] },
    defineCommand(this: Record<string, unknown>, name: string) {
      this[name] = () => answered.one;
    },
    set: (_key: string, _value: string) => answered.ok,
    exists: (_key: string) => answered.one,
  };
  const wrapped = new RedisBackend(instant as unknown as Redis, { keyPrefix: prefix });
  const own = (workload: string) => ({
    group: 'storage (Redis)',
    workload,
    unit: 'ops/s',
    oursLabel: 'RedisBackend',
    peerLabel: 'the stand-in called directly',
    target: undefined,
  });
  out.push(
    await cmp(
      own("set primitive, sequential, over a client that answers at once (the backend's own cost)"),
      () => sequentialOps(n, (i) => wrapped.set(key(i), i)),
      () => sequentialOps(n, (i) => instant.set(prefix + key(i), String(i))),
    ),
  );
  out.push(
    await cmp(
      own("exists, sequential, over a client that answers at once (the backend's own cost)"),
      () => sequentialOps(n, (i) => wrapped.exists(key(i))),
      () => sequentialOps(n, (i) => instant.exists(prefix + key(i))),
    ),
  );

  for (const autoPipelining of [true, false]) {
    const backend = await RedisBackend.connect(
      new Redis(ctx.redisUrl, { ...clientOptions, enableAutoPipelining: autoPipelining }),
      { keyPrefix: prefix },
    );
    // Raw ioredis is the backend's own client, called directly: same socket and options, so the two
    // sides differ only by the backend's code (two connections added a spread of their own).
    const raw = backend.client as Redis;
    raw.defineCommand('rawIncr', { numberOfKeys: 1, lua: RAW_INCR });
    const rawIncr = (k: string) =>
      (raw as unknown as { rawIncr(k: string, ttl: number): Promise<number> }).rawIncr(k, 60_000);
    const label = autoPipelining ? 'auto-pipelining' : 'no auto-pipelining';
    const red = (workload: string, peerLabel: string, target: Comparison['target']) => ({
      group: 'storage (Redis)',
      workload: `${workload}, 100 in flight, ${label}`,
      unit: 'ops/s',
      oursLabel: 'RedisBackend',
      peerLabel,
      target,
    });
    out.push(
      await cmp(
        red('set primitive', 'raw ioredis SET', { ratio: 0.85, text: '>= 85% of raw ioredis' }),
        () => concurrentOps(r, inFlight, (i) => backend.set(key(i), i)),
        () => concurrentOps(r, inFlight, (i) => raw.set(prefix + key(i), String(i))),
      ),
    );
    out.push(
      await cmp(
        red('get primitive', 'raw ioredis GET', { ratio: 0.85, text: '>= 85% of raw ioredis' }),
        () => concurrentOps(r, inFlight, (i) => backend.get(key(i))),
        () => concurrentOps(r, inFlight, (i) => raw.get(prefix + key(i))),
      ),
    );
    out.push(
      await cmp(
        red('increment with TTL', 'raw EVALSHA INCR+PEXPIRE', { ratio: 0.9, text: '>= 90% of raw EVALSHA' }),
        () => concurrentOps(r, inFlight, (i) => backend.increment(`c${i % keys}`, 60_000)),
        () => concurrentOps(r, inFlight, (i) => rawIncr(`${prefix}rc${i % keys}`)),
      ),
    );
    out.push(
      await cmp(
        red('exists', 'raw ioredis EXISTS', { ratio: 0.85, text: '>= 85% of raw ioredis' }),
        () => concurrentOps(r, inFlight, (i) => backend.exists(key(i))),
        () => concurrentOps(r, inFlight, (i) => raw.exists(prefix + key(i))),
      ),
    );
    if (autoPipelining) {
      const json = JSON.stringify(KIB_OBJECT);
      out.push(
        await cmp(
          red('set 1 KiB object', 'raw ioredis SET of JSON.stringify', { ratio: 0.85, text: '>= 85% of raw ioredis' }),
          () => concurrentOps(r, inFlight, (i) => backend.set(`o${i % keys}`, KIB_OBJECT)),
          () => concurrentOps(r, inFlight, (i) => raw.set(`${prefix}o${i % keys}`, JSON.stringify(KIB_OBJECT))),
        ),
      );
      out.push(
        await cmp(
          red('get 1 KiB object', 'raw ioredis GET + JSON.parse', { ratio: 0.85, text: '>= 85% of raw ioredis' }),
          () => concurrentOps(r, inFlight, (i) => backend.get(`o${i % keys}`)),
          () => concurrentOps(r, inFlight, async (i) => JSON.parse((await raw.get(`${prefix}o${i % keys}`)) ?? json)),
        ),
      );
    }
    {
      // On both clients: without auto-pipelining is how `RedisBackend.create` (and the module) sets up
      // its own client, which like node-redis writes the commands of one turn together.
      const keyvRedis = new Keyv(new KeyvRedis(ctx.redisUrl), { namespace: 'bench-keyv' });
      for (let i = 0; i < keys; i++) await keyvRedis.set(key(i), i);
      out.push(
        await cmp(
          red('get primitive', 'Keyv (@keyv/redis)', undefined),
          () => concurrentOps(r, inFlight, (i) => backend.get(key(i))),
          () => concurrentOps(r, inFlight, (i) => keyvRedis.get(key(i))),
        ),
      );
      out.push(
        await cmp(
          red('set primitive', 'Keyv (@keyv/redis)', undefined),
          () => concurrentOps(r, inFlight, (i) => backend.set(key(i), i)),
          () => concurrentOps(r, inFlight, (i) => keyvRedis.set(key(i), i)),
        ),
      );
      await keyvRedis.clear();
      await keyvRedis.disconnect();
    }
    if (autoPipelining) {
      // The session stores without HTTP around them (the HTTP rows add express-session and Express).
      const nodeRedis = createClient({ url: ctx.redisUrl });
      await nodeRedis.connect();
      const stores: [CallbackStore, CallbackStore] = [
        new BackendSessionStore(backend, { prefix: 'bench-session:' }) as unknown as CallbackStore,
        new RedisStore({ client: nodeRedis, prefix: 'bench-connect:' }) as unknown as CallbackStore,
      ];
      const session = {
        ...red(
          'session store round trip (get, then set of the changed session)',
          'connect-redis (node-redis)',
          undefined,
        ),
        oursLabel: 'BackendSessionStore',
      };
      out.push(
        await cmp(
          session,
          () => concurrentOps(r, inFlight, (i) => sessionRoundTrip(stores[0], `s${i % keys}`)),
          () => concurrentOps(r, inFlight, (i) => sessionRoundTrip(stores[1], `s${i % keys}`)),
        ),
      );
      await nodeRedis.quit();
    }
    if (autoPipelining) {
      const rl = new RateLimiterRedis({ storeClient: raw, points: 1e12, duration: 3600, keyPrefix: 'bench-rl' });
      out.push(
        await cmp(
          red('increment with TTL', 'RateLimiterRedis.consume', {
            ratio: 1.5,
            text: '>= 1.5x rate-limiter-flexible Redis',
          }),
          () => concurrentOps(r, inFlight, (i) => backend.increment(`c${i % keys}`, 60_000)),
          () => concurrentOps(r, inFlight, (i) => rl.consume(`k${i % keys}`)),
        ),
      );
      // Few calls in flight, where ioredis' auto-pipeline waits for each batch: why increments are streamed then.
      const few = {
        ...red('increment with TTL', 'raw EVALSHA INCR+PEXPIRE', undefined),
        workload: `increment with TTL, 10 in flight, ${label}`,
      };
      out.push(
        await cmp(
          few,
          () => concurrentOps(r, 10, (i) => backend.increment(`c${i % keys}`, 60_000)),
          () => concurrentOps(r, 10, (i) => rawIncr(`${prefix}rc${i % keys}`)),
        ),
      );
    }
    if (autoPipelining) {
      const size = ctx.quick ? 10_000 : 1_000_000;
      for (let i = 0; i < size; i += 1000) {
        const batch = raw.pipeline();
        for (let j = i; j < Math.min(size, i + 1000); j++) batch.set(`${prefix}big${j}`, String(j));
        await batch.exec();
      }
      let cursor = 0;
      const at = () => `big${(cursor++ * 7919) % size}`;
      out.push(
        await cmp(
          red(`get primitive, ${size.toLocaleString('en-US')} keys`, 'raw ioredis GET', {
            ratio: 0.85,
            text: '>= 85% of raw ioredis',
          }),
          () => concurrentOps(r, inFlight, () => backend.get(at())),
          () => concurrentOps(r, inFlight, () => raw.get(prefix + at())),
        ),
      );
    }
    await backend.clear();
    await backend.client.quit();
  }
  return out;
}
