/**
 * Instructions per request of the bench apps, counted by valgrind's callgrind. Unlike seconds, the
 * counts outside the garbage collector repeat closely from run to run, so they split costs of 1 %
 * to 3 % that the timed HTTP rows cannot resolve. `npm run bench:instructions` (needs valgrind); writes
 * bench/instructions.md, which `npm run bench` includes in BENCHMARKS.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_ROOT, type BenchApp, listeningPort, loadByAmount, redisProcess, onlyApps } from './bench.util.js';

/** Requests before counting, in 5 runs: the connections closing between runs settle V8's last recompilations. */
const WARM = 6000;
/** Requests after the full collection that ends the warm-up, in 3 runs (the collection drops compiled code). */
const AFTER_GC = 6000;
const MEASURED = 3000;
/**
 * Requests counted for the session apps: about three full collections fall inside, so their share of
 * the collector compares between apps too (a session app runs one every 3,000 to 4,000 requests).
 */
const MEASURED_SESSION = 12_000;

interface Variant extends BenchApp {
  /** The variant the row is compared with. */
  base: string;
}

// Guards are compared with a guard that returns `true`: Nest's guard machinery is the same for any
// guard, and the route with no guard at all varied most between runs of this tool (-0.8 % and +4.8 %
// against the pass guard outside GC).
const VARIANTS: Variant[] = [
  { app: 'pass-guard', what: "a guard that returns `true` (Nest's guard machinery)", base: 'pass-guard' },
  { app: 'header-guard', what: 'a guard that only sets the three `X-RateLimit-*` headers', base: 'pass-guard' },
  {
    app: 'throttle-no-headers',
    what: 'ThrottlerGuard on memory without its headers (counting alone)',
    base: 'pass-guard',
  },
  {
    app: 'minimal-counting-guard',
    what: 'a guard that counts in one `Map` entry per address and sets the same three headers',
    base: 'pass-guard',
  },
  { app: 'throttle-memory', what: 'ThrottlerGuard on memory', base: 'pass-guard' },
  { app: 'nest-throttler', what: '@nestjs/throttler guard (memory)', base: 'pass-guard' },
  {
    app: 'minimal-redis-guard',
    what: 'a guard that counts with one raw ioredis `EVALSHA` (INCR + PEXPIRE) and sets the same three headers',
    base: 'pass-guard',
  },
  { app: 'throttle-redis', what: 'ThrottlerGuard on Redis', base: 'minimal-redis-guard' },
  { app: 'none', what: 'no guard', base: 'pass-guard' },
  { app: 'session-connect', what: 'express-session with connect-redis', base: 'session-connect' },
  { app: 'session-ours', what: 'express-session with BackendSessionStore (Redis)', base: 'session-connect' },
];

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, { stdio: 'ignore' });
}

/** Starts `app` under callgrind with counting off; resolves once it listens. */
async function start(app: string, dir: string, redisUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const entry = join(BENCH_ROOT, '.bench-dist', 'bench', 'apps', 'http-app.js');
  const child = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--instr-atstart=no',
      `--callgrind-out-file=${join(dir, `${app}.out`)}`,
      process.execPath,
      '--expose-gc',
      entry,
    ],
    {
      cwd: BENCH_ROOT,
      // Redis calls get 60 s instead of 1 s: valgrind slows the app tens of times (see http-app.ts).
      env: {
        ...process.env,
        BENCH_APP: app,
        NODE_ENV: 'production',
        REDIS_URL: redisUrl,
        BENCH_COMMAND_TIMEOUT_MS: '60000',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const port = await listeningPort(child, `${app} under valgrind`, 180_000);
  return { child, url: `http://127.0.0.1:${port}/r` };
}

/** `amount` requests; answers other than 2xx fail a counted run only. */
async function load(url: string, amount: number, headers: Record<string, string>, counted = false): Promise<void> {
  const result = await loadByAmount({ url, connections: 8, amount, headers });
  if (counted && (result.non2xx > 0 || result.errors > 0)) {
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
  }
}

/** V8's garbage collector and heap allocator (self cost): their share moves with when collections fall. */
const GC_FUNCTION =
  /Scaveng|Marking|MarkCompact|Sweep|Evacuat|Heap::|heap::base|RememberedSet|SlotSet|GCTracer|MinorMC|FreeList|PagedSpace|SemiSpace|NewSpace|MemoryAllocator|BodyDescriptor/;

interface Count {
  /** Instructions per request, every function. */
  all: number;
  /** The part in {@link GC_FUNCTION}s. */
  gc: number;
}

/** Requests counted for `app`. */
function measured(app: string): number {
  return app.startsWith('session') ? MEASURED_SESSION : MEASURED;
}

/** Instructions per request of one variant, counted over {@link measured} requests after the warm-up. */
async function measure(app: string, dir: string, redisUrl: string, keep?: string): Promise<Count> {
  const { child, url } = await start(app, dir, redisUrl);
  try {
    const headers: Record<string, string> = {};
    if (app.startsWith('session')) {
      // One session for every request, so each loads and saves it.
      const cookie = (await fetch(url)).headers.get('set-cookie');
      if (!cookie) throw new Error(`${app} set no session cookie`);
      headers.cookie = cookie.split(';')[0];
    }
    for (let i = 0; i < 5; i++) await load(url, WARM / 5, headers);
    const pid = String(child.pid);
    // A full collection, so a major GC left over from the warm-up does not fall into one count only;
    // then more requests, since the collection also drops compiled code that V8 must compile again.
    child.kill('SIGUSR2');
    await new Promise((r) => setTimeout(r, 2000));
    for (let i = 0; i < 3; i++) await load(url, AFTER_GC / 3, headers);
    run('callgrind_control', ['-i', 'on', pid]);
    await load(url, measured(app), headers, true);
    run('callgrind_control', ['-i', 'off', pid]);
    run('callgrind_control', ['-d', pid]);
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  }
  const counted = readdirSync(dir).filter((f) => f.startsWith(`${app}.out.`));
  const files = counted.map((f) => join(dir, f));
  if (counted.length === 0) throw new Error(`${app}: callgrind wrote no counts`);
  let total = 0;
  let gc = 0;
  for (const file of files) {
    const annotated = execFileSync('callgrind_annotate', ['--threshold=100', file], {
      encoding: 'utf8',
      maxBuffer: 256 << 20,
    });
    if (keep !== undefined) {
      const copy = join(keep, `${app}.${Date.now()}.txt`);
      writeFileSync(copy, annotated);
      console.log(`${app}: functions in ${copy}`);
    }
    for (const line of annotated.split('\n')) {
      const m = /^\s*([\d,]+) \([^)]*\)\s+(.*)$/.exec(line);
      if (!m) continue;
      const n = Number(m[1].replaceAll(',', ''));
      if (m[2] === 'PROGRAM TOTALS') total += n;
      else if (GC_FUNCTION.test(m[2])) gc += n;
    }
  }
  for (const file of files) rmSync(file);
  return { all: total / measured(app), gc: gc / measured(app) };
}

async function main(): Promise<void> {
  // `--only a,b` counts those apps alone and writes no table.
  const variants = onlyApps(VARIANTS);
  try {
    run('valgrind', ['--version']);
  } catch {
    throw new Error('valgrind is not installed (apt-get install valgrind)');
  }
  const RedisProcess = await redisProcess();
  const redis = await RedisProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-backends-callgrind-'));
  // A partial run keeps each count's functions (callgrind_annotate's listing) for a closer look.
  const keep = variants === VARIANTS ? undefined : mkdtempSync(join(tmpdir(), 'nestjs-backends-functions-'));
  const counts = new Map<string, Count>();
  try {
    // One app per core at a time; valgrind runs each on a single thread.
    // Each app three times, in different pairings; the lowest count outside GC is kept. What varies
    // between runs of one app is added work (a recompilation, a collection), up to 6 % in one run of three.
    const queue = [...variants, ...[...variants].reverse(), ...variants];
    const workers = Array.from({ length: Math.max(1, cpus().length) }, async () => {
      for (let v = queue.shift(); v; v = queue.shift()) {
        const n = await measure(v.app, dir, redis.url, variants === VARIANTS ? undefined : keep);
        const kept = counts.get(v.app);
        if (kept === undefined || n.all - n.gc < kept.all - kept.gc) counts.set(v.app, n);
        console.log(`${v.app}: ${Math.round(n.all)} instructions per request, ${Math.round(n.all - n.gc)} outside GC`);
      }
    });
    await Promise.all(workers);
  } finally {
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  if (variants !== VARIANTS) return;
  const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
  const pct = (n: number, base: number) => `${n >= base ? '+' : ''}${((n / base - 1) * 100).toFixed(1)} %`;
  const rows = VARIANTS.map((v) => {
    const n = counts.get(v.app)!;
    const base = counts.get(v.base)!;
    const own = n.all - n.gc;
    const vs =
      v.base === v.app ? 'base' : `${pct(own, base.all - base.gc)} of \`${v.base}\` (all: ${pct(n.all, base.all)})`;
    return `| ${v.what} | \`${v.app}\` | ${fmt(n.all)} | ${fmt(n.gc)} | ${fmt(own)} | ${vs} |`;
  });
  const md = [
    '## Instructions per request (`npm run bench:instructions`)',
    '',
    `Each app of \`bench/apps/http-app.ts\` runs alone under valgrind's callgrind (Node ${process.version}); after ${WARM.toLocaleString('en-US')} requests in 5 runs, a full collection and ${AFTER_GC.toLocaleString('en-US')} more requests in 3 runs, the user-space instructions of the whole process (every thread) are counted over ${MEASURED.toLocaleString('en-US')} requests (autocannon, 8 connections), ${MEASURED_SESSION.toLocaleString('en-US')} for the session apps so that full collections fall inside the count of each. Each app is counted three times and the lowest count outside the collector is kept: what varies between runs is added work (a recompilation, a collection), up to 6 % in one run of three. Kernel time (the socket calls) is not counted. The collector's share (V8's GC and heap allocator functions) depends on whether a major collection falls inside the count, so the guard rows are compared outside it. Instructions are work done, not seconds: an added instruction that misses the cache costs more time than one that hits.`,
    '',
    '| app | variant | instructions per request | in GC | outside GC | outside GC vs |',
    '|---|---|---:|---:|---:|---|',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(join(BENCH_ROOT, 'bench', 'instructions.md'), md);
  console.log(`\nwrote ${join(BENCH_ROOT, 'bench', 'instructions.md')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
