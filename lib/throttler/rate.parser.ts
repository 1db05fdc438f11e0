import { ThrottlerConfigError } from './throttler-config.error.js';

/** A parsed rate: at most `limit` hits per window of `ttlMs` milliseconds. */
export interface Rate {
  limit: number;
  ttlMs: number;
}

/**
 * A rate as written by users: `'100/minute'`, `'10/s'`, `'1000/day'`, `'5/15m'` (a multiple of a
 * unit), or `{ limit, ttlMs }`.
 */
export type RateInput = string | Rate;

const UNIT_MS: Record<string, number> = {
  ms: 1,
  millisecond: 1,
  milliseconds: 1,
  s: 1000,
  sec: 1000,
  secs: 1000,
  second: 1000,
  seconds: 1000,
  m: 60_000,
  min: 60_000,
  mins: 60_000,
  minute: 60_000,
  minutes: 60_000,
  h: 3_600_000,
  hr: 3_600_000,
  hrs: 3_600_000,
  hour: 3_600_000,
  hours: 3_600_000,
  d: 86_400_000,
  day: 86_400_000,
  days: 86_400_000,
  w: 604_800_000,
  week: 604_800_000,
  weeks: 604_800_000,
};

const RATE_PATTERN = /^\s*(\d+)\s*\/\s*(\d+)?\s*([a-z]+)\s*$/i;
const EXAMPLES = 'e.g. "100/minute", "10/s", "1000/day", "5/15m" or { limit: 10, ttlMs: 1000 }';

function invalid(input: unknown, why: string): ThrottlerConfigError {
  const shown = typeof input === 'string' ? JSON.stringify(input) : safeJson(input);
  return new ThrottlerConfigError('invalid_rate', `Invalid throttle rate ${shown}: ${why} (${EXAMPLES})`);
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

function checkRate(input: unknown, limit: number, ttlMs: number): Rate {
  if (!Number.isSafeInteger(limit) || limit < 1) throw invalid(input, 'the limit must be a whole number >= 1');
  if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) throw invalid(input, 'the period must be a whole number of ms >= 1');
  // The sliding window and the token bucket compute in units of limit × period, exactly.
  if (!Number.isSafeInteger(limit * ttlMs)) throw invalid(input, 'limit × period (in ms) must stay below 2^53');
  return { limit, ttlMs };
}

/**
 * Parses a rate string or checks a `{ limit, ttlMs }` object; throws {@link ThrottlerConfigError}
 * (code `invalid_rate`) with the accepted forms in its message.
 */
export function parseRate(input: RateInput): Rate {
  if (typeof input === 'string') {
    const match = RATE_PATTERN.exec(input);
    if (!match) throw invalid(input, 'expected "<limit>/<period>"');
    const unit = UNIT_MS[match[3].toLowerCase()];
    if (unit === undefined) {
      throw invalid(input, `unknown unit "${match[3]}" (use ms, s, m, h, d, w or second, minute, hour, day, week)`);
    }
    const count = match[2] === undefined ? 1 : Number(match[2]);
    return checkRate(input, Number(match[1]), count * unit);
  }
  if (isRateObject(input)) return checkRate(input, input.limit, input.ttlMs);
  throw invalid(input, 'expected a string or { limit, ttlMs }');
}

/** Whether `value` has the `{ limit, ttlMs }` shape (numbers), as opposed to a map of named rates. */
export function isRateObject(value: unknown): value is Rate {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Rate).limit === 'number' &&
    typeof (value as Rate).ttlMs === 'number'
  );
}
