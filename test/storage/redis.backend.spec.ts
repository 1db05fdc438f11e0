import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import { Cluster, Redis } from 'ioredis';
import { BackendUnavailableError, RedisBackend } from '../../lib/index.js';
import { freePort } from '../utils/free-port.js';
import { RedisProcess } from '../utils/redis-server.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { generateCertificate } from '../utils/tls-cert.js';
import { startSilentServer } from '../utils/silent-server.js';

const run = promisify(execFile);

/** Elapsed ms of a call that must reject, and its error. */
async function timedRejection(call: () => Promise<unknown>): Promise<{ ms: number; error: unknown }> {
  const start = Date.now();
  try {
    await call();
  } catch (error) {
    return { ms: Date.now() - start, error };
  }
  throw new Error('expected the call to reject');
}

/**
 * Counts the writes `client`'s socket hands to the kernel from now on (one per `_write` or `_writev`),
 * by wrapping the socket's own methods.
 */
function countSocketWrites(client: Redis): () => number {
  const socket = client.stream as unknown as Record<'_write' | '_writev', (...args: unknown[]) => unknown>;
  let n = 0;
  for (const name of ['_write', '_writev'] as const) {
    const own = socket[name];
    socket[name] = function (this: unknown, ...args: unknown[]) {
      n++;
      return own.apply(this, args);
    };
  }
  return () => n;
}

/** The real timer functions, taken before any test fakes them. */
const { setTimeout: realSetTimeout, clearTimeout: realClearTimeout } = globalThis;

/** `promise`, or a rejection after `ms` of real time even while the timers are faked. */
function withRealDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = realSetTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => realClearTimeout(timer));
}

/**
 * The commands clients (not scripts) send to `nodes` that name `needle`, seen by MONITOR while `run`
 * runs. `run` ends with `marker()` (a GET of a key naming `needle` sent after its calls on the same
 * connection): the recording stops once MONITOR has shown that GET, so nothing earlier is missed.
 */
async function commandsDuring(nodes: Redis[], needle: string, run: (marker: string) => Promise<void>) {
  const seen: string[][] = [];
  const marker = `${needle}:marker:${Math.random().toString(36).slice(2)}`;
  let markerSeen: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (markerSeen = resolve));
  const monitors = await Promise.all(nodes.map((node) => node.monitor()));
  try {
    for (const monitor of monitors) {
      monitor.on('monitor', (_time: string, args: string[], source: string) => {
        if (source === 'lua') return;
        if (args.some((a) => a.endsWith(marker))) markerSeen();
        else if (args.some((a) => a.includes(needle))) seen.push(args);
      });
    }
    await run(marker);
    await withRealDeadline(done, 5000);
  } finally {
    for (const monitor of monitors) monitor.disconnect();
  }
  return seen.map((args) => args[0].toLowerCase());
}

describe('RedisBackend', () => {
  let raw: Redis;

  beforeAll(() => {
    raw = new Redis(redisUrl());
  });
  afterAll(async () => {
    await raw.quit();
  });

  it('prepends keyPrefix verbatim, exactly once, and namespaces after it', async () => {
    const prefix = uniquePrefix('prefix');
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    await backend.set('a', 'x');
    await backend.namespace('ns:').set('b', 1);
    expect(await raw.get(`${prefix}a`)).toBe('\u0001x');
    expect(await raw.get(`${prefix}ns:b`)).toBe('1');
    expect(await raw.exists(`${prefix}${prefix}a`)).toBe(0);
    await backend.clear();
    await backend.close();
  });

  it('reads strings stored as JSON text (the format before strings were stored as they are)', async () => {
    const prefix = uniquePrefix('legacy');
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    await raw.set(`${prefix}old`, '"a \\"quoted\\" value"');
    expect(await backend.get('old')).toBe('a "quoted" value');
    await backend.clear();
    await backend.close();
  });

  it('sends the calls of one event-loop turn in one socket write, and a later turn in its own', async () => {
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('turn') });
    const writes = countSocketWrites(backend.client as Redis);
    const turn = [
      ...Array.from({ length: 50 }, (_, i) => backend.set(`k${i}`, i)),
      ...Array.from({ length: 50 }, () => backend.increment('n', 60_000)),
      ...Array.from({ length: 50 }, (_, i) => backend.get(`k${i}`)),
    ];
    const answers = await Promise.all(turn);
    expect(writes()).toBe(1);
    expect(answers.slice(50, 100).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 50 }, (_, i) => i + 1),
    );
    expect(answers.slice(100)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Awaited one by one, each call is alone in its turn.
    await backend.set('a', 1);
    await backend.exists('a');
    await backend.delete('a');
    expect(writes()).toBe(4);
    await backend.clear();
    await backend.close();
  });

  it('never puts increments in an auto-pipeline the application enabled, and leaves its option array alone', async () => {
    const shared = ['info'];
    const client = new Redis(redisUrl(), { enableAutoPipelining: true, autoPipeliningIgnoredCommands: shared });
    const backend = await RedisBackend.connect(client, { keyPrefix: uniquePrefix('stream') });
    expect(shared).toEqual(['info']);
    expect(client.options.autoPipeliningIgnoredCommands).toEqual([
      'info',
      'nestjsBackendsIncrByNow',
      'nestjsBackendsHitNow',
    ]);
    const writes = countSocketWrites(client);
    const calls = [
      ...Array.from({ length: 100 }, () => backend.increment('n', 60_000)),
      ...Array.from({ length: 100 }, () => backend.hit('n', 60_000).then((h) => h.count)),
    ];
    expect(client.autoPipelineQueueSize).toBe(0);
    const counts = await Promise.all(calls);
    expect(writes()).toBe(1);
    expect(new Set(counts).size).toBe(200);
    expect(Math.max(...counts)).toBe(200);
    expect(await backend.ttl('n')).toBeGreaterThan(59_000);
    await backend.clear();
    client.disconnect();
  });

  for (const legacyFakeTimers of [false, true]) {
    it(`answers while jest fakes the timers (${legacyFakeTimers ? 'legacy' : 'modern'} fake timers)`, async () => {
      const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('fake') });
      jest.useFakeTimers({ legacyFakeTimers, doNotFake: ['nextTick', 'queueMicrotask'] });
      try {
        // Were the socket held until a faked turn end, these would never be sent: fail after 2 s of real time.
        const answers = await withRealDeadline(
          Promise.all([backend.set('a', 1), backend.increment('n'), backend.get('a')]),
          2000,
        );
        expect(answers).toEqual([undefined, 1, 1]);
        expect(await withRealDeadline(backend.exists('a'), 2000)).toBe(true);
      } finally {
        jest.useRealTimers();
      }
      await backend.clear();
      await backend.close();
    });
  }

  it("uses 'nb:' as the default prefix", async () => {
    const backend = await RedisBackend.connect(redisUrl());
    const key = uniquePrefix('default');
    await backend.set(key, true);
    expect(await raw.get(`nb:${key}`)).toBe('true');
    await backend.delete(key);
    await backend.close();
  });

  it('clear() leaves keys of other applications in the same Redis', async () => {
    const prefix = uniquePrefix('clear');
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    await raw.set('other-app:key', 'keep');
    await raw.set(prefix.slice(0, -1), 'almost our prefix');
    for (let i = 0; i < 50; i++) await backend.set(`k${i}`, i);
    await backend.clear();
    expect(await raw.keys(`${prefix}*`)).toEqual([]);
    expect(await raw.get('other-app:key')).toBe('keep');
    expect(await raw.get(prefix.slice(0, -1))).toBe('almost our prefix');
    await raw.del('other-app:key', prefix.slice(0, -1));
    await backend.close();
  });

  it('clear() on a Cluster removes its keys from every master and leaves foreign keys', async () => {
    const prefix = uniquePrefix('cclear');
    const backend = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix: prefix });
    const cluster = new Cluster(clusterNodes());
    for (let i = 0; i < 200; i++) await backend.set(`k${i}`, i);
    await cluster.set('foreign:{x}', '1');
    const perMaster = await Promise.all(cluster.nodes('master').map((n) => n.keys(`${prefix}*`)));
    expect(perMaster.filter((keys) => keys.length > 0).length).toBeGreaterThan(1);
    await backend.clear();
    const after = await Promise.all(cluster.nodes('master').map((n) => n.keys(`${prefix}*`)));
    expect(after.flat()).toEqual([]);
    expect(await cluster.get('foreign:{x}')).toBe('1');
    await cluster.del('foreign:{x}');
    await cluster.quit();
    await backend.close();
  });

  describe('hit() is one round trip', () => {
    it('standalone: one EVALSHA for a new and for an existing counter', async () => {
      const prefix = uniquePrefix('hit-rtt');
      const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
      await backend.hit('warm', 1000); // loads the script on the server
      const fresh = await commandsDuring([raw], `${prefix}c`, async (marker) => {
        expect((await backend.hit('c', 60_000)).count).toBe(1);
        await backend.get(marker.slice(prefix.length));
      });
      expect(fresh).toEqual(['evalsha']);
      const existing = await commandsDuring([raw], `${prefix}c`, async (marker) => {
        expect((await backend.hit('c', 60_000, 4)).count).toBe(5);
        await backend.get(marker.slice(prefix.length));
      });
      expect(existing).toEqual(['evalsha']);
      await backend.clear();
      await backend.close();
    });

    it('Cluster: one EVALSHA on the master of the key', async () => {
      const prefix = uniquePrefix('hit-rtt-cluster');
      const backend = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix: prefix });
      const cluster = new Cluster(clusterNodes());
      try {
        await cluster.ping();
        // All keys of this test share one hash tag, so they and the marker go to one master.
        await backend.hit('{rtt}warm', 1000);
        const seen = await commandsDuring(cluster.nodes('master'), `${prefix}{rtt}`, async (marker) => {
          expect((await backend.hit('{rtt}c', 60_000)).count).toBe(1);
          expect((await backend.hit('{rtt}c', 60_000)).count).toBe(2);
          await backend.get(marker.slice(prefix.length));
        });
        expect(seen).toEqual(['evalsha', 'evalsha']);
      } finally {
        await backend.clear();
        await cluster.quit();
        await backend.close();
      }
    });
  });

  it('keys() on a Cluster lists the keys of every master', async () => {
    const prefix = uniquePrefix('ckeys');
    const backend = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix: prefix });
    const cluster = new Cluster(clusterNodes());
    const expected = Array.from({ length: 300 }, (_, i) => `k${i}`);
    await backend.setMany(expected.map((key) => ({ key, value: 1 })));
    await cluster.set('foreign:{x}', '1');
    const perMaster = await Promise.all(cluster.nodes('master').map((n) => n.keys(`${prefix}*`)));
    expect(perMaster.length).toBeGreaterThanOrEqual(3);
    for (const keys of perMaster) expect(keys.length).toBeGreaterThan(0);
    const listed: string[] = [];
    for await (const key of backend.keys()) listed.push(key);
    expect([...new Set(listed)].sort()).toEqual([...expected].sort());
    await cluster.del('foreign:{x}');
    await backend.clear();
    await cluster.quit();
    await backend.close();
  });

  it('a process whose Cluster backend is closed during a slot refresh exits by itself', async () => {
    // ioredis 6.0.0's own slotsRefreshInterval timer re-arms forever in this case; the
    // process would stay alive and the call below be killed by its timeout.
    const worker = join(process.cwd(), 'test/fixtures/cluster-close-worker.mjs');
    const { stdout } = await run('node', [worker, JSON.stringify(clusterNodes())], { timeout: 15_000 });
    expect(stdout).toBe('closed');
  }, 20_000);

  it('increment gives a new counter its TTL in the same server-side step', async () => {
    const prefix = uniquePrefix('incr');
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: prefix });
    await backend.increment('c', 5000);
    const pttl = await raw.pttl(`${prefix}c`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(5000);
    await backend.clear();
    await backend.close();
  });

  it('leaves a client passed in open on close()', async () => {
    const client = new Redis(redisUrl());
    const backend = new RedisBackend(client, { keyPrefix: uniquePrefix('own') });
    await backend.set('x', 1);
    await backend.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();
  });

  it('closes a client it created', async () => {
    const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('close') });
    await backend.close();
    expect(backend.client.status).toBe('end');
    await expect(backend.get('x')).rejects.toBeInstanceOf(BackendUnavailableError);
  });

  describe('when Redis is unreachable', () => {
    it('connect() rejects with BackendUnavailableError within connectTimeoutMs', async () => {
      const port = await freePort();
      const { ms, error } = await timedRejection(() =>
        RedisBackend.connect(`redis://127.0.0.1:${port}`, { connectTimeoutMs: 500 }),
      );
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect((error as Error).message).toMatch(/ECONNREFUSED|not connected/);
      expect(ms).toBeLessThan(2500);
    });

    it('every call rejects within commandTimeoutMs when nothing listens', async () => {
      const port = await freePort();
      const backend = RedisBackend.create(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 300 });
      const results = await Promise.all(
        Array.from({ length: 100 }, (_, i) => timedRejection(() => backend.set(`k${i}`, i))),
      );
      for (const { ms, error } of results) {
        expect(error).toBeInstanceOf(BackendUnavailableError);
        expect(ms).toBeLessThan(1500);
      }
      await backend.close();
    });

    it('rejects within commandTimeoutMs against a server that accepts and never answers', async () => {
      const sink = await startSilentServer();
      const { port } = sink;
      const backend = RedisBackend.create(`redis://127.0.0.1:${port}`, { commandTimeoutMs: 300 });
      const { ms, error } = await timedRejection(() => backend.get('k'));
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(ms).toBeLessThan(1500);
      await backend.close();
      await sink.close();
    });
  });

  describe('fault: the server stops and comes back', () => {
    let server: RedisProcess;
    beforeAll(async () => {
      server = await RedisProcess.start();
    });
    afterAll(async () => {
      await server.destroy();
    });

    it('rejects while Redis is down and recovers without a new backend', async () => {
      const backend = await RedisBackend.connect(server.url, { commandTimeoutMs: 400 });
      await backend.set('k', 'before');
      await server.stop();
      const { ms, error } = await timedRejection(() => backend.get('k'));
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(ms).toBeLessThan(1500);
      await expect(backend.increment('n')).rejects.toBeInstanceOf(BackendUnavailableError);

      await server.start();
      const deadline = Date.now() + 5000;
      let value: unknown;
      while (Date.now() < deadline) {
        try {
          await backend.set('k', 'after');
          value = await backend.get('k');
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      expect(value).toBe('after');
      await backend.close();
    });
  });

  describe('secrets', () => {
    const password = 'pw-Sup3r-S3cret-9731';
    let server: RedisProcess;
    beforeAll(async () => {
      server = await RedisProcess.start(['--requirepass', password]);
    });
    afterAll(async () => {
      await server.destroy();
    });

    it('connects with the password from the URL and never shows it', async () => {
      const backend = await RedisBackend.connect(`redis://:${password}@127.0.0.1:${server.port}`);
      await backend.set('x', 1);
      expect(await backend.get('x')).toBe(1);
      expect(inspect(backend, { depth: 10, showHidden: true })).not.toContain(password);
      expect(JSON.stringify(backend)).not.toContain(password);
      expect(String(backend)).not.toContain(password);
      await backend.close();
    });

    it('a wrong password fails with an error that does not contain the password', async () => {
      const wrong = 'wrong-Pa55word-4412';
      let caught: unknown;
      try {
        await RedisBackend.connect(`redis://:${wrong}@127.0.0.1:${server.port}`, { connectTimeoutMs: 800 });
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(BackendUnavailableError);
      const shown = [
        (caught as Error).message,
        String(caught),
        JSON.stringify(caught),
        inspect(caught, { depth: 10, showHidden: true }),
      ].join('\n');
      expect(shown).toMatch(/WRONGPASS|NOAUTH|invalid/i);
      expect(shown).not.toContain(wrong);
      expect(shown).not.toContain(password);
    });

    it('a password given in options is not shown either', async () => {
      const backend = await RedisBackend.connect({ host: '127.0.0.1', port: server.port, password });
      expect(inspect(backend, { depth: 10, showHidden: true })).not.toContain(password);
      await backend.close();
    });
  });

  describe('TLS', () => {
    let server: RedisProcess;
    let cert: { key: string; cert: string };
    let tlsPort: number;
    beforeAll(async () => {
      cert = await generateCertificate();
      const dir = mkdtempSync(join(tmpdir(), 'nb-tls-'));
      writeFileSync(join(dir, 'cert.pem'), cert.cert);
      writeFileSync(join(dir, 'key.pem'), cert.key);
      tlsPort = await freePort();
      server = await RedisProcess.start([
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(dir, 'cert.pem'),
        '--tls-key-file',
        join(dir, 'key.pem'),
        '--tls-auth-clients',
        'no',
      ]);
    });
    afterAll(async () => {
      await server.destroy();
    });

    it('connects over TLS with the server certificate pinned', async () => {
      const backend = await RedisBackend.connect({ host: '127.0.0.1', port: tlsPort, tls: { ca: [cert.cert] } });
      await backend.set('tls', { secure: true });
      expect(await backend.get('tls')).toEqual({ secure: true });
      await backend.close();
    });

    it('verifies certificates by default: rediss:// to a self-signed server is refused', async () => {
      await expect(
        RedisBackend.connect(`rediss://127.0.0.1:${tlsPort}`, { connectTimeoutMs: 800 }),
      ).rejects.toBeInstanceOf(BackendUnavailableError);
    });
  });

  describe('many processes', () => {
    const worker = join(process.cwd(), 'test/fixtures/increment-worker.mjs');

    it.each([
      ['standalone', () => redisUrl()],
      ['Cluster', () => `cluster:${JSON.stringify(clusterNodes())}`],
    ])('4 processes x 500 increments of one key on %s end at exactly 2000', async (_label, target) => {
      const prefix = uniquePrefix('mp');
      await Promise.all(Array.from({ length: 4 }, () => run('node', [worker, target(), prefix, 'shared', '500'])));
      const backend = await RedisBackend.connect(
        target().startsWith('cluster:') ? { cluster: clusterNodes() } : redisUrl(),
        { keyPrefix: prefix },
      );
      expect(await backend.get('shared')).toBe(2000);
      await backend.clear();
      await backend.close();
    });
  });
});
