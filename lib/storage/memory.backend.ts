import { BackendValueError } from '../errors/backend-value.error.js';
import type { Backend, BackendHit } from './backend.interface.js';
import { BaseBackend } from './base.backend.js';
import type { LimitStepReply, LimitStepRequest } from './limit-step.interface.js';
import { type LimitCells, runLimitStep } from './limit-step.js';
import { globMatcher } from './storage.glob.js';
import { assertDelta, assertKey, assertPattern, assertRequiredTtl, assertTtl } from './storage.validation.js';
import {
  assertJsonValue,
  cloneJsonValue,
  copyBytes,
  copyJsonValue,
  isBytes,
  type SizeTally,
  stringBytes,
} from './value.codec.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept; past it the least recently used are evicted. @default 100000 */
  maxEntries?: number;
  /**
   * Most bytes kept, as counted (an estimate of the heap the entries take: 2 bytes per character of
   * keys and strings, see the README); past it the least recently used are evicted. @default 67108864 (64 MiB)
   */
  maxBytes?: number;
  /**
   * Largest entry `set` accepts, counted like `maxBytes` (key and overhead included); a larger one is
   * refused with `BackendValueError` and nothing is changed. @default maxBytes / 16 (4 MiB at the default)
   */
  maxEntryBytes?: number;
  /** How often the background sweep drops expired entries, in ms. @default 5000 */
  sweepIntervalMs?: number;
}

/** Options of {@link MemoryBackend.namespace}. */
export interface MemoryNamespaceOptions {
  /**
   * Evict this namespace's entries before any other's when the store is full: for data that can be
   * computed again (the cache interceptor's namespace is created so). @default false
   */
  evictFirst?: boolean;
}

/** Default of {@link MemoryBackendOptions.maxBytes}: 64 MiB. */
const DEFAULT_MAX_BYTES = 64 * 1024 * 1024;
/** Counted bytes of an entry besides its key and value: its Map slot and its record. */
const ENTRY_BYTES = 112;
/** Counted bytes of stored bytes besides their length: the Buffer and its record. */
const BYTES_OVERHEAD = 96;
/** Counted bytes of a number or boolean value. */
const SCALAR_BYTES = 16;
/** Namespaces that get an eviction pool of their own; later ones share the root's. */
const MAX_POOLS = 32;

/** Bytes as stored: a private copy, returned as a fresh Buffer on every read. */
class StoredBytes {
  constructor(readonly bytes: Buffer) {}
}

/**
 * @internal The entries of one namespace in least-recently-used order: a doubly linked list from
 * `head` (most recent) to `tail` (the next to evict), with its entry count and counted bytes.
 */
export class Pool {
  head: Entry | null = null;
  tail: Entry | null = null;
  count = 0;
  bytes = 0;

  constructor(public evictFirst: boolean) {}
}

/** @internal One stored value, linked into its pool's LRU list. */
export class Entry {
  /** The neighbour used more recently, or null at the head. */
  prev: Entry | null = null;
  /** The neighbour used less recently, or null at the tail. */
  next: Entry | null = null;

  constructor(
    readonly key: string,
    public value: unknown,
    /** Expiry as epoch ms, or 0 for none. */
    public expiresAt: number,
    /** Counted bytes (see {@link MemoryBackendOptions.maxBytes}). */
    public size: number,
    readonly pool: Pool,
  ) {}
}

const SWEEP_BATCH = 20_000;
const UNDEFINED = Promise.resolve(undefined);
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
const DONE = Promise.resolve();

/**
 * @internal The map, eviction pools and sweep timer shared by a memory backend and its namespaces.
 * Every entry sits in one hash map (one lookup per read) and in the LRU list of its pool: a read or
 * write moves it to the head, eviction takes a tail, so both are O(1). Each namespace made from the
 * root backend has a pool of its own (keys written through the root form one more, the throttler's
 * counters among them). When the store is past `maxEntries` or `maxBytes`, the victim is the tail of
 * an `evictFirst` pool (the cache's) while one holds entries, else of the pool holding the most
 * (entries or bytes, whichever bound is exceeded): a flood in one namespace evicts its own entries,
 * never a smaller namespace's.
 */
export class MemoryStore {
  readonly map = new Map<string, Entry>();
  /** The pool of keys written through the root backend (and of namespaces past {@link MAX_POOLS}). */
  readonly root = new Pool(false);
  /** Counted bytes of every entry. */
  bytes = 0;
  private readonly pools: Pool[] = [this.root];
  private readonly named = new Map<string, Pool>();
  private cursor: MapIterator<Entry> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly maxEntries: number,
    readonly maxBytes: number,
    readonly maxEntryBytes: number,
    sweepIntervalMs: number,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  /** The pool of the namespace `prefix` (created on first use); the root's once there are {@link MAX_POOLS}. */
  pool(prefix: string, evictFirst: boolean): Pool {
    let pool = this.named.get(prefix);
    if (pool === undefined) {
      if (this.pools.length >= MAX_POOLS) return this.root;
      pool = new Pool(evictFirst);
      this.named.set(prefix, pool);
      this.pools.push(pool);
    } else if (evictFirst) {
      pool.evictFirst = true;
    }
    return pool;
  }

  /** Drops up to one batch of expired entries, resuming where the previous sweep stopped. */
  sweep(): void {
    const now = Date.now();
    this.cursor ??= this.map.values();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        return;
      }
      const entry = next.value;
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.remove(entry);
    }
  }

  /**
   * Stores `value` (counted `size` bytes) under `key`: a new entry joins `pool`, an existing one
   * keeps its pool. Evicts past the bounds (see the class comment).
   */
  put(key: string, value: unknown, size: number, expiresAt: number, pool: Pool): void {
    const entry = this.map.get(key);
    if (entry !== undefined) {
      entry.value = value;
      entry.expiresAt = expiresAt;
      this.touch(entry);
      const delta = size - entry.size;
      if (delta === 0) return; // the usual overwrite: same key, same kind of value
      entry.size = size;
      entry.pool.bytes += delta;
      this.bytes += delta;
      if (delta > 0 && this.bytes > this.maxBytes) this.shrink();
      return;
    }
    const added = new Entry(key, value, expiresAt, size, pool);
    this.map.set(key, added);
    const head = pool.head;
    if (head === null) pool.tail = added;
    else {
      head.prev = added;
      added.next = head;
    }
    pool.head = added;
    pool.count++;
    pool.bytes += size;
    this.bytes += size;
    if (this.map.size > this.maxEntries || this.bytes > this.maxBytes) this.shrink();
  }

  /** The live entry for `key` at `now` (the clock by default), made the most recent; an expired entry is dropped. */
  live(key: string, now?: number): Entry | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= (now ?? Date.now())) {
      this.remove(entry);
      return undefined;
    }
    this.touch(entry);
    return entry;
  }

  /** Moves `entry` to the head of its pool's list. */
  private touch(entry: Entry): void {
    const pool = entry.pool;
    const head = pool.head!;
    if (head === entry) return;
    // Not the head, so it has a previous neighbour.
    const prev = entry.prev!;
    const next = entry.next;
    prev.next = next;
    if (next === null) pool.tail = prev;
    else next.prev = prev;
    entry.prev = null;
    entry.next = head;
    head.prev = entry;
    pool.head = entry;
  }

  /** Removes `entry` from the map and its pool. */
  remove(entry: Entry): void {
    this.map.delete(entry.key);
    const pool = entry.pool;
    const { prev, next } = entry;
    if (prev === null) pool.head = next;
    else prev.next = next;
    if (next === null) pool.tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = null;
    pool.count--;
    pool.bytes -= entry.size;
    this.bytes -= entry.size;
  }

  /** Evicts until the store is within both bounds (see the class comment for the victim). */
  private shrink(): void {
    const pools = this.pools;
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const byCount = this.map.size > this.maxEntries;
      let victim: Pool | undefined;
      for (let i = 0; i < pools.length; i++) {
        const pool = pools[i];
        if (pool.count === 0) continue;
        if (victim === undefined || (pool.evictFirst && !victim.evictFirst)) victim = pool;
        else if (
          pool.evictFirst === victim.evictFirst &&
          (byCount ? pool.count > victim.count : pool.bytes > victim.bytes)
        )
          victim = pool;
      }
      this.remove(victim!.tail!);
    }
  }

  /** Removes every entry. */
  clear(): void {
    this.map.clear();
    this.cursor = undefined;
    this.bytes = 0;
    for (const pool of this.pools) {
      pool.head = pool.tail = null;
      pool.count = pool.bytes = 0;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function fromStored(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof StoredBytes) return Buffer.from(value.bytes);
  return copyJsonValue(value);
}

function expiry(ttlMs: number | null | undefined, now?: number): number {
  return ttlMs == null ? 0 : (now ?? Date.now()) + ttlMs;
}

/** A positive safe integer option, or a RangeError naming it. */
function positive(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new RangeError(`MemoryBackend ${name} must be a positive integer`);
  return value;
}

/** The internal second argument of the constructor: the store and place of a namespace view. */
interface View {
  store: MemoryStore;
  prefix: string;
  pool: Pool;
}

/**
 * The embedded default backend: an in-process LRU map with TTL, lazy expiry and one `unref()`ed
 * sweep timer, bounded by entries and by counted bytes, each namespace evicted on its own (see
 * {@link MemoryStore}). Objects and bytes are copied in and out; primitives are kept as they are.
 */
export class MemoryBackend extends BaseBackend {
  readonly #store: MemoryStore;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #owner: boolean;

  /** Creates a backend with its own store; the second argument is internal (namespace views). */
  constructor(options: MemoryBackendOptions = {}, view?: View) {
    super();
    if (view) {
      this.#store = view.store;
      this.#prefix = view.prefix;
      this.#pool = view.pool;
      this.#owner = false;
      return;
    }
    const maxEntries = positive(options.maxEntries ?? 100_000, 'maxEntries');
    const maxBytes = positive(options.maxBytes ?? DEFAULT_MAX_BYTES, 'maxBytes');
    const maxEntryBytes = positive(options.maxEntryBytes ?? Math.max(1, Math.floor(maxBytes / 16)), 'maxEntryBytes');
    const sweep = positive(options.sweepIntervalMs ?? 5_000, 'sweepIntervalMs');
    if (maxEntryBytes > maxBytes) throw new RangeError('MemoryBackend maxEntryBytes must not exceed maxBytes');
    this.#store = new MemoryStore(maxEntries, maxBytes, maxEntryBytes, sweep);
    this.#prefix = '';
    this.#pool = this.#store.root;
    this.#owner = true;
  }

  /** Number of entries in the whole store, expired ones not yet swept included. */
  get size(): number {
    return this.#store.map.size;
  }

  /** Counted bytes of the whole store (what `maxBytes` bounds), expired entries not yet swept included. */
  get bytes(): number {
    return this.#store.bytes;
  }

  set<V>(key: string, value: V, ttlMs?: number | null): Promise<void> {
    try {
      assertKey(key);
      assertTtl(ttlMs);
      this.#put(this.#prefix + key, value, expiry(ttlMs));
      return DONE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * Stores `value` under the full key `k` (objects and bytes as private copies, -0 as 0, as JSON
   * does), or throws when the entry counts more than `maxEntryBytes`.
   */
  #put(k: string, value: unknown, expiresAt: number): void {
    let size = ENTRY_BYTES + stringBytes(k);
    let stored = value;
    let bytes = false;
    switch (typeof value) {
      case 'string':
        size += stringBytes(value);
        break;
      case 'boolean':
        size += SCALAR_BYTES;
        break;
      case 'number':
        if (!Number.isFinite(value)) assertJsonValue(value);
        size += SCALAR_BYTES;
        if (value === 0) stored = 0;
        break;
      default:
        if (value === null) size += SCALAR_BYTES;
        else if (isBytes(value)) {
          size += BYTES_OVERHEAD + value.byteLength;
          bytes = true; // copied once the size is accepted
        } else {
          const tally: SizeTally = { bytes: size };
          stored = cloneJsonValue(value, tally);
          size = tally.bytes;
        }
    }
    const store = this.#store;
    if (size > store.maxEntryBytes) {
      throw new BackendValueError(
        `Cannot store a value whose entry counts ${size} bytes: more than maxEntryBytes (${store.maxEntryBytes}); nothing was changed`,
      );
    }
    if (bytes) stored = new StoredBytes(copyBytes(value as Uint8Array));
    store.put(k, stored, size, expiresAt, this.#pool);
  }

  get<V = unknown>(key: string): Promise<V | undefined> {
    try {
      const value = this.getNow<V>(key);
      return value === undefined ? UNDEFINED : Promise.resolve(value);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal {@link MemoryBackend.get} without the Promise (errors are thrown): the cache's hit path. */
  getNow<V = unknown>(key: string): V | undefined {
    assertKey(key);
    const entry = this.#store.live(this.#prefix + key);
    return entry === undefined ? undefined : (fromStored(entry.value) as V);
  }

  delete(key: string): Promise<boolean> {
    try {
      assertKey(key);
      const entry = this.#store.map.get(this.#prefix + key);
      if (entry === undefined) return FALSE;
      this.#store.remove(entry);
      return entry.expiresAt !== 0 && entry.expiresAt <= Date.now() ? FALSE : TRUE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  exists(key: string): Promise<boolean> {
    try {
      assertKey(key);
      return this.#store.live(this.#prefix + key) === undefined ? FALSE : TRUE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  override increment(key: string, ttlMs?: number | null): Promise<number> {
    return this.incrementBy(key, 1, ttlMs);
  }

  incrementBy(key: string, delta: number, ttlMs?: number | null): Promise<number> {
    try {
      return Promise.resolve(this.incrementNow(key, delta, ttlMs));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * @internal {@link MemoryBackend.incrementBy} without the Promise: the new value, or a thrown
   * backend error.
   */
  incrementNow(key: string, delta: number, ttlMs?: number | null): number {
    assertKey(key);
    assertDelta(delta);
    assertTtl(ttlMs);
    return this.#add(key, delta, ttlMs);
  }

  /**
   * @internal One hit of a counter whose key and TTL its caller built and checked (the throttler's
   * path): {@link MemoryBackend.incrementNow} by 1 without the argument checks, at the caller's `now`.
   */
  countNow(key: string, ttlMs: number, now: number): number {
    return this.#add(key, 1, ttlMs, now);
  }

  /** The throttler's multi-limit step (see {@link LimitStepBackend}), run synchronously, so atomically. */
  applyLimitStep(request: LimitStepRequest): Promise<LimitStepReply> {
    try {
      return Promise.resolve(this.limitStepNow(request));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** @internal {@link MemoryBackend.applyLimitStep} without the Promise (errors are thrown). */
  limitStepNow(request: LimitStepRequest): LimitStepReply {
    return runLimitStep((this.#cells ??= this.#limitCells()), request);
  }

  #cells?: LimitCells;

  #limitCells(): LimitCells {
    const store = this.#store;
    const prefix = this.#prefix;
    return {
      read: (key, now) => {
        const entry = store.live(prefix + key, now);
        return entry === undefined ? undefined : fromStored(entry.value);
      },
      add: (key, delta, ttlMs, now) => this.#add(key, delta, ttlMs, now),
      put: (key, value, ttlMs, now) => this.#put(prefix + key, value, expiry(ttlMs, now)),
      remove: (key) => {
        const entry = store.map.get(prefix + key);
        if (entry !== undefined) store.remove(entry);
      },
    };
  }

  /**
   * Adds `delta` to the counter `key`, created at `delta` when missing or expired at `now`. Without
   * `now` the clock is read only when needed (a counter without TTL needs none).
   */
  #add(key: string, delta: number, ttlMs: number | null | undefined, now?: number): number {
    const k = this.#prefix + key;
    const entry = this.#store.live(k, now);
    if (entry === undefined) {
      this.#store.put(k, delta, ENTRY_BYTES + stringBytes(k) + SCALAR_BYTES, expiry(ttlMs, now), this.#pool);
      return delta;
    }
    const current = entry.value;
    if (typeof current !== 'number' || !Number.isSafeInteger(current)) {
      throw new BackendValueError(`Cannot increment "${key}": the stored value is not an integer`);
    }
    const next = current + delta;
    if (!Number.isSafeInteger(next)) {
      throw new BackendValueError(`Cannot increment "${key}": the result would overflow`);
    }
    entry.value = next;
    // Like Redis: a counter brought from 0 (without expiry) to `delta` counts as new and takes the TTL.
    if (next === delta && entry.expiresAt === 0 && ttlMs != null) entry.expiresAt = expiry(ttlMs, now);
    return next;
  }

  hit(key: string, ttlMs: number, delta = 1): Promise<BackendHit> {
    try {
      assertKey(key);
      assertDelta(delta);
      assertRequiredTtl(ttlMs);
      const now = Date.now();
      const count = this.#add(key, delta, ttlMs, now);
      // The entry just written; were it evicted at once (a store smaller than one counter), the
      // answer is still the step's.
      const entry = this.#store.map.get(this.#prefix + key);
      const expiresAt = entry === undefined ? now + ttlMs : entry.expiresAt;
      return Promise.resolve({ count, ttlMs: expiresAt === 0 ? null : Math.max(1, expiresAt - now) });
    } catch (err) {
      return Promise.reject(err);
    }
  }

  expire(key: string, ttlMs: number): Promise<boolean> {
    try {
      assertKey(key);
      assertRequiredTtl(ttlMs);
      const now = Date.now();
      const entry = this.#store.live(this.#prefix + key, now);
      if (entry === undefined) return FALSE;
      entry.expiresAt = now + ttlMs;
      return TRUE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * This view's live keys without its prefix (see {@link Backend.keys}), read from the store as the
   * iteration goes: no duplicates (unless a key is deleted and written again meanwhile), keys written
   * meanwhile may or may not appear, sibling namespaces' keys never do. Listing neither refreshes a
   * key's LRU place nor removes expired entries; a bad pattern rejects the first step.
   */
  async *keys(pattern?: string): AsyncGenerator<string> {
    assertPattern(pattern);
    const matches = pattern === undefined ? undefined : globMatcher(pattern);
    const prefix = this.#prefix;
    let now = Date.now();
    for (const entry of this.#store.map.values()) {
      if (!entry.key.startsWith(prefix)) continue;
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) continue;
      const key = entry.key.slice(prefix.length);
      if (matches !== undefined && !matches(key)) continue;
      yield key;
      now = Date.now();
    }
  }

  ttl(key: string): Promise<number | null | undefined> {
    try {
      assertKey(key);
      const entry = this.#store.live(this.#prefix + key);
      if (entry === undefined) return UNDEFINED;
      return Promise.resolve(entry.expiresAt === 0 ? null : Math.max(1, entry.expiresAt - Date.now()));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  setIfAbsent<V>(key: string, value: V, ttlMs?: number | null): Promise<boolean> {
    try {
      assertKey(key);
      assertTtl(ttlMs);
      const k = this.#prefix + key;
      if (this.#store.live(k) !== undefined) return FALSE;
      this.#put(k, value, expiry(ttlMs));
      return TRUE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * A view of the same store under `prefix`. A namespace of the root backend is evicted on its own
   * (see {@link MemoryStore}); a namespace of a namespace shares its parent's pool, unless `evictFirst`.
   */
  namespace(prefix: string, options: MemoryNamespaceOptions = {}): MemoryBackend {
    assertKey(prefix);
    const full = this.#prefix + prefix;
    const store = this.#store;
    const evictFirst = options.evictFirst === true;
    const pool = evictFirst || this.#pool === store.root ? store.pool(full, evictFirst) : this.#pool;
    return new MemoryBackend({}, { store, prefix: full, pool });
  }

  clear(): Promise<void> {
    const store = this.#store;
    if (this.#prefix === '') {
      store.clear();
    } else {
      for (const entry of store.map.values()) if (entry.key.startsWith(this.#prefix)) store.remove(entry);
    }
    return DONE;
  }

  close(): Promise<void> {
    if (this.#owner) this.#store.stop();
    return DONE;
  }
}

/**
 * @internal `backend` when it is a {@link MemoryBackend} whose reads and increments are the class's
 * own, so its synchronous `getNow`/`incrementNow`/`countNow` answer the same; `undefined` for anything else
 * (another backend, or a subclass or proxy that changes them and must see every call).
 */
export function plainMemoryBackend(backend: Backend): MemoryBackend | undefined {
  if (!(backend instanceof MemoryBackend)) return undefined;
  const proto = MemoryBackend.prototype;
  const plain =
    backend.get === proto.get &&
    backend.increment === proto.increment &&
    backend.incrementBy === proto.incrementBy &&
    backend.getNow === proto.getNow &&
    backend.incrementNow === proto.incrementNow &&
    backend.countNow === proto.countNow &&
    backend.applyLimitStep === proto.applyLimitStep &&
    backend.limitStepNow === proto.limitStepNow;
  return plain ? backend : undefined;
}
