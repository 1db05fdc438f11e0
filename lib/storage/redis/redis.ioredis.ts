import type { Cluster, Redis } from 'ioredis';

/**
 * @internal The ioredis client a backend works with, standalone or Cluster. Kept out of every public
 * declaration (which use the structural `RedisClient`), so that apps without ioredis compile.
 */
export type IoRedisClient = Redis | Cluster;
