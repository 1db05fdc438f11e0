import type { Backend } from './backend.interface.js';
import type {
  RedisClient,
  RedisClusterConnectionOptions,
  RedisClusterNode,
  RedisConnectionOptions,
} from './redis/redis-options.types.js';
import type { RedisBackendOptions } from './redis/redis.types.js';

/** The embedded in-process store (the default). */
export interface MemoryStorageOptions {
  type: 'memory';
  /** Most entries kept before least-recently-used eviction. @default 100000 */
  maxEntries?: number;
  /** Most bytes kept, as counted (2 bytes per character of keys and strings, plus overheads). @default 67108864 (64 MiB) */
  maxBytes?: number;
  /** Largest entry a `set` accepts, counted like `maxBytes`; larger ones are refused. @default maxBytes / 16 */
  maxEntryBytes?: number;
  /** Interval of the background expiry sweep, in ms. @default 5000 */
  sweepIntervalMs?: number;
}

/** Redis through ioredis: give one of `url`, `cluster`, `options` or `client`. */
export interface RedisStorageOptions extends RedisBackendOptions {
  type: 'redis';
  /** `redis://[user:password@]host:port[/db]`, or `rediss://` for TLS. */
  url?: string;
  /** Seed nodes of a Redis Cluster. */
  cluster?: RedisClusterNode[];
  /** ioredis options (or Cluster options when `cluster` is set). */
  options?: RedisConnectionOptions | RedisClusterConnectionOptions;
  /** An existing ioredis client; the module never closes it. */
  client?: RedisClient;
}

/** How the module gets its storage: a memory or Redis description, or any {@link Backend} object. */
export type StorageOptions = MemoryStorageOptions | RedisStorageOptions | Backend;
