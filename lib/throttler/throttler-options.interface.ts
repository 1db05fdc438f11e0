import type { ExecutionContext } from '@nestjs/common';
import type { RateInput } from './rate.parser.js';

/** A value, or a function of the execution context that computes it per request. */
export type Resolvable<T> = T | ((context: ExecutionContext) => T | Promise<T>);

/** A limit in `@nestjs/throttler`'s form: `ttl` and `blockDuration` in ms; each may be a function of the context. */
export interface ThrottleLimitOptions {
  /** Requests allowed per window. */
  limit: Resolvable<number>;
  /** The window, in ms. */
  ttl: Resolvable<number>;
  /** Once the limit is exceeded, the tracker is refused for this long (ms). @default 0 (refused until the limit allows again) */
  blockDuration?: Resolvable<number>;
}

/** One entry of a `ThrottlerModule`-style array. */
export interface NamedThrottleLimitOptions extends ThrottleLimitOptions {
  /** The limit's name (headers, `@SkipThrottle({ name: true })`). @default 'default' */
  name?: string;
}

/** One of our rates with an optional block: `{ limit, ttlMs, blockDuration? }` (ms). */
export interface BlockingRate {
  limit: number;
  ttlMs: number;
  /** Once the limit is exceeded, the tracker is refused for this long (ms). @default 0 */
  blockDuration?: number;
}

/**
 * One rate, several named rates checked together (`{ burst: '5/s', sustained: '100/hour' }`), named
 * limits in `@nestjs/throttler`'s form (`{ default: { limit: 10, ttl: 60_000 } }`), or a
 * `ThrottlerModule`-style array (`[{ name: 'short', limit: 3, ttl: 1000 }]`).
 */
export type ThrottleLimits =
  | RateInput
  | BlockingRate
  | ThrottleLimitOptions
  | Record<string, RateInput | BlockingRate | ThrottleLimitOptions>
  | NamedThrottleLimitOptions[];

/** Counting algorithm: fixed windows, a sliding estimate from the current and previous window, or a token bucket. */
export type ThrottleAlgorithm = 'fixed-window' | 'sliding-window' | 'token-bucket';

/** Which rate-limit headers throttled responses carry. */
export type ThrottleHeaders = 'combined' | 'per-limit' | 'ietf' | false;

/** Extracts the tracker (who is counted) from a request, e.g. the user id; numbers are used as text. */
export type ThrottleTracker = (
  request: Record<string, any>,
  context: ExecutionContext,
) => string | number | Promise<string | number>;

/** What a refusal tells `throttle.errorMessage` (the fields of `@nestjs/throttler`'s `ThrottlerLimitDetail`, and the limit's name). */
export interface ThrottlerLimitDetail {
  /** Name of the limit that refused (the one with the longest wait when several did). */
  name: string;
  /** Its limit. */
  limit: number;
  /** Its window, in ms. */
  ttl: number;
  /** The key it counts under (scope, name and tracker, or what `generateKey` returned). */
  key: string;
  /** Who is counted. */
  tracker: string;
  /** Hits of the window, this request included. */
  totalHits: number;
  /** Seconds until the window ends. */
  timeToExpire: number;
  /** Whether the tracker is blocked (`blockDuration`). */
  isBlocked: boolean;
  /** Seconds until a retry can pass (the block's end when blocked). */
  timeToBlockExpire: number;
}

/** The `throttle` options of {@link BackendsModule.forRoot}. */
export interface ThrottleModuleOptions {
  /** Rate of routes under the guard that have no `@Throttle()`; without it they are not limited. @default undefined */
  rate?: ThrottleLimits;
  /** Same as `rate` (give one of them), e.g. a `ThrottlerModule`-style array `[{ name, ttl, limit, blockDuration }]`. @default undefined */
  limits?: ThrottleLimits;
  /** Applies {@link ThrottlerGuard} to every route (as `APP_GUARD`); requires `rate`. @default false */
  global?: boolean;
  /** How hits are counted. @default 'fixed-window' */
  algorithm?: ThrottleAlgorithm;
  /** What a route does when the backend fails: let the request through, or answer 503. @default 'allow' */
  onBackendError?: 'allow' | 'deny';
  /** Replaces the client IP as tracker, e.g. `(req) => req.user?.id ?? req.ip`. @default the client IP */
  tracker?: ThrottleTracker;
  /** Bits of an IPv6 address that identify one client (the rest is ignored). @default 64 */
  ipv6Subnet?: number;
  /** Namespace of the counters in the shared backend. @default 'throttle:' */
  namespace?: string;
  /**
   * Rate-limit headers: `X-RateLimit-*` of the most constrained limit (`'combined'`), one set per limit
   * as `@nestjs/throttler` sends them (`'per-limit'`), the IETF draft's `RateLimit`/`RateLimit-Policy`
   * (`'ietf'`), or none (`false`, no `Retry-After` either). @default 'combined'
   */
  headers?: ThrottleHeaders;
  /** Requests for which this returns true are not throttled (nor counted). @default undefined */
  skipIf?: (context: ExecutionContext) => boolean | Promise<boolean>;
  /** Requests whose `User-Agent` matches one of these are not throttled (nor counted). @default [] */
  ignoreUserAgents?: RegExp[];
  /** Message of the 429: a text, or a function of the context and the refusing limit. @default 'Too Many Requests' */
  errorMessage?: string | ((context: ExecutionContext, detail: ThrottlerLimitDetail) => string | Promise<string>);
}
