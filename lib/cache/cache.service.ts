import { Logger } from '@nestjs/common';
import { BackendValueError } from '../errors/index.js';
import { type Backend, MemoryBackend } from '../storage/index.js';
import { plainMemoryBackend } from '../storage/memory.backend.js';
import { hashKey } from '../utils/hash.util.js';
import { Deadline, OutageReporter } from '../utils/outage.util.js';
import { assertCacheTtl } from './cache-config.error.js';
import type { CachedAnswer } from './cache-entry.util.js';
import type { CacheModuleOptions } from './cache-options.interface.js';

const TIMED_OUT = Symbol('timed out');
/** Keys longer than this are stored under their hash (backend keys are bounded). */
const MAX_PLAIN_KEY = 300;

/**
 * Caching inside services, on the same namespace as {@link CacheInterceptor}. `get`/`set`/`delete`
 * report backend errors; `wrap` degrades to calling its function when the backend fails.
 * @example const user = await cache.wrap(`user:${id}`, () => this.repo.find(id), 60_000);
 */
export class CacheService {
  /** TTL of entries stored without one, in ms. */
  readonly defaultTtlMs: number;
  /** Longest wait for a backend read before answering uncached, in ms. */
  readonly timeoutMs: number;
  /** @internal In-process single flight of the interceptor: key → what the running handler stored. */
  readonly flights = new Map<string, Promise<CachedAnswer | undefined>>();
  private readonly backend: Backend;
  /** The backend again when it is a plain memory backend, read synchronously on the hit path. */
  private readonly memory: MemoryBackend | undefined;
  private readonly wraps = new Map<string, Promise<unknown>>();
  private readonly outage = new OutageReporter(new Logger('CacheService'), 'Cache');
  private readonly deadline: Deadline<typeof TIMED_OUT>;

  constructor(backend: Backend, options: CacheModuleOptions = {}) {
    this.defaultTtlMs = assertCacheTtl(options.ttlMs ?? 5000, 'cache.ttlMs');
    this.timeoutMs = assertCacheTtl(options.timeoutMs ?? 250, 'cache.timeoutMs');
    const namespace = options.namespace ?? 'cache:';
    // On the memory store, cache entries are evicted before sessions and counters (they can be computed again).
    this.backend =
      backend instanceof MemoryBackend
        ? backend.namespace(namespace, { evictFirst: true })
        : backend.namespace(namespace);
    this.memory = plainMemoryBackend(this.backend);
    this.deadline = new Deadline(this.timeoutMs, TIMED_OUT);
  }

  /** The cached value of `key`, or `undefined`. */
  get<T = unknown>(key: string): Promise<T | undefined> {
    return this.backend.get<T>(storageKey(key));
  }

  /** Caches a JSON-compatible value for `ttlMs` (default `cache.ttlMs`). */
  set<T>(key: string, value: T, ttlMs: number = this.defaultTtlMs): Promise<void> {
    return this.backend.set(storageKey(key), value, assertCacheTtl(ttlMs, 'ttlMs'));
  }

  /** Removes `key`; resolves `true` when something was removed. */
  delete(key: string): Promise<boolean> {
    return this.backend.delete(storageKey(key));
  }

  /**
   * Returns the cached value of `key`, or runs `fn` once per key in this process (concurrent
   * callers share the run) and caches its result. Errors of `fn` reach every caller and are not
   * cached; a failing or slow backend is logged and `fn` answers uncached.
   */
  wrap<T>(key: string, fn: () => T | Promise<T>, ttlMs: number = this.defaultTtlMs): Promise<T> {
    const k = storageKey(key);
    const pending = this.wraps.get(k);
    if (pending !== undefined) return pending as Promise<T>;
    const ttl = assertCacheTtl(ttlMs, 'ttlMs');
    const run = (async () => {
      let cached: T | undefined;
      try {
        const read = await this.deadline.race(this.backend.get<T>(k));
        if (read === TIMED_OUT) throw new Error(`no answer within ${this.timeoutMs} ms`);
        cached = read;
        this.outage.ok();
      } catch (err) {
        this.outage.failed(err);
        return fn();
      }
      if (cached !== undefined) return cached;
      const value = await fn();
      if (value !== undefined) await this.write(k, value, ttl);
      return value;
    })();
    const settle = () => this.wraps.delete(k);
    this.wraps.set(k, run);
    run.then(settle, settle);
    return run;
  }

  /**
   * @internal Reads an interceptor entry: the entry, `undefined` on a miss, or `null` when the
   * backend failed or did not answer within `timeoutMs` (logged once per outage). Synchronous on
   * a plain memory backend.
   */
  readEntry(key: string): string | undefined | null | Promise<string | undefined | null> {
    const memory = this.memory;
    if (memory === undefined) return this.readEntryAsync(key);
    // In-process: nothing to wait for, so no deadline either.
    try {
      const read = memory.getNow<string>(storageKey(key));
      this.outage.ok();
      return typeof read === 'string' ? read : undefined;
    } catch (err) {
      this.outage.failed(err);
      return null;
    }
  }

  private async readEntryAsync(key: string): Promise<string | undefined | null> {
    try {
      const read = await this.deadline.race(this.backend.get<string>(storageKey(key)));
      if (read === TIMED_OUT) throw new Error(`no answer within ${this.timeoutMs} ms`);
      this.outage.ok();
      return typeof read === 'string' ? read : undefined;
    } catch (err) {
      this.outage.failed(err);
      return null;
    }
  }

  /** @internal Stores an interceptor entry; failures are logged (never the entry itself). */
  writeEntry(key: string, entry: string, ttlMs: number): Promise<void> {
    return this.write(storageKey(key), entry, ttlMs);
  }

  private async write(storageKey: string, value: unknown, ttlMs: number): Promise<void> {
    try {
      const done = await this.deadline.race(this.backend.set(storageKey, value, ttlMs).then(() => true));
      if (done === true) this.outage.ok();
      else this.outage.failed(new Error(`write not acknowledged within ${this.timeoutMs} ms`));
    } catch (err) {
      // A value the backend refuses (e.g. over the memory store's maxEntryBytes) is just not cached: no outage.
      if (err instanceof BackendValueError) return;
      this.outage.failed(err);
    }
  }
}

/** The backend key of a cache key: as is, or hashed when long. */
function storageKey(key: string): string {
  if (typeof key !== 'string' || key.length === 0) throw new TypeError('Cache key must be a non-empty string');
  return key.length > MAX_PLAIN_KEY ? `#${hashKey(key)}` : key;
}
