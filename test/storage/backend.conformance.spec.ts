import { describeBackendConformance } from '../contracts/backend.contract.js';
import { MemoryBackend, RedisBackend } from '../../lib/index.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';

// The conformance suite checks behaviour, not latency. It runs beside the scale-out suites, whose
// eight processes load the same Redis, and there 1,000 increments in flight on one Cluster key
// have taken past the default 1 s deadline. The deadline itself is tested in redis.backend.spec.ts
// and test/reliability/redis-faults.spec.ts.
const COMMAND_TIMEOUT_MS = 10_000;

describeBackendConformance('MemoryBackend', async () => {
  const backend = new MemoryBackend();
  return { backend, dispose: () => backend.close(), inProcess: true };
});

describeBackendConformance('RedisBackend (standalone)', async () => {
  const backend = await RedisBackend.connect(redisUrl(), {
    keyPrefix: uniquePrefix('conf'),
    commandTimeoutMs: COMMAND_TIMEOUT_MS,
  });
  return { backend, dispose: () => backend.close() };
});

describeBackendConformance('RedisBackend (Cluster)', async () => {
  const backend = await RedisBackend.connect(
    { cluster: clusterNodes() },
    {
      keyPrefix: uniquePrefix('conf-cluster'),
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    },
  );
  return { backend, dispose: () => backend.close() };
});
