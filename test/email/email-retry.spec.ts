import { describe, expect, it } from '@jest/globals';
import { backoffDelay, parseHttpDate, parseRetryAfter, retryPolicy } from '../../lib/email/email-retry.js';

// A fixed "now", so no result depends on the wall clock.
const NOW = Date.UTC(2026, 11, 3, 12, 0, 0);

describe('parseRetryAfter (RFC 9110 10.2.3: delay-seconds or HTTP-date)', () => {
  it('delay-seconds: digits only, in ms', () => {
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter('7', NOW)).toBe(7000);
    expect(parseRetryAfter(' 120 ', NOW)).toBe(120_000);
    expect(parseRetryAfter(['3', '9'], NOW)).toBe(3000);
    expect(parseRetryAfter(5, NOW)).toBe(5000);
  });

  it('a malformed value counts as absent (undefined), never as "retry at once"', () => {
    for (const v of ['7.', '7.5', '.5', '-1', '+3', '1e3', '0x10', '7s', '', ' ', 'soon', 'Tomorrow']) {
      expect({ v, ms: parseRetryAfter(v, NOW) }).toEqual({ v, ms: undefined });
    }
    for (const v of [undefined, null, {}, -1, 1.5, Number.NaN]) expect(parseRetryAfter(v, NOW)).toBeUndefined();
  });

  it('IMF-fixdate: the time left until that date; a past date is 0', () => {
    expect(parseRetryAfter('Thu, 03 Dec 2026 12:00:30 GMT', NOW)).toBe(30_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 11:00:00 GMT', NOW)).toBe(0);
  });

  it('the obsolete RFC 850 and asctime forms are HTTP-dates too', () => {
    expect(parseRetryAfter('Thursday, 03-Dec-26 12:01:00 GMT', NOW)).toBe(60_000);
    expect(parseRetryAfter('Thu Dec  3 12:00:10 2026', NOW)).toBe(10_000);
    // RFC 850's two-digit year: more than 50 years ahead means the previous century.
    expect(parseHttpDate('Sunday, 06-Nov-94 08:49:37 GMT', NOW)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
  });

  it('dates that Date.parse would accept but HTTP does not are absent', () => {
    for (const v of [
      '2026-12-03T12:00:30Z',
      'Thu, 03 Dec 2026 12:00:30 +0000',
      'Thu, 3 Dec 2026 12:00:30 GMT',
      'Dec 3 2026',
    ]) {
      expect({ v, ms: parseRetryAfter(v, NOW) }).toEqual({ v, ms: undefined });
    }
    expect(parseHttpDate('Mon, 31 Feb 2026 12:00:00 GMT', NOW)).toBeUndefined();
    expect(parseHttpDate('Thu, 03 Dec 2026 25:00:00 GMT', NOW)).toBeUndefined();
  });
});

describe('backoffDelay honours Retry-After', () => {
  const policy = retryPolicy({ retries: 3, minDelayMs: 1, maxDelayMs: 10_000 });
  it('waits at least Retry-After, and gives up when it exceeds maxDelayMs', () => {
    if (typeof policy === 'string') throw new Error(policy);
    expect(backoffDelay(0, policy, 3000)).toBe(3000);
    expect(backoffDelay(0, policy, 60_000)).toBeUndefined();
    expect(backoffDelay(0, policy, parseRetryAfter('7.'))).toBeLessThanOrEqual(1);
  });
});
