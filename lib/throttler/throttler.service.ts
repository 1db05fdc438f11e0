import { createHash } from 'node:crypto';
import type { Backend, MemoryBackend } from '../storage/index.js';
import { plainMemoryBackend } from '../storage/memory.backend.js';
import { assertKey } from '../storage/storage.validation.js';
import { parseRate, type Rate, type RateInput } from './rate.parser.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
import type { ThrottleAlgorithm } from './throttler-options.interface.js';

/** The outcome of one {@link Throttler.consume}. */
export interface ThrottleResult {
  /** Whether this hit is within the limit. */
  allowed: boolean;
  /** The limit of the rate. */
  limit: number;
  /** Hits left in the current window (0 when refused). */
  remaining: number;
  /** Milliseconds until the current window ends. */
  resetMs: number;
  /** Milliseconds to wait before a retry can succeed; 0 when allowed. */
  retryAfterMs: number;
}

/** Options of {@link Throttler}. */
export interface ThrottlerOptions {
  /** How hits are counted. @default 'fixed-window' */
  algorithm?: ThrottleAlgorithm;
  /** Namespace of the counters inside the backend given to the constructor. @default 'throttle:' */
  namespace?: string;
}

const MAX_CACHED_RATES = 1000;
/** Recent keys keep their hash and counter key, so a busy client is not hashed again on every hit. */
const MAX_CACHED_KEYS = 10_000;

/** What a recent key keeps between hits: its hash and the counter key of its current window. */
interface KeyState {
  hash: string;
  /** First 32 bits of the hash: the window offset (see {@link shiftedClock}). */
  offset: number;
  /** Index of the window `counter` belongs to, -1 before the first hit. */
  index: number;
  /** Full counter key of window `index` (namespace included). */
  counter: string;
}

/**
 * @internal One limit of a guarded route: its rate and key prefix, and the state of its recent
 * trackers, so a hit looks up the tracker alone and builds no key string while the window lasts.
 */
export class TrackedLimit {
  /** Recent trackers; emptied when it reaches {@link MAX_CACHED_KEYS}. */
  readonly states = new Map<string, KeyState>();

  constructor(
    readonly rate: Rate,
    /** Scope and limit name, prepended to the tracker. */
    readonly prefix: string,
  ) {}
}

/**
 * Counts hits per key on the shared backend with one `increment` per hit, e.g. to limit login
 * attempts per account. Keys are hashed, so any text (an email, an IP) is a safe key.
 * @example const { allowed, retryAfterMs } = await throttler.consume(`login:${email}`, '5/15m');
 */
export class Throttler {
  /** The algorithm every call uses. */
  readonly algorithm: ThrottleAlgorithm;
  /** The backend given to the constructor; keys carry {@link Throttler.namespace} themselves. */
  private readonly backend: Backend;
  private readonly namespace: string;
  /** The backend again when it is a {@link MemoryBackend}, which counts synchronously. */
  private readonly memory: MemoryBackend | undefined;
  private readonly rates = new Map<string, Rate>();
  private readonly keys = new Map<string, KeyState>();

  constructor(backend: Backend, options: ThrottlerOptions = {}) {
    const algorithm = options.algorithm ?? 'fixed-window';
    if (algorithm !== 'fixed-window' && algorithm !== 'sliding-window') {
      throw new ThrottlerConfigError(
        'invalid_throttle_options',
        `Unknown throttle algorithm ${JSON.stringify(algorithm)}: use "fixed-window" or "sliding-window"`,
      );
    }
    this.algorithm = algorithm;
    const namespace = options.namespace ?? 'throttle:';
    // The keys of `backend.namespace(namespace)`, built here so a hit allocates no second key.
    assertKey(namespace);
    this.backend = backend;
    this.namespace = namespace;
    this.memory = plainMemoryBackend(backend);
  }

  /** Counts one hit of `key` against `rate` and says whether it is allowed. */
  consume(key: string, rate: RateInput): Promise<ThrottleResult> {
    let parsed: Rate;
    try {
      parsed = this.rateOf(rate);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.take(key, parsed);
  }

  /** Forgets the hits of `key` for `rate` (e.g. after a successful login). */
  async reset(key: string, rate: RateInput): Promise<void> {
    const parsed = this.rateOf(rate);
    const state = this.stateOf(this.keys, key, key);
    const index = Math.floor(shiftedClock(state, parsed.ttlMs, Date.now()) / parsed.ttlMs);
    await this.backend.deleteMany([this.counterKey(state, index), this.counterKey(state, index - 1)]);
  }

  /** Counts one hit of `key` with an already parsed rate. */
  take(key: string, rate: Rate): Promise<ThrottleResult> {
    try {
      return Promise.resolve(this.hit(this.stateOf(this.keys, key, key), rate));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * @internal One hit of `tracker` on a guarded route's limit (the guard's path). On the memory
   * backend with fixed windows the result comes back synchronously (errors are thrown).
   */
  takeTracked(limit: TrackedLimit, tracker: string): ThrottleResult | Promise<ThrottleResult> {
    const state = limit.states.get(tracker) ?? this.stateOf(limit.states, tracker, limit.prefix + tracker);
    return this.hit(state, limit.rate);
  }

  private hit(state: KeyState, rate: Rate): ThrottleResult | Promise<ThrottleResult> {
    const ttlMs = rate.ttlMs;
    const now = Date.now();
    const shifted = shiftedClock(state, ttlMs, now);
    const index = Math.floor(shifted / ttlMs);
    const resetMs = (index + 1) * ttlMs - shifted;
    if (index !== state.index) {
      state.index = index;
      state.counter = this.counterKey(state, index);
    }
    if (this.algorithm === 'fixed-window') {
      const memory = this.memory;
      if (memory !== undefined) return fixedResult(rate.limit, memory.countNow(state.counter, resetMs, now), resetMs);
      return this.backend.increment(state.counter, resetMs).then((count) => fixedResult(rate.limit, count, resetMs));
    }
    const previous = this.counterKey(state, index - 1);
    // The current counter must outlive its window by one more: it is the next one's "previous".
    return Promise.all([
      this.backend.increment(state.counter, resetMs + rate.ttlMs),
      this.backend.get<number>(previous),
    ]).then(([count, prev]) => slidingResult(rate, count, typeof prev === 'number' ? prev : 0, resetMs));
  }

  private counterKey(state: KeyState, index: number): string {
    return `${this.namespace}${state.hash}:${index.toString(36)}`;
  }

  /** The state of `id` in `states`, created from the SHA-256 of `key` on first sight. */
  private stateOf(states: Map<string, KeyState>, id: string, key: string): KeyState {
    let state = states.get(id);
    if (state === undefined) {
      const digest = createHash('sha256').update(key).digest();
      state = { hash: digest.toString('base64url'), offset: digest.readUInt32BE(0), index: -1, counter: '' };
      if (states.size >= MAX_CACHED_KEYS) states.clear();
      states.set(id, state);
    }
    return state;
  }

  private rateOf(rate: RateInput): Rate {
    if (typeof rate !== 'string') return parseRate(rate);
    let parsed = this.rates.get(rate);
    if (parsed === undefined) {
      parsed = parseRate(rate);
      if (this.rates.size < MAX_CACHED_RATES) this.rates.set(rate, parsed);
    }
    return parsed;
  }
}

/**
 * `now` on the key's own clock. Windows are aligned to the clock plus a per-key offset taken from
 * the first 32 bits of its hash, so the reset time is known without a second call and keys do not
 * all reset together: window `k` of a key is `[k * ttlMs, (k + 1) * ttlMs)` of this clock.
 */
function shiftedClock(state: KeyState, ttlMs: number, now: number): number {
  return now + (state.offset % ttlMs);
}

function fixedResult(limit: number, count: number, resetMs: number): ThrottleResult {
  const allowed = count <= limit;
  return {
    allowed,
    limit,
    remaining: allowed ? limit - count : 0,
    resetMs,
    retryAfterMs: allowed ? 0 : resetMs,
  };
}

/** Weighted estimate: the previous window's count scaled by how much of it still overlaps. */
function slidingResult(rate: Rate, count: number, prev: number, resetMs: number): ThrottleResult {
  const { limit, ttlMs } = rate;
  const elapsed = ttlMs - resetMs;
  const estimate = (prev * (ttlMs - elapsed)) / ttlMs + count;
  const allowed = estimate <= limit;
  let retryAfterMs = 0;
  if (!allowed) {
    if (count + 1 <= limit && prev > 0) {
      // Later in this window the previous count weighs less: find when one more hit fits.
      const fitsAt = ttlMs * (1 - (limit - count - 1) / prev);
      retryAfterMs = Math.max(1, Math.ceil(fitsAt - elapsed));
    } else {
      // Only in the next window, once this window's count has faded enough.
      const fitsAt = limit - 1 >= count ? 0 : ttlMs * (1 - (limit - 1) / count);
      retryAfterMs = resetMs + Math.ceil(fitsAt);
    }
  }
  return {
    allowed,
    limit,
    remaining: allowed ? Math.max(0, Math.floor(limit - estimate)) : 0,
    resetMs,
    retryAfterMs,
  };
}
