import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RedisBackend } from '../../lib/index.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';

const run = promisify(execFile);
const worker = join(process.cwd(), 'test/fixtures/counter-worker.mjs');
const PROCESSES = 8;
const INCREMENTS = 10_000;

describe('scale-out: one counter shared by 8 processes', () => {
  it.each([
    ['standalone Redis', () => redisUrl(), () => redisUrl()],
    ['Redis Cluster', () => `cluster:${JSON.stringify(clusterNodes())}`, () => ({ cluster: clusterNodes() })],
  ])(
    '%s: 8 x 10,000 increments end at exactly 80,000, and every value 1..80,000 is handed out once',
    async (_label, workerTarget, target) => {
      const prefix = uniquePrefix('scale');
      const outputs = await Promise.all(
        Array.from({ length: PROCESSES }, () =>
          run('node', [worker, workerTarget(), prefix, 'hits', String(INCREMENTS), '16'], {
            maxBuffer: 16 * 1024 * 1024,
          }),
        ),
      );
      const handedOut = outputs.flatMap(({ stdout }) => JSON.parse(stdout) as number[]);
      expect(handedOut).toHaveLength(PROCESSES * INCREMENTS);
      // Atomicity: no two callers, in any process, ever saw the same count.
      const sorted = Int32Array.from(handedOut).sort();
      expect(sorted[0]).toBe(1);
      expect(sorted.every((v, i) => v === i + 1)).toBe(true);
      const backend = await RedisBackend.connect(target(), { keyPrefix: prefix });
      try {
        expect(await backend.get('hits')).toBe(PROCESSES * INCREMENTS);
        const ttl = await backend.ttl('hits');
        expect(ttl).toBeGreaterThan(0);
        await backend.clear();
      } finally {
        await backend.close();
      }
    },
    60_000,
  );
});
