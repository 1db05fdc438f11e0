import type { Backend } from './backend.interface.js';
import type { LimitStepEntry, LimitStepReply, LimitStepRequest, LimitStepState } from './limit-step.interface.js';

/**
 * @internal Synchronous access to the entries of an in-process store, at the caller's `now`: what
 * {@link runLimitStep} needs of the memory backend.
 */
export interface LimitCells {
  /** The live value of `key`, or undefined. */
  read(key: string, now: number): unknown;
  /** Adds `delta` to the counter `key` (created with `ttlMs` when missing) and returns it. */
  add(key: string, delta: number, ttlMs: number, now: number): number;
  /** Stores `value` with `ttlMs`. */
  put(key: string, value: unknown, ttlMs: number, now: number): void;
  /** Removes `key`. */
  remove(key: string): void;
}

const count = (value: unknown): number =>
  typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : 0;

/** Ms left of a block whose stored value is its end (ms since the epoch). */
function blockLeft(value: unknown, now: number): number {
  const until = count(value);
  return until > now ? until - now : 0;
}

/** Whether the sliding estimate with `current` hits in this window stays within the limit. */
export function slidingFits(
  limit: number,
  windowMs: number,
  resetMs: number,
  previous: number,
  current: number,
): boolean {
  const elapsed = Math.max(0, windowMs - resetMs);
  return limit * windowMs - previous * (windowMs - elapsed) - current * windowMs >= 0;
}

/** A bucket's units (tokens × windowMs) and time after refilling at `now`; a missing bucket is full. */
function refilled(entry: LimitStepEntry, stored: unknown, now: number): [number, number] {
  const capacity = entry.limit * entry.windowMs;
  if (!Array.isArray(stored) || typeof stored[0] !== 'number' || typeof stored[1] !== 'number') return [capacity, now];
  let units = stored[0] as number;
  let at = stored[1] as number;
  if (now > at) {
    units = Math.min(capacity, units + (now - at) * entry.limit);
    at = now;
  }
  return [units, at];
}

/** Ms until a bucket with `units` is full again (its state's lifetime), at least 1. */
export function bucketFullInMs(entry: LimitStepEntry, units: number): number {
  return Math.max(1, Math.ceil((entry.limit * entry.windowMs - units) / entry.limit));
}

/** The verdict of one entry on already read values (`current` is the window's count without this request). */
function judge(
  entry: LimitStepEntry,
  cost: number,
  current: number,
  previous: number,
  blockedMs: number,
): LimitStepState {
  let fits: boolean;
  if (entry.kind === 'fixed') fits = current + cost <= entry.limit;
  else if (entry.kind === 'sliding')
    fits = slidingFits(entry.limit, entry.windowMs, entry.resetMs, previous, current + cost);
  else fits = current >= cost * entry.windowMs;
  return { fits: fits && blockedMs === 0, count: current, previous, blockedMs };
}

function counterTtl(entry: LimitStepEntry): number {
  return entry.kind === 'sliding' ? entry.resetMs + entry.windowMs : entry.resetMs;
}

/**
 * @internal The step on an in-process store, synchronously (so atomically): every limit is read and
 * judged, then either all are counted or none is; a refused limit with a block starts it and forgets
 * its counter. Throws what the store throws (a counter that is not a number).
 */
export function runLimitStep(cells: LimitCells, request: LimitStepRequest): LimitStepReply {
  const { entries, cost, now } = request;
  const states: LimitStepState[] = new Array<LimitStepState>(entries.length);
  const times: number[] = new Array<number>(entries.length);
  let allowed = true;
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const blockedMs = e.blockKey !== undefined && e.blockMs > 0 ? blockLeft(cells.read(e.blockKey, now), now) : 0;
    let current: number;
    let previous = 0;
    if (e.kind === 'bucket') {
      const [units, at] = refilled(e, cells.read(e.key, now), now);
      current = units;
      times[i] = at;
    } else {
      current = count(cells.read(e.key, now));
      if (e.kind === 'sliding' && e.previousKey !== undefined) previous = count(cells.read(e.previousKey, now));
    }
    const state = judge(e, cost, current, previous, blockedMs);
    if (!state.fits) allowed = false;
    states[i] = state;
  }
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i];
    const state = states[i];
    if (allowed) {
      if (e.kind === 'bucket') {
        const units = state.count - cost * e.windowMs;
        cells.put(e.key, [units, times[i]], bucketFullInMs(e, units), now);
        state.count = units;
      } else {
        state.count = cells.add(e.key, cost, counterTtl(e), now);
      }
    } else if (!state.fits && state.blockedMs === 0 && e.blockMs > 0 && e.blockKey !== undefined) {
      cells.put(e.blockKey, now + e.blockMs, e.blockMs, now);
      cells.remove(e.key);
      if (e.previousKey !== undefined) cells.remove(e.previousKey);
      state.blockedMs = e.blockMs;
    }
  }
  return { allowed, states };
}

const ignore = (): void => undefined;

/**
 * The step on any {@link Backend}, for backends without `applyLimitStep`: correct, not one round
 * trip. Window counters are incremented first (with the other reads, in parallel) and judged on the
 * counts the increments returned, so concurrent requests never pass a limit; when the request is
 * refused, the increments are taken back (a second round trip). Meanwhile a concurrent request may
 * see them and be refused too (one hit too many, never one too few). A bucket is read, then written:
 * concurrent requests on several instances may each take the same last tokens (last writer wins).
 */
export async function applyLimitStepWith(backend: Backend, request: LimitStepRequest): Promise<LimitStepReply> {
  const { entries, cost, now } = request;
  const reads = entries.map((e) =>
    Promise.all([
      e.kind === 'bucket' ? backend.get(e.key) : backend.incrementBy(e.key, cost, counterTtl(e)),
      e.kind === 'sliding' && e.previousKey !== undefined ? backend.get(e.previousKey) : undefined,
      e.blockKey !== undefined && e.blockMs > 0 ? backend.get(e.blockKey) : undefined,
    ]),
  );
  const settled = await Promise.allSettled(reads);
  const failed = settled.find((s) => s.status === 'rejected');
  if (failed !== undefined) {
    // Take back what was counted before failing, then report the failure.
    await Promise.all(
      entries.map((e, i) =>
        e.kind !== 'bucket' && settled[i].status === 'fulfilled'
          ? backend.incrementBy(e.key, -cost, counterTtl(e)).then(ignore, ignore)
          : undefined,
      ),
    );
    throw (failed as PromiseRejectedResult).reason;
  }
  const values = settled.map((s) => (s as PromiseFulfilledResult<[unknown, unknown, unknown]>).value);
  const times: number[] = [];
  let allowed = true;
  const states = entries.map((e, i) => {
    const [main, prev, block] = values[i];
    const blockedMs = blockLeft(block, now);
    let current: number;
    if (e.kind === 'bucket') {
      const [units, at] = refilled(e, main, now);
      current = units;
      times[i] = at;
    } else {
      current = (main as number) - cost;
    }
    const state = judge(e, cost, current, count(prev), blockedMs);
    if (!state.fits) allowed = false;
    return state;
  });
  const writes: Promise<unknown>[] = [];
  entries.forEach((e, i) => {
    const state = states[i];
    if (allowed) {
      if (e.kind === 'bucket') {
        const units = state.count - cost * e.windowMs;
        writes.push(backend.set(e.key, [units, times[i]], bucketFullInMs(e, units)));
        state.count = units;
      } else {
        state.count += cost;
      }
      return;
    }
    if (!state.fits && state.blockedMs === 0 && e.blockMs > 0 && e.blockKey !== undefined) {
      writes.push(backend.set(e.blockKey, now + e.blockMs, e.blockMs));
      writes.push(backend.deleteMany(e.previousKey === undefined ? [e.key] : [e.key, e.previousKey]));
      state.blockedMs = e.blockMs;
    } else if (e.kind !== 'bucket') {
      // If the take-back fails the hit stays counted: a refusal either way.
      writes.push(backend.incrementBy(e.key, -cost, counterTtl(e)).then(ignore, ignore));
    }
  });
  await Promise.all(writes);
  return { allowed, states };
}
