import { BackendValueError } from '../errors/backend-value.error.js';
import type { Backend } from './backend.interface.js';
import { BaseBackend } from './base.backend.js';
import { assertDelta, assertKey, assertTtl } from './storage.validation.js';
import { assertJsonValue, cloneJsonValue, copyBytes, copyJsonValue, isBytes } from './value.codec.js';

/** Options of {@link MemoryBackend}. */
export interface MemoryBackendOptions {
  /** Most entries kept; past it the least recently used are evicted. @default 100000 */
  maxEntries?: number;
  /** How often the background sweep drops expired entries, in ms. @default 5000 */
  sweepIntervalMs?: number;
}

/** Bytes as stored: a private copy, returned as a fresh Buffer on every read. */
class StoredBytes {
  constructor(readonly bytes: Buffer) {}
}

interface Entry {
  value: unknown;
  /** Expiry as epoch ms, or 0 for none. */
  expiresAt: number;
  /** Read or written since it last reached the front of the eviction queue (the CLOCK bit). */
  used: boolean;
}

const SWEEP_BATCH = 20_000;
const UNDEFINED = Promise.resolve(undefined);
const TRUE = Promise.resolve(true);
const FALSE = Promise.resolve(false);
const DONE = Promise.resolve();

/** Entries given a second chance per eviction at most, which bounds the work of one insert. */
const MAX_SECOND_CHANCES = 32;

/**
 * @internal The map and sweep timer shared by a memory backend and its namespaces.
 * Eviction is CLOCK (second chance), the usual O(1) approximation of LRU: map order is insertion
 * order, a read or write only sets the entry's `used` bit, and when the map is full the oldest
 * entries that were used since they were last looked at are moved to the back (bit cleared)
 * until an unused one is found and evicted. Reads therefore cost one hash lookup, not three.
 */
export class MemoryStore {
  readonly map = new Map<string, Entry>();
  private cursor: MapIterator<[string, Entry]> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly maxEntries: number,
    sweepIntervalMs: number,
  ) {
    this.timer = setInterval(() => this.sweep(), sweepIntervalMs);
    this.timer.unref();
  }

  /** Drops up to one batch of expired entries, resuming where the previous sweep stopped. */
  sweep(): void {
    const now = Date.now();
    this.cursor ??= this.map.entries();
    for (let i = 0; i < SWEEP_BATCH; i++) {
      const next = this.cursor.next();
      if (next.done) {
        this.cursor = undefined;
        return;
      }
      const [key, entry] = next.value;
      if (entry.expiresAt !== 0 && entry.expiresAt <= now) this.map.delete(key);
    }
  }

  /** Stores `value` under `key`, evicting past the bound (see the class comment). */
  put(key: string, value: unknown, expiresAt: number): void {
    const map = this.map;
    const entry = map.get(key);
    if (entry !== undefined) {
      entry.value = value;
      entry.expiresAt = expiresAt;
      entry.used = true;
      return;
    }
    map.set(key, { value, expiresAt, used: false });
    if (map.size > this.maxEntries) this.evict();
  }

  /** The live entry for `key` at `now` (the clock by default), marked used; an expired entry is dropped. */
  live(key: string, now?: number): Entry | undefined {
    const entry = this.map.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && entry.expiresAt <= (now ?? Date.now())) {
      this.map.delete(key);
      return undefined;
    }
    entry.used = true;
    return entry;
  }

  /** Removes one entry: the oldest unused one, after giving used ones a second chance. */
  private evict(): void {
    const map = this.map;
    for (let i = 0; i < MAX_SECOND_CHANCES; i++) {
      const key = map.keys().next().value as string;
      const entry = map.get(key)!;
      if (!entry.used) {
        map.delete(key);
        return;
      }
      entry.used = false;
      map.delete(key);
      map.set(key, entry);
    }
    map.delete(map.keys().next().value as string);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

function toStored(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (!Number.isFinite(value)) assertJsonValue(value);
      return value === 0 ? 0 : value; // -0 is stored as 0, as JSON does
  }
  if (value === null) return null;
  if (isBytes(value)) return new StoredBytes(copyBytes(value));
  return cloneJsonValue(value);
}

function fromStored(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (value instanceof StoredBytes) return Buffer.from(value.bytes);
  return copyJsonValue(value);
}

function expiry(ttlMs: number | null | undefined, now?: number): number {
  return ttlMs == null ? 0 : (now ?? Date.now()) + ttlMs;
}

/**
 * The embedded default backend: an in-process LRU map with TTL, lazy expiry and one `unref()`ed
 * sweep timer. Objects and bytes are copied in and out; primitives are kept as they are.
 */
export class MemoryBackend extends BaseBackend {
  readonly #store: MemoryStore;
  readonly #prefix: string;
  readonly #owner: boolean;

  /** Creates a backend with its own store; the second argument is internal (namespace views). */
  constructor(options: MemoryBackendOptions = {}, view?: { store: MemoryStore; prefix: string }) {
    super();
    if (view) {
      this.#store = view.store;
      this.#prefix = view.prefix;
      this.#owner = false;
      return;
    }
    const maxEntries = options.maxEntries ?? 100_000;
    const sweep = options.sweepIntervalMs ?? 5_000;
    if (!Number.isSafeInteger(maxEntries) || maxEntries < 1) {
      throw new RangeError('MemoryBackend maxEntries must be a positive integer');
    }
    if (!Number.isSafeInteger(sweep) || sweep < 1) {
      throw new RangeError('MemoryBackend sweepIntervalMs must be a positive integer');
    }
    this.#store = new MemoryStore(maxEntries, sweep);
    this.#prefix = '';
    this.#owner = true;
  }

  /** Number of entries in the whole store, expired ones not yet swept included. */
  get size(): number {
    return this.#store.map.size;
  }

  set<V>(key: string, value: V, ttlMs?: number | null): Promise<void> {
    try {
      assertKey(key);
      assertTtl(ttlMs);
      this.#store.put(this.#prefix + key, toStored(value), expiry(ttlMs));
      return DONE;
    } catch (err) {
      return Promise.reject(err);
    }
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
      const k = this.#prefix + key;
      const entry = this.#store.map.get(k);
      if (entry === undefined) return FALSE;
      this.#store.map.delete(k);
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

  /**
   * Adds `delta` to the counter `key`, created at `delta` when missing or expired at `now`. Without
   * `now` the clock is read only when needed (a counter without TTL needs none).
   */
  #add(key: string, delta: number, ttlMs: number | null | undefined, now?: number): number {
    const k = this.#prefix + key;
    const entry = this.#store.live(k, now);
    if (entry === undefined) {
      this.#store.put(k, delta, expiry(ttlMs, now));
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
      this.#store.put(k, toStored(value), expiry(ttlMs));
      return TRUE;
    } catch (err) {
      return Promise.reject(err);
    }
  }

  namespace(prefix: string): Backend {
    assertKey(prefix);
    return new MemoryBackend({}, { store: this.#store, prefix: this.#prefix + prefix });
  }

  clear(): Promise<void> {
    const map = this.#store.map;
    if (this.#prefix === '') {
      map.clear();
    } else {
      for (const key of map.keys()) if (key.startsWith(this.#prefix)) map.delete(key);
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
    backend.countNow === proto.countNow;
  return plain ? backend : undefined;
}
