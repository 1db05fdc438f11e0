import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type LoggerService, Module, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import request from 'supertest';
import { BackendsModule, Throttle, ThrottlerGuard } from '../../lib/index.js';
import { type RunningApp, startApp } from '../utils/web-app.js';
import { freezeDate, thawDate } from './frozen-date.js';

@Controller('p')
@UseGuards(ThrottlerGuard)
class ProxiedController {
  @Get('a')
  @Throttle('3/minute')
  a() {
    return { ok: true };
  }

  @Get('b')
  @Throttle('3/minute')
  b() {
    return { ok: true };
  }

  @Get('c')
  @Throttle('3/minute')
  c() {
    return { ok: true };
  }

  @Get('d')
  @Throttle('1/minute')
  d() {
    return { ok: true };
  }
}

@Module({ imports: [BackendsModule.forRoot({ storage: { type: 'memory' } })], controllers: [ProxiedController] })
class ProxiedModule {}

class KeepingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown, context?: unknown): void {
    this.warnings.push(`${String(context)}: ${String(message)}`);
  }
}

async function statusesFor(app: RunningApp, path: string, forwarded: string[]) {
  const out: number[] = [];
  for (const xff of forwarded) out.push((await request(app.url).get(path).set('x-forwarded-for', xff)).status);
  return out;
}

beforeAll(() => freezeDate());
afterAll(() => thawDate());

describe('proxy-written client addresses behind Express trust proxy', () => {
  let app: RunningApp;
  const logger = new KeepingLogger();

  beforeAll(async () => {
    app = await startApp('express', ProxiedModule, { trustProxy: true, logger });
  });
  afterAll(() => app.close());

  it('strips the port of IPv4 addresses (App Service / ARR style): one bucket per client, not per connection', async () => {
    const ports = [40001, 40002, 40003, 40004, 40005, 40006].map((p) => `203.0.113.7:${p}`);
    expect(await statusesFor(app, '/p/a', ports)).toEqual([200, 200, 200, 429, 429, 429]);
    expect(await statusesFor(app, '/p/a', ['203.0.113.8:40001'])).toEqual([200]);
  });

  it('strips brackets and ports of IPv6 addresses', async () => {
    const forms = [
      '[2001:db8:9::1]:40001',
      '[2001:db8:9::1]:40002',
      '[2001:db8:9::1]',
      '2001:db8:9::1',
      '[2001:db8:9::2]:1',
    ];
    expect(await statusesFor(app, '/p/b', forms)).toEqual([200, 200, 200, 429, 429]);
  });

  it('maps every IPv4-mapped and compatible form to its own IPv4 address', async () => {
    // Three clients in mapped/compatible forms: each its own bucket (not one shared ::/64).
    expect(await statusesFor(app, '/p/d', ['::ffff:c633:6403', '0:0:0:0:0:ffff:1.2.3.4', '::1.2.3.5'])).toEqual([
      200, 200, 200,
    ]);
    // The same clients written as plain IPv4 are the same buckets.
    expect(await statusesFor(app, '/p/d', ['198.51.100.3', '1.2.3.4', '1.2.3.5:9'])).toEqual([429, 429, 429]);
  });

  it('counts what is not an IP under one fallback bucket and warns once', async () => {
    expect(await statusesFor(app, '/p/c', ['garbage', 'example.com', 'unknown', '_hidden'])).toEqual([
      200, 200, 200, 429,
    ]);
    const warned = logger.warnings.filter((w) => w.includes('is not an IP address'));
    expect(warned).toHaveLength(1);
    expect(warned[0]).toMatch(/^ThrottlerGuard: Client address "garbage"/);
  });
});

/** A Fastify Nest app with the given `trustProxy`, on 127.0.0.1. */
async function startFastify(trustProxy: unknown, logger: LoggerService | false = false): Promise<RunningApp> {
  const app = await NestFactory.create(
    ProxiedModule,
    new FastifyAdapter({ trustProxy } as ConstructorParameters<typeof FastifyAdapter>[0]),
    { logger, abortOnError: false },
  );
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${port}`, close: () => app.close() };
}

describe('Fastify behind a proxy', () => {
  it("the README's form, the balancer's address list, gives distinct clients distinct buckets", async () => {
    // The README's form, an address/CIDR list; the test's balancer is 127.0.0.1.
    const app = await startFastify(['127.0.0.1', '10.0.0.0/8']);
    try {
      expect(await statusesFor(app, '/p/d', ['198.51.100.1', '198.51.100.2', '198.51.100.3'])).toEqual([200, 200, 200]);
      expect(await statusesFor(app, '/p/d', ['198.51.100.1'])).toEqual([429]);
    } finally {
      await app.close();
    }
  });

  it('a numeric hop count, which trusts nobody on fastify 5, warns once at startup', async () => {
    const logger = new KeepingLogger();
    const app = await startFastify(1, logger);
    try {
      const warned = logger.warnings.filter((w) => w.includes('numeric trustProxy'));
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/^ThrottlerGuard: /);
      // And indeed: every client is the balancer (127.0.0.1).
      expect(await statusesFor(app, '/p/d', ['198.51.100.1', '198.51.100.2'])).toEqual([200, 429]);
    } finally {
      await app.close();
    }
  });

  it('an address list raises no warning', async () => {
    const logger = new KeepingLogger();
    const app = await startFastify(['127.0.0.1'], logger);
    await app.close();
    expect(logger.warnings.filter((w) => w.includes('trustProxy'))).toEqual([]);
  });
});
