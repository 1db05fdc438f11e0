import type { BackendsModuleOptions } from 'nestjs-backends';

/** Builds the module options from environment variables: memory storage unless REDIS_URL is set. */
export function sampleOptions(env: NodeJS.ProcessEnv): BackendsModuleOptions {
  if (env.REDIS_CLUSTER_NODES) {
    const cluster = env.REDIS_CLUSTER_NODES.split(',').map((hp) => {
      const [host, port] = hp.trim().split(':');
      return { host, port: Number(port) };
    });
    return { storage: { type: 'redis', cluster, keyPrefix: 'sample:' } };
  }
  if (env.REDIS_URL) return { storage: { type: 'redis', url: env.REDIS_URL, keyPrefix: 'sample:' } };
  return { storage: { type: 'memory' } };
}
