import { describeBackendConformance } from '../contracts/backend.contract.js';
import { MemoryBackend, RedisBackend } from '../../lib/index.js';
import { clusterNodes, redisUrl, uniquePrefix } from '../utils/redis-env.js';

describeBackendConformance('MemoryBackend', async () => {
  const backend = new MemoryBackend();
  return { backend, dispose: () => backend.close() };
});

describeBackendConformance('RedisBackend (standalone)', async () => {
  const backend = await RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix('conf') });
  return { backend, dispose: () => backend.close() };
});

describeBackendConformance('RedisBackend (Cluster)', async () => {
  const backend = await RedisBackend.connect({ cluster: clusterNodes() }, { keyPrefix: uniquePrefix('conf-cluster') });
  return { backend, dispose: () => backend.close() };
});
