import { describe, expect, it } from '@jest/globals';
import { parseRate, Throttle, ThrottlerConfigError } from '../../lib/index.js';
import { parseLimits } from '../../lib/throttler/index.js';

describe('parseRate', () => {
  it.each([
    ['100/minute', 100, 60_000],
    ['10/s', 10, 1_000],
    ['1000/day', 1000, 86_400_000],
    ['5/15m', 5, 900_000],
    ['3/2h', 3, 7_200_000],
    ['7/sec', 7, 1_000],
    ['1/week', 1, 604_800_000],
    ['50/500ms', 50, 500],
    [' 20 / Hour ', 20, 3_600_000],
  ])('parses %j', (text, limit, ttlMs) => {
    expect(parseRate(text)).toEqual({ limit, ttlMs });
  });

  it('accepts { limit, ttlMs }', () => {
    expect(parseRate({ limit: 4, ttlMs: 250 })).toEqual({ limit: 4, ttlMs: 250 });
  });

  it.each(['', '100', '100/', '/minute', 'abc/minute', '10/fortnight', '0/minute', '-1/s', '1.5/s', '10/0m'])(
    'refuses %j with a message naming the rate and the accepted forms',
    (text) => {
      let caught: unknown;
      try {
        parseRate(text);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ThrottlerConfigError);
      expect((caught as ThrottlerConfigError).code).toBe('invalid_rate');
      expect((caught as Error).message).toContain(JSON.stringify(text));
      expect((caught as Error).message).toContain('"100/minute"');
    },
  );

  it.each([
    { limit: 0, ttlMs: 1000 },
    { limit: 1, ttlMs: 0 },
    { limit: 1.5, ttlMs: 10 },
  ])('refuses %j', (rate) => {
    expect(() => parseRate(rate)).toThrow(ThrottlerConfigError);
  });
});

describe('parseLimits / @Throttle', () => {
  it('names a single rate "default" and keeps named rates', () => {
    expect(parseLimits('2/s')).toEqual([{ name: 'default', limit: 2, ttlMs: 1000 }]);
    expect(parseLimits({ burst: '5/s', sustained: { limit: 100, ttlMs: 3_600_000 } })).toEqual([
      { name: 'burst', limit: 5, ttlMs: 1000 },
      { name: 'sustained', limit: 100, ttlMs: 3_600_000 },
    ]);
  });

  it('fails when the decorator is applied, i.e. when the app code is loaded', () => {
    expect(() => Throttle('ten per minute')).toThrow(/Invalid throttle rate "ten per minute"/);
    expect(() => Throttle({ burst: '5/s', sustained: '100/eon' })).toThrow(/unknown unit "eon"/);
    expect(() => Throttle({})).toThrow(ThrottlerConfigError);
  });
});
