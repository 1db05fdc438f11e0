import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { type Backend, type RateInput, Throttler, type ThrottleResult } from '../../lib/index.js';
import { freezeDate, thawDate } from '../utils/clock.js';
import { openBackend, type StoreKind } from '../utils/web-app.js';

/** Moves the frozen clock by `ms` (forward, or back when negative). */
function advance(ms: number): void {
  jest.setSystemTime(Date.now() + ms);
}

/** What an HTTP client waits on a refusal: `Retry-After` in whole seconds, as the guard sends it. */
const retryAfterSeconds = (r: ThrottleResult) => Math.max(1, Math.ceil(r.retryAfterMs / 1000));

describe.each<StoreKind>(['memory', 'redis'])('Throttler windows on %s (controlled clock)', (kind) => {
  let backend: Backend;
  beforeEach(async () => {
    freezeDate();
    backend = await openBackend(kind, 'throttler-windows');
  });
  afterEach(async () => {
    await backend.close();
    thawDate();
  });

  describe('sliding window (#28.18)', () => {
    it('lets a client that waits exactly Retry-After through at about the rate (5/10s)', async () => {
      const throttler = new Throttler(backend, { algorithm: 'sliding-window' });
      const end = Date.now() + 120_000;
      let allowed = 0;
      let refusedAfterWaiting = 0;
      let waited = false;
      while (Date.now() < end) {
        const r = await throttler.consume('patient', '5/10s');
        if (r.allowed) {
          allowed++;
          waited = false;
          continue; // the next request right away
        }
        if (waited) refusedAfterWaiting++;
        waited = true;
        advance(retryAfterSeconds(r) * 1000);
      }
      // Refused hits counted, the estimate stayed high: 28 in 120 s. Counting allowed hits only, a
      // saturated weighted estimate lets `limit - 1` through per window at least (4 x 12 windows).
      expect(allowed).toBeGreaterThanOrEqual(48);
      // Still a limit: 12 windows of 5, plus at most one window's worth at the start.
      expect(allowed).toBeLessThanOrEqual(65);
      // Retry-After stays honest: waiting it out always lets the next request in.
      expect(refusedAfterWaiting).toBe(0);
    });

    it('lets a client at 1 request per second back in after a burst (10/10s)', async () => {
      const throttler = new Throttler(backend, { algorithm: 'sliding-window' });
      const burst = await Promise.all(Array.from({ length: 20 }, () => throttler.consume('bursty', '10/10s')));
      expect(burst.filter((r) => r.allowed)).toHaveLength(10);
      const later: boolean[] = [];
      for (let i = 0; i < 60; i++) {
        advance(1000);
        later.push((await throttler.consume('bursty', '10/10s')).allowed);
      }
      // Counting its refused hits, every window kept 10 and the client was never let in again.
      expect(later.indexOf(true)).toBeGreaterThanOrEqual(0);
      expect(later.indexOf(true)).toBeLessThan(20);
      // Once the burst has faded, one per second is the limit itself; the saturated weighted estimate
      // lets at least `limit - 1` of each 10 through (with refused hits counted: none).
      expect(later.slice(30).filter(Boolean).length).toBeGreaterThanOrEqual(27);
    });

    it('answers a refusal honestly: refused 1 ms before Retry-After, allowed at it', async () => {
      const throttler = new Throttler(backend, { algorithm: 'sliding-window' });
      const rate = { limit: 4, ttlMs: 10_000 };
      for (let i = 0; i < 4; i++) expect((await throttler.consume('honest', rate)).allowed).toBe(true);
      const refused = await throttler.consume('honest', rate);
      expect(refused.allowed).toBe(false);
      advance(refused.retryAfterMs - 1);
      const early = await throttler.consume('honest', rate);
      expect(early.allowed).toBe(false);
      advance(1);
      // The early, refused hit was not counted: the promise still holds.
      expect((await throttler.consume('honest', rate)).allowed).toBe(true);
    });

    it('refuses exactly the hits above the limit under concurrency, and counts only the allowed', async () => {
      const throttler = new Throttler(backend, { algorithm: 'sliding-window', namespace: 'sw:' });
      const results = await Promise.all(Array.from({ length: 50 }, () => throttler.consume('crowd', '10/hour')));
      expect(results.filter((r) => r.allowed)).toHaveLength(10);
      // Only the 10 allowed hits stayed counted: one more is refused, a fresh key is not.
      expect((await throttler.consume('crowd', '10/hour')).allowed).toBe(false);
      expect((await throttler.consume('other', '10/hour')).allowed).toBe(true);
    });
  });

  describe.each(['fixed-window', 'sliding-window'] as const)('%s', (algorithm) => {
    it('does not reopen a window when the clock is stepped back one window (#28.22a)', async () => {
      const throttler = new Throttler(backend, { algorithm });
      const rate = { limit: 2, ttlMs: 60_000 };
      expect((await throttler.consume('stepped', rate)).allowed).toBe(true);
      expect((await throttler.consume('stepped', rate)).allowed).toBe(true);
      const full = await throttler.consume('stepped', rate);
      expect(full.allowed).toBe(false);

      advance(-rate.ttlMs); // e.g. an NTP step or a VM restored from a snapshot
      const afterStep = await throttler.consume('stepped', rate);
      expect(afterStep.allowed).toBe(false);
      // The window still ends when it would have: a minute more on the stepped-back clock.
      expect(afterStep.resetMs).toBe(full.resetMs + rate.ttlMs);

      advance(afterStep.retryAfterMs);
      expect((await throttler.consume('stepped', rate)).allowed).toBe(true);
    });

    it('keeps one counter per rate of a key (#28.22b)', async () => {
      const throttler = new Throttler(backend, { algorithm });
      const strict: RateInput = '5/minute';
      for (let i = 0; i < 5; i++) expect((await throttler.consume('user:1', strict)).allowed).toBe(true);
      const loose = await throttler.consume('user:1', '100/minute');
      expect(loose.allowed).toBe(true);
      expect(loose.remaining).toBe(99);
      expect((await throttler.consume('user:1', { limit: 5, ttlMs: 60_000 })).allowed).toBe(false);
      // Same limit, another period: another counter too.
      expect((await throttler.consume('user:1', '5/hour')).remaining).toBe(4);

      await throttler.reset('user:1', strict);
      expect((await throttler.consume('user:1', strict)).remaining).toBe(4);
      expect((await throttler.consume('user:1', '100/minute')).remaining).toBe(98);
    });
  });
});
