import { jest } from '@jest/globals';

/**
 * Everything jest can fake except `Date`: timers, ticks and I/O run as usual while the clock that
 * windows, TTLs and expiry read is the test's.
 */
export const REAL_TIMERS = [
  'hrtime',
  'nextTick',
  'performance',
  'queueMicrotask',
  'setImmediate',
  'clearImmediate',
  'setInterval',
  'clearInterval',
  'setTimeout',
  'clearTimeout',
] as const;

/**
 * The instant tests freeze `Date` at unless they say otherwise: fixed, so where every key's window
 * stands is the same on every run, whatever the wall clock says.
 */
export const FROZEN_AT = Date.UTC(2030, 0, 1, 0, 0, 0);

/**
 * Fakes `Date` only and stops it at `at`: hits counted from here on all fall at one instant, so no
 * run crosses a window's end. Move it with `jest.setSystemTime`; undo with {@link thawDate}.
 * On Redis a counter still expires in real time, after the `resetMs` the throttler computed at `at`:
 * a test that counts on Redis needs `at` far enough from its keys' window ends (see
 * {@link assertFarFromWindowEnd}).
 */
export function freezeDate(at: number = FROZEN_AT): void {
  jest.useFakeTimers({ now: at, doNotFake: [...REAL_TIMERS] });
}

/** Gives `Date` back to the wall clock (and every other timer back to the real ones). */
export function thawDate(): void {
  jest.useRealTimers();
}

/** Seconds a counter must have left for the few real seconds a test (or a describe) runs on it. */
const MIN_RESET_S = 60;

/**
 * Throws when a throttled response says its window ends within `minResetS` (a minute unless a test
 * that runs on many keys for a few seconds says less): with `Date` frozen that
 * only happens when the frozen instant sits just before a key's boundary, where a Redis counter
 * would expire under the test. Deterministic (fixed instant, hashed keys), so it fails on every run.
 */
export function assertFarFromWindowEnd(
  headers: Record<string, string | string[] | undefined>,
  what: string,
  minResetS: number = MIN_RESET_S,
): void {
  const reset = headers['x-ratelimit-reset'];
  if (typeof reset === 'string' && Number(reset) < minResetS) {
    throw new Error(
      `${what}: the frozen clock is ${reset} s before this limit's window ends; pick another instant for freezeDate()`,
    );
  }
}
