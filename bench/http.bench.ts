/**
 * HTTP figures of issue 4: autocannon against minimal Nest Express apps (bench/apps/http-app.ts),
 * each started as a child process from JS compiled with `tsc -p tsconfig.bench.json`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type BenchContext,
  type Comparison,
  compareSideBySide,
  httpForks,
  httpRounds,
  listeningPort,
  type SideBySidePair,
} from './bench.util.js';

interface AutocannonResult {
  requests: { average: number; total: number };
  non2xx: number;
  errors: number;
  timeouts: number;
}
type Autocannon = (options: {
  url: string;
  connections: number;
  duration: number;
  pipelining?: number;
  headers?: Record<string, string>;
  requests?: { setupRequest: (req: { headers?: Record<string, string> }) => unknown }[];
}) => Promise<AutocannonResult>;

const autocannon = createRequire(import.meta.url)('autocannon') as Autocannon;

/** The repository root, found from this file whether it runs from bench/ or a compiled copy. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    try {
      createRequire(join(dir, 'package.json')).resolve('./tsconfig.bench.json');
      return dir;
    } catch {
      dir = dirname(dir);
    }
  }
  return process.cwd();
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A bench app child process listening on 127.0.0.1. */
interface BenchApp {
  url: string;
  child: ChildProcess;
}

async function startBenchApp(root: string, variant: string, redisUrl: string): Promise<BenchApp> {
  const entry = join(root, '.bench-dist', 'bench', 'apps', 'http-app.js');
  // `fastify:<name>` runs the app on the Fastify adapter, `plain:<name>` as a minimal Express app
  // without Nest, `<name>` on Nest's Express adapter.
  const [platform, name] = variant.includes(':') ? variant.split(':') : ['express', variant];
  // On a multi-core machine the app gets CPU 0 and autocannon (this process) the others, so the two
  // do not steal each other's time slices at random: the rounds vary much less.
  const pin = cpus().length > 1 && hasTaskset();
  const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, entry] : [entry], {
    cwd: root,
    env: { ...process.env, BENCH_APP: name, BENCH_PLATFORM: platform, REDIS_URL: redisUrl, NODE_ENV: 'production' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await listeningPort(child, `bench app ${variant}`, 20_000);
  return { url: `http://127.0.0.1:${port}/r`, child };
}

async function stopBenchApp(app: BenchApp | undefined): Promise<void> {
  if (!app || app.child.exitCode !== null) return;
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGTERM');
  const timer = setTimeout(() => app.child.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(timer);
}

/**
 * CPU time the process has used, in seconds, summed over its threads (`/proc/<pid>/task/<tid>/schedstat`,
 * nanosecond precision); undefined where /proc is missing.
 */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    }
    return ns / 1e9;
  } catch {
    return undefined;
  }
}

/**
 * One measured round of `app`: its requests per second of its own CPU time (what it serves on one
 * full core), or per second of wall time where /proc is missing. Two apps measured side by side
 * share one core, and an app that waits on Redis leaves its share to the other, so wall req/s
 * would charge it for the other app's gain. Any non-2xx answer or error voids the run.
 */
async function rps(
  app: BenchApp,
  seconds: number,
  headers?: Record<string, string>,
  clients?: number,
): Promise<number> {
  const url = app.url;
  const cpuBefore = cpuSeconds(app.child.pid);
  let next = 0;
  // With `clients`, requests cycle through that many distinct `x-client` values.
  const requests =
    clients === undefined
      ? undefined
      : [
          {
            setupRequest: (req: { headers?: Record<string, string> }) => ({
              ...req,
              headers: { ...req.headers, 'x-client': String(next++ % clients) },
            }),
          },
        ];
  const result = await autocannon({ url, connections: 32, duration: seconds, pipelining: 1, headers, requests });
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers and ${result.errors} errors during the run`);
  }
  const cpuAfter = cpuSeconds(app.child.pid);
  const busy = cpuBefore === undefined || cpuAfter === undefined ? seconds : cpuAfter - cpuBefore;
  return result.requests.total / busy;
}

/** The session cookie of a fresh visitor, so every measured request loads and saves one session. */
async function sessionCookie(url: string): Promise<Record<string, string>> {
  const res = await fetch(url);
  const cookie = res.headers.get('set-cookie');
  if (!cookie) throw new Error(`${url} set no session cookie`);
  return { cookie: cookie.split(';')[0] };
}

/** Runs the HTTP comparisons; compiles the bench apps first. */
export async function runHttpBench(ctx: BenchContext): Promise<Comparison[]> {
  const root = resolve(repoRoot());
  execFileSync(
    process.execPath,
    [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.bench.json'],
    {
      cwd: root,
      stdio: 'inherit',
    },
  );
  const seconds = ctx.quick ? 1 : 2;
  if (cpus().length > 1 && hasTaskset()) {
    const others = `1-${cpus().length - 1}`;
    execFileSync('taskset', ['-cp', others, String(process.pid)], { stdio: 'ignore' });
  }
  const warmup = ctx.quick ? 0.5 : 2;
  /** Starts one side: its app, its session cookie or primed cache, then a warm-up alone. */
  const launch = async (side: Side): Promise<Launched> => {
    const app = await startBenchApp(root, side.variant, ctx.redisUrl);
    try {
      const headers = side.session ? await sessionCookie(app.url) : undefined;
      if (side.prime) await fetch(app.url);
      await rps(app, warmup, headers, side.clients);
      return { app, side, headers };
    } catch (err) {
      await stopBenchApp(app);
      throw err;
    }
  };
  // Both apps of a comparison run on CPU 0 and are loaded at the same time, each by its own
  // autocannon (32 connections) on the other cores: see compareSideBySide. The load that starts
  // first alternates from round to round: in A/A runs the app started second came out about 1%
  // ahead, and alternating cancels that.
  let turn = 0;
  const open = (ours: Side, peer: Side) => async (): Promise<SideBySidePair> => {
    const started = await Promise.allSettled([launch(ours), launch(peer)]);
    const up = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await Promise.all(up.map((l) => stopBenchApp(l.app)));
      throw failed.reason;
    }
    const [a, b] = up;
    const measure = (l: Launched) => rps(l.app, seconds, l.headers, l.side.clients);
    return {
      both: async () => {
        if (turn++ % 2 === 0) return Promise.all([measure(a), measure(b)]);
        const [y, x] = await Promise.all([measure(b), measure(a)]);
        return [x, y];
      },
      close: async () => {
        await Promise.all([stopBenchApp(a.app), stopBenchApp(b.app)]);
      },
    };
  };
  // Every HTTP row is in requests per second of the app's own CPU time.
  const sideBySide = (
    spec: Omit<Parameters<typeof compareSideBySide>[0], 'unit'>,
    ours: Side | string,
    peer: Side | string,
  ) =>
    compareSideBySide(
      { ...spec, unit: 'req/s per core' },
      httpRounds(ctx),
      httpForks(ctx),
      open(sideOf(ours), sideOf(peer)),
    );
  const group = 'http (Nest Express, two apps side by side on one core, autocannon 32 connections each)';
  const results: Comparison[] = [];
  results.push(
    await sideBySide(
      {
        group,
        workload: 'GET, ThrottlerGuard on memory vs the same route with no guard',
        oursLabel: 'ThrottlerGuard (memory)',
        peerLabel: 'no guard',
        target: { ratio: 0.95, text: '>= 95% of no guard' },
      },
      'throttle-memory',
      'none',
    ),
  );
  // No target: a guard that sends the same three headers and counts nothing is the floor for
  // any guard that meets issue 4 (`npm run bench:instructions` splits the cost further).
  results.push(
    await sideBySide(
      {
        group,
        workload:
          'GET, a guard that only sets the three X-RateLimit-* headers (counts nothing) vs the same route with no guard',
        oursLabel: 'headers-only guard',
        peerLabel: 'no guard',
        ceilingOf: 'GET, ThrottlerGuard on memory vs the same route with no guard vs no guard',
      },
      'header-guard',
      'none',
    ),
  );
  // No target: against the least a counting guard does with the same headers (one Map, no windows),
  // what our counting adds on top of any counting at all.
  results.push(
    await sideBySide(
      {
        group,
        workload:
          'GET, ThrottlerGuard on memory vs a minimal counting guard (one Map entry per address, the same three headers)',
        oursLabel: 'ThrottlerGuard (memory)',
        peerLabel: 'minimal counting guard',
      },
      'throttle-memory',
      'minimal-counting-guard',
    ),
  );
  results.push(
    await sideBySide(
      {
        group,
        workload: 'GET, ThrottlerGuard on memory vs @nestjs/throttler guard (its memory storage)',
        oursLabel: 'ThrottlerGuard (memory)',
        peerLabel: '@nestjs/throttler',
        target: { ratio: 1.0, text: '>= @nestjs/throttler' },
      },
      'throttle-memory',
      'nest-throttler',
    ),
  );
  results.push(
    await sideBySide(
      {
        group,
        workload: 'GET, ThrottlerGuard on Redis vs the same route with no guard',
        oursLabel: 'ThrottlerGuard (Redis)',
        peerLabel: 'no guard',
        target: { ratio: 0.85, text: '>= 85% of no guard' },
      },
      'throttle-redis',
      'none',
    ),
  );
  // No target: the least a guard on Redis does (one raw ioredis EVALSHA per request, the same
  // headers, its writes held per turn as ours), against no guard: the ceiling of the row above.
  results.push(
    await sideBySide(
      {
        group,
        workload:
          'GET, a minimal Redis counting guard (one EVALSHA INCR+PEXPIRE per request on raw ioredis, writes held per turn, the same three headers) vs the same route with no guard',
        oursLabel: 'minimal Redis guard',
        peerLabel: 'no guard',
        ceilingOf: 'GET, ThrottlerGuard on Redis vs the same route with no guard vs no guard',
      },
      'minimal-redis-guard',
      'none',
    ),
  );
  // No target: what our guard adds on top of that one round trip.
  results.push(
    await sideBySide(
      {
        group,
        workload: 'GET, ThrottlerGuard on Redis vs a minimal Redis counting guard (one EVALSHA per request)',
        oursLabel: 'ThrottlerGuard (Redis)',
        peerLabel: 'minimal Redis guard',
      },
      'throttle-redis',
      'minimal-redis-guard',
    ),
  );
  results.push(
    await sideBySide(
      {
        group,
        workload:
          'GET, ThrottlerGuard on Redis vs @nestjs/throttler guard on Redis (@nest-lab/throttler-storage-redis)',
        oursLabel: 'ThrottlerGuard (Redis)',
        peerLabel: '@nestjs/throttler + Redis storage',
        target: { ratio: 1.0, text: '>= @nestjs/throttler on Redis' },
      },
      'throttle-redis',
      'nest-throttler-redis',
    ),
  );
  const fastifyGroup = 'http (Nest Fastify, two apps side by side on one core, autocannon 32 connections each)';
  results.push(
    await sideBySide(
      {
        group: fastifyGroup,
        workload: 'GET, ThrottlerGuard on memory vs the same route with no guard (Fastify)',
        oursLabel: 'ThrottlerGuard (memory)',
        peerLabel: 'no guard',
      },
      'fastify:throttle-memory',
      'fastify:none',
    ),
  );
  results.push(
    await sideBySide(
      {
        group: fastifyGroup,
        workload: 'GET, ThrottlerGuard on Redis vs the same route with no guard (Fastify)',
        oursLabel: 'ThrottlerGuard (Redis)',
        peerLabel: 'no guard',
      },
      'fastify:throttle-redis',
      'fastify:none',
    ),
  );
  for (const clients of ctx.quick ? [1, 1000] : [1, 1000, 100_000]) {
    results.push(
      await sideBySide(
        {
          group,
          workload: `GET, ThrottlerGuard on memory with ${clients.toLocaleString('en-US')} distinct clients vs no guard`,
          oursLabel: 'ThrottlerGuard (memory)',
          peerLabel: 'no guard',
        },
        { variant: 'throttle-clients', clients },
        { variant: 'none', clients },
      ),
    );
  }
  // No target (the row above carries it): @nestjs/throttler's memory storage keeps one expiry time per
  // hit of a key and filters them on every request, so one client with a limit it never reaches is its
  // costliest case. With 1,000 clients each keeps a short list, as with real per-client limits.
  results.push(
    await sideBySide(
      {
        group,
        workload:
          'GET, ThrottlerGuard on memory vs @nestjs/throttler guard (its memory storage), 1,000 distinct clients',
        oursLabel: 'ThrottlerGuard (memory)',
        peerLabel: '@nestjs/throttler',
      },
      { variant: 'throttle-clients', clients: 1000 },
      { variant: 'nest-throttler-clients', clients: 1000 },
    ),
  );
  // Both caches are primed, so every measured request is a hit.
  results.push(
    await sideBySide(
      {
        group,
        workload: 'GET cache hit, CacheInterceptor (memory) vs @nestjs/cache-manager interceptor (memory)',
        oursLabel: 'CacheInterceptor',
        peerLabel: '@nestjs/cache-manager',
        target: { ratio: 1.0, text: '>= @nestjs/cache-manager' },
      },
      { variant: 'cache-ours', prime: true },
      { variant: 'cache-nest', prime: true },
    ),
  );
  // Every request of a session row loads and saves one session: each app gets its visitor's cookie
  // when it starts, and is warmed with it.
  const sessionPair = (
    spec: Omit<Parameters<typeof compareSideBySide>[0], 'unit' | 'peerLabel'>,
    ours: string,
    peer: string,
  ) =>
    sideBySide(
      { ...spec, peerLabel: 'connect-redis' },
      { variant: ours, session: true },
      { variant: peer, session: true },
    );
  const storeTarget = { ratio: 1.0, text: '>= connect-redis' };
  results.push(
    await sessionPair(
      {
        group,
        workload: 'session round trip (load + save per request), express-session on Redis',
        oursLabel: 'BackendSessionStore (Redis)',
        target: storeTarget,
      },
      'session-ours',
      'session-connect',
    ),
  );
  // No target: the same ceiling in the Nest app (see the bare-store row of the minimal Express app).
  results.push(
    await sessionPair(
      {
        group,
        workload:
          'session round trip, express-session on Redis, Nest app: a bare store on ioredis (GET + SET, no checks, writes held per turn)',
        oursLabel: 'bare ioredis store',
        ceilingOf: 'session round trip (load + save per request), express-session on Redis vs connect-redis',
      },
      'session-bare-ioredis',
      'session-connect',
    ),
  );
  const plainGroup =
    'http (minimal Express app without Nest, two apps side by side on one core, autocannon 32 connections each)';
  // Issue 4 states its figures for a minimal Express app: express-session is Express middleware,
  // so this pair runs it without Nest (a Nest route costs several times an Express one here).
  results.push(
    await sessionPair(
      {
        group: plainGroup,
        workload: 'session round trip (load + save per request), express-session on Redis, minimal Express app',
        oursLabel: 'BackendSessionStore (Redis)',
        target: storeTarget,
      },
      'plain:session-ours',
      'plain:session-connect',
    ),
  );
  // No target: the least any store on ioredis does (GET + SET, no checks) against connect-redis,
  // which separates the two clients (ioredis, node-redis) from the two stores' code.
  results.push(
    await sessionPair(
      {
        group: plainGroup,
        workload:
          'session round trip, express-session on Redis, minimal Express app: a bare store on ioredis (GET + SET, no checks, writes held per turn)',
        oursLabel: 'bare ioredis store',
        ceilingOf:
          'session round trip (load + save per request), express-session on Redis, minimal Express app vs connect-redis',
      },
      'plain:session-bare-ioredis',
      'plain:session-connect',
    ),
  );
  return results;
}

/** One side of a comparison: the app, and how each request is made. */
interface Side {
  variant: string;
  /** Each request carries the session cookie of one visitor, fetched when the app starts. */
  session?: boolean;
  /** One request before the warm-up fills the app's cache. */
  prime?: boolean;
  /** Requests cycle through this many distinct `x-client` values. */
  clients?: number;
}

/** A started side, with the headers of its requests. */
interface Launched {
  app: BenchApp;
  side: Side;
  headers?: Record<string, string>;
}

function sideOf(side: Side | string): Side {
  return typeof side === 'string' ? { variant: side } : side;
}
