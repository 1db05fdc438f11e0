import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { BackendError, RedisBackend } from '../../lib/index.js';
import { RedisProcess } from '../utils/redis-server.js';
import { StallProxy } from '../utils/stall-proxy.js';

/** Calls `call` every 50 ms until it resolves or `maxMs` passed; returns the failures seen before. */
async function untilItWorks(call: () => Promise<unknown>, maxMs: number): Promise<unknown[]> {
  const failures: unknown[] = [];
  const start = Date.now();
  for (;;) {
    try {
      await call();
      return failures;
    } catch (err) {
      failures.push(err);
      if (Date.now() - start > maxMs) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

describe('a Redis connection black-holed by the network (no FIN, no RST) (#28.8)', () => {
  let server: RedisProcess;
  let proxy: StallProxy;
  beforeAll(async () => {
    server = await RedisProcess.start();
    proxy = await StallProxy.start(server.port);
  });
  afterAll(async () => {
    await proxy.close();
    await server.destroy();
  });

  it('is cut and replaced: calls fail typed, then work again against the real server through a fresh connection', async () => {
    // commandTimeoutMs 300: the link is given up after 1 s without a byte (README: 3 deadlines, at least 1 s).
    const backend = await RedisBackend.connect(proxy.url, { commandTimeoutMs: 300, keyPrefix: 'dead-link:' });
    try {
      await backend.set('before', 'kept');
      const connections = proxy.accepted;
      // The flow is forgotten by the network: the client's socket stays open and "ready".
      proxy.blackhole();
      const lost = await backend.get('before').then(
        () => 'answered',
        (err: unknown) => err,
      );
      expect(lost).toBeInstanceOf(BackendError);
      expect(backend.client.status).toBe('ready');

      // Keep calling, as an application under traffic does: the calls resume by themselves.
      const failures = await untilItWorks(() => backend.set('after', 'new'), 15_000);
      for (const err of failures) expect(err).toBeInstanceOf(BackendError);
      expect(proxy.accepted).toBeGreaterThan(connections);
      // The black-holed connection was closed by the client, not kept beside the new one.
      expect(proxy.open).toBe(1);
      expect(await backend.get('before')).toBe('kept');
      expect(await backend.get('after')).toBe('new');
    } finally {
      await backend.close();
    }
  }, 30_000);

  it('a connection that is merely idle is never cut', async () => {
    const backend = await RedisBackend.connect(proxy.url, { commandTimeoutMs: 300, keyPrefix: 'idle-link:' });
    const before = proxy.accepted;
    try {
      await backend.set('k', 1);
      // Longer than the dead-link limit with no command waiting: nothing is expected, nothing is cut.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await backend.get('k')).toBe(1);
      expect(proxy.accepted).toBe(before);
    } finally {
      await backend.close();
    }
  }, 30_000);
});
