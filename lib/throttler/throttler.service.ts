import { createHash } from 'node:crypto';
import type { Backend } from '../storage/index.js';
import type {
  LimitStepEntry,
  LimitStepReply,
  LimitStepRequest,
  LimitStepState,
} from '../storage/limit-step.interface.js';
import { hasLimitStep } from '../storage/limit-step.interface.js';
import { applyLimitStepWith } from '../storage/limit-step.js';
import { MemoryBackend, plainMemoryBackend } from '../storage/memory.backend.js';
import { assertKey } from '../storage/storage.validation.js';
import { parseRate, type Rate, type RateInput } from './rate.parser.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
import type { ThrottleAlgorithm } from './throttler-options.interface.js';

/** The outcome of one {@link Throttler.consume}. */
export interface ThrottleResult {
  /** Whether this hit is within the limit. */
  allowed: boolean;
  /** The limit of the rate (the bucket's capacity with `'token-bucket'`). */
  limit: number;
  /** Hits left in the current window (tokens left in the bucket); 0 when refused by this limit. */
  remaining: number;
  /** Milliseconds until the current window ends (until the bucket is full again). */
  resetMs: number;
  /** Milliseconds to wait before a retry can succeed; 0 when allowed. */
  retryAfterMs: number;
  /** Whether the refusal comes from a block (`blockDuration`), which `retryAfterMs` then measures. */
  blocked?: boolean;
}

/** Options of {@link Throttler}. */
export interface ThrottlerOptions {
  /** How hits are counted. @default 'fixed-window' */
  algorithm?: ThrottleAlgorithm;
  /** Namespace of the counters inside the backend given to the constructor. @default 'throttle:' */
  namespace?: string;
}

/** Per-call options of {@link Throttler.consume}. */
export interface ConsumeOptions {
  /** Hits (tokens) this call takes. @default 1 */
  cost?: number;
  /** Once refused, the key is refused for this long, in ms. @default 0 (no block) */
  blockMs?: number;
}

/** A rate with an optional block: what one limit of a step needs. */
export interface LimitRate extends Rate {
  /** Once refused, the tracker is refused for this long (ms); 0 or absent: no block. */
  blockMs?: number;
}

const MAX_CACHED_RATES = 1000;
/** Recent keys keep their hash and counter key, so a busy client is not hashed again on every hit. */
const MAX_CACHED_KEYS = 10_000;
const ALGORITHMS: readonly ThrottleAlgorithm[] = ['fixed-window', 'sliding-window', 'token-bucket'];

/** What a recent key keeps between hits: its hash and the counter key of its current window. */
interface KeyState {
  /** `namespace{tag}hash`: the start of every key of this state; the tag puts a tracker's keys in one Cluster slot. */
  base: string;
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
    readonly rate: LimitRate,
    /** Scope and limit name, prepended to the tracker. */
    readonly prefix: string,
  ) {}
}

/**
 * Counts hits per key on the shared backend, e.g. to limit login attempts per account. Keys are
 * hashed, so any text (an email, an IP) is a safe key; each rate of a key has its own counter. The
 * limits of one call are checked and counted in one atomic step (one round trip on Redis).
 * @example const { allowed, retryAfterMs } = await throttler.consume(`login:${email}`, '5/15m');
 */
export class Throttler {
  /** The algorithm every call uses. */
  readonly algorithm: ThrottleAlgorithm;
  /** The backend given to the constructor; keys carry {@link Throttler.namespace} themselves. */
  private readonly backend: Backend;
  private readonly namespace: string;
  /** The backend again when it is a plain {@link MemoryBackend}, which runs a step synchronously. */
  private readonly memory: MemoryBackend | undefined;
  /** Runs a step on a backend that is not a plain memory one. */
  private readonly step: (request: LimitStepRequest) => Promise<LimitStepReply>;
  private readonly rates = new Map<string, Rate>();
  private readonly keys = new Map<string, KeyState>();

  constructor(backend: Backend, options: ThrottlerOptions = {}) {
    const algorithm = options.algorithm ?? 'fixed-window';
    if (!ALGORITHMS.includes(algorithm)) {
      throw new ThrottlerConfigError(
        'invalid_throttle_options',
        `Unknown throttle algorithm ${JSON.stringify(algorithm)}: use "fixed-window", "sliding-window" or "token-bucket"`,
      );
    }
    this.algorithm = algorithm;
    const namespace = options.namespace ?? 'throttle:';
    // The keys of `backend.namespace(namespace)`, built here so a hit allocates no second key.
    assertKey(namespace);
    this.backend = backend;
    this.namespace = namespace;
    this.memory = plainMemoryBackend(backend);
    // A MemoryBackend subclass (or a proxy of one) that changes a primitive must see every call: the
    // generic step goes through them. Any other backend with the capability runs the step itself.
    this.step =
      hasLimitStep(backend) && !(backend instanceof MemoryBackend)
        ? (request) => backend.applyLimitStep(request)
        : (request) => applyLimitStepWith(backend, request);
  }

  /** Counts one hit (or `cost` hits) of `key` against `rate` and says whether it is allowed. */
  consume(key: string, rate: RateInput, options: ConsumeOptions = {}): Promise<ThrottleResult> {
    let parsed: LimitRate;
    let cost: number;
    try {
      parsed = this.rateOf(rate);
      cost = checkCost(options.cost ?? 1);
      if (options.blockMs !== undefined) parsed = { ...parsed, blockMs: checkBlock(options.blockMs) };
    } catch (err) {
      return Promise.reject(err);
    }
    return this.take(key, parsed, cost);
  }

  /** Forgets the hits (and any block) of `key` for `rate` (e.g. after a successful login). */
  async reset(key: string, rate: RateInput): Promise<void> {
    const parsed = this.rateOf(rate);
    const state = this.stateOfRate(key, parsed);
    const index = Math.max(state.index, Math.floor(shiftedClock(state, parsed.ttlMs, Date.now()) / parsed.ttlMs));
    await this.backend.deleteMany([
      this.counterKey(state, index),
      this.counterKey(state, index - 1),
      `${state.base}:b`,
      `${state.base}:t`,
    ]);
  }

  /** Counts one hit (or `cost`) of `key` with an already parsed rate. */
  take(key: string, rate: LimitRate, cost = 1): Promise<ThrottleResult> {
    try {
      const taken = this.run([rate], [this.stateOfRate(key, rate)], cost);
      return taken instanceof Promise ? taken.then((r) => r[0]) : Promise.resolve(taken[0]);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /**
   * @internal One hit of `tracker` on a guarded route's limit (the guard's path). On the memory
   * backend the result comes back synchronously (errors are thrown).
   */
  takeTracked(limit: TrackedLimit, tracker: string): ThrottleResult | Promise<ThrottleResult> {
    const taken = this.takeAll([limit], [tracker], 1);
    return taken instanceof Promise ? taken.then((r) => r[0]) : taken[0];
  }

  /**
   * @internal One request on every limit of a guarded route, in one step: refused by any, it is
   * counted on none. `ids[i]` is limit i's tracker (or the key `generateKey` returned, when `raw`).
   * On the memory backend the results come back synchronously (errors are thrown).
   */
  takeAll(
    limits: readonly TrackedLimit[],
    ids: readonly string[],
    cost: number,
    raw = false,
  ): ThrottleResult[] | Promise<ThrottleResult[]> {
    const states: KeyState[] = new Array<KeyState>(limits.length);
    const rates: LimitRate[] = new Array<LimitRate>(limits.length);
    for (let i = 0; i < limits.length; i++) {
      const limit = limits[i];
      const id = ids[i];
      states[i] = limit.states.get(id) ?? this.stateOf(limit.states, id, raw ? id : limit.prefix + id, id);
      rates[i] = limit.rate;
    }
    return this.run(rates, states, cost);
  }

  /** Builds the step of `rates` on `states`, runs it and reads its outcome as one result per rate. */
  private run(
    rates: readonly LimitRate[],
    states: readonly KeyState[],
    cost: number,
  ): ThrottleResult[] | Promise<ThrottleResult[]> {
    const now = Date.now();
    const entries: LimitStepEntry[] = new Array<LimitStepEntry>(rates.length);
    for (let i = 0; i < rates.length; i++) entries[i] = this.entryOf(rates[i], states[i], now);
    const request: LimitStepRequest = { entries, cost, now };
    const memory = this.memory;
    if (memory !== undefined) return resultsOf(entries, memory.limitStepNow(request), cost);
    return this.step(request).then((reply) => resultsOf(entries, reply, cost));
  }

  /**
   * The step entry of one rate. Windows follow the key's shifted clock; after the clock is stepped
   * back, the key stays in the latest window it was counted in until that window ends, so a step
   * back never reopens a window.
   */
  private entryOf(rate: LimitRate, state: KeyState, now: number): LimitStepEntry {
    const ttlMs = rate.ttlMs;
    const blockMs = rate.blockMs ?? 0;
    const blockKey = blockMs > 0 ? `${state.base}:b` : undefined;
    if (this.algorithm === 'token-bucket') {
      return {
        kind: 'bucket',
        key: `${state.base}:t`,
        blockKey,
        limit: rate.limit,
        windowMs: ttlMs,
        resetMs: 0,
        blockMs,
      };
    }
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
    if (this.algorithm === 'fixed-window') {
      return { kind: 'fixed', key: state.counter, blockKey, limit: rate.limit, windowMs: ttlMs, resetMs, blockMs };
    }
    return {
      kind: 'sliding',
      key: state.counter,
      previousKey: this.counterKey(state, index - 1),
      blockKey,
      limit: rate.limit,
      windowMs: ttlMs,
      resetMs,
      blockMs,
    };
  }

  private counterKey(state: KeyState, index: number): string {
    return `${state.base}:${index.toString(36)}`;
  }

  /** The state of `key` counted against `rate`: one counter per key and rate (limit and period). */
  private stateOfRate(key: string, rate: Rate): KeyState {
    const id = `${rate.limit}/${rate.ttlMs}\u0000${key}`;
    return this.stateOf(this.keys, id, id, key);
  }

  /**
   * The state of `id` in `states`, created from the SHA-256 of `key` on first sight; its hash tag
   * is taken from `tag`, the same for every limit of one tracker.
   */
  private stateOf(states: Map<string, KeyState>, id: string, key: string, tag: string): KeyState {
    let state = states.get(id);
    if (state === undefined) {
      const digest = createHash('sha256').update(key).digest();
      const tagText = createHash('sha256').update(tag).digest('base64url').slice(0, 8);
      state = {
        base: `${this.namespace}{${tagText}}${digest.toString('base64url')}`,
        offset: digest.readUInt32BE(0),
        index: -1,
        counter: '',
      };
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

/** A cost as given: a whole number >= 1. */
export function checkCost(cost: unknown): number {
  if (typeof cost !== 'number' || !Number.isSafeInteger(cost) || cost < 1) {
    throw new ThrottlerConfigError(
      'invalid_throttle_options',
      `Throttle cost must be a whole number >= 1, got ${String(cost)}`,
    );
  }
  return cost;
}

/** A block duration as given: a whole number of ms >= 0. */
export function checkBlock(blockMs: unknown): number {
  if (typeof blockMs !== 'number' || !Number.isSafeInteger(blockMs) || blockMs < 0) {
    throw new ThrottlerConfigError(
      'invalid_throttle_options',
      `Throttle blockDuration must be a whole number of ms >= 0, got ${String(blockMs)}`,
    );
  }
  return blockMs;
}

/** The results of a step, one per entry. */
function resultsOf(entries: readonly LimitStepEntry[], reply: LimitStepReply, cost: number): ThrottleResult[] {
  const out: ThrottleResult[] = new Array<ThrottleResult>(entries.length);
  for (let i = 0; i < entries.length; i++) out[i] = resultOf(entries[i], reply.states[i], cost);
  return out;
}

function resultOf(entry: LimitStepEntry, state: LimitStepState, cost: number): ThrottleResult {
  const { limit, windowMs } = entry;
  const blocked = state.blockedMs > 0;
  if (entry.kind === 'bucket') {
    const units = state.count;
    return {
      allowed: state.fits,
      limit,
      remaining: blocked ? 0 : Math.max(0, Math.floor(units / windowMs)),
      resetMs: Math.max(0, Math.ceil((limit * windowMs - units) / limit)),
      retryAfterMs: state.fits
        ? 0
        : blocked
          ? state.blockedMs
          : Math.max(1, Math.ceil((cost * windowMs - units) / limit)),
      blocked,
    };
  }
  const resetMs = entry.resetMs;
  if (entry.kind === 'fixed') {
    return {
      allowed: state.fits,
      limit,
      remaining: blocked ? 0 : Math.max(0, limit - state.count),
      resetMs,
      retryAfterMs: state.fits ? 0 : blocked ? state.blockedMs : resetMs,
      blocked,
    };
  }
  return slidingResult(entry, state, cost);
}

/**
 * Weighted estimate: the previous window's count scaled by how much of it still overlaps, plus the
 * current count. Both counts are of allowed hits only. Computed in whole numbers (times `windowMs`),
 * so the verdict at exactly `now + retryAfterMs` is the one promised.
 */
function slidingResult(entry: LimitStepEntry, state: LimitStepState, cost: number): ThrottleResult {
  const { limit, windowMs: ttlMs, resetMs } = entry;
  const prev = state.previous;
  const count = state.count;
  // Negative after a step back of the clock (more than `ttlMs` left): the window counts as just begun.
  const since = ttlMs - resetMs;
  const elapsed = Math.max(0, since);
  const room = limit * ttlMs - prev * (ttlMs - elapsed) - count * ttlMs;
  const blocked = state.blockedMs > 0;
  const remaining = blocked ? 0 : Math.max(0, Math.floor(room / ttlMs));
  if (state.fits) return { allowed: true, limit, remaining, resetMs, retryAfterMs: 0, blocked: false };
  if (blocked) return { allowed: false, limit, remaining, resetMs, retryAfterMs: state.blockedMs, blocked };
  // Refused, so nothing was counted: `count` is this window's count without the request.
  const need = count + cost;
  let retryAfterMs: number;
  if (need <= limit) {
    // The previous window weighs less later in this one: the first elapsed ms `at` with
    // prev * (ttlMs - at) <= (limit - need) * ttlMs.
    retryAfterMs = Math.max(1, firstFit(prev, (limit - need) * ttlMs, ttlMs) - since);
  } else if (cost > limit) {
    retryAfterMs = resetMs + ttlMs; // never fits: the best a client can be told
  } else {
    // This window is too full: in the next one its `count` hits are "previous" and the retry the first.
    retryAfterMs = resetMs + (count <= limit - cost ? 0 : firstFit(count, (limit - cost) * ttlMs, ttlMs));
  }
  return { allowed: false, limit, remaining, resetMs, retryAfterMs, blocked: false };
}

/**
 * `now` on the key's own clock. Windows are aligned to the clock plus a per-key offset taken from
 * the first 32 bits of its hash, so the reset time is known without a second call and keys do not
 * all reset together: window `k` of a key is `[k * ttlMs, (k + 1) * ttlMs)` of this clock.
 */
function shiftedClock(state: KeyState, ttlMs: number, now: number): number {
  return now + (state.offset % ttlMs);
}

/** The first whole `at` in `[0, ttlMs]` with `weight * (ttlMs - at) <= budget` (`weight` > 0). */
function firstFit(weight: number, budget: number, ttlMs: number): number {
  if (weight <= 0) return 0;
  let at = Math.max(0, ttlMs - Math.floor(budget / weight));
  while (at < ttlMs && weight * (ttlMs - at) > budget) at++;
  return at;
}
