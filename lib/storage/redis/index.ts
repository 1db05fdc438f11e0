export { RedisBackend } from './redis.backend.js';
export type { RedisBackendOptions, RedisClient, RedisTarget } from './redis.types.js';
