/**
 * Soak: a mixed load (storage get/set/increment, a throttled route, a cached route, session round
 * trips) on Redis with a Redis restart in the middle, then the same on memory. Reports the error
 * rate outside the outage window, p50/p99 latencies and the heap after warm-up vs after the run,
 * as a Markdown table on stdout and in SOAK.md.
 *
 * `npm run soak` (SOAK_SECONDS=60 per backend and SOAK_WARMUP_SECONDS=65 by default; lower both
 * for a quick look, knowing that a short warm-up makes the heap comparison meaningless).
 */
import {
  Body,
  Controller,
  Get,
  HttpCode,
  type INestApplication,
  Module,
  Post,
  Req,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import session from 'express-session';
import { writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  type Backend,
  BackendSessionStore,
  BackendsModule,
  CacheInterceptor,
  CacheTTL,
  MemoryBackend,
  RedisBackend,
  Throttle,
  ThrottlerGuard,
} from '../lib/index.js';
import type { RedisProcess as RedisProcessType } from '../test/utils/redis-server.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
/**
 * Warm-up before the first heap reading: longer than every TTL in play (sessions 60 s, the memory
 * session store's destroy tombstones 60 s, stored keys 30 s), so that the heap is compared in a
 * steady state and growth means a leak, not entries that have not expired yet.
 */
const WARMUP_MS = Number(process.env.SOAK_WARMUP_SECONDS ?? 65) * 1000;
const STORAGE_WORKERS = 16;
const HTTP_WORKERS = 8;
const COMMAND_TIMEOUT_MS = 500;

@Controller()
class SoakController {
  private hits = 0;

  @Get('throttled')
  @UseGuards(ThrottlerGuard)
  @Throttle('1000000/minute')
  throttled() {
    return { ok: true };
  }

  @Get('cached')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(200)
  cached() {
    return { n: ++this.hits };
  }

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: any, @Body() body: { user: string }) {
    req.session.userId = body.user;
    await new Promise<void>((resolve, reject) => req.session.save((err: unknown) => (err ? reject(err) : resolve())));
    return { user: body.user };
  }

  @Get('me')
  me(@Req() req: any) {
    return { user: req.session?.userId ?? null };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: any) {
    await new Promise<void>((resolve, reject) =>
      req.session.destroy((err: unknown) => (err ? reject(err) : resolve())),
    );
    return { ok: true };
  }
}

/**
 * Latencies and outcomes of one operation, in constant memory (so the heap measures the library,
 * not the soak): counts, and a uniform reservoir sample of latencies for the percentiles.
 */
class Stats {
  count = 0;
  errors = 0;
  inOutage = 0;
  failedInOutage = 0;
  private seen = 0;
  private readonly reservoir = new Float64Array(100_000);

  add(ms: number): void {
    const i = this.seen++;
    if (i < this.reservoir.length) this.reservoir[i] = ms;
    else {
      const j = Math.floor(Math.random() * (i + 1));
      if (j < this.reservoir.length) this.reservoir[j] = ms;
    }
  }

  percentile(p: number): number {
    const n = Math.min(this.seen, this.reservoir.length);
    if (n === 0) return NaN;
    const sorted = this.reservoir.slice(0, n).sort();
    return sorted[Math.min(n - 1, Math.floor((p / 100) * n))];
  }
}

/** What the run records: per-operation stats, the outage window and the first errors seen outside it. */
class Recorder {
  readonly stats = new Map<string, Stats>();
  readonly errorsOutside: string[] = [];
  outageFrom?: number;
  outageTo?: number;

  constructor(ops: string[]) {
    for (const op of ops) this.stats.set(op, new Stats());
  }

  record(op: string, at: number, ms: number, error: unknown): void {
    const stats = this.stats.get(op)!;
    const end = at + ms;
    const inOutage =
      this.outageFrom !== undefined && end >= this.outageFrom && (this.outageTo === undefined || at <= this.outageTo);
    if (inOutage) {
      stats.inOutage++;
      if (error !== undefined) stats.failedInOutage++;
      return;
    }
    stats.count++;
    if (error === undefined) stats.add(ms);
    else {
      stats.errors++;
      if (this.errorsOutside.length < 10)
        this.errorsOutside.push(`${op}: ${(error as Error)?.message ?? String(error)}`);
    }
  }
}

const OPS = ['set', 'get', 'increment', 'GET throttled', 'GET cached', 'session round trip'];

const agent = new Agent({ keepAlive: true, maxSockets: HTTP_WORKERS * 2 });

function http(url: string, method: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; headers: Record<string, unknown> }>((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function startApp(storage: Backend): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [BackendsModule.forRoot({ storage, throttle: { onBackendError: 'deny' } })],
    controllers: [SoakController],
  })
  class SoakModule {}
  const app = await NestFactory.create(SoakModule, new ExpressAdapter(), { logger: false });
  app.use(
    session({
      store: app.get(BackendSessionStore),
      secret: 'soak-secret-of-at-least-32-characters!',
      resave: false,
      saveUninitialized: false,
      cookie: { maxAge: 60_000 },
    }),
  );
  await app.listen(0, '127.0.0.1');
  return { app, url: `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}` };
}

/** One timed operation; a failure is any rejection or any HTTP status other than the expected ones. */
async function timed(rec: Recorder, op: string, call: () => Promise<unknown>): Promise<void> {
  const at = Date.now();
  const t = process.hrtime.bigint();
  let error: unknown;
  try {
    await call();
  } catch (err) {
    error = err ?? new Error('rejected');
  }
  rec.record(op, at, Number(process.hrtime.bigint() - t) / 1e6, error);
}

/** Lets timers and sockets run between in-memory calls, which would otherwise never yield. */
const yieldNow = () => new Promise((r) => setImmediate(r));

const expect = (status: number, ...allowed: number[]) => {
  if (!allowed.includes(status)) throw new Error(`HTTP ${status}`);
};

async function runLoad(backend: Backend, url: string, until: number, rec: Recorder): Promise<void> {
  const storageWorker = async (w: number) => {
    for (let i = 0; Date.now() < until; i++) {
      const key = `k${(w * 97 + i) % 500}`;
      if (i % 3 === 0) await timed(rec, 'set', () => backend.set(key, { w, i, at: Date.now() }, 30_000));
      else if (i % 3 === 1) await timed(rec, 'get', () => backend.get(key));
      else await timed(rec, 'increment', () => backend.increment(`c${w % 8}`, 30_000));
      if (i % 16 === 15) await yieldNow();
    }
  };
  const httpWorker = async (w: number) => {
    for (let i = 0; Date.now() < until; i++) {
      switch (i % 3) {
        case 0:
          await timed(rec, 'GET throttled', async () => expect((await http(`${url}/throttled`, 'GET')).status, 200));
          break;
        case 1:
          await timed(rec, 'GET cached', async () =>
            expect((await http(`${url}/cached?p=${i % 20}`, 'GET')).status, 200),
          );
          break;
        default:
          await timed(rec, 'session round trip', async () => {
            const login = await http(
              `${url}/login`,
              'POST',
              { 'content-type': 'application/json' },
              JSON.stringify({ user: `u${w}` }),
            );
            expect(login.status, 200);
            const cookie = String((login.headers['set-cookie'] as string[])[0]).split(';')[0];
            expect((await http(`${url}/me`, 'GET', { cookie })).status, 200);
            expect((await http(`${url}/logout`, 'POST', { cookie })).status, 200);
          });
      }
    }
  };
  await Promise.all([
    ...Array.from({ length: STORAGE_WORKERS }, (_, w) => storageWorker(w)),
    ...Array.from({ length: HTTP_WORKERS }, (_, w) => httpWorker(w)),
  ]);
}

function heapMb(): number {
  (globalThis as { gc?: () => void }).gc?.();
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 1024 / 1024;
}

interface Result {
  label: string;
  rows: { op: string; count: number; errors: number; p50: number; p99: number }[];
  outsideErrors: number;
  outsideCount: number;
  outage?: { from: number; to: number; failed: number };
  heapWarm: number;
  heapEnd: number;
}

async function soak(
  label: string,
  backend: Backend,
  restart?: { stop(): Promise<void>; start(): Promise<void> },
): Promise<Result> {
  const { app, url } = await startApp(backend);
  try {
    await runLoad(backend, url, Date.now() + WARMUP_MS, new Recorder(OPS));
    const rec = new Recorder(OPS);
    const heapWarm = heapMb();
    const start = Date.now();
    const until = start + SECONDS * 1000;
    let outage: Result['outage'];
    const chaos = restart
      ? (async () => {
          await new Promise((r) => setTimeout(r, (SECONDS * 1000) / 2));
          const from = Date.now();
          rec.outageFrom = from;
          await restart.stop();
          await new Promise((r) => setTimeout(r, 2000));
          await restart.start();
          // The outage lasts until the backend answers again (plus one command timeout for calls in flight).
          for (;;) {
            try {
              await backend.set('soak:probe', Date.now());
              break;
            } catch {
              await new Promise((r) => setTimeout(r, 20));
            }
          }
          rec.outageTo = Date.now() + COMMAND_TIMEOUT_MS;
          outage = { from, to: rec.outageTo, failed: 0 };
        })()
      : Promise.resolve();
    await Promise.all([runLoad(backend, url, until, rec), chaos]);
    const heapEnd = heapMb();
    const all = [...rec.stats.values()];
    if (outage) outage.failed = all.reduce((n, s) => n + s.failedInOutage, 0);
    for (const e of rec.errorsOutside) console.error(`soak ${label}: error outside the outage: ${e}`);
    const rows = [...rec.stats].map(([op, s]) => ({
      op,
      count: s.count,
      errors: s.errors,
      p50: s.percentile(50),
      p99: s.percentile(99),
    }));
    return {
      label,
      rows,
      outsideErrors: all.reduce((n, s) => n + s.errors, 0),
      outsideCount: all.reduce((n, s) => n + s.count, 0),
      outage,
      heapWarm,
      heapEnd,
    };
  } finally {
    await app.close();
  }
}

function markdown(results: Result[]): string {
  const lines = [
    `Soak: ${SECONDS} s of mixed load per backend after ${WARMUP_MS / 1000} s of warm-up; ${STORAGE_WORKERS} storage loops + ${HTTP_WORKERS} HTTP loops (throttled route, cached route, session login/read/logout), one process, Node ${process.version}, ${cpus().length} x ${cpus()[0]?.model.trim()}.`,
    '',
    '| backend | operation | ops outside outage | errors outside outage | p50 ms | p99 ms |',
    '|---|---|---:|---:|---:|---:|',
  ];
  for (const r of results) {
    for (const row of r.rows) {
      lines.push(
        `| ${r.label} | ${row.op} | ${row.count} | ${row.errors} | ${row.p50.toFixed(3)} | ${row.p99.toFixed(3)} |`,
      );
    }
  }
  lines.push(
    '',
    '| backend | error rate outside outage | outage (Redis killed, restarted 2 s later) | heap after warm-up | heap after run | change |',
    '|---|---:|---|---:|---:|---:|',
  );
  for (const r of results) {
    const outage = r.outage
      ? `${((r.outage.to - r.outage.from) / 1000).toFixed(1)} s, ${r.outage.failed} calls failed fast`
      : 'none';
    const change = ((r.heapEnd - r.heapWarm) / r.heapWarm) * 100;
    lines.push(
      `| ${r.label} | ${((r.outsideErrors / Math.max(1, r.outsideCount)) * 100).toFixed(3)} % (${r.outsideErrors}/${r.outsideCount}) | ${outage} | ${r.heapWarm.toFixed(1)} MB | ${r.heapEnd.toFixed(1)} MB | ${change >= 0 ? '+' : ''}${change.toFixed(1)} % |`,
    );
  }
  return lines.join('\n') + '\n';
}

async function main(): Promise<void> {
  const { RedisProcess } = (await import(pathToFileURL(join(root, 'test/utils/redis-server.js')).href)) as {
    RedisProcess: typeof RedisProcessType;
  };
  const redis = await RedisProcess.start();
  const results: Result[] = [];
  try {
    const backend = await RedisBackend.connect(redis.url, { keyPrefix: 'soak:', commandTimeoutMs: COMMAND_TIMEOUT_MS });
    results.push(await soak('Redis', backend, { stop: () => redis.stop(), start: () => redis.start() }));
    await backend.close();
  } finally {
    await redis.destroy();
  }
  const memory = new MemoryBackend();
  results.push(await soak('memory', memory));
  await memory.close();
  agent.destroy();

  const table = markdown(results);
  process.stdout.write(`\n${table}`);
  writeFileSync(join(root, 'SOAK.md'), `# Soak results\n\n${table}`);
  const failed = results.filter((r) => r.outsideErrors > 0 || Math.abs(r.heapEnd - r.heapWarm) / r.heapWarm > 0.2);
  if (failed.length) {
    console.error(
      `soak: FAILED for ${failed.map((r) => r.label).join(', ')} (errors outside the outage, or heap drift > 20 %)`,
    );
    process.exitCode = 1;
  }
}

await main();
