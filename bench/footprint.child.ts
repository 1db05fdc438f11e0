// Child process: prints the heap bytes per key of one store holding N keys with short string values.
import { LRUCache } from 'lru-cache';
import { MemoryBackend } from '../lib/index.js';

const [which, countArg] = process.argv.slice(2);
const count = Number(countArg);
const gc = (globalThis as { gc?: () => void }).gc!;

async function main(): Promise<void> {
  gc();
  const before = process.memoryUsage().heapUsed;
  let keep: unknown;
  if (which === 'ours') {
    // Bounded by entries only, as lru-cache is: the default 64 MiB maxBytes would evict a part of 1M keys.
    const backend = new MemoryBackend({ maxEntries: count * 2, maxBytes: Number.MAX_SAFE_INTEGER });
    for (let i = 0; i < count; i++) await backend.set(`key:${i}`, `value-${i}`, 3_600_000);
    keep = backend;
  } else {
    const lru = new LRUCache<string, string>({ max: count * 2, ttl: 3_600_000 });
    for (let i = 0; i < count; i++) lru.set(`key:${i}`, `value-${i}`);
    keep = lru;
  }
  gc();
  const after = process.memoryUsage().heapUsed;
  process.stdout.write(JSON.stringify({ bytesPerKey: (after - before) / count, alive: keep !== undefined }));
  process.exit(0);
}

void main();
