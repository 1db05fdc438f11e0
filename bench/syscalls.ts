/**
 * CPU time, page faults and system calls per request of the session apps, user and kernel apart. The
 * timed rows count both together; this splits them, and strace shows which calls the kernel time goes to.
 * `npm run bench:syscalls` (needs strace, Linux); writes bench/syscalls.md, which `npm run bench`
 * includes in BENCHMARKS.md.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_ROOT,
  type BenchApp,
  listeningPort,
  loadByAmount,
  median,
  redisProcess,
  onlyApps,
} from './bench.util.js';

const WARM = 20_000;
const TIMED = 10_000;
const TIMED_RUNS = 5;
const TRACED = 6_000;

const VARIANTS: BenchApp[] = [
  { app: 'plain:session-connect', what: 'minimal Express app, connect-redis (node-redis)' },
  { app: 'plain:session-ours', what: 'minimal Express app, BackendSessionStore (ioredis)' },
  {
    app: 'plain:session-bare-ioredis',
    what: 'minimal Express app, a bare store on ioredis (GET + SET, no checks, writes held per turn)',
  },
  {
    app: 'plain:session-ours-timers',
    what: 'experiment: BackendSessionStore plus the two `AbortSignal.timeout(5000)` per request that node-redis creates',
  },
  { app: 'session-connect', what: 'Nest app, connect-redis (node-redis)' },
  { app: 'session-ours', what: 'Nest app, BackendSessionStore (ioredis)' },
];

/** Apps that `--only` can also pick (the guard apps), outside the table. */
const EXTRA: BenchApp[] = [
  { app: 'none', what: 'Nest app, no guard' },
  { app: 'minimal-redis-guard', what: 'Nest app, a minimal guard counting with one raw ioredis EVALSHA' },
  { app: 'throttle-redis', what: 'Nest app, ThrottlerGuard on Redis' },
  { app: 'throttle-memory', what: 'Nest app, ThrottlerGuard on memory' },
  { app: 'header-guard', what: 'Nest app, a guard that only sets the three headers' },
  { app: 'pass-guard', what: 'Nest app, a guard that returns true' },
  { app: 'minimal-counting-guard', what: 'Nest app, a guard counting in one Map entry per address' },
];

/** System calls reported in columns of their own; the rest are summed under "other". */
const HEAP_PAGES = ['mmap', 'munmap', 'madvise', 'mprotect'];
const SOCKET_WRITES = ['write', 'writev'];
const SOCKET_READS = ['read'];

interface Result {
  userUs: number;
  sysUs: number;
  faults: number;
  calls: Map<string, number>;
}

function hasCommand(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** User and system CPU seconds and minor page faults of `pid` so far (/proc/<pid>/stat). */
function cpuTimes(pid: number): { user: number; sys: number; faults: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const tick = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  return { user: Number(fields[11]) / tick, sys: Number(fields[12]) / tick, faults: Number(fields[7]) };
}

async function load(url: string, amount: number, headers: Record<string, string>): Promise<void> {
  const result = await loadByAmount({ url, connections: 32, amount, headers });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${url}: ${result.non2xx} non-2xx answers, ${result.errors} errors`);
}

async function start(variant: string, redisUrl: string, pin: boolean): Promise<{ child: ChildProcess; url: string }> {
  const entry = join(BENCH_ROOT, '.bench-dist', 'bench', 'apps', 'http-app.js');
  const [platform, app] = variant.includes(':') ? variant.split(':') : ['express', variant];
  const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', '0', process.execPath, entry] : [entry], {
    cwd: BENCH_ROOT,
    env: { ...process.env, BENCH_APP: app, BENCH_PLATFORM: platform, NODE_ENV: 'production', REDIS_URL: redisUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const port = await listeningPort(child, variant, 20_000);
  return { child, url: `http://127.0.0.1:${port}/r` };
}

interface RunningApp {
  variant: string;
  child: ChildProcess;
  url: string;
  headers: Record<string, string>;
  user: number[];
  sys: number[];
  faults: number[];
}

async function startWarm(variant: string, redisUrl: string, pin: boolean): Promise<RunningApp> {
  const { child, url } = await start(variant, redisUrl, pin);
  const headers: Record<string, string> = {};
  if (variant.includes('session')) {
    const cookie = (await fetch(url)).headers.get('set-cookie');
    if (!cookie) throw new Error(`${variant} set no session cookie`);
    headers.cookie = cookie.split(';')[0];
  }
  await load(url, WARM, headers);
  return { variant, child, url, headers, user: [], sys: [], faults: [] };
}

/** One timed run of `app`: its user and system CPU time per request. */
async function timedRun(app: RunningApp): Promise<void> {
  const pid = app.child.pid!;
  const before = cpuTimes(pid);
  await load(app.url, TIMED, app.headers);
  const after = cpuTimes(pid);
  app.user.push(((after.user - before.user) / TIMED) * 1e6);
  app.sys.push(((after.sys - before.sys) / TIMED) * 1e6);
  app.faults.push((after.faults - before.faults) / TIMED);
}

/** System calls of `app` over {@link TRACED} requests; strace slows every call, so this is a run of its own. */
async function tracedRun(app: RunningApp, dir: string): Promise<Map<string, number>> {
  const out = join(dir, `${app.variant.replace(':', '-')}.strace`);
  const strace = spawn('strace', ['-f', '-c', '-o', out, '-p', String(app.child.pid)], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  await load(app.url, TRACED, app.headers);
  const stopped = new Promise((r) => strace.once('exit', r));
  strace.kill('SIGINT');
  await stopped;
  return parseStrace(readFileSync(out, 'utf8'));
}

async function stop(app: RunningApp): Promise<void> {
  if (app.child.exitCode !== null) return;
  const exited = new Promise((r) => app.child.once('exit', r));
  app.child.kill('SIGKILL');
  await exited;
}

/** Calls per syscall name from `strace -c` output. */
function parseStrace(text: string): Map<string, number> {
  const calls = new Map<string, number>();
  for (const line of text.split('\n')) {
    // % time, seconds, usecs/call, calls, [errors,] syscall
    const cols = line.trim().split(/\s+/);
    if (cols.length < 5 || !/^\d/.test(cols[0])) continue;
    const name = cols[cols.length - 1];
    if (name === 'total') continue;
    calls.set(name, Number(cols[3]));
  }
  return calls;
}

async function main(): Promise<void> {
  // `--only a,b` counts those apps alone and writes no table.
  const variants = onlyApps(VARIANTS, [...VARIANTS, ...EXTRA]);
  if (!hasCommand('strace', ['-V'])) throw new Error('strace is not installed (apt-get install strace)');
  const RedisProcess = await redisProcess();
  const pin = cpus().length > 1 && hasCommand('taskset', ['-V']);
  if (pin) execFileSync('taskset', ['-cp', `1-${cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });
  const redis = await RedisProcess.start();
  const dir = mkdtempSync(join(tmpdir(), 'nestjs-backends-strace-'));
  const results = new Map<string, Result>();
  const apps: RunningApp[] = [];
  try {
    for (const v of variants) apps.push(await startWarm(v.app, redis.url, pin));
    // The apps take turns, one loaded at a time, so a slow spell of the host falls on all of them.
    for (let i = 0; i < TIMED_RUNS; i++) for (const app of apps) await timedRun(app);
    for (const app of apps) {
      const r = {
        userUs: median(app.user),
        sysUs: median(app.sys),
        faults: median(app.faults),
        calls: await tracedRun(app, dir),
      };
      results.set(app.variant, r);
      console.log(`${app.variant}: user ${r.userUs.toFixed(0)} µs, system ${r.sysUs.toFixed(0)} µs per request`);
      if (variants !== VARIANTS) {
        const each = [...r.calls].map(([name, n]) => `${name} ${(n / TRACED).toFixed(3)}`);
        console.log(`  page faults ${r.faults.toFixed(2)}; calls per request: ${each.join(', ')}`);
      }
    }
  } finally {
    await Promise.all(apps.map(stop));
    await redis.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
  if (variants !== VARIANTS) return;
  const per = (calls: Map<string, number>, names: string[]) =>
    names.reduce((n, name) => n + (calls.get(name) ?? 0), 0) / TRACED;
  const rows = VARIANTS.map((v) => {
    const r = results.get(v.app)!;
    const all = [...r.calls.values()].reduce((a, b) => a + b, 0) / TRACED;
    const pages = per(r.calls, HEAP_PAGES);
    const writes = per(r.calls, SOCKET_WRITES);
    const reads = per(r.calls, SOCKET_READS);
    const futex = per(r.calls, ['futex']);
    const other = all - pages - writes - reads - futex;
    const f = (n: number) => n.toFixed(3);
    return `| ${v.what} | \`${v.app}\` | ${r.userUs.toFixed(0)} | ${r.sysUs.toFixed(0)} | ${r.faults.toFixed(2)} | ${f(writes)} | ${f(reads)} | ${f(pages)} | ${f(futex)} | ${f(other)} |`;
  });
  const md = [
    '## CPU time, page faults and system calls per request, session apps (`npm run bench:syscalls`)',
    '',
    `The apps run at the same time${pin ? ' on CPU 0, autocannon (32 connections) on the other core' : ''} (Node ${process.version}) and are loaded one at a time, taking turns, after ${WARM.toLocaleString('en-US')} requests of warm-up each. User and system CPU time and minor page faults per request come from \`/proc/<pid>/stat\`, the median of ${TIMED_RUNS} turns of ${TIMED.toLocaleString('en-US')} requests (10 ms clock ticks); the system calls per request from \`strace -f -c\` over ${TRACED.toLocaleString('en-US')} more requests (a run of its own: strace slows each call). Socket writes are \`write\` and \`writev\`; memory mapping calls are \`mmap\`, \`munmap\`, \`madvise\` and \`mprotect\` (V8 maps its heap 256 KiB at a time and toggles the protection of its code pages); futex is mostly V8's collector threads. A minor page fault is a first touch of a page the process mapped, in the kernel's time.`,
    '',
    '| app | variant | user µs | system µs | page faults | socket writes | reads | memory mapping calls | futex | other |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
  ].join('\n');
  writeFileSync(join(BENCH_ROOT, 'bench', 'syscalls.md'), md);
  console.log(`\nwrote ${join(BENCH_ROOT, 'bench', 'syscalls.md')}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
