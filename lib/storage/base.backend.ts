import type { Backend, BackendHit } from './backend.interface.js';

/**
 * Shared behaviour of the bundled backends: batch helpers on top of the single-key operations
 * and the per-key single flight of `getOrSet`.
 */
export abstract class BaseBackend implements Backend {
  private readonly inFlight = new Map<string, Promise<unknown>>();

  abstract set<V>(key: string, value: V, ttlMs?: number | null): Promise<void>;
  abstract get<V = unknown>(key: string): Promise<V | undefined>;
  abstract delete(key: string): Promise<boolean>;
  abstract exists(key: string): Promise<boolean>;
  abstract incrementBy(key: string, delta: number, ttlMs?: number | null): Promise<number>;
  abstract hit(key: string, ttlMs: number, delta?: number): Promise<BackendHit>;
  abstract expire(key: string, ttlMs: number): Promise<boolean>;
  abstract keys(pattern?: string): AsyncIterable<string>;
  abstract ttl(key: string): Promise<number | null | undefined>;
  abstract setIfAbsent<V>(key: string, value: V, ttlMs?: number | null): Promise<boolean>;
  abstract namespace(prefix: string): Backend;
  abstract clear(): Promise<void>;
  abstract close(): Promise<void>;

  increment(key: string, ttlMs?: number | null): Promise<number> {
    return this.incrementBy(key, 1, ttlMs);
  }

  getMany<V = unknown>(keys: readonly string[]): Promise<(V | undefined)[]> {
    return Promise.all(keys.map((key) => this.get<V>(key)));
  }

  async setMany<V = unknown>(entries: readonly { key: string; value: V; ttlMs?: number | null }[]): Promise<void> {
    await Promise.all(entries.map((e) => this.set(e.key, e.value, e.ttlMs)));
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    const removed = await Promise.all(keys.map((key) => this.delete(key)));
    return removed.filter(Boolean).length;
  }

  getOrSet<V>(key: string, factory: () => V | Promise<V>, ttlMs?: number | null): Promise<V> {
    const pending = this.inFlight.get(key);
    if (pending) return pending as Promise<V>;
    const run = (async () => {
      const cached = await this.get<V>(key);
      if (cached !== undefined) return cached;
      const value = await factory();
      await this.set(key, value, ttlMs);
      return value;
    })();
    const settle = () => this.inFlight.delete(key);
    this.inFlight.set(key, run);
    run.then(settle, settle);
    return run;
  }
}
