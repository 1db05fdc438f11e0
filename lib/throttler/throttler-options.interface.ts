import type { ExecutionContext } from '@nestjs/common';
import type { RateInput } from './rate.parser.js';

/** One rate, or several named rates checked together (`{ burst: '5/s', sustained: '100/hour' }`). */
export type ThrottleLimits = RateInput | Record<string, RateInput>;

/** Counting algorithm: fixed windows, or a sliding estimate from the current and previous window. */
export type ThrottleAlgorithm = 'fixed-window' | 'sliding-window' | 'token-bucket';

/** Extracts the tracker (who is counted) from a request, e.g. the user id; numbers are used as text. */
export type ThrottleTracker = (
  request: Record<string, any>,
  context: ExecutionContext,
) => string | number | Promise<string | number>;

/** The `throttle` options of {@link BackendsModule.forRoot}. */
export interface ThrottleModuleOptions {
  /** Rate of routes under the guard that have no `@Throttle()`; without it they are not limited. @default undefined */
  rate?: ThrottleLimits;
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
}
