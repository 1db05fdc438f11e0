import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BENCH_ROOT, type BenchContext, type Comparison, compare, concurrentOps, sequentialOps } from './bench.util.js';

/** What this suite needs of either build of the package. */
interface PackageBuild {
  MemoryBackend: new (options?: { maxEntries?: number }) => StorageLike;
  RedisBackend: { connect(url: string, options?: { keyPrefix?: string }): Promise<StorageLike> };
}

interface StorageLike {
  get(key: string): Promise<unknown>;
  set(key: string, value: unknown, ttlMs?: number | null): Promise<void>;
  increment(key: string, ttlMs?: number | null): Promise<number>;
  clear(): Promise<void>;
  close(): Promise<void>;
}

const ESM_ENTRY = join(BENCH_ROOT, 'dist', 'index.js');
const CJS_ENTRY = join(BENCH_ROOT, 'dist', 'cjs', 'index.js');

/**
 * The package as users load it: the CommonJS build (`require`, Jest's CommonJS runtime, Nest 11 apps)
 * against the ES module build (`import`), both from `dist/` as `npm run build` writes them. One
 * source compiles to both, so the rows must come out even (issue 22: >= 0.97x).
 */
export async function runModuleFormatBench(ctx: BenchContext): Promise<Comparison[]> {
  for (const entry of [ESM_ENTRY, CJS_ENTRY]) {
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run \`npm run build\` before the benchmark`);
  }
  const esm = (await import(pathToFileURL(ESM_ENTRY).href)) as PackageBuild;
  const cjs = createRequire(import.meta.url)(CJS_ENTRY) as PackageBuild;
  if (esm.MemoryBackend === cjs.MemoryBackend) throw new Error('both entry points resolved to one build');

  const out: Comparison[] = [];
  const shape = { slices: ctx.quick ? 1 : 10 };
  const n = ctx.quick ? 20_000 : 50_000;
  const keys = 1000;
  const key = (i: number) => `k${i % keys}`;
  const target = { ratio: 0.97, text: '>= 0.97x of the ES module build' };
  const row = (group: string, workload: string, oursLabel: string) => ({
    group,
    workload,
    unit: 'ops/s',
    oursLabel,
    peerLabel: 'ES module build',
    target,
  });

  const memCjs = new cjs.MemoryBackend({ maxEntries: 1_000_000 });
  const memEsm = new esm.MemoryBackend({ maxEntries: 1_000_000 });
  for (let i = 0; i < keys; i++) {
    await memCjs.set(key(i), i);
    await memEsm.set(key(i), i);
  }
  const group = 'module format: CommonJS build vs ES module build';
  out.push(
    await compare(
      row(group, 'memory: get primitive, sequential', 'CommonJS build'),
      ctx.rounds,
      () => sequentialOps(n, (i) => memCjs.get(key(i))),
      () => sequentialOps(n, (i) => memEsm.get(key(i))),
      shape,
    ),
  );
  out.push(
    await compare(
      row(group, 'memory: set primitive, sequential', 'CommonJS build'),
      ctx.rounds,
      () => sequentialOps(n, (i) => memCjs.set(key(i), i)),
      () => sequentialOps(n, (i) => memEsm.set(key(i), i)),
      shape,
    ),
  );
  out.push(
    await compare(
      row(group, 'memory: increment, sequential', 'CommonJS build'),
      ctx.rounds,
      () => sequentialOps(n, (i) => memCjs.increment(`c${i % keys}`)),
      () => sequentialOps(n, (i) => memEsm.increment(`c${i % keys}`)),
      shape,
    ),
  );
  await Promise.all([memCjs.close(), memEsm.close()]);

  // Each build opens its own client (ioredis loaded by `require` in one, `import()` in the other).
  const prefix = `bench:format:${process.pid}:`;
  const redisCjs = await cjs.RedisBackend.connect(ctx.redisUrl, { keyPrefix: `${prefix}cjs:` });
  const redisEsm = await esm.RedisBackend.connect(ctx.redisUrl, { keyPrefix: `${prefix}esm:` });
  try {
    for (let i = 0; i < keys; i++) {
      await redisCjs.set(key(i), i, 600_000);
      await redisEsm.set(key(i), i, 600_000);
    }
    const r = ctx.quick ? 5_000 : 20_000;
    out.push(
      await compare(
        row(group, 'Redis: get primitive, 100 in flight', 'CommonJS build'),
        ctx.rounds,
        () => concurrentOps(r, 100, (i) => redisCjs.get(key(i))),
        () => concurrentOps(r, 100, (i) => redisEsm.get(key(i))),
        shape,
      ),
    );
    out.push(
      await compare(
        row(group, 'Redis: increment, 100 in flight', 'CommonJS build'),
        ctx.rounds,
        () => concurrentOps(r, 100, (i) => redisCjs.increment(`c${i % keys}`, 600_000)),
        () => concurrentOps(r, 100, (i) => redisEsm.increment(`c${i % keys}`, 600_000)),
        shape,
      ),
    );
  } finally {
    await Promise.all([redisCjs.clear(), redisEsm.clear()].map((p) => p.catch(() => undefined)));
    await Promise.all([redisCjs.close(), redisEsm.close()]);
  }
  return out;
}
