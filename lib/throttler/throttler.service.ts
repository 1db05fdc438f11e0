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
  /**
   * Index of the window `counter` belongs to, -1 before the first hit. It never goes back: after
   * the clock is stepped back the key stays in this window until it ends (see {@link Throttler.hit}).
   */
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
 * attempts per account. Keys are hashed, so any text (an email, an IP) is a safe key; each rate of
 * a key has its own counter.
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
    const state = this.stateOfRate(key, parsed);
    const index = Math.max(state.index, Math.floor(shiftedClock(state, parsed.ttlMs, Date.now()) / parsed.ttlMs));
    await this.backend.deleteMany([this.counterKey(state, index), this.counterKey(state, index - 1)]);
  }

  /** Counts one hit of `key` with an already parsed rate. */
  take(key: string, rate: Rate): Promise<ThrottleResult> {
    try {
      return Promise.resolve(this.hit(this.stateOfRate(key, rate), rate));
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * @internal One hit of `tracker` on a guarded route's limit (the guard's path). On the memory
   * backend the result comes back synchronously (errors are thrown).
   */
  takeTracked(limit: TrackedLimit, tracker: string): ThrottleResult | Promise<ThrottleResult> {
    const state = limit.states.get(tracker) ?? this.stateOf(limit.states, tracker, limit.prefix + tracker);
    return this.hit(state, limit.rate);
  }

  /**
   * One hit of the key of `state`. Fixed windows count every hit (one `increment`); the sliding
   * window counts allowed hits only: a refused hit is taken back, so waiting out `retryAfterMs`
   * always lets the next hit in. After the clock is stepped back, the key stays in the latest
   * window it was counted in until that window ends, so a step back never reopens a window.
   */
  private hit(state: KeyState, rate: Rate): ThrottleResult | Promise<ThrottleResult> {
    const ttlMs = rate.ttlMs;
    const now = Date.now();
    const shifted = shiftedClock(state, ttlMs, now);
    let index = Math.floor(shifted / ttlMs);
    if (index !== state.index) {
      if (index > state.index) {
        state.index = index;
        state.counter = this.counterKey(state, index);
      } else {
        index = state.index; // the clock went back: more than `ttlMs` may be left of this window
      }
    }
    const resetMs = (index + 1) * ttlMs - shifted;
    const counter = state.counter;
    const memory = this.memory;
    if (this.algorithm === 'fixed-window') {
      if (memory !== undefined) return fixedResult(rate.limit, memory.countNow(counter, resetMs, now), resetMs);
      return this.backend.increment(counter, resetMs).then((count) => fixedResult(rate.limit, count, resetMs));
    }
    const previous = this.counterKey(state, index - 1);
    // The current counter must outlive its window by one more: it is the next one's "previous".
    const counterTtl = resetMs + ttlMs;
    if (memory !== undefined) {
      const result = slidingResult(rate, memory.countNow(counter, counterTtl, now), memory.getNow(previous), resetMs);
      if (!result.allowed) memory.incrementNow(counter, -1, counterTtl);
      return result;
    }
    const backend = this.backend;
    return Promise.all([backend.increment(counter, counterTtl), backend.get(previous)]).then(([count, prev]) => {
      const result = slidingResult(rate, count, prev, resetMs);
      if (result.allowed) return result;
      // Taken back after the verdict: meanwhile a concurrent hit may see one hit too many (and be
      // refused), never one too few. If the decrement fails the hit stays counted: still a refusal.
      return backend.incrementBy(counter, -1, counterTtl).then(
        () => result,
        () => result,
      );
    });
  }

  private counterKey(state: KeyState, index: number): string {
    return `${this.namespace}${state.hash}:${index.toString(36)}`;
  }

  /** The state of `key` counted against `rate`: one counter per key and rate (limit and period). */
  private stateOfRate(key: string, rate: Rate): KeyState {
    const id = `${rate.limit}/${rate.ttlMs}\u0000${key}`;
    return this.stateOf(this.keys, id, id);
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

/**
 * Weighted estimate: the previous window's count scaled by how much of it still overlaps, plus the
 * current count (this hit included). Both counts are of allowed hits only. Computed in whole
 * numbers (times `ttlMs`), so the verdict at exactly `now + retryAfterMs` is the one promised.
 */
function slidingResult(rate: Rate, count: number, stored: unknown, resetMs: number): ThrottleResult {
  const { limit, ttlMs } = rate;
  const prev = typeof stored === 'number' && stored > 0 ? stored : 0;
  // Negative after a step back of the clock (more than `ttlMs` left): the window counts as just begun.
  const since = ttlMs - resetMs;
  const elapsed = Math.max(0, since);
  const room = limit * ttlMs - prev * (ttlMs - elapsed) - count * ttlMs;
  if (room >= 0) {
    return { allowed: true, limit, remaining: Math.floor(room / ttlMs), resetMs, retryAfterMs: 0 };
  }
  let retryAfterMs: number;
  if (count < limit) {
    // This hit is not kept, so a retry makes the count `count` again; the previous window weighs
    // less later in this one: the first elapsed ms `at` with prev * (ttlMs - at) <= (limit - count) * ttlMs.
    retryAfterMs = Math.max(1, firstFit(prev, (limit - count) * ttlMs, ttlMs) - since);
  } else {
    // This window is full: in the next one its `count - 1` allowed hits are "previous" and the retry is the first.
    const kept = count - 1;
    retryAfterMs = resetMs + (kept <= limit - 1 ? 0 : firstFit(kept, (limit - 1) * ttlMs, ttlMs));
  }
  return { allowed: false, limit, remaining: 0, resetMs, retryAfterMs };
}

/** The first whole `at` in `[0, ttlMs]` with `weight * (ttlMs - at) <= budget` (`weight` > 0). */
function firstFit(weight: number, budget: number, ttlMs: number): number {
  let at = Math.max(0, ttlMs - Math.floor(budget / weight));
  while (at < ttlMs && weight * (ttlMs - at) > budget) at++;
  return at;
}
