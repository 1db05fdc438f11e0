export { parseRate, isRateObject, type Rate, type RateInput } from './rate.parser.js';
export { ThrottlerConfigError, type ThrottlerConfigErrorCode } from './throttler-config.error.js';
export {
  Throttle,
  SkipThrottle,
  parseLimits,
  DEFAULT_LIMIT_NAME,
  THROTTLE_METADATA,
  SKIP_THROTTLE_METADATA,
  type ContextFunction,
  type NamedRate,
  type ThrottleDecoratorOptions,
  type ThrottleMetadata,
} from './throttle.decorator.js';
export type {
  BlockingRate,
  NamedThrottleLimitOptions,
  Resolvable,
  ThrottleAlgorithm,
  ThrottleHeaders,
  ThrottleLimitOptions,
  ThrottleLimits,
  ThrottleModuleOptions,
  ThrottleTracker,
  ThrottlerLimitDetail,
} from './throttler-options.interface.js';
export {
  Throttler,
  type ConsumeOptions,
  type LimitRate,
  type ThrottleResult,
  type ThrottlerOptions,
} from './throttler.service.js';
export { ThrottlerGuard, type ThrottleRefusal } from './throttler.guard.js';
export { WsThrottlerGuard, wsClientAddress } from './ws-throttler.guard.js';
export { GqlThrottlerGuard, gqlRequestResponse } from './gql-throttler.guard.js';
export { ThrottlerException, ThrottlerUnavailableException } from './throttler.exception.js';
export { clientIp, groupIpv6, normaliseIp, trackerOfAddress, UNKNOWN_CLIENT } from './client-ip.util.js';
export { THROTTLE_SETTINGS, type ThrottleSettings } from './throttler.constants.js';
export { createThrottleProviders, resolveThrottleSettings, THROTTLE_EXPORTS } from './throttler.providers.js';
