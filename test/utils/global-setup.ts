import { RedisClusterProcess, RedisProcess } from './redis-server.js';

declare global {
  var __NB_SERVERS__: { destroy(): Promise<void> }[] | undefined;
}

/** Starts the private Redis and Redis Cluster used by the suites, unless the environment names them. */
export default async function globalSetup(): Promise<void> {
  const servers: { destroy(): Promise<void> }[] = [];
  globalThis.__NB_SERVERS__ = servers;
  try {
    if (!process.env.REDIS_URL) {
      const redis = await RedisProcess.start();
      servers.push(redis);
      process.env.REDIS_URL = redis.url;
    }
    if (!process.env.REDIS_CLUSTER_NODES) {
      const cluster = await RedisClusterProcess.start(3, 0);
      servers.push(cluster);
      process.env.REDIS_CLUSTER_NODES = cluster.spec;
    }
  } catch (err) {
    await Promise.all(servers.map((s) => s.destroy()));
    // One line that says what to do, not a stack trace.
    process.stderr.write(`\nnpm test: ${(err as Error).message}\n`);
    process.exit(1);
  }
}
