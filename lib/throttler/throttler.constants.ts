import type { ThrottleHeaders, ThrottleModuleOptions } from './throttler-options.interface.js';
import type { NamedRate } from './throttle.decorator.js';

/** @internal Token of the resolved throttle settings the guard reads. */
export const THROTTLE_SETTINGS = 'NESTJS_BACKENDS_THROTTLE_SETTINGS';

/** @internal The module's `throttle` options, validated and with defaults applied. */
export interface ThrottleSettings {
  defaultLimits: NamedRate[];
  onBackendError: 'allow' | 'deny';
  tracker?: ThrottleModuleOptions['tracker'];
  ipv6Subnet: number;
  /** Whether the guard is also the app-wide `APP_GUARD`. */
  global: boolean;
  /** Which headers to send. @default 'combined' */
  headers?: ThrottleHeaders;
  skipIf?: ThrottleModuleOptions['skipIf'];
  ignoreUserAgents?: RegExp[];
  errorMessage?: ThrottleModuleOptions['errorMessage'];
}
