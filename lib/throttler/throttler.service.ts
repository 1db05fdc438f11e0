import { createHash } from 'node:crypto';
import type { Backend } from '../storage/index.js';
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
/** Hashes of recent keys are kept so a busy client is not hashed again on every hit. */
const MAX_CACHED_HASHES = 10_000;

/**
 * Counts hits per key on the shared backend with one `increment` per hit, e.g. to limit login
 * attempts per account. Keys are hashed, so any text (an email, an IP) is a safe key.
 * @example const { allowed, retryAfterMs } = await throttler.consume(`login:${email}`, '5/15m');
 */
export class Throttler {
  /** The algorithm every call uses. */
  readonly algorithm: ThrottleAlgorithm;
  private readonly backend: Backend;
  private readonly rates = new Map<string, Rate>();
  private readonly hashes = new Map<string, KeyHash>();

  constructor(backend: Backend, options: ThrottlerOptions = {}) {
    const algorithm = options.algorithm ?? 'fixed-window';
    if (algorithm !== 'fixed-window' && algorithm !== 'sliding-window') {
      throw new ThrottlerConfigError(
        'invalid_throttle_options',
        `Unknown throttle algorithm ${JSON.stringify(algorithm)}: use "fixed-window" or "sliding-window"`,
      );
    }
    this.algorithm = algorithm;
    this.backend = backend.namespace(options.namespace ?? 'throttle:');
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
    const w = window(this.hashOf(key), parsed.ttlMs, Date.now());
    await this.backend.deleteMany([`${w.hash}:${w.index.toString(36)}`, `${w.hash}:${(w.index - 1).toString(36)}`]);
  }

  /** @internal One hit with an already parsed rate (the guard's path). */
  take(key: string, rate: Rate): Promise<ThrottleResult> {
    const w = window(this.hashOf(key), rate.ttlMs, Date.now());
    const current = `${w.hash}:${w.index.toString(36)}`;
    if (this.algorithm === 'fixed-window') {
      return this.backend.increment(current, w.resetMs).then((count) => fixedResult(rate.limit, count, w.resetMs));
    }
    const previous = `${w.hash}:${(w.index - 1).toString(36)}`;
    // The current counter must outlive its window by one more: it is the next one's "previous".
    return Promise.all([this.backend.increment(current, w.resetMs + rate.ttlMs), this.backend.get<number>(previous)]).then(
      ([count, prev]) => slidingResult(rate, count, typeof prev === 'number' ? prev : 0, w.resetMs),
    );
  }

  private hashOf(key: string): KeyHash {
    let h = this.hashes.get(key);
    if (h === undefined) {
      const digest = createHash('sha256').update(key).digest();
      h = { text: digest.toString('base64url'), bits: digest.readUInt32BE(0) };
      if (this.hashes.size >= MAX_CACHED_HASHES) this.hashes.clear();
      this.hashes.set(key, h);
    }
    return h;
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

/** SHA-256 of a key: its base64url text and its first 32 bits (the window offset). */
interface KeyHash {
  text: string;
  bits: number;
}

interface Window {
  hash: string;
  index: number;
  resetMs: number;
}

/**
 * The window of `key` at `now`. Windows are aligned to the clock plus a per-key offset taken from
 * the hash, so the reset time is known without a second call and keys do not all reset together.
 */
function window(hash: KeyHash, ttlMs: number, now: number): Window {
  const shifted = now + (hash.bits % ttlMs);
  const index = Math.floor(shifted / ttlMs);
  return { hash: hash.text, index, resetMs: (index + 1) * ttlMs - shifted };
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
