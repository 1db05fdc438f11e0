import type { ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { RedisProcess } from '../test/utils/redis-server.js';

/** The repository root, seen from the compiled bench (`.bench-dist/bench`). */
export const BENCH_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** autocannon driven by a request count, as the one-app-at-a-time tools use it (bench:instructions, bench:syscalls). */
export const loadByAmount = createRequire(import.meta.url)('autocannon') as (options: {
  url: string;
  connections: number;
  amount: number;
  headers?: Record<string, string>;
}) => Promise<{ requests: { total: number }; non2xx: number; errors: number }>;

/** The test suite's private `redis-server` (test/utils/redis-server.js, plain JS outside the bench build). */
export async function redisProcess(): Promise<typeof RedisProcess> {
  const url = pathToFileURL(join(BENCH_ROOT, 'test/utils/redis-server.js')).href;
  return ((await import(url)) as { RedisProcess: typeof RedisProcess }).RedisProcess;
}

/** One timed run: how many operations were done in how many milliseconds. */
export interface Sample {
  ops: number;
  ms: number;
}

/** The rounds of one side of a comparison. */
export interface Measurement {
  label: string;
  /** Throughput of each round (unit of the comparison). */
  rounds: number[];
  median: number;
}

/** One line of BENCHMARKS.md: us against a peer on the same workload, measured alternately. */
export interface Comparison {
  group: string;
  workload: string;
  unit: string;
  ours: Measurement;
  peer: Measurement;
  /** Left out by `--match`: nothing was measured. */
  skipped?: boolean;
  /** Median of the per-round ratios ours / peer (peer / ours when `lowerIsBetter`). */
  ratio: number;
  /** The target from the issues, e.g. `{ ratio: 0.7, text: '>= 70% of bare async Map' }`. */
  target?: { ratio: number; text: string };
  lowerIsBetter?: boolean;
  /**
   * Set on a row that measures the ceiling of a targeted row (`<workload> vs <peer label>` of that row): the same
   * comparison with the least code any implementation could run on our side. When the ceiling itself
   * misses that row's target, the report says so next to the verdict.
   */
  ceilingOf?: string;
}

/** Options every benchmark module receives. */
export interface BenchContext {
  quick: boolean;
  /** Rounds per comparison (>= 5 in full runs). */
  rounds: number;
  /** Redis URL of the benchmark's own redis-server. */
  redisUrl: string;
}

/** Rounds of an HTTP comparison: more than in-process ones, since one HTTP round varies more. */
export function httpRounds(ctx: BenchContext): number {
  return ctx.quick ? 1 : 11;
}

/**
 * Fresh pairs of app processes an HTTP comparison's rounds are spread over (JMH's forks). One
 * process of an app can run several percent faster or slower than the next, for its whole life
 * (what V8 compiled, and how, in that process), so a comparison of one pair measures that luck too.
 */
export function httpForks(ctx: BenchContext): number {
  return ctx.quick ? 1 : 3;
}

let workloadFilter: string | undefined;

/** Runs only the comparisons whose workload contains `text` (`npm run bench -- --match text`). */
export function selectWorkloads(text: string | undefined): void {
  workloadFilter = text;
}

/** Starts a round from a collected heap (`--expose-gc`), so neither side pays for the other's garbage. */
function collect(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

type Spec = Omit<Comparison, 'ours' | 'peer' | 'ratio'> & { oursLabel: string; peerLabel: string };

/** The comparison `--match` leaves out, or undefined when it is selected. */
function skipped(spec: Spec): Comparison | undefined {
  if (workloadFilter === undefined || `${spec.group} ${spec.workload}`.includes(workloadFilter)) return undefined;
  const { oursLabel, peerLabel, ...rest } = spec;
  const none = { rounds: [], median: NaN };
  return {
    ...rest,
    ours: { label: oursLabel, ...none },
    peer: { label: peerLabel, ...none },
    ratio: NaN,
    skipped: true,
  };
}

/**
 * The comparison of rounds `a` (ours) and `b` (peer), paired by index. The ratio is the median of
 * the per-round ratios: a slow spell of the machine (CPU steal on a shared host) slows both sides of
 * a pair and cancels out, where a ratio of two medians would take it in full.
 */
function summarize(spec: Spec, a: number[], b: number[]): Comparison {
  const { oursLabel, peerLabel, ...rest } = spec;
  const ratios = a.map((x, i) => (rest.lowerIsBetter ? b[i] / x : x / b[i]));
  return {
    ...rest,
    ours: { label: oursLabel, rounds: a, median: median(a) },
    peer: { label: peerLabel, rounds: b, median: median(b) },
    ratio: median(ratios),
  };
}

/** How {@link compare} cuts a round: `slices` alternating calls of each side (see there). */
export interface RoundShape {
  /** Calls of each side per round, interleaved A B B A ...; 1 runs each side once per round. @default 1 */
  slices?: number;
}

/**
 * Runs `ours` and `peer` alternately for `rounds` rounds and returns the comparison. Each function
 * does a fixed number of operations and returns their throughput. With `slices` > 1 a round is that
 * many calls of each side, interleaved (A B B A ...), and the side's figure for the round is its
 * total operations over its total time (the harmonic mean of its calls): a slow spell of the shared
 * host lasting a few milliseconds then falls on both sides instead of on one whole round.
 */
export async function compare(
  spec: Spec,
  rounds: number,
  ours: () => Promise<number>,
  peer: () => Promise<number>,
  shape: RoundShape = {},
): Promise<Comparison> {
  const skip = skipped(spec);
  if (skip) return skip;
  const slices = shape.slices ?? 1;
  const a: number[] = [];
  const b: number[] = [];
  // One unmeasured round each, so neither side pays for the JIT warm-up of the other.
  await ours();
  await peer();
  const sliced = slices > 1;
  // A single-slice round collects the heap before each side; a sliced round collects once, then runs
  // one unmeasured slice of each side: the work V8 and the machine still do right after a collection
  // (concurrent sweeping on the other core) slowed whichever side ran first by up to 30 %.
  const run = async (side: () => Promise<number>) => {
    if (!sliced) collect();
    return side();
  };
  for (let i = 0; i < rounds; i++) {
    if (sliced) {
      collect();
      await ours();
      await peer();
    }
    // Seconds per operation, summed over the slices of the round.
    let perOpA = 0;
    let perOpB = 0;
    for (let s = 0; s < slices; s++) {
      if ((i + s) % 2 === 0) {
        perOpA += 1 / (await run(ours));
        perOpB += 1 / (await run(peer));
      } else {
        perOpB += 1 / (await run(peer));
        perOpA += 1 / (await run(ours));
      }
    }
    a.push(slices / perOpA);
    b.push(slices / perOpB);
  }
  return summarize(spec, a, b);
}

/** One pair of app processes measured side by side: `both` loads them at once, `close` stops them. */
export interface SideBySidePair {
  both(): Promise<[number, number]>;
  close(): Promise<void>;
}

/**
 * Like {@link compare}, but each round measures both sides at the same time (`both` returns
 * `[ours, peer]`): the HTTP comparisons load two apps that share one CPU core, so whatever slows
 * the machine during a round (CPU steal on a shared host) slows both alike. The `rounds` are spread
 * over `forks` fresh pairs from `open`, each warmed by one round that is not counted.
 */
export async function compareSideBySide(
  spec: Spec,
  rounds: number,
  forks: number,
  open: () => Promise<SideBySidePair>,
): Promise<Comparison> {
  const skip = skipped(spec);
  if (skip) return skip;
  const a: number[] = [];
  const b: number[] = [];
  for (let f = 0; f < forks; f++) {
    const pair = await open();
    try {
      await pair.both(); // warm-up, not counted
      const n = Math.ceil((rounds - a.length) / (forks - f));
      for (let i = 0; i < n; i++) {
        const [x, y] = await pair.both();
        a.push(x);
        b.push(y);
      }
    } finally {
      await pair.close();
    }
  }
  return summarize(spec, a, b);
}

/** Calls `op` `count` times, awaiting each, and returns operations per second. */
export async function sequentialOps(count: number, op: (i: number) => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < count; i++) await op(i);
  const ns = Number(process.hrtime.bigint() - start);
  return (count / ns) * 1e9;
}

/** Runs `count` calls of `op` with `inFlight` outstanding at once; returns operations per second. */
export async function concurrentOps(
  count: number,
  inFlight: number,
  op: (i: number) => Promise<unknown>,
): Promise<number> {
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < count) await op(next++);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const ns = Number(process.hrtime.bigint() - start);
  return (count / ns) * 1e9;
}

/**
 * The port a bench app child prints (`port=<n>`) once it listens on 127.0.0.1; rejects with its
 * stderr (the last 2,000 characters) when it exits first or is not up within `timeoutMs`.
 */
export function listeningPort(child: ChildProcess, what: string, timeoutMs: number): Promise<number> {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += String(d)));
  return new Promise<number>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${what} did not start: ${stderr.slice(-2000)}`)), timeoutMs);
    let out = '';
    child.stdout!.on('data', (d) => {
      out += String(d);
      const m = /port=(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        ok(Number(m[1]));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${what} exited with ${code}: ${stderr.slice(-2000)}`));
    });
  });
}

/** One app of bench/apps/http-app.ts, as the instruction, system-call and lookup counts name it. */
export interface BenchApp {
  /** Its `BENCH_APP`; `plain:<app>` runs the app without Nest. */
  app: string;
  /** What the app is, as the tables and printouts say it. */
  what: string;
}

/**
 * The apps named by `--only a,b` on the command line, picked from `known`; `all` when it is absent.
 * An unknown name fails the run. A caller compares the result with `all` to tell a partial run.
 */
export function onlyApps<V extends { app: string }>(all: V[], known: V[] = all): V[] {
  const at = process.argv.indexOf('--only');
  if (at === -1) return all;
  const names = (process.argv[at + 1] ?? '').split(',');
  const chosen = known.filter((v) => names.includes(v.app));
  if (chosen.length !== names.length) {
    throw new Error(`--only names unknown apps; known: ${known.map((v) => v.app).join(', ')}`);
  }
  return chosen;
}
