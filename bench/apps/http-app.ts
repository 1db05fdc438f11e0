/**
 * One minimal Nest Express app per benchmark variant, run as a child process from compiled JS
 * (decorator metadata): `BENCH_APP=<variant> [REDIS_URL=...] node .bench-dist/bench/apps/http-app.js`.
 * `BENCH_PLATFORM=fastify` runs it on Fastify; `BENCH_PLATFORM=plain` serves the session variants
 * from a minimal Express app without Nest. Prints `port=<n>` once listening on 127.0.0.1.
 */
import 'reflect-metadata';
import { CacheModule, CacheInterceptor as NestCacheInterceptor } from '@nestjs/cache-manager';
import {
  Controller,
  Get,
  Module,
  Req,
  UseGuards,
  UseInterceptors,
  type DynamicModule,
  type ExecutionContext,
  type Type,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector';
import { ThrottlerGuard as NestThrottlerGuard, ThrottlerModule } from '@nestjs/throttler';
import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { Redis } from 'ioredis';
import { RedisStore } from 'connect-redis';
import express from 'express';
import session from 'express-session';
import type { Server } from 'node:http';
import { createClient } from 'redis';
import {
  BackendSessionStore,
  BackendsModule,
  RedisBackend,
  CacheInterceptor,
  SkipThrottle,
  Throttle,
  ThrottlerGuard,
} from '../../lib/index.js';
import { type Coalescing, holdWritesForTurn } from '../../lib/storage/redis/redis.coalesce.js';

const variant = process.env.BENCH_APP ?? 'none';
const redisUrl = process.env.REDIS_URL ?? '';
/**
 * Deadline of the Redis calls of the session stores on ioredis (ours and the bare one), 1 s as the
 * backend's default. `npm run bench:instructions` raises it: under valgrind a turn of the event loop
 * can outlast a second, and a call would time out with its answer already in the socket.
 */
const commandTimeoutMs = Number(process.env.BENCH_COMMAND_TIMEOUT_MS ?? 1000);
const HIGH = '1000000000/hour'; // never refused during a measurement
const PAYLOAD = { id: 1, name: 'bench', tags: ['a', 'b', 'c'], nested: { ok: true, n: 42 } };

@Controller()
class NoGuardController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseGuards(ThrottlerGuard)
class OurThrottleController {
  @Get('r')
  @Throttle(HIGH)
  get() {
    return PAYLOAD;
  }
}

/** A guard that lets everything through: what Nest's guard machinery alone costs per request. */
class PassGuard {
  canActivate(): boolean {
    return true;
  }
}

/**
 * PassGuard plus the three rate-limit headers, set as our guard sets them (text values, the remaining
 * count changing on every request) and counting nothing: the floor for any guard that sends them.
 */
class HeaderGuard {
  private remaining = 1_000_000_000;

  canActivate(context: ExecutionContext): boolean {
    const res = context.getArgByIndex(1);
    res.setHeader('X-RateLimit-Limit', '1000000000');
    res.setHeader('X-RateLimit-Remaining', String(--this.remaining));
    res.setHeader('X-RateLimit-Reset', '3600');
    return true;
  }
}

/** The three rate-limit headers of the minimal guards, for the `n`-th request of a client. */
function setMinimalHeaders(context: ExecutionContext, n: number): void {
  const res = context.getArgByIndex(1);
  res.setHeader('X-RateLimit-Limit', '1000000000');
  res.setHeader('X-RateLimit-Remaining', String(1_000_000_000 - n));
  res.setHeader('X-RateLimit-Reset', '3600');
}

/**
 * The least a counting guard does: one Map entry per client address (no windows, no expiry, no
 * route metadata) and the same three headers. Our guard against it shows what our counting adds.
 */
class MinimalCountingGuard {
  private readonly counts = new Map<string, number>();

  canActivate(context: ExecutionContext): boolean {
    const ip = context.getArgByIndex(0).socket.remoteAddress as string;
    const n = (this.counts.get(ip) ?? 0) + 1;
    this.counts.set(ip, n);
    setMinimalHeaders(context, n);
    return true;
  }
}

@Controller()
@UseGuards(MinimalCountingGuard)
class MinimalCountingController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

/** The INCR+PEXPIRE script of the minimal Redis guard: one round trip per request. */
const MINIMAL_INCR = `local v = redis.call('INCR', KEYS[1])
if v == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return v`;

/**
 * The least a guard on Redis does: one `EVALSHA` of INCR+PEXPIRE per request on a raw ioredis client
 * (default options, the script defined once), keyed by client address, and the same three headers.
 * Its socket writes are held for the turn as our backend holds them, so the requests of one turn share
 * one write. No windows, no route metadata, no checks: the floor for any guard that counts in Redis.
 */
class MinimalRedisGuard {
  private readonly redis = new Redis(redisUrl);
  private readonly writes: Coalescing = { corked: false };

  constructor() {
    this.redis.defineCommand('benchIncr', { numberOfKeys: 1, lua: MINIMAL_INCR });
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const ip = context.getArgByIndex(0).socket.remoteAddress as string;
    if (!this.writes.corked && this.redis.status === 'ready') holdWritesForTurn(this.writes, this.redis);
    const n = (await (this.redis as any).benchIncr(`bench-minimal:${ip}`, 3_600_000)) as number;
    setMinimalHeaders(context, n);
    return true;
  }
}

@Controller()
@UseGuards(MinimalRedisGuard)
class MinimalRedisController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

/** Our guard without its three headers: what counting alone costs. */
class NoHeaderThrottlerGuard extends ThrottlerGuard {
  protected override setHeaders(): void {}
}

@Controller()
@UseGuards(NoHeaderThrottlerGuard)
class OurNoHeaderController {
  @Get('r')
  @Throttle(HIGH)
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseGuards(HeaderGuard)
class HeaderGuardController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseGuards(PassGuard)
class PassGuardController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseGuards(ThrottlerGuard)
class OurSkippedController {
  @Get('r')
  @SkipThrottle()
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseGuards(NestThrottlerGuard)
class NestThrottleController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseInterceptors(CacheInterceptor)
class OurCacheController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
@UseInterceptors(NestCacheInterceptor)
class NestCacheController {
  @Get('r')
  get() {
    return PAYLOAD;
  }
}

@Controller()
class SessionController {
  @Get('r')
  get(@Req() req: any) {
    req.session.n = (req.session.n ?? 0) + 1;
    return { n: req.session.n };
  }
}

function moduleFor(): Type | DynamicModule {
  const redis = { type: 'redis' as const, url: redisUrl, commandTimeoutMs };
  const mk = (imports: any[], controller: Type) => {
    @Module({ imports, controllers: [controller] })
    class BenchModule {}
    return BenchModule;
  };
  switch (variant) {
    case 'none':
      return mk([], NoGuardController);
    case 'throttle-skipped':
      return mk([BackendsModule.forRoot({})], OurSkippedController);
    case 'module-only':
      return mk([BackendsModule.forRoot({})], NoGuardController);
    case 'header-guard':
      return mk([], HeaderGuardController);
    case 'minimal-counting-guard':
      return mk([], MinimalCountingController);
    case 'minimal-redis-guard':
      return mk([], MinimalRedisController);
    case 'pass-guard':
      return mk([], PassGuardController);
    case 'throttle-memory':
      return mk([BackendsModule.forRoot({})], OurThrottleController);
    case 'throttle-no-headers':
      return mk([BackendsModule.forRoot({})], OurNoHeaderController);
    case 'throttle-clients':
      // One counter per distinct `x-client` header: how the guard's cost grows with distinct clients.
      return mk(
        [BackendsModule.forRoot({ throttle: { tracker: (req) => String(req.headers['x-client'] ?? 'anon') } })],
        OurThrottleController,
      );
    case 'throttle-redis':
      return mk([BackendsModule.forRoot({ storage: redis })], OurThrottleController);
    case 'nest-throttler-redis':
      return mk(
        [
          ThrottlerModule.forRoot({
            throttlers: [{ ttl: 3_600_000, limit: 1_000_000_000 }],
            storage: new ThrottlerStorageRedisService(new Redis(redisUrl)),
          }),
        ],
        NestThrottleController,
      );
    case 'nest-throttler':
      return mk([ThrottlerModule.forRoot([{ ttl: 3_600_000, limit: 1_000_000_000 }])], NestThrottleController);
    case 'nest-throttler-clients':
      // As 'throttle-clients': one counter per distinct `x-client` header.
      return mk(
        [
          ThrottlerModule.forRoot({
            throttlers: [{ ttl: 3_600_000, limit: 1_000_000_000 }],
            getTracker: (req) => String(req.headers['x-client'] ?? 'anon'),
          }),
        ],
        NestThrottleController,
      );
    case 'cache-ours':
      return mk([BackendsModule.forRoot({ cache: { ttlMs: 3_600_000 } })], OurCacheController);
    case 'cache-nest':
      return mk([CacheModule.register({ ttl: 3_600_000 })], NestCacheController);
    case 'session-ours':
      return mk([BackendsModule.forRoot({ storage: redis })], SessionController);
    case 'session-connect':
    case 'session-bare-ioredis':
      return mk([], SessionController);
    default:
      throw new Error(`unknown BENCH_APP ${variant}`);
  }
}

const SESSION_SECRET = 'bench-secret-bench-secret-bench-secret';

/** connect-redis on its own node-redis client, as its README sets it up. */
async function connectRedisStore(): Promise<session.Store> {
  const client = createClient({ url: redisUrl });
  await client.connect();
  return new RedisStore({ client, prefix: 'bench-connect:' });
}

/**
 * The least a session store on ioredis can do: GET and JSON.parse, JSON.stringify and SET with PX,
 * on a client with the options `RedisBackend.create` gives its own, its writes held for the turn as
 * the backend holds them. It checks nothing: it measures the client, apart from any store's code.
 */
class BareIoredisStore extends session.Store {
  private readonly client = new Redis(redisUrl, {
    commandTimeout: commandTimeoutMs,
    maxRetriesPerRequest: 0,
    autoResendUnfulfilledCommands: false,
  });
  private readonly writes: Coalescing = { corked: false };

  /** The client, its socket held until the end of this turn. */
  private held(): Redis {
    if (!this.writes.corked && this.client.status === 'ready') holdWritesForTurn(this.writes, this.client);
    return this.client;
  }

  override get(sid: string, cb: (err: unknown, session?: session.SessionData | null) => void): void {
    this.held()
      .get(`bench-bare:${sid}`)
      .then((text) => cb(null, text === null ? null : JSON.parse(text)), cb);
  }

  override set(sid: string, data: session.SessionData, cb?: (err?: unknown) => void): void {
    this.held()
      .set(`bench-bare:${sid}`, JSON.stringify(data), 'PX', 86_400_000)
      .then(() => cb?.(), cb);
  }

  override destroy(sid: string, cb?: (err?: unknown) => void): void {
    this.held()
      .del(`bench-bare:${sid}`)
      .then(() => cb?.(), cb);
  }
}

/** The session route of {@link SessionController} in a minimal Express app, without Nest. */
async function plainSessionApp(): Promise<Server> {
  let store: session.Store;
  if (variant === 'session-ours' || variant === 'session-ours-timers') {
    store = new BackendSessionStore(
      await RedisBackend.connect(redisUrl, { commandTimeoutMs }),
    ) as unknown as session.Store;
  } else if (variant === 'session-connect') {
    store = await connectRedisStore();
  } else if (variant === 'session-bare-ioredis') {
    store = new BareIoredisStore();
  } else {
    throw new Error(
      `BENCH_PLATFORM=plain serves session-ours(-timers), session-connect and session-bare-ioredis, not ${variant}`,
    );
  }
  const app = express();
  if (variant === 'session-ours-timers') {
    // Experiment (bench:syscalls): the two `AbortSignal.timeout(5000)` that node-redis creates per
    // command, so connect-redis's app holds them. They live past the next full collection, spread over
    // the heap's pages, and keep V8 from returning those pages to the kernel.
    app.use((_req, _res, next) => {
      AbortSignal.timeout(5000);
      AbortSignal.timeout(5000);
      next();
    });
  }
  app.use(session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: true }));
  app.get('/r', (req, res) => {
    const s = req.session as session.Session & { n?: number };
    s.n = (s.n ?? 0) + 1;
    res.json({ n: s.n });
  });
  return new Promise((resolve) => {
    const server = app.listen(0, '127.0.0.1', () => resolve(server));
  });
}

async function main(): Promise<void> {
  const platform = process.env.BENCH_PLATFORM ?? 'express';
  if (platform === 'plain') {
    const server = await plainSessionApp();
    process.stdout.write(`port=${(server.address() as { port: number }).port}\n`);
    const stop = () => {
      server.closeAllConnections();
      server.close(() => process.exit(0));
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
    return;
  }
  const app =
    platform === 'fastify'
      ? await NestFactory.create<NestFastifyApplication>(moduleFor(), new FastifyAdapter(), { logger: false })
      : await NestFactory.create(moduleFor(), { logger: false });
  if (variant === 'session-ours' || variant === 'session-connect' || variant === 'session-bare-ioredis') {
    let store: session.Store;
    if (variant === 'session-ours') {
      store = app.get(BackendSessionStore) as unknown as session.Store;
    } else if (variant === 'session-bare-ioredis') {
      store = new BareIoredisStore();
    } else {
      store = await connectRedisStore();
    }
    app.use(session({ store, secret: SESSION_SECRET, resave: false, saveUninitialized: true }));
  }
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as { port: number };
  process.stdout.write(`port=${port}\n`);
  const stopProfile = profileOnSignal(process.env.BENCH_PROFILE);
  const stop = () => {
    stopProfile()
      .then(() => app.close())
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

/**
 * With `BENCH_PROFILE=<file>` (hand profiling, not used by the bench): SIGUSR2 starts a CPU profile
 * of the app, after its warm-up, and the returned function writes it to `<file>` (.cpuprofile).
 * Without it, under `--expose-gc`, SIGUSR2 runs a full collection (`npm run bench:instructions`).
 */
function profileOnSignal(file: string | undefined): () => Promise<void> {
  if (!file) {
    // Run with --expose-gc (bench:instructions), SIGUSR2 collects the heap instead.
    const collect = (globalThis as { gc?: () => void }).gc;
    if (collect) process.on('SIGUSR2', () => collect());
    return () => Promise.resolve();
  }
  const session = new Session();
  session.connect();
  let started = false;
  process.on('SIGUSR2', () => {
    session.post('Profiler.enable', () =>
      session.post('Profiler.setSamplingInterval', { interval: 100 }, () => session.post('Profiler.start')),
    );
    started = true;
  });
  return () =>
    new Promise((done) => {
      if (!started) return done();
      session.post('Profiler.stop', (err, result) => {
        if (!err) writeFileSync(file, JSON.stringify(result.profile));
        done();
      });
    });
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
