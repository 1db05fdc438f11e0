import type { Provider } from '@nestjs/common';
import { BACKENDS_MODULE_OPTIONS } from '../backends.module-definition.js';
import type { BackendsModuleOptions } from '../backends-options.interface.js';
import { STORAGE_BACKEND } from '../backends.constants.js';
import type { Backend } from '../storage/index.js';
import { parseLimits } from './throttle.decorator.js';
import { THROTTLE_SETTINGS, type ThrottleSettings } from './throttler.constants.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
import type { ThrottleModuleOptions } from './throttler-options.interface.js';
import { ThrottlerGuard } from './throttler.guard.js';
import { Throttler } from './throttler.service.js';

/**
 * Validates the `throttle` options: a malformed rate or option, or `global` without a `rate`, fails
 * module initialisation with {@link ThrottlerConfigError}.
 */
export function resolveThrottleSettings(options: ThrottleModuleOptions = {}): ThrottleSettings {
  const onBackendError = options.onBackendError ?? 'allow';
  if (onBackendError !== 'allow' && onBackendError !== 'deny') {
    throw new ThrottlerConfigError('invalid_throttle_options', 'throttle.onBackendError must be "allow" or "deny"');
  }
  const ipv6Subnet = options.ipv6Subnet ?? 64;
  if (!Number.isInteger(ipv6Subnet) || ipv6Subnet < 1 || ipv6Subnet > 128) {
    throw new ThrottlerConfigError(
      'invalid_throttle_options',
      'throttle.ipv6Subnet must be a whole number from 1 to 128',
    );
  }
  if (options.tracker !== undefined && typeof options.tracker !== 'function') {
    throw new ThrottlerConfigError('invalid_throttle_options', 'throttle.tracker must be a function');
  }
  if (options.rate !== undefined && options.limits !== undefined) {
    throw new ThrottlerConfigError('invalid_throttle_options', 'Give throttle.rate or throttle.limits, not both');
  }
  const rate = options.rate ?? options.limits;
  const headers = options.headers ?? 'combined';
  if (headers !== false && headers !== 'combined' && headers !== 'per-limit' && headers !== 'ietf') {
    throw new ThrottlerConfigError(
      'invalid_throttle_options',
      `throttle.headers must be 'combined', 'per-limit', 'ietf' or false, got ${JSON.stringify(headers)}`,
    );
  }
  if (options.skipIf !== undefined && typeof options.skipIf !== 'function') {
    throw new ThrottlerConfigError('invalid_throttle_options', 'throttle.skipIf must be a function of the context');
  }
  const agents = options.ignoreUserAgents;
  if (agents !== undefined && (!Array.isArray(agents) || !agents.every((a) => a instanceof RegExp))) {
    throw new ThrottlerConfigError('invalid_throttle_options', 'throttle.ignoreUserAgents must be an array of RegExp');
  }
  const message = options.errorMessage;
  if (message !== undefined && typeof message !== 'string' && typeof message !== 'function') {
    throw new ThrottlerConfigError('invalid_throttle_options', 'throttle.errorMessage must be a string or a function');
  }
  if (options.global === true && rate === undefined) {
    throw new ThrottlerConfigError(
      'invalid_throttle_options',
      'throttle.global needs throttle.rate, the limit of routes without @Throttle() (e.g. rate: "100/minute"); ' +
        'to limit only decorated routes, drop global and use @UseGuards(ThrottlerGuard)',
    );
  }
  return {
    defaultLimits: rate === undefined ? [] : parseLimits(rate),
    onBackendError,
    tracker: options.tracker,
    ipv6Subnet,
    global: options.global === true,
    headers,
    skipIf: options.skipIf,
    ignoreUserAgents: agents !== undefined && agents.length > 0 ? agents : undefined,
    errorMessage: message,
  };
}

/** @internal Providers of the throttling capability (the module adds `APP_GUARD` when global). */
export function createThrottleProviders(): Provider[] {
  return [
    {
      provide: THROTTLE_SETTINGS,
      inject: [BACKENDS_MODULE_OPTIONS],
      useFactory: (options: BackendsModuleOptions) => resolveThrottleSettings(options.throttle),
    },
    {
      provide: Throttler,
      inject: [STORAGE_BACKEND, BACKENDS_MODULE_OPTIONS],
      useFactory: (backend: Backend, options: BackendsModuleOptions) =>
        new Throttler(backend, { algorithm: options.throttle?.algorithm, namespace: options.throttle?.namespace }),
    },
    ThrottlerGuard,
  ];
}

/** @internal What the module exports of the throttling capability. */
export const THROTTLE_EXPORTS = [Throttler, ThrottlerGuard, THROTTLE_SETTINGS];
