import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import {
  BackendPermissionError,
  BackendUnavailableError,
  BackendValidationError,
  RedisBackend,
} from '../../lib/index.js';
import { describeBackendConformance } from '../contracts/backend.contract.js';
import { RedisClusterProcess, RedisProcess } from '../utils/redis-server.js';

const PASSWORD = 'acl-test-password';

/** The rules of the `ACL SETUSER app …` line of the README, the documented command list. */
function readmeRules(): string[] {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const line = /^ACL SETUSER app (.+)$/m.exec(readme)?.[1];
  if (line === undefined) throw new Error('README.md has no "ACL SETUSER app …" line');
  return line.split(' ').map((rule) => (rule === '>password' ? `>${PASSWORD}` : rule));
}

/** Creates `user` on every server with the README's rules, without the `dropped` ones. */
async function createUser(ports: number[], user: string, dropped: string[] = []): Promise<void> {
  const rules = readmeRules();
  for (const rule of dropped) if (!rules.includes(rule)) throw new Error(`the README's list has no ${rule}`);
  await Promise.all(
    ports.map(async (port) => {
      const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
      try {
        await admin.call('ACL', 'SETUSER', user, 'reset', ...rules.filter((r) => !dropped.includes(r)));
      } finally {
        admin.disconnect();
      }
    }),
  );
}

/** The ACL LOG entries of `user` on the server at `port`, as `reason:object` strings. */
async function refusalsOf(port: number, user: string): Promise<string[]> {
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    const entries = (await admin.call('ACL', 'LOG')) as unknown[][];
    return entries
      .map((flat) => {
        const entry: Record<string, unknown> = {};
        for (let i = 0; i < flat.length; i += 2) entry[String(flat[i])] = flat[i + 1];
        return entry;
      })
      .filter((e) => e.username === user)
      .map((e) => `${String(e.reason)}:${String(e.object)}`);
  } finally {
    admin.disconnect();
  }
}

/** Whether database `db` of the server holds any key. */
async function keysIn(port: number, db: number): Promise<string[]> {
  const admin = new Redis({ port, host: '127.0.0.1', db, lazyConnect: true });
  try {
    return await admin.keys('*');
  } finally {
    admin.disconnect();
  }
}

/** Every operation of the backend, the ones the throttler, cache and sessions use included. */
async function useEverything(b: RedisBackend): Promise<void> {
  await b.set('plain', { a: 1 });
  await b.set('timed', 'x', 60_000);
  expect(await b.get('plain')).toEqual({ a: 1 });
  expect(await b.getMany(['plain', 'missing'])).toEqual([{ a: 1 }, undefined]);
  await b.setMany([
    { key: 'm1', value: 1 },
    { key: 'm2', value: 2, ttlMs: 60_000 },
  ]);
  expect(await b.exists('m1')).toBe(true);
  expect(await b.increment('counter', 60_000)).toBe(1);
  expect(await b.incrementBy('counter', 5, 60_000)).toBe(6);
  expect(await b.ttl('counter')).toBeGreaterThan(0);
  expect(await b.setIfAbsent('once', 1, 60_000)).toBe(true);
  expect(await b.setIfAbsent('once', 2)).toBe(false);
  expect(await b.getOrSet('made', () => 'v', 60_000)).toBe('v');
  expect(await b.delete('m1')).toBe(true);
  expect(await b.deleteMany(['m2', 'missing'])).toBe(1);
  const ns = b.namespace('ns:');
  await ns.set('k', 1);
  await ns.clear();
  expect(await b.get('plain')).toEqual({ a: 1 });
  await b.clear();
  expect(await b.exists('plain')).toBe(false);
}

const COMMAND_TIMEOUT_MS = 10_000;

describe("RedisBackend as an ACL user with the README's command list", () => {
  let server: RedisProcess;

  beforeAll(async () => {
    server = await RedisProcess.start();
    await createUser([server.port], 'app');
    await createUser([server.port], 'audited');
    await createUser([server.port], 'noselect', ['+select']);
    await createUser([server.port], 'noeval', ['+eval', '+evalsha']);
  });
  afterAll(async () => {
    await server?.destroy();
  });

  const url = (user: string, db?: number) =>
    `redis://${user}:${PASSWORD}@127.0.0.1:${server.port}${db === undefined ? '' : `/${db}`}`;

  it('runs every operation in database 7 and Redis refuses nothing (ACL LOG stays empty)', async () => {
    const b = await RedisBackend.connect(url('audited', 7), { commandTimeoutMs: COMMAND_TIMEOUT_MS });
    try {
      await useEverything(b);
      await b.set('stays', 1);
    } finally {
      await b.close();
    }
    expect(await refusalsOf(server.port, 'audited')).toEqual([]);
    expect(await keysIn(server.port, 7)).toEqual(['nb:stays']);
    expect(await keysIn(server.port, 0)).toEqual([]);
  });

  it('keeps apps told apart by their database apart: same prefix, own values, clear() removes only its own', async () => {
    const a = await RedisBackend.connect(url('app', 5));
    const b = await RedisBackend.connect(url('app', 6));
    try {
      await a.set('session:1', 'of a');
      await b.set('session:1', 'of b');
      expect(await a.get('session:1')).toBe('of a');
      await a.clear();
      expect(await b.get('session:1')).toBe('of b');
      expect(await a.get('session:1')).toBeUndefined();
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(await keysIn(server.port, 0)).toEqual([]);
  });

  describe('a user without SELECT and a database number in the URL', () => {
    it('connect() fails with BackendPermissionError naming SELECT', async () => {
      const failed = await RedisBackend.connect(url('noselect', 3)).then(
        (unexpected) => unexpected.close(),
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(BackendPermissionError);
      expect(failed).not.toBeInstanceOf(BackendUnavailableError);
      expect(failed).toMatchObject({ code: 'permission', command: 'select' });
      expect((failed as Error).message).toMatch(/SELECT/);
      expect((failed as Error).message).not.toContain(PASSWORD);
    });

    it('a backend from create() fails every call, clear() included, and writes nothing to database 0', async () => {
      const b = RedisBackend.create(url('noselect', 4));
      try {
        await expect(b.set('k', 1)).rejects.toMatchObject({ code: 'permission', command: 'select' });
        await expect(b.increment('c')).rejects.toBeInstanceOf(BackendPermissionError);
        await expect(b.get('k')).rejects.toBeInstanceOf(BackendPermissionError);
        await expect(b.clear()).rejects.toBeInstanceOf(BackendPermissionError);
      } finally {
        await b.close();
      }
      expect(await keysIn(server.port, 0)).toEqual([]);
    });

    it('a database number the server does not have fails connect() with a typed error, not an outage', async () => {
      const failed = await RedisBackend.connect(url('app', 99)).then(
        (unexpected) => unexpected.close(),
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(BackendValidationError);
      expect((failed as Error).message).toMatch(/database/);
    });
  });

  it('a user without EVALSHA/EVAL: increments fail with BackendPermissionError, the rest works', async () => {
    const b = await RedisBackend.connect(url('noeval'));
    try {
      const failed = await b.increment('c', 1000).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(BackendPermissionError);
      expect(failed).not.toBeInstanceOf(BackendUnavailableError);
      expect((failed as BackendPermissionError).command).toMatch(/^eval(sha)?$/);
      expect((failed as Error).message).toMatch(/EVAL/);
      await b.set('k', 1);
      expect(await b.get('k')).toBe(1);
    } finally {
      await b.clear();
      await b.close();
    }
  });

  it("a key outside the user's key pattern: BackendPermissionError that says so", async () => {
    const b = await RedisBackend.connect(url('app'), { keyPrefix: 'other:' });
    try {
      const failed = await b.set('k', 1).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(BackendPermissionError);
      expect(failed).toMatchObject({ code: 'permission', command: 'set' });
      expect((failed as Error).message).toMatch(/key patterns/);
      await expect(b.increment('c')).rejects.toBeInstanceOf(BackendPermissionError);
    } finally {
      await b.close();
    }
  });

  describeBackendConformance("RedisBackend as the README's ACL user (standalone, database 3)", async () => {
    const backend = await RedisBackend.connect(url('app', 3), { commandTimeoutMs: COMMAND_TIMEOUT_MS });
    return { backend, dispose: () => backend.close() };
  });
});

describe("RedisBackend as an ACL user with the README's command list, on a Cluster", () => {
  let cluster: RedisClusterProcess;
  const ports = () => cluster.nodes.map((n) => n.port);
  const connect = (user: string) =>
    RedisBackend.connect(
      {
        cluster: cluster.nodes.map((n) => ({ host: '127.0.0.1', port: n.port })),
        options: { redisOptions: { username: user, password: PASSWORD } },
      },
      { commandTimeoutMs: COMMAND_TIMEOUT_MS },
    );

  beforeAll(async () => {
    cluster = await RedisClusterProcess.start(3);
    await createUser(ports(), 'app');
    await createUser(ports(), 'audited');
    await createUser(ports(), 'noeval', ['+eval', '+evalsha']);
  });
  afterAll(async () => {
    await cluster?.destroy();
  });

  it('runs every operation and no node refuses anything (ACL LOG stays empty)', async () => {
    const b = await connect('audited');
    try {
      await useEverything(b);
    } finally {
      await b.close();
    }
    for (const port of ports()) expect(await refusalsOf(port, 'audited')).toEqual([]);
  });

  it('a user without EVALSHA/EVAL: increments fail with BackendPermissionError, the rest works', async () => {
    const b = await connect('noeval');
    try {
      const failed = await b.increment('c', 1000).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failed).toBeInstanceOf(BackendPermissionError);
      expect((failed as BackendPermissionError).command).toMatch(/^eval(sha)?$/);
      await b.set('k', 1);
      expect(await b.get('k')).toBe(1);
    } finally {
      await b.clear();
      await b.close();
    }
  });

  describeBackendConformance("RedisBackend as the README's ACL user (Cluster)", async () => {
    const backend = await connect('app');
    return { backend, dispose: () => backend.close() };
  });
});
