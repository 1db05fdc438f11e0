export { RedisBackend } from './redis.backend.js';
export type { RedisBackendOptions, RedisClient, RedisTarget } from './redis.types.js';
export type {
  RedisClusterConnectionOptions,
  RedisClusterNode,
  RedisConnectionOptions,
  RedisSentinelAddress,
  RedisTlsOptions,
} from './redis-options.types.js';
