import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { Cluster, Redis } from 'ioredis';
import {
  type Backend,
  BackendUnavailableError,
  BackendValueError,
  MemoryBackend,
  RedisBackend,
} from '../../lib/index.js';
import { RedisProcess } from '../utils/redis-server.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';

const MAX = Number.MAX_SAFE_INTEGER;

/** The error `call` rejects with (fails the test when it resolves). */
async function rejection(call: () => Promise<unknown>): Promise<unknown> {
  return call().then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (err: unknown) => err,
  );
}

const backends: [string, () => Promise<Backend>][] = [
  ['memory', async () => new MemoryBackend()],
  ['Redis', () => RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('safe-int'), commandTimeoutMs: 5000 })],
  [
    'Redis Cluster',
    () =>
      RedisBackend.connect(
        { cluster: clusterNodes() },
        { keyPrefix: uniquePrefix('safe-int'), commandTimeoutMs: 5000 },
      ),
  ],
];

describe.each(backends)('counters near 2^53 (%s)', (_name, make) => {
  let b: Backend;

  beforeAll(async () => {
    b = await make();
  });
  afterEach(async () => {
    await b.clear();
  });
  afterAll(async () => {
    await b?.close();
  });

  it('counts exactly up to Number.MAX_SAFE_INTEGER, then refuses with BackendValueError and keeps the counter', async () => {
    expect(await b.incrementBy('c', MAX - 60)).toBe(MAX - 60);
    const seen: number[] = [];
    for (let i = 0; i < 60; i++) seen.push(await b.increment('c'));
    expect(seen).toEqual(Array.from({ length: 60 }, (_, i) => MAX - 59 + i));
    expect(seen.at(-1)).toBe(MAX);
    expect(await rejection(() => b.increment('c'))).toBeInstanceOf(BackendValueError);
    expect(await rejection(() => b.incrementBy('c', MAX))).toBeInstanceOf(BackendValueError);
    expect(await b.get('c')).toBe(MAX);
    expect(await b.incrementBy('c', -1)).toBe(MAX - 1);
  });

  it('refuses below -Number.MAX_SAFE_INTEGER the same way', async () => {
    expect(await b.incrementBy('n', -(MAX - 1))).toBe(-(MAX - 1));
    expect(await b.incrementBy('n', -1)).toBe(-MAX);
    const err = await rejection(() => b.incrementBy('n', -1));
    expect(err).toBeInstanceOf(BackendValueError);
    expect(err).not.toBeInstanceOf(BackendUnavailableError);
    expect(await b.get('n')).toBe(-MAX);
  });

  it('refuses to count from a stored number past the safe range, and leaves it', async () => {
    await b.set('big', 2 ** 53 + 2);
    expect(await rejection(() => b.incrementBy('big', -10))).toBeInstanceOf(BackendValueError);
    expect(await b.get('big')).toBe(2 ** 53 + 2);
  });
});

describe('Redis counter replies and failures', () => {
  let server: RedisProcess;
  let admin: Redis;

  beforeAll(async () => {
    server = await RedisProcess.start();
    admin = new Redis({ port: server.port, host: '127.0.0.1' });
  });
  afterAll(async () => {
    admin?.disconnect();
    await server?.destroy();
  });

  it('a 64-bit overflow inside Redis is a BackendValueError, not an outage', async () => {
    const b = await RedisBackend.connect(server.url);
    try {
      await admin.set('nb:huge', '9223372036854775806');
      const err = await rejection(() => b.incrementBy('huge', 5));
      expect(err).toBeInstanceOf(BackendValueError);
      expect(err).not.toBeInstanceOf(BackendUnavailableError);
      expect(await admin.get('nb:huge')).toBe('9223372036854775806');
    } finally {
      await b.close();
    }
  });

  it('a 64-bit overflow inside a Cluster node is a BackendValueError too, not an outage', async () => {
    const keyPrefix = uniquePrefix('overflow');
    const b = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix, commandTimeoutMs: 5000 });
    const raw = new Cluster(clusterNodes());
    try {
      await raw.set(`${keyPrefix}huge`, '9223372036854775806');
      const err = await rejection(() => b.incrementBy('huge', 5));
      expect(err).toBeInstanceOf(BackendValueError);
      expect(err).not.toBeInstanceOf(BackendUnavailableError);
      expect(await raw.get(`${keyPrefix}huge`)).toBe('9223372036854775806');
    } finally {
      await raw.del(`${keyPrefix}huge`);
      raw.disconnect();
      await b.close();
    }
  });

  describe('the server closes the connection under a call', () => {
    afterEach(async () => {
      await admin.config('SET', 'client-output-buffer-limit', 'normal 0 0 0');
      await admin.call('CLIENT', 'UNPAUSE');
    });

    it('client-output-buffer-limit: the error names the disconnect, not ioredis retries', async () => {
      const b = await RedisBackend.connect(server.url, { commandTimeoutMs: 5000 });
      try {
        await b.set('large', 'x'.repeat(200_000));
        await admin.config('SET', 'client-output-buffer-limit', 'normal 1kb 1kb 0');
        const err = (await rejection(() => b.get('large'))) as Error;
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect(err.message).toMatch(/connection was closed while the command was in flight/);
        expect(err.message).toMatch(/client-output-buffer-limit/);
        expect(err.message).not.toMatch(/max retries/i);
      } finally {
        await b.close();
      }
    });

    it('CLIENT KILL while a write is held by CLIENT PAUSE: the same message, then the backend heals', async () => {
      const b = await RedisBackend.connect(server.url, { commandTimeoutMs: 5000 });
      try {
        await admin.call('CLIENT', 'PAUSE', '5000', 'WRITE');
        const pending = rejection(() => b.set('k', 1));
        // The write reached the server: it is the one paused client.
        for (let i = 0; i < 100 && !/cmd=set/.test(String(await admin.call('CLIENT', 'LIST'))); i++) {
          await new Promise((r) => setTimeout(r, 10));
        }
        await admin.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
        const err = (await pending) as Error;
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect(err.message).toMatch(/connection was closed while the command was in flight/);
        expect(err.message).not.toMatch(/max retries/i);
        await admin.call('CLIENT', 'UNPAUSE');
        let healed = false;
        for (let i = 0; i < 100 && !healed; i++) {
          healed = await b.set('k', 2).then(
            () => true,
            () => false,
          );
          if (!healed) await new Promise((r) => setTimeout(r, 50));
        }
        expect(healed).toBe(true);
        expect(await b.get('k')).toBe(2);
      } finally {
        await b.close();
      }
    });
  });
});
