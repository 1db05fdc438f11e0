import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import {
  BENCH_ROOT,
  type BenchContext,
  type Comparison,
  httpForks,
  httpRounds,
  redisProcess,
  selectWorkloads,
} from './bench.util.js';
import { markdownTables, meets, replaceBetweenMarkers, summaryTable, svgChart } from './report.js';
import { runFootprintBench } from './footprint.bench.js';
import { runModuleFormatBench } from './module-format.bench.js';
import { runStorageBench } from './storage.bench.js';

const root = BENCH_ROOT;
const quick = process.argv.includes('--quick');
/** `--only storage,http` runs some suites and `--match text` some workloads, for profiling; neither writes a report. */
const only = argValue('--only')?.split(',');
const match = argValue('--match');
const partial = only !== undefined || match !== undefined;

function argValue(flag: string): string | undefined {
  const at = process.argv.indexOf(flag);
  return at === -1 ? undefined : process.argv[at + 1];
}

const PEERS = [
  'nestjs-backends',
  '@nestjs/core',
  'ioredis',
  'lru-cache',
  'keyv',
  '@keyv/redis',
  'cache-manager',
  'rate-limiter-flexible',
  '@nestjs/throttler',
  '@nest-lab/throttler-storage-redis',
  '@nestjs/cache-manager',
  'express',
  'express-session',
  'connect-redis',
  'redis',
  'nodemailer',
  'smtp-server',
  'autocannon',
];

function version(pkg: string): string {
  const file = pkg === 'nestjs-backends' ? join(root, 'package.json') : join(root, 'node_modules', pkg, 'package.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')).version as string;
  } catch {
    return 'not installed';
  }
}

/**
 * On a machine with more than one core, redis-server gets the last core (all its threads) and this
 * process the first, so client and server never compete for one core, as when Redis runs on its own
 * host; the HTTP suite then moves this process next to redis-server and leaves core 0 to the apps.
 * Returns whether it could (taskset present).
 */
function pinRedis(pid: number | undefined): boolean {
  const count = cpus().length;
  if (pid === undefined || count < 2) return false;
  try {
    execFileSync('taskset', ['-a', '-cp', String(count - 1), String(pid)], { stdio: 'ignore' });
    execFileSync('taskset', ['-cp', '0', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

type Module = Record<string, (ctx: BenchContext) => Promise<Comparison[]>>;

async function optionalSuite(
  file: string,
  fn: string,
): Promise<((ctx: BenchContext) => Promise<Comparison[]>) | undefined> {
  try {
    const mod = (await import(file)) as Module;
    return mod[fn];
  } catch (err) {
    if ((err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

/** A hand-written file of the repository, or nothing when it is missing. */
function readOptional(file: string): string {
  try {
    return readFileSync(join(root, file), 'utf8');
  } catch {
    return '';
  }
}

/** The latest `npm run soak` results (SOAK.md), which belong in BENCHMARKS.md too. */
function soakSection(): string {
  try {
    const soak = readFileSync(join(root, 'SOAK.md'), 'utf8').replace(/^# .*\n/, '');
    return `## Soak (\`npm run soak\`)\n${soak}`;
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const RedisProcess = await redisProcess();
  const redis = await RedisProcess.start();
  const pinned = pinRedis(redis.pid);
  const redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).match(/v=(\S+)/)?.[1] ?? '?';
  const machine = `${cpus().length} x ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, Redis ${redisVersion}`;
  const versions = PEERS.map((p) => `${p} ${version(p)}`).join(', ');
  console.log(`machine: ${machine}`);
  console.log(`packages: ${versions}`);
  const ctx: BenchContext = { quick, rounds: quick ? 1 : 5, redisUrl: redis.url };
  selectWorkloads(match);

  const suites: [string, ((c: BenchContext) => Promise<Comparison[]>) | undefined][] = [
    ['storage', runStorageBench],
    ['module format', runModuleFormatBench],
    ['memory footprint', runFootprintBench],
    ['http', await optionalSuite('./http.bench.js', 'runHttpBench')],
    ['email', await optionalSuite('./email.bench.js', 'runEmailBench')],
  ];
  const results: Comparison[] = [];
  try {
    for (const [name, suite] of suites) {
      if (!suite) throw new Error(`benchmark suite "${name}" is missing`);
      if (only && !only.some((o) => name.startsWith(o))) continue;
      console.log(`\n== ${name}`);
      for (const c of await suite(ctx)) {
        if (c.skipped) continue;
        results.push(c);
        const verdict = meets(c) === undefined ? '' : meets(c) ? ' pass' : ' SHORT';
        if (partial)
          console.log(
            `  rounds: ours ${c.ours.rounds.map(Math.round).join(' ')} | peer ${c.peer.rounds.map(Math.round).join(' ')}`,
          );
        console.log(
          `${c.workload}: ${c.ours.label} ${Math.round(c.ours.median)} vs ${c.peer.label} ${Math.round(c.peer.median)} ${c.unit} -> ${c.ratio.toFixed(2)}x${c.target ? ` (target ${c.target.text})` : ''}${verdict}`,
        );
      }
    }
  } finally {
    await redis.destroy();
  }

  if (partial) {
    console.log(`\n${results.length} comparisons (--only/--match: no report written)`);
    return;
  }
  // A ceiling row names the targeted row it bounds by text: a renamed row must not unlink it silently.
  for (const c of results) {
    if (c.ceilingOf && !results.some((r) => r.target && `${r.workload} vs ${r.peer.label}` === c.ceilingOf)) {
      throw new Error(`ceiling row "${c.workload}" names no targeted row: "${c.ceilingOf}"`);
    }
  }
  const command = quick ? 'npm run bench -- --quick' : 'npm run bench';
  const md = [
    '# Benchmarks',
    '',
    `Generated by \`${command}\` on ${new Date().toISOString().slice(0, 10)}. In-process comparisons run ours and the peer alternately (${ctx.rounds} rounds each, from a collected heap; storage rounds are cut into 10 interleaved slices per side)${pinned ? ', with redis-server on a core of its own' : ''}; HTTP comparisons load both Nest apps at the same time, side by side on one CPU core, each with its own autocannon (32 connections) on the other core (${httpRounds(ctx)} rounds of 2 s spread over ${httpForks(ctx)} fresh pairs of app processes, each pair warmed first, the load that starts first alternating), so a slow spell of this shared host slows both alike; each app's figure is its requests per second of its own CPU time (req/s per core), so an app that waits on Redis is not charged for the share of the core the other app takes meanwhile. The medians of each side are shown; the ratio is the median of the per-round ratios ours / peer (peer / ours for bytes). Targets come from the issues.`,
    '',
    `- Machine: ${machine}`,
    `- Packages: ${versions}`,
    '',
    '![ratio to target](benchmarks.svg)',
    '',
    markdownTables(results),
    '',
    readOptional('bench/analysis.md'),
    '',
    readOptional('bench/instructions.md'),
    '',
    readOptional('bench/syscalls.md'),
    '',
    soakSection(),
  ].join('\n');
  const outDir = quick ? join(root, '.bench-dist') : root;
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'BENCHMARKS.md'), md);
  writeFileSync(join(outDir, 'benchmarks.svg'), svgChart(results));
  if (!quick) {
    const readme = join(root, 'README.md');
    const summary = `Measured with \`${command}\` (${machine}); full tables in BENCHMARKS.md.\n\n${summaryTable(results)}`;
    writeFileSync(readme, replaceBetweenMarkers(readFileSync(readme, 'utf8'), summary));
  }
  const short = results.filter((r) => meets(r) === false).length;
  console.log(`\nwrote ${join(outDir, 'BENCHMARKS.md')}: ${results.length} comparisons, ${short} short of target`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
