/** Retries of transient failures: capped exponential backoff with jitter. */
export interface RetryOptions {
  /** Retries after the first attempt (0 turns retrying off). @default 3 */
  retries?: number;
  /** Delay before the first retry, in ms. @default 200 */
  minDelayMs?: number;
  /** Longest delay between two attempts, in ms; a longer `Retry-After` ends the retries. @default 10000 */
  maxDelayMs?: number;
}

/** @internal The retry options with defaults applied and checked. */
export type RetryPolicy = Required<RetryOptions>;

/** @internal Applies the defaults; returns a reason string when an option is invalid. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy | string {
  const policy = { retries: 3, minDelayMs: 200, maxDelayMs: 10_000, ...stripUndefined(options) };
  if (!Number.isSafeInteger(policy.retries) || policy.retries < 0) return 'retry.retries must be a whole number >= 0';
  if (!(policy.minDelayMs >= 0) || !(policy.maxDelayMs >= policy.minDelayMs)) {
    return 'retry delays must satisfy 0 <= minDelayMs <= maxDelayMs';
  }
  return policy;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/**
 * @internal Delay before retry number `attempt + 1`: `minDelayMs * 2^attempt` capped at `maxDelayMs`,
 * jittered into its upper half, and never shorter than the provider's `Retry-After`.
 * Resolves `undefined` (give up) when `Retry-After` exceeds `maxDelayMs`.
 */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfterMs?: number): number | undefined {
  if (retryAfterMs !== undefined && retryAfterMs > policy.maxDelayMs) return undefined;
  const capped = Math.min(policy.maxDelayMs, policy.minDelayMs * 2 ** attempt);
  const jittered = capped / 2 + Math.random() * (capped / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** @internal Parses an HTTP `Retry-After` (seconds or an HTTP date) into ms. */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (typeof text !== 'string' && typeof text !== 'number') return undefined;
  const s = String(text).trim();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** @internal Resolves after `ms`. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
