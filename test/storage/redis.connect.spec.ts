import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Test } from '@nestjs/testing';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendUnavailableError, BackendValidationError, BackendsModule, RedisBackend } from '../../lib/index.js';
import { freePort } from '../utils/free-port.js';
import { RedisProcess } from '../utils/redis-server.js';

/** Runs the connection worker in its own process; resolves its exit code and output. */
function worker(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const file = join(process.cwd(), 'test/fixtures/redis-connect-worker.mjs');
  return new Promise((resolve) => {
    execFile('node', [file, ...args], { timeout: 15_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr });
    });
  });
}

/** The error `call` throws synchronously, or undefined. */
function thrown(call: () => unknown): unknown {
  try {
    call();
  } catch (err) {
    return err;
  }
  return undefined;
}

const DOWN_SEED = JSON.stringify([{ host: '127.0.0.1', port: 1 }]);

describe('RedisBackend connection setup and teardown', () => {
  describe('a Cluster that is down, and close() of a backend that is not connected (#21.11)', () => {
    it('connect() to a Cluster whose seeds are down rejects with BackendUnavailableError, in a process nothing else keeps alive', async () => {
      const { code, stdout } = await worker('connect-cluster', DOWN_SEED);
      expect({ code, stdout }).toEqual({ code: 0, stdout: 'rejected BackendUnavailableError unavailable' });
    }, 20_000);

    it('close() of a Cluster backend that never connected settles, and the process exits by itself', async () => {
      const { code, stdout } = await worker('close-cluster', DOWN_SEED);
      expect({ code, stdout }).toEqual({ code: 0, stdout: 'closed' });
    }, 20_000);

    it('close() of a disconnected standalone backend settles, and the process exits by itself', async () => {
      const { code, stdout, stderr } = await worker('close-standalone', `redis://127.0.0.1:${await freePort()}`);
      expect(stderr).toContain('status before close: reconnecting');
      expect({ code, stdout }).toEqual({ code: 0, stdout: 'closed' });
    }, 20_000);
  });

  describe('malformed URLs and addresses are refused at construction (#21.12)', () => {
    const password = 'url-Pa55word-7781';
    const bad: [string, RegExp][] = [
      ['redis//localhost:6391', /no scheme/],
      ['http://127.0.0.1:6391', /"http:", which is not a Redis scheme/],
      [`http://:${password}@127.0.0.1:6391`, /"http:"/],
      ['redis:localhost:6379', /must have \/\/ after "redis:"/],
      ['redis://127.0.0.1:99999', /invalid port/],
      [`redis://:${password}@127.0.0.1:0`, /invalid port/],
      ['redis://127.0.0.1:63a9', /invalid port/],
      ['redis://', /no host/],
      [`redis://:${password}@:6379`, /no host/],
      ['redis://exa mple:6379', /invalid host/],
      ['redis://[::1:6379', /unclosed \[/],
      ['redis://localhost:6379/cache', /not a database number/],
      ['unix://localhost/run/redis.sock', /absolute socket path/],
      ['//localhost:6379', /no scheme/],
      ['', /non-empty/],
    ];
    it.each(bad)('%s', (url, reason) => {
      const err = thrown(() => RedisBackend.create(url));
      expect(err).toBeInstanceOf(BackendValidationError);
      const message = (err as Error).message;
      expect(message).toMatch(reason);
      // The accepted forms are named, and the URL (which may hold a password) is never echoed.
      expect(message).toMatch(/redis:\/\/.*rediss:\/\/.*unix:\/\/.*socket path/);
      expect(message).not.toContain(password);
      if (url.length > 12) expect(message).not.toContain(url);
    });

    it('refuses a bad port or host in options and in Cluster seeds', () => {
      expect(thrown(() => RedisBackend.create({ host: '127.0.0.1', port: 99999 }))).toBeInstanceOf(
        BackendValidationError,
      );
      expect(thrown(() => RedisBackend.create({ host: '', port: 6379 }))).toBeInstanceOf(BackendValidationError);
      expect(thrown(() => RedisBackend.create({ cluster: [{ host: '127.0.0.1', port: 0 }] }))).toBeInstanceOf(
        BackendValidationError,
      );
      expect(thrown(() => RedisBackend.create({ cluster: ['127.0.0.1:70000'] }))).toBeInstanceOf(
        BackendValidationError,
      );
      expect(thrown(() => RedisBackend.create({ cluster: [] }))).toBeInstanceOf(BackendValidationError);
    });

    it('the module refuses a bad Redis URL when the app starts, as a validation error', async () => {
      const compiling = Test.createTestingModule({
        imports: [BackendsModule.forRoot({ storage: { type: 'redis', url: 'http://127.0.0.1:6391' } })],
      }).compile();
      await expect(compiling).rejects.toBeInstanceOf(BackendValidationError);
    });
  });

  describe('the accepted forms connect', () => {
    let server: RedisProcess;
    let socketPath: string;
    beforeAll(async () => {
      socketPath = join(mkdtempSync(join(tmpdir(), 'nb-sock-')), 'redis.sock');
      server = await RedisProcess.start(['--unixsocket', socketPath, '--unixsocketperm', '700']);
    });
    afterAll(async () => {
      await server.destroy();
    });

    it.each([
      ['redis://host:port/db', () => `redis://127.0.0.1:${server.port}/2`],
      ['REDIS:// in capitals', () => `REDIS://127.0.0.1:${server.port}`],
      ['a host name', () => `redis://localhost:${server.port}`],
      ['unix:///path', () => `unix://${socketPath}`],
      ['a socket path', () => socketPath],
      ['a socket path with ?db=', () => `${socketPath}?db=3`],
    ])('%s', async (_label, url) => {
      const backend = await RedisBackend.connect(url(), { keyPrefix: 'forms:', connectTimeoutMs: 3000 });
      try {
        await backend.set('k', 'v');
        expect(await backend.get('k')).toBe('v');
      } finally {
        await backend.close();
      }
    });
  });

  describe('rediss:// against a server that does not speak TLS (#21.12)', () => {
    let plain: RedisProcess;
    let sockets: Set<Socket>;
    let chatty: Server;
    beforeAll(async () => {
      plain = await RedisProcess.start();
      // A server that answers any first bytes in plain text, as a non-TLS service does.
      sockets = new Set();
      chatty = createServer((s) => {
        sockets.add(s);
        s.on('error', () => undefined);
        s.once('data', () => s.write('-ERR Protocol error: expected a command\r\n'));
      });
      await new Promise<void>((r) => chatty.listen(0, '127.0.0.1', r));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => chatty.close(r));
      await plain.destroy();
    });

    it('connect() says the TLS handshake failed (a plain-text Redis never answers the TLS hello)', async () => {
      const err = await RedisBackend.connect(`rediss://127.0.0.1:${plain.port}`, { connectTimeoutMs: 2500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toMatch(/TLS handshake failed/);
    });

    it('a call made while the handshake hangs says so too', async () => {
      const backend = RedisBackend.create(`rediss://127.0.0.1:${plain.port}`, { commandTimeoutMs: 400 });
      try {
        const err = await backend.get('k').then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(BackendUnavailableError);
        expect((err as Error).message).toMatch(/TLS handshake failed.*does the server speak TLS/);
      } finally {
        await backend.close();
      }
    });

    it('a server that answers in plain text: the TLS handshake failure is named with its cause', async () => {
      const port = (chatty.address() as { port: number }).port;
      const err = await RedisBackend.connect(`rediss://127.0.0.1:${port}`, { connectTimeoutMs: 1500 }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(BackendUnavailableError);
      expect((err as Error).message).toMatch(/TLS handshake failed: .*(wrong version number|packet length|SSL)/i);
    });
  });
});
