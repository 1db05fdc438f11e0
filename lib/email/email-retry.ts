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

const DAYS = '(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)';
const LONG_DAYS = '(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)';
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const MONTH = `(${MONTHS.join('|')})`;
const TIME = '(\\d{2}):(\\d{2}):(\\d{2})';
/** RFC 9110 IMF-fixdate: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const IMF_FIXDATE = new RegExp(`^${DAYS}, (\\d{2}) ${MONTH} (\\d{4}) ${TIME} GMT$`);
/** Obsolete RFC 850 date: `Sunday, 06-Nov-94 08:49:37 GMT`. */
const RFC850_DATE = new RegExp(`^${LONG_DAYS}, (\\d{2})-${MONTH}-(\\d{2}) ${TIME} GMT$`);
/** Obsolete asctime date: `Sun Nov  6 08:49:37 1994`. */
const ASCTIME_DATE = new RegExp(`^${DAYS} ${MONTH} ([ \\d]\\d) ${TIME} (\\d{4})$`);

function utc(year: number, month: string, day: number, h: string, m: string, s: string): number | undefined {
  const at = Date.UTC(year, MONTHS.indexOf(month), day, Number(h), Number(m), Number(s));
  const d = new Date(at);
  // Refuses impossible dates (31 Feb) and times (25:00:00) instead of letting Date roll them over.
  if (d.getUTCDate() !== day || d.getUTCHours() !== Number(h) || d.getUTCMinutes() !== Number(m)) return undefined;
  return Number(s) > 60 ? undefined : at;
}

/** @internal Parses an RFC 9110 HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) into epoch ms. */
export function parseHttpDate(text: string, now = Date.now()): number | undefined {
  let m = IMF_FIXDATE.exec(text);
  if (m) return utc(Number(m[3]), m[2], Number(m[1]), m[4], m[5], m[6]);
  m = RFC850_DATE.exec(text);
  if (m) {
    // RFC 9110 5.6.7: a two-digit year more than 50 years in the future is the most recent past one.
    const thisYear = new Date(now).getUTCFullYear();
    let year = Math.floor(thisYear / 100) * 100 + Number(m[3]);
    if (year > thisYear + 50) year -= 100;
    return utc(year, m[2], Number(m[1]), m[4], m[5], m[6]);
  }
  m = ASCTIME_DATE.exec(text);
  if (m) return utc(Number(m[6]), m[1], Number(m[2].trim()), m[3], m[4], m[5]);
  return undefined;
}

/**
 * @internal Parses an HTTP `Retry-After` (RFC 9110 10.2.3) into ms: delay-seconds (digits only) or an
 * HTTP-date. Anything else, such as `7.`, `7.5`, `-1` or a date in another format, counts as absent
 * (`undefined`): the retry policy's own backoff applies, as if the header had not been sent.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? value[0] : value;
  if (typeof raw === 'number') return Number.isSafeInteger(raw) && raw >= 0 ? raw * 1000 : undefined;
  if (typeof raw !== 'string') return undefined;
  const text = raw.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = parseHttpDate(text, now);
  return at === undefined ? undefined : Math.max(0, at - now);
}

/** @internal Resolves after `ms`, or at once when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
