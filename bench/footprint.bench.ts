import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { type BenchContext, type Comparison, median } from './bench.util.js';

const child = fileURLToPath(new URL('./footprint.child.js', import.meta.url));

function bytesPerKey(which: 'ours' | 'lru', count: number): number {
  const out = execFileSync('node', ['--expose-gc', child, which, String(count)], { encoding: 'utf8' });
  return JSON.parse(out).bytesPerKey as number;
}

/** Heap bytes per key at 1M keys: MemoryBackend against lru-cache, each in a fresh process, alternately. */
export async function runFootprintBench(ctx: BenchContext): Promise<Comparison[]> {
  const count = ctx.quick ? 100_000 : 1_000_000;
  const ours: number[] = [];
  const lru: number[] = [];
  for (let i = 0; i < ctx.rounds; i++) {
    if (i % 2 === 0) {
      ours.push(bytesPerKey('ours', count));
      lru.push(bytesPerKey('lru', count));
    } else {
      lru.push(bytesPerKey('lru', count));
      ours.push(bytesPerKey('ours', count));
    }
  }
  const mo = median(ours);
  const ml = median(lru);
  return [
    {
      group: 'storage (memory)',
      workload: `heap bytes per key, ${count.toLocaleString('en-US')} keys with TTL and short string values`,
      unit: 'bytes/key',
      lowerIsBetter: true,
      ours: { label: 'MemoryBackend', rounds: ours, median: mo },
      peer: { label: 'lru-cache', rounds: lru, median: ml },
      ratio: ml / mo,
      target: { ratio: 1 / 1.5, text: '<= 1.5x lru-cache bytes/key' },
    },
  ];
}
