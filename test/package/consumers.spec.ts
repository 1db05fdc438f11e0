import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Redis } from 'ioredis';
import { rmSync } from 'node:fs';
import { redisUrl, uniquePrefix } from '../utils/redis-env.js';
import { nodeBinary, npmRun, packTarball, scratchApp, startApp } from './consumer.util.js';

/**
 * Real consumer projects installed from the `npm pack` tarball. The Nest 11 CommonJS app is laid out as
 * `nest new` (v11) generates it: CommonJS output, Jest with ts-jest in CommonJS mode, `test/jest-e2e.json`.
 */
const NEST11 = ['@nestjs/common@11.2.10', '@nestjs/core@11.2.10', '@nestjs/platform-express@11.2.10'];
const NEST11_DEV = [
  '@nestjs/testing@11.2.6',
  'jest@30.5.2',
  'ts-jest@29.4.15',
  'typescript@5.9.3',
  '@types/jest@30.0.0',
  '@types/node@20.19.43',
  'supertest@7.3.2',
  '@types/supertest@7.2.1',
];
// nodemailer: the app sends through ConsoleEmailBackend; its e2e test overrides EMAIL_BACKEND with a memory outbox.
const COMMON = ['reflect-metadata@0.2.2', 'rxjs@7.8.2', 'nodemailer@10.6.0'];
const NEST12 = ['@nestjs/common@12.5.1', '@nestjs/core@12.5.1', '@nestjs/platform-express@12.5.1'];
/** The ES module app runs Jest in ESM mode (ts-jest `useESM`), which needs TypeScript 6 (or 5.x) and ts-jest 29.4. */
const ESM_DEV = [
  'jest@30.5.2',
  'ts-jest@29.4.15',
  'typescript@6.0.3',
  '@types/jest@30.0.0',
  '@types/node@20.19.43',
  'supertest@7.3.2',
  '@types/supertest@7.2.1',
];

let scratch: string;
let tarball: string;

beforeAll(async () => {
  ({ scratch, tarball } = await packTarball());
}, 120_000);
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function throttledStatuses(port: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < 4; i++) statuses.push((await fetch(`http://127.0.0.1:${port}/hello`)).status);
  return statuses;
}

describe('a Nest 11 CommonJS app (as `nest new` generates it)', () => {
  let app: string;

  beforeAll(async () => {
    app = await scratchApp(scratch, 'nest11-cjs', 'nest11-cjs', [tarball, ...NEST11, ...COMMON, ...NEST11_DEV]);
    await npmRun(app, 'build');
  }, 300_000);

  it.each([
    ['20 (this machine)', undefined],
    ['22', 22],
    ['24', 24],
  ] as const)(
    'on Node %s: node dist/main throttles, and its unit and e2e tests pass under Jest in CommonJS mode',
    async (_label, major) => {
      const node = major === undefined ? process.execPath : await nodeBinary(major);
      const server = await startApp(app, node);
      try {
        expect(await throttledStatuses(server.port)).toEqual([200, 200, 200, 429]);
      } finally {
        await server.stop();
      }
      expect(await npmRun(app, 'test', node)).toMatch(/Tests:\s+1 passed, 1 total/);
      expect(await npmRun(app, 'test:e2e', node)).toMatch(/Tests:\s+3 passed, 3 total/);
    },
    300_000,
  );
});

// The same ES module app (`"type": "module"`, nodenext, Jest in ESM mode) on Nest 11 and on Nest 12: both load
// the package's ES module build.
describe.each([
  ['Nest 11', [...NEST11, '@nestjs/testing@11.2.6'], [undefined] as const],
  ['Nest 12', [...NEST12, '@nestjs/testing@12.1.1'], [undefined, 22, 24] as const],
])('a %s ES module app', (_nest, nest, nodes) => {
  let app: string;

  beforeAll(async () => {
    app = await scratchApp(scratch, `esm-${_nest.replace(' ', '')}`, 'esm', [tarball, ...nest, ...COMMON, ...ESM_DEV]);
    await npmRun(app, 'build');
  }, 300_000);

  it.each(nodes.map((major) => [major === undefined ? '20 (this machine)' : String(major), major] as const))(
    'on Node %s: node dist/main throttles, and its unit and e2e tests pass under Jest in ESM mode',
    async (_label, major) => {
      const node = major === undefined ? process.execPath : await nodeBinary(major);
      const server = await startApp(app, node);
      try {
        expect(await throttledStatuses(server.port)).toEqual([200, 200, 200, 429]);
      } finally {
        await server.stop();
      }
      expect(await npmRun(app, 'test', node)).toMatch(/Tests:\s+1 passed, 1 total/);
      expect(await npmRun(app, 'test:e2e', node)).toMatch(/Tests:\s+3 passed, 3 total/);
    },
    300_000,
  );
});

describe('a Nest 12 ES module app on Fastify, with @fastify/session and Redis', () => {
  let app: string;

  beforeAll(async () => {
    app = await scratchApp(scratch, 'esm-fastify', 'esm-fastify', [
      tarball,
      '@nestjs/common@12.5.1',
      '@nestjs/core@12.5.1',
      '@nestjs/platform-fastify@12.5.0',
      '@fastify/cookie@11.1.5',
      '@fastify/session@11.1.3',
      'ioredis@6.0.0',
      ...COMMON,
      'typescript@6.0.3',
      '@types/node@20.19.43',
    ]);
    await npmRun(app, 'build');
  }, 300_000);

  it('throttles, keeps its sessions in Redis and caches a route', async () => {
    const prefix = uniquePrefix('consumer-fastify:');
    const server = await startApp(app, process.execPath, { REDIS_URL: redisUrl(), KEY_PREFIX: prefix });
    const redis = new Redis(redisUrl());
    try {
      const base = `http://127.0.0.1:${server.port}`;
      expect(await throttledStatuses(server.port)).toEqual([200, 200, 200, 429]);

      const first = await fetch(`${base}/visits`);
      const cookie = (first.headers.get('set-cookie') ?? '').split(';')[0];
      expect(cookie).toMatch(/^sessionId=/);
      const second = await fetch(`${base}/visits`, { headers: { cookie } });
      expect([await first.json(), await second.json()]).toEqual([{ visits: 1 }, { visits: 2 }]);
      const [, sessionKeys] = await redis.scan('0', 'MATCH', `${prefix}session:*`, 'COUNT', 1000);
      expect(sessionKeys).toHaveLength(1);

      const miss = await fetch(`${base}/products/42`);
      const hit = await fetch(`${base}/products/42`);
      expect([miss.headers.get('x-cache'), hit.headers.get('x-cache')]).toEqual(['MISS', 'HIT']);
      expect(await hit.json()).toEqual({ id: '42', served: 1 });
    } finally {
      await server.stop();
      await redis.quit();
    }
  }, 120_000);
});
