/**
 * ioredis' connection options, written out structurally so that the published declarations need no ioredis
 * types (a memory-only app compiles with `skipLibCheck: false` without ioredis installed). Every option name of
 * ioredis 6's `RedisOptions` / `ClusterOptions` is listed, so a value typed with ioredis' own types is
 * assignable; the options this package documents carry their types, the rest are passed to ioredis unchecked.
 */

/** A TLS setting: `true`-like objects as `tls.connect` takes them (`ca`, `cert`, `key`, `servername`...). */
export type RedisTlsOptions = Record<string, unknown> | object;

/** One Sentinel of a Sentinel deployment. */
export interface RedisSentinelAddress {
  host?: string;
  port?: number;
  family?: number;
}

/** Options of a standalone (or Sentinel-managed) ioredis client. */
export interface RedisConnectionOptions {
  host?: string;
  port?: number;
  /** A Unix socket path instead of host and port. */
  path?: string;
  username?: string;
  password?: string;
  db?: number;
  /** TLS options (`ca`, `cert`, `key`, `servername`...); certificates are verified unless told otherwise. */
  tls?: RedisTlsOptions;
  family?: number;
  connectTimeout?: number;
  commandTimeout?: number;
  socketTimeout?: number;
  keepAlive?: number;
  connectionName?: string;
  lazyConnect?: boolean;
  enableAutoPipelining?: boolean;
  autoPipeliningIgnoredCommands?: string[];
  maxRetriesPerRequest?: number | null;
  retryStrategy?: ((times: number) => number | void | null) | null;
  /** Sentinel deployments: the sentinels, the master's name and the sentinels' own credentials. */
  sentinels?: Partial<RedisSentinelAddress>[];
  name?: string;
  role?: 'master' | 'slave';
  sentinelUsername?: string;
  sentinelPassword?: string;
  Connector?: unknown;
  blockingTimeout?: unknown;
  blockingTimeoutGrace?: unknown;
  noDelay?: unknown;
  disableClientInfo?: unknown;
  clientInfoTag?: unknown;
  autoResubscribe?: unknown;
  autoResendUnfulfilledCommands?: unknown;
  reconnectOnError?: unknown;
  readOnly?: unknown;
  stringNumbers?: unknown;
  protocol?: unknown;
  replyMapping?: unknown;
  monitor?: unknown;
  maxLoadingRetryTime?: unknown;
  offlineQueue?: unknown;
  commandQueue?: unknown;
  enableOfflineQueue?: unknown;
  enableReadyCheck?: unknown;
  scripts?: unknown;
  himportFieldsets?: unknown;
  keyPrefix?: unknown;
  showFriendlyErrorStack?: unknown;
  sentinelRetryStrategy?: unknown;
  sentinelReconnectStrategy?: unknown;
  preferredSlaves?: unknown;
  disconnectTimeout?: unknown;
  sentinelCommandTimeout?: unknown;
  enableTLSForSentinelMode?: unknown;
  sentinelTLS?: unknown;
  natMap?: unknown;
  updateSentinels?: unknown;
  sentinelMaxConnections?: unknown;
  failoverDetector?: unknown;
}

/** A seed node of a Redis Cluster: `'host:port'`, a port, or `{ host, port }`. */
export type RedisClusterNode = string | number | { host?: string; port?: number };

/** Options of an ioredis Cluster client. */
export interface RedisClusterConnectionOptions {
  /** Options of the connection to every node (credentials, TLS). */
  redisOptions?: RedisConnectionOptions;
  /** How often the slot map is read again, in ms. @default 2000 */
  slotsRefreshInterval?: number;
  scaleReads?: unknown;
  clusterRetryStrategy?: unknown;
  enableOfflineQueue?: unknown;
  enableReadyCheck?: unknown;
  maxRedirections?: unknown;
  retryDelayOnFailover?: unknown;
  retryDelayOnClusterDown?: unknown;
  retryDelayOnTryAgain?: unknown;
  retryDelayOnMoved?: unknown;
  slotsRefreshTimeout?: unknown;
  shardedSubscribers?: unknown;
  clusterNodeRetryStrategy?: unknown;
  lazyConnect?: unknown;
  useSRVRecords?: unknown;
  resolveSrv?: unknown;
  dnsLookup?: unknown;
  natMap?: unknown;
  enableAutoPipelining?: unknown;
  autoPipeliningIgnoredCommands?: unknown;
  scripts?: unknown;
  himportFieldsets?: unknown;
  keyPrefix?: unknown;
  showFriendlyErrorStack?: unknown;
}

/**
 * An ioredis client (`new Redis(...)` or `new Cluster(...)`), seen through the members the backend checks.
 * Read {@link RedisBackend.client} back with your own ioredis type: `backend.client as Redis`.
 */
export interface RedisClient {
  readonly status: string;
  sendCommand(...args: never[]): unknown;
  defineCommand(name: string, definition: { lua: string; numberOfKeys?: number }): void;
  quit(): Promise<unknown>;
  disconnect(reconnect?: boolean): void;
}
