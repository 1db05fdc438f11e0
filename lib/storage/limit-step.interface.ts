/**
 * The throttler's multi-limit step: every limit of one request checked and, only when all of them
 * allow it, counted, atomically. An optional capability of a backend, detected at runtime (see
 * {@link hasLimitStep}); the `Backend` interface does not require it.
 */

/** How one limit counts: fixed window, sliding window (current + previous) or token bucket. */
export type LimitStepKind = 'fixed' | 'sliding' | 'bucket';

/** One limit of a step. Keys are relative to the backend (its prefix is added by the backend). */
export interface LimitStepEntry {
  kind: LimitStepKind;
  /** Counter of the current window (fixed, sliding) or the bucket's state (`[units, at]`). */
  key: string;
  /** Counter of the previous window (sliding only). */
  previousKey?: string;
  /** Block marker (its value is the end of the block, ms since the epoch); only with `blockMs`. */
  blockKey?: string;
  /** Hits per window, or the bucket's capacity in tokens. */
  limit: number;
  /** The window (and the bucket's refill period for `limit` tokens), in ms. */
  windowMs: number;
  /** Ms left in the current window (fixed, sliding). */
  resetMs: number;
  /** Once refused, the tracker is refused for this long (ms); 0: no block. */
  blockMs: number;
}

/** A step: the request's limits, what it costs, and the caller's clock. */
export interface LimitStepRequest {
  entries: LimitStepEntry[];
  /** Hits (tokens) the request takes from every limit. */
  cost: number;
  /** The caller's `Date.now()`: windows, buckets and blocks follow the application's clock. */
  now: number;
}

/** What a step found out about one limit. */
export interface LimitStepState {
  /** Whether this limit allows the request. */
  fits: boolean;
  /** Fixed/sliding: the current window's count (this request included when counted). Bucket: units left (tokens × windowMs). */
  count: number;
  /** Sliding: the previous window's count; 0 otherwise. */
  previous: number;
  /** Ms left of a block of this limit (one already running, or the one this refusal started); 0 when not blocked. */
  blockedMs: number;
}

/** The outcome of a step. */
export interface LimitStepReply {
  /** Whether every limit allows the request (it was then counted on each). */
  allowed: boolean;
  /** One state per entry, in order. */
  states: LimitStepState[];
}

/** A backend that runs a whole step in one atomic operation (one round trip on Redis). */
export interface LimitStepBackend {
  applyLimitStep(request: LimitStepRequest): Promise<LimitStepReply>;
}

/** Whether `backend` offers {@link LimitStepBackend.applyLimitStep}. */
export function hasLimitStep(backend: object): backend is LimitStepBackend {
  return typeof (backend as Partial<LimitStepBackend>).applyLimitStep === 'function';
}
