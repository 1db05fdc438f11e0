import type {
  RedisClient,
  RedisClusterConnectionOptions,
  RedisClusterNode,
  RedisConnectionOptions,
} from './redis-options.types.js';

export type { RedisClient } from './redis-options.types.js';

/** What {@link RedisBackend.connect} accepts: a URL, ioredis options, a Cluster description or a client. */
export type RedisTarget =
  | string
  | RedisConnectionOptions
  | { cluster: RedisClusterNode[]; options?: RedisClusterConnectionOptions }
  | RedisClient;

/** Options of {@link RedisBackend}. */
export interface RedisBackendOptions {
  /** Prepended verbatim, once, to every key. @default 'nb:' */
  keyPrefix?: string;
  /** Deadline of every call, in ms; a call that cannot finish by then rejects. @default 1000 */
  commandTimeoutMs?: number;
  /** How long `connect()` waits for the first connection, in ms. @default 5000 */
  connectTimeoutMs?: number;
  /** Calls allowed to wait for a reconnection at once; more reject at once. @default 10000 */
  maxPendingWhileDisconnected?: number;
}
