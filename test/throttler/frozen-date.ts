import { jest } from '@jest/globals';

/**
 * Freezes `Date` (only `Date`: timers, ticks and I/O stay real) in the middle of an hour, so fixed
 * windows of an hour or less never roll over while a test counts.
 */
export function freezeDate(at = Date.UTC(2030, 0, 1, 10, 30, 0)): void {
  jest.useFakeTimers({
    now: at,
    doNotFake: [
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'requestAnimationFrame',
      'cancelAnimationFrame',
      'requestIdleCallback',
      'cancelIdleCallback',
      'setImmediate',
      'clearImmediate',
      'setInterval',
      'clearInterval',
      'setTimeout',
      'clearTimeout',
    ],
  });
}

/** Gives `Date` back its clock. */
export function thawDate(): void {
  jest.useRealTimers();
}
