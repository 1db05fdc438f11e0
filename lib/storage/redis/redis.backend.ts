import type { Cluster, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { BackendError } from '../../errors/backend.error.js';
import { BackendTimeoutError } from '../../errors/backend-timeout.error.js';
import { BackendUnavailableError } from '../../errors/backend-unavailable.error.js';
import { BackendValidationError } from '../../errors/backend-validation.error.js';
import { loadPackage } from '../../utils/load-package.util.js';
import type { Backend, BackendHit } from '../backend.interface.js';
import { BaseBackend } from '../base.backend.js';
import { assertDelta, assertKey, assertPattern, assertRequiredTtl, assertTtl } from '../storage.validation.js';
import { decodeValue, encodeValue } from '../value.codec.js';
import { type Coalescing, holdWritesForTurn } from './redis.coalesce.js';
import { describeConnectionError, stalledHandshake, watchHandshakes } from './redis.connection-error.js';
import { deadLinkMs } from './redis.dead-link.js';
import { guardClusterDeadlines } from './redis.deadline.js';
import { refusedSelect, toBackendError } from './redis.errors.js';
import { mayBeMisrouted, UnpipelinedCommands } from './redis.hash-tag.js';
import {
  HIT_COMMAND,
  HIT_SCRIPT,
  INCREMENT_COMMAND,
  INCREMENT_SCRIPT,
  STREAMED_HIT_COMMAND,
  STREAMED_INCREMENT_COMMAND,
  toCount,
  toHit,
} from './redis.scripts.js';
import { refreshSlotsEvery } from './redis.slots-refresh.js';
import type { LimitStepReply, LimitStepRequest } from '../limit-step.interface.js';
import { applyLimitStepWith } from '../limit-step.js';
import { LIMIT_STEP_COMMAND, LIMIT_STEP_SCRIPT, limitStepArguments, limitStepReply } from './redis.limit-step.js';
import type { IoRedisClient } from './redis.ioredis.js';
import { credentialsOf } from './redis.redact.js';
import { closeClient } from './redis.teardown.js';
import type { RedisBackendOptions, RedisClient, RedisTarget } from './redis.types.js';
import { checkClusterNodes, checkHostOptions, checkRedisUrl } from './redis.url.js';

type IoRedisModule = typeof import('ioredis');
type IncrementClient = IoRedisClient & {
  [INCREMENT_COMMAND](key: string, delta: number, ttlMs: number): Promise<number | string>;
  [STREAMED_INCREMENT_COMMAND](key: string, delta: number, ttlMs: number): Promise<number | string>;
  [HIT_COMMAND](key: string, delta: number, ttlMs: number): Promise<[number | string, number]>;
  [STREAMED_HIT_COMMAND](key: string, delta: number, ttlMs: number): Promise<[number | string, number]>;
  [LIMIT_STEP_COMMAND](numKeys: number, ...keysAndArgs: string[]): Promise<unknown>;
};

const SCAN_COUNT = 1000;
/** COUNT of the SCAN pages `keys()` reads: each page is yielded before the next is asked for. */
const KEYS_SCAN_COUNT = 500;

/** State shared by a backend and its namespaces: the client, its readiness and who owns it. */
interface Connection extends Coalescing {
  client: IncrementClient;
  owned: boolean;
  secrets: string[];
  commandTimeoutMs: number;
  maxPending: number;
  pending: number;
  ready?: Promise<void>;
  closed: boolean;
  /** Last connection error seen on a client we own (redacted), to explain an outage. */
  lastError?: string;
  /** Why every call fails on this connection: Redis refused its SELECT (it would work in database 0). */
  refused?: BackendError;
  /** On a Cluster: the path for keys ioredis would route to the wrong slot. */
  unpipelined?: UnpipelinedCommands;
  /** Whether the client is an ioredis Cluster (read once: every call asks). */
  cluster: boolean;
}

const toVoid = (): void => undefined;
const positive = (n: number): boolean => n > 0;
const isOk = (reply: string | null): boolean => reply === 'OK';
const decodeOrUndefined = (raw: string | null): unknown => (raw === null ? undefined : decodeValue(raw));
const fromPttl = (ms: number): number | null | undefined =>
  ms === -2 ? undefined : ms === -1 ? null : Math.max(1, ms);

/** Error translators of one connection, made once so the hot path allocates no closure. */
function failures(conn: Connection) {
  const make =
    (operation: string) =>
    (err: unknown): never => {
      throw toBackendError(err, operation, conn.secrets);
    };
  return {
    set: make('set'),
    get: make('get'),
    delete: make('delete'),
    exists: make('exists'),
    increment: make('increment'),
    hit: make('hit'),
    expire: make('expire'),
    ttl: make('ttl'),
    setIfAbsent: make('setIfAbsent'),
    throttle: make('throttle'),
  };
}

/** `promise`, or a {@link BackendTimeoutError} after `ms` (the slow path after a reconnection only). */
function withDeadline<T>(promise: Promise<T>, ms: number, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BackendTimeoutError(`Redis did not answer within ${timeoutMs} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/**
 * Lets a standalone client send the increment script straight to its socket under its second name,
 * never through ioredis' auto-pipeline when the application enabled it: the socket is already held
 * until the end of each turn (see {@link holdWritesForTurn}), so the increments of one turn leave in
 * one write without a pipeline object, and none waits for the replies of an earlier batch. A Cluster
 * keeps its auto-pipeline, which routes each command to its node. The client's option array is
 * replaced, never mutated, in case the application shares it.
 */
function streamIncrements(client: IoRedisClient): void {
  const options = client.options as { autoPipeliningIgnoredCommands?: string[] } | undefined;
  if (options === undefined) return;
  const ignored = options.autoPipeliningIgnoredCommands ?? [];
  const missing = [STREAMED_INCREMENT_COMMAND, STREAMED_HIT_COMMAND].filter((name) => !ignored.includes(name));
  if (missing.length > 0) options.autoPipeliningIgnoredCommands = [...ignored, ...missing];
}

function isClient(target: RedisTarget): target is RedisClient {
  return typeof (target as { sendCommand?: unknown }).sendCommand === 'function';
}

function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}

function positiveInt(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isSafeInteger(v) || v <= 0) {
    throw new BackendValidationError(`${name} must be a positive whole number of milliseconds`);
  }
  return v;
}

/**
 * The storage backend on Redis through ioredis: standalone, TLS (`rediss://`) or Cluster.
 * Every call is one round trip, keys carry `keyPrefix`, and no call outlives `commandTimeoutMs`;
 * on a standalone client the calls of one event-loop turn share one socket write.
 */
export class RedisBackend extends BaseBackend {
  readonly #conn: Connection;
  readonly #prefix: string;
  readonly #view: boolean;
  #failures?: ReturnType<typeof failures>;

  /**
   * Wraps an existing ioredis client; `close()` leaves it open. The client keeps its own options:
   * give it `commandTimeout`, `maxRetriesPerRequest: 0` and `autoResendUnfulfilledCommands: false`
   * (what {@link RedisBackend.create} uses), or ioredis may hold calls past `commandTimeoutMs` and
   * send a timed-out command again after a reconnection.
   */
  constructor(client: RedisClient, options: RedisBackendOptions = {}, internal?: object) {
    super();
    const prefix = options.keyPrefix ?? 'nb:';
    if (typeof prefix !== 'string') throw new BackendValidationError('keyPrefix must be a string');
    this.#prefix = prefix;
    this.#view = internal !== undefined;
    if (internal) {
      // A namespace view shares its parent's connection (the parameter is typed loosely to keep the
      // connection's ioredis types out of the published declarations).
      this.#conn = (internal as { conn: Connection }).conn;
      return;
    }
    const conn: Connection = {
      client: client as IncrementClient,
      owned: false,
      // A client passed in may carry credentials too: its errors must not show them either.
      secrets: credentialsOf(client),
      commandTimeoutMs: positiveInt(options.commandTimeoutMs, 1000, 'commandTimeoutMs'),
      maxPending: options.maxPendingWhileDisconnected ?? 10_000,
      pending: 0,
      closed: false,
      cluster: (client as { isCluster?: boolean }).isCluster === true,
      corked: false,
    };
    if (conn.cluster) {
      conn.unpipelined = new UnpipelinedCommands(
        client as Cluster,
        loadPackage<IoRedisModule>('ioredis', 'RedisBackend'),
      );
    }
    for (const name of [INCREMENT_COMMAND, STREAMED_INCREMENT_COMMAND] as const) {
      if (typeof conn.client[name] !== 'function')
        client.defineCommand(name, { numberOfKeys: 1, lua: INCREMENT_SCRIPT });
    }
    for (const name of [HIT_COMMAND, STREAMED_HIT_COMMAND] as const) {
      if (typeof conn.client[name] !== 'function') client.defineCommand(name, { numberOfKeys: 1, lua: HIT_SCRIPT });
    }
    if (typeof conn.client[LIMIT_STEP_COMMAND] !== 'function') {
      client.defineCommand(LIMIT_STEP_COMMAND, { lua: LIMIT_STEP_SCRIPT });
    }
    if (!conn.cluster) streamIncrements(conn.client);
    this.#conn = conn;
  }

  /**
   * Creates the client for `target` and starts connecting without waiting: calls made while it
   * connects wait for it, up to `commandTimeoutMs`.
   */
  static create(target: RedisTarget, options: RedisBackendOptions = {}): RedisBackend {
    if (isClient(target)) return new RedisBackend(target, options);
    const timeout = positiveInt(options.commandTimeoutMs, 1000, 'commandTimeoutMs');
    const url = typeof target === 'string' ? checkRedisUrl(target) : undefined;
    if (typeof target !== 'string') {
      if ('cluster' in target && Array.isArray(target.cluster)) checkClusterNodes(target.cluster);
      else checkHostOptions(target as RedisOptions, 'Redis options');
    }
    const ioredis = loadPackage<IoRedisModule>('ioredis', 'RedisBackend');
    const defaults: RedisOptions = {
      lazyConnect: true,
      commandTimeout: timeout,
      connectTimeout: Math.max(timeout, 1000),
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // ioredis waits this long for a socket to close on disconnect (even one that is already gone).
      disconnectTimeout: 200,
      // A standalone client holds its writes until the end of each turn instead (holdWritesForTurn).
      enableAutoPipelining: false,
      retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
      // A link that stops answering (a load balancer or NAT that forgot the flow, no FIN, no RST)
      // is cut once nothing arrived for this long while commands wait, and replaced.
      socketTimeout: deadLinkMs(timeout),
    };
    let client: IoRedisClient;
    let slotsEveryMs = 0;
    if (typeof target === 'string') {
      client = new ioredis.Redis(url!, defaults);
    } else if ('cluster' in target && Array.isArray(target.cluster)) {
      const { cluster, options: clusterOptions = {} } = target;
      const { redisOptions, slotsRefreshInterval = 2000, ...rest } = clusterOptions as ClusterOptions;
      // The slot map is re-read by refreshSlotsEvery below, not by ioredis' own timer.
      slotsEveryMs = slotsRefreshInterval;
      const nodeDefaults = { ...defaults } as Record<string, unknown>;
      delete nodeDefaults.lazyConnect;
      delete nodeDefaults.retryStrategy;
      delete nodeDefaults.enableAutoPipelining;
      client = new ioredis.Cluster(cluster, {
        lazyConnect: true,
        enableAutoPipelining: true,
        clusterRetryStrategy: (times: number) => Math.min(100 * times, 2000),
        // A command in flight when its node's connection dropped may already have run: fail it
        // rather than send it again (an increment would count twice).
        retryDelayOnFailover: 0,
        slotsRefreshTimeout: Math.min(timeout, 1000),
        ...rest,
        redisOptions: { ...nodeDefaults, ...redisOptions },
      });
      guardClusterDeadlines(client as Cluster, timeout);
    } else {
      client = new ioredis.Redis({ ...defaults, ...(target as RedisOptions), lazyConnect: true });
    }
    const backend = new RedisBackend(client, { ...options, commandTimeoutMs: timeout });
    const conn = backend.#conn;
    conn.owned = true;
    conn.secrets = [...new Set([...credentialsOf(target), ...conn.secrets])].sort((a, b) => b.length - a.length);
    const tls = Boolean(
      (client.options as { tls?: unknown }).tls ??
      (client.options as { redisOptions?: { tls?: unknown } }).redisOptions?.tls,
    );
    if (slotsEveryMs > 0) {
      // Re-read the slot map regularly, so a master that hangs without closing its socket is
      // replaced once the Cluster has promoted its replica.
      refreshSlotsEvery(client as Cluster, slotsEveryMs, () => conn.closed);
    }
    // Connection errors surface through calls; without a listener ioredis would print each one.
    let nodeError: string | undefined;
    client.on('error', (err: Error) => {
      const text = describeConnectionError(err, client, tls, conn.secrets);
      // A Cluster says only "Failed to refresh slots cache": add why its last node failed.
      conn.lastError =
        nodeError !== undefined && /slots cache/.test(text) ? `${text} Last node error: ${nodeError}` : text;
      conn.refused = refusedSelect(err, conn.secrets) ?? conn.refused;
    });
    client.on('node error', (err: Error, key: string) => {
      nodeError = `${key} ${describeConnectionError(err, client, tls, conn.secrets)}`;
    });
    // Each connection sends its SELECT again; it is refused again or it works.
    client.on('connect', () => {
      conn.refused = undefined;
    });
    client.on('ready', () => {
      conn.lastError = undefined;
    });
    if (tls) watchHandshakes(client);
    client.connect().catch(() => undefined);
    return backend;
  }

  /** Creates the client for `target` and waits for its first connection (`connectTimeoutMs`). */
  static async connect(target: RedisTarget, options: RedisBackendOptions = {}): Promise<RedisBackend> {
    const backend = RedisBackend.create(target, options);
    const wait = positiveInt(options.connectTimeoutMs, 5000, 'connectTimeoutMs');
    try {
      await backend.#whenReady(wait);
    } catch (err) {
      await backend.close();
      throw err;
    }
    return backend;
  }

  /**
   * The underlying ioredis client (shared with namespaces), typed structurally so that the published
   * declarations need no ioredis: read it as your own ioredis type (`backend.client as Redis`).
   */
  get client(): RedisClient {
    return this.#conn.client;
  }

  /** The prefix this backend prepends to every key. */
  get keyPrefix(): string {
    return this.#prefix;
  }

  set<V>(key: string, value: V, ttlMs?: number | null): Promise<void> {
    let raw: string;
    try {
      assertKey(key);
      assertTtl(ttlMs);
      raw = encodeValue(value);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.set(key, value, ttlMs));
    const full = this.#prefix + key;
    const rare = this.#unpipelined(full);
    const sent = rare
      ? rare.set(full, ...(ttlMs == null ? [raw] : [raw, 'PX', ttlMs]))
      : ttlMs == null
        ? client.set(full, raw)
        : client.set(full, raw, 'PX', ttlMs);
    return this.#bounded(sent).then(toVoid, this.#fail.set);
  }

  get<V = unknown>(key: string): Promise<V | undefined> {
    try {
      assertKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.get<V>(key));
    const full = this.#prefix + key;
    const sent = (this.#unpipelined(full) ?? client).get(full);
    return this.#bounded(sent).then(decodeOrUndefined, this.#fail.get) as Promise<V | undefined>;
  }

  delete(key: string): Promise<boolean> {
    try {
      assertKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.delete(key));
    const full = this.#prefix + key;
    return this.#bounded((this.#unpipelined(full) ?? client).del(full)).then(positive, this.#fail.delete);
  }

  exists(key: string): Promise<boolean> {
    try {
      assertKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.exists(key));
    const full = this.#prefix + key;
    return this.#bounded((this.#unpipelined(full) ?? client).exists(full)).then(positive, this.#fail.exists);
  }

  override increment(key: string, ttlMs?: number | null): Promise<number> {
    return this.incrementBy(key, 1, ttlMs);
  }

  incrementBy(key: string, delta: number, ttlMs?: number | null): Promise<number> {
    try {
      assertKey(key);
      assertDelta(delta);
      assertTtl(ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.incrementBy(key, delta, ttlMs));
    const full = this.#prefix + key;
    const ttl = ttlMs ?? 0;
    if (!this.#conn.cluster) {
      return client[STREAMED_INCREMENT_COMMAND](full, delta, ttl).then(toCount, this.#fail.increment);
    }
    const rare = this.#unpipelined(full);
    const sent = rare ? rare.incrementBy(full, delta, ttl) : client[INCREMENT_COMMAND](full, delta, ttl);
    return this.#bounded(sent).then(toCount, this.#fail.increment);
  }

  /** One EVALSHA of {@link HIT_SCRIPT} (EVAL once more only when the server lost the script). */
  hit(key: string, ttlMs: number, delta = 1): Promise<BackendHit> {
    try {
      assertKey(key);
      assertDelta(delta);
      assertRequiredTtl(ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.hit(key, ttlMs, delta));
    const full = this.#prefix + key;
    if (!this.#conn.cluster) {
      return client[STREAMED_HIT_COMMAND](full, delta, ttlMs).then(toHit, this.#fail.hit);
    }
    const rare = this.#unpipelined(full);
    const sent = rare ? rare.hit(full, delta, ttlMs) : client[HIT_COMMAND](full, delta, ttlMs);
    return this.#bounded(sent).then(toHit, this.#fail.hit);
  }

  /** PEXPIRE: `true` when the key existed. */
  expire(key: string, ttlMs: number): Promise<boolean> {
    try {
      assertKey(key);
      assertRequiredTtl(ttlMs);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.expire(key, ttlMs));
    const full = this.#prefix + key;
    const sent = (this.#unpipelined(full) ?? client).pexpire(full, ttlMs);
    return this.#bounded(sent).then(positive, this.#fail.expire);
  }

  /**
   * This backend's live keys without its prefix (see {@link Backend.keys}): `SCAN MATCH
   * <escaped prefix><pattern> COUNT 500` on the server, or on every master of a Cluster one after
   * the other, one page at a time. Keys are not deduplicated: SCAN may return a key twice (rarely,
   * while the server resizes its table), and a key written or deleted during the scan may or may not
   * appear. Expired keys are filtered by the server. A bad pattern rejects the first step.
   */
  async *keys(pattern?: string): AsyncGenerator<string> {
    assertPattern(pattern);
    const client = await this.#ready();
    const prefix = this.#prefix;
    const match = globEscape(prefix) + (pattern ?? '*');
    const nodes: Redis[] = this.#isCluster ? (client as Cluster).nodes('master') : [client as Redis];
    for (const node of nodes) {
      let cursor = '0';
      do {
        let page: string[];
        try {
          [cursor, page] = await this.#bounded(node.scan(cursor, 'MATCH', match, 'COUNT', KEYS_SCAN_COUNT));
        } catch (err) {
          throw toBackendError(err, 'keys', this.#conn.secrets);
        }
        for (const full of page) yield full.slice(prefix.length);
      } while (cursor !== '0');
    }
  }

  /**
   * The throttler's multi-limit step (see {@link LimitStepBackend}) in one script, so one round trip;
   * its keys share a hash tag, so on a Cluster they are on one node. Keys that ioredis would route to
   * the wrong node (an empty `{}` in the prefix) take the generic path instead.
   */
  applyLimitStep(request: LimitStepRequest): Promise<LimitStepReply> {
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.applyLimitStep(request));
    const { keys, args } = limitStepArguments(request, this.#prefix);
    if (this.#conn.cluster && keys.some(mayBeMisrouted)) return applyLimitStepWith(this, request);
    return this.#bounded(client[LIMIT_STEP_COMMAND](keys.length, ...keys, ...args)).then(
      limitStepReply,
      this.#fail.throttle,
    );
  }

  ttl(key: string): Promise<number | null | undefined> {
    try {
      assertKey(key);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.ttl(key));
    const full = this.#prefix + key;
    return this.#bounded((this.#unpipelined(full) ?? client).pttl(full)).then(fromPttl, this.#fail.ttl);
  }

  setIfAbsent<V>(key: string, value: V, ttlMs?: number | null): Promise<boolean> {
    let raw: string;
    try {
      assertKey(key);
      assertTtl(ttlMs);
      raw = encodeValue(value);
    } catch (err) {
      return Promise.reject(err);
    }
    const client = this.#client();
    if (client === undefined) return this.#afterReconnect(() => this.setIfAbsent(key, value, ttlMs));
    const full = this.#prefix + key;
    const rare = this.#unpipelined(full);
    const sent = rare
      ? rare.set(full, ...(ttlMs == null ? [raw, 'NX'] : [raw, 'PX', ttlMs, 'NX']))
      : ttlMs == null
        ? client.set(full, raw, 'NX')
        : client.set(full, raw, 'PX', ttlMs, 'NX');
    return this.#bounded(sent).then(isOk, this.#fail.setIfAbsent);
  }

  override async getMany<V = unknown>(keys: readonly string[]): Promise<(V | undefined)[]> {
    if (keys.length === 0) return [];
    keys.forEach(assertKey);
    const client = await this.#ready();
    if (this.#isCluster) return super.getMany<V>(keys);
    let raws: (string | null)[];
    try {
      raws = await (client as Redis).mget(keys.map((k) => this.#prefix + k));
    } catch (err) {
      throw toBackendError(err, 'getMany', this.#conn.secrets);
    }
    return raws.map((raw) => (raw === null ? undefined : decodeValue<V>(raw)));
  }

  namespace(prefix: string): Backend {
    assertKey(prefix);
    return new RedisBackend(this.#conn.client, { keyPrefix: this.#prefix + prefix }, { conn: this.#conn });
  }

  /** Removes this backend's keys with SCAN MATCH + UNLINK on every master; other keys survive. */
  async clear(): Promise<void> {
    const client = await this.#ready();
    const pattern = globEscape(this.#prefix) + '*';
    const cluster = this.#isCluster;
    const nodes: Redis[] = cluster ? (client as Cluster).nodes('master') : [client as Redis];
    try {
      await Promise.all(
        nodes.map(async (node) => {
          let cursor = '0';
          do {
            const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', SCAN_COUNT);
            cursor = next;
            if (keys.length === 0) continue;
            if (!cluster) {
              await node.unlink(...keys);
            } else {
              const batch = node.pipeline();
              for (const k of keys) batch.unlink(k);
              await batch.exec();
            }
          } while (cursor !== '0');
        }),
      );
    } catch (err) {
      throw toBackendError(err, 'clear', this.#conn.secrets);
    }
  }

  /** Closes the client when this backend created it; a client passed in stays open. */
  async close(): Promise<void> {
    const conn = this.#conn;
    if (!conn.owned || conn.closed || this.#view) return;
    conn.closed = true;
    await closeClient(conn.client, conn.commandTimeoutMs);
  }

  /** Shows no connection details: the client's options may hold a password. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `RedisBackend { keyPrefix: ${JSON.stringify(this.#prefix)}, mode: ${this.#isCluster ? 'cluster' : 'standalone'}, status: ${this.#conn.client.status} }`;
  }

  /** Same redacted description for `JSON.stringify`. */
  toJSON(): Record<string, string> {
    return { keyPrefix: this.#prefix, mode: this.#isCluster ? 'cluster' : 'standalone' };
  }

  get #isCluster(): boolean {
    return this.#conn.cluster;
  }

  get #fail(): ReturnType<typeof failures> {
    return (this.#failures ??= failures(this.#conn));
  }

  /** The one-by-one path when `full` is a key ioredis would send to the wrong Cluster master. */
  #unpipelined(full: string): UnpipelinedCommands | undefined {
    const rare = this.#conn.unpipelined;
    return rare !== undefined && mayBeMisrouted(full) ? rare : undefined;
  }

  /**
   * On a Cluster, bounds a call by `commandTimeoutMs` from now. ioredis starts a command's timer only
   * when it reaches a node, and an auto-pipeline may hold it first while the slots are refreshed
   * after a failover; a standalone client times its commands from the call, so it needs nothing.
   */
  #bounded<T>(sent: Promise<T>): Promise<T> {
    if (!this.#isCluster) return sent;
    const ms = this.#conn.commandTimeoutMs;
    return withDeadline(sent, ms, ms);
  }

  /** The client when it is connected, else undefined; a standalone client's socket is then held for this turn. */
  #client(): IncrementClient | undefined {
    const conn = this.#conn;
    const client = conn.client;
    if (client.status !== 'ready' || conn.closed || conn.refused !== undefined) return undefined;
    if (!conn.corked && !conn.cluster) holdWritesForTurn(conn, client);
    return client;
  }

  /**
   * Runs `call` once the client is connected again. The wait and the command share one deadline
   * (`commandTimeoutMs` from the first call), so a call never takes twice the timeout.
   */
  #afterReconnect<T>(call: () => Promise<T>): Promise<T> {
    const timeoutMs = this.#conn.commandTimeoutMs;
    const deadline = Date.now() + timeoutMs;
    return this.#whenReady(timeoutMs).then(() => {
      if (this.#client() === undefined) throw new BackendUnavailableError('Redis connection was lost again');
      const left = deadline - Date.now();
      if (left <= 0) throw new BackendTimeoutError(`Redis did not answer within ${timeoutMs} ms (it was reconnecting)`);
      return withDeadline(call(), left, timeoutMs);
    });
  }

  /** The client once usable, for the less frequent operations. */
  async #ready(): Promise<IncrementClient> {
    const client = this.#client();
    if (client) return client;
    await this.#whenReady(this.#conn.commandTimeoutMs);
    return this.#conn.client;
  }

  #whenReady(timeoutMs: number): Promise<void> {
    const conn = this.#conn;
    const client = conn.client;
    if (conn.closed || client.status === 'end') {
      return Promise.reject(new BackendUnavailableError('Redis backend is closed'));
    }
    if (conn.refused !== undefined) return Promise.reject(conn.refused);
    if (client.status === 'ready') return Promise.resolve();
    if (conn.pending >= conn.maxPending) {
      return Promise.reject(
        new BackendUnavailableError(`Redis is not connected (${client.status}) and ${conn.pending} calls already wait`),
      );
    }
    conn.ready ??= new Promise<void>((resolve) => {
      client.once('ready', () => {
        conn.ready = undefined;
        resolve();
      });
    });
    conn.pending++;
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        conn.pending--;
        const reason = stalledHandshake(client) ?? conn.lastError;
        const why = reason ? `: ${reason}` : '';
        reject(
          new BackendUnavailableError(`Redis is not connected (${client.status}${why}); gave up after ${timeoutMs} ms`),
        );
      }, timeoutMs);
      conn.ready!.then(() => {
        clearTimeout(timer);
        conn.pending--;
        if (conn.refused !== undefined) reject(conn.refused);
        else resolve();
      });
    });
  }
}
