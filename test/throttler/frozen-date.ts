import { freezeDate as freezeDateAt } from '../utils/clock.js';

export { thawDate } from '../utils/clock.js';

/** Where the guard suites freeze `Date`: the middle of an hour, so windows of an hour or less never roll over. */
export const MID_HOUR = Date.UTC(2030, 0, 1, 10, 30, 0);

/** Freezes `Date` only (timers, ticks and I/O stay real) at `at`. */
export function freezeDate(at = MID_HOUR): void {
  freezeDateAt(at);
}
