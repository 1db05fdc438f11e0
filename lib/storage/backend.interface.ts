/** What {@link Backend.hit} resolves: the counter after the step and what is left of its window. */
export interface BackendHit {
  /** The counter's value after the step. */
  count: number;
  /**
   * Remaining lifetime of the counter in ms (at least 1); `null` only for an integer that was stored
   * without expiry and kept it (see {@link Backend.hit}).
   */
  ttlMs: number | null;
}

/**
 * The shared key-value store with TTL behind throttling, caching and sessions.
 * TTLs are in milliseconds; `undefined` or `null` means no expiry.
 */
export interface Backend {
  /** Stores a JSON-compatible value or bytes under `key`, replacing any previous value and TTL. */
  set<V>(key: string, value: V, ttlMs?: number | null): Promise<void>;
  /** Reads a copy of the value, or `undefined` when the key is missing or expired. */
  get<V = unknown>(key: string): Promise<V | undefined>;
  /** Removes `key`; resolves `true` when something was removed. */
  delete(key: string): Promise<boolean>;
  /** Whether `key` holds a live value. */
  exists(key: string): Promise<boolean>;
  /**
   * Atomically adds 1; a missing key becomes 1 and takes `ttlMs`, an existing counter keeps its
   * remaining TTL (a fixed window). A counter at 0 without expiry counts as new (it takes `ttlMs`).
   */
  increment(key: string, ttlMs?: number | null): Promise<number>;
  /** Like {@link Backend.increment} with any integer `delta`. */
  incrementBy(key: string, delta: number, ttlMs?: number | null): Promise<number>;
  /**
   * One atomic step of {@link Backend.incrementBy} (same TTL rules: a missing key becomes `delta` and
   * takes `ttlMs`, an existing counter keeps its remaining TTL, a counter at 0 without expiry counts as
   * new, any other integer without expiry keeps none) that also answers the remaining TTL; one round
   * trip on Redis. `ttlMs` is required.
   */
  hit(key: string, ttlMs: number, delta?: number): Promise<BackendHit>;
  /**
   * Gives an existing key a new TTL of `ttlMs` (PEXPIRE); resolves `true` when the key existed, and
   * never creates a missing or expired one. `ttlMs` is required.
   */
  expire(key: string, ttlMs: number): Promise<boolean>;
  /**
   * This backend's (or namespace's) live keys, without its prefix, optionally filtered by a Redis glob
   * `pattern` (`*`, `?`, `[abc]`, `[^a]`, `[a-z]`, `\` escapes) matched against the unprefixed key.
   * Iterates lazily (SCAN on Redis, every master on a Cluster, never KEYS); keys of sub-namespaces
   * are this backend's keys too and come with their sub-prefix.
   */
  keys(pattern?: string): AsyncIterable<string>;
  /** Remaining lifetime in ms; `null` for a key without expiry; `undefined` when missing. */
  ttl(key: string): Promise<number | null | undefined>;
  /** Stores `value` only when `key` is absent (SET NX); resolves `true` when it was stored. */
  setIfAbsent<V>(key: string, value: V, ttlMs?: number | null): Promise<boolean>;
  /** Reads several keys at once; missing ones come back `undefined`, in order. */
  getMany<V = unknown>(keys: readonly string[]): Promise<(V | undefined)[]>;
  /** Stores several entries, each with its own optional TTL. */
  setMany<V = unknown>(entries: readonly { key: string; value: V; ttlMs?: number | null }[]): Promise<void>;
  /** Removes several keys; resolves how many were removed. */
  deleteMany(keys: readonly string[]): Promise<number>;
  /**
   * Returns the stored value, or runs `factory` once per key (concurrent callers share the run)
   * and stores its result with `ttlMs`.
   */
  getOrSet<V>(key: string, factory: () => V | Promise<V>, ttlMs?: number | null): Promise<V>;
  /** A view of the same store whose keys all live under `prefix`; its `clear()` removes only them. */
  namespace(prefix: string): Backend;
  /** Removes every key of this backend (or namespace), and nothing else. */
  clear(): Promise<void>;
  /** Releases what the backend opened; a client passed in by the caller is left open. */
  close(): Promise<void>;
}
