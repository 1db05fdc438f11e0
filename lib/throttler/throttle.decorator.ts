import { SetMetadata } from '@nestjs/common';
import { isRateObject, parseRate, type Rate, type RateInput } from './rate.parser.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
import type { ThrottleLimits } from './throttler-options.interface.js';

/** @internal Metadata key of {@link Throttle}. */
export const THROTTLE_METADATA = 'nestjs-backends:throttle';
/** @internal Metadata key of {@link SkipThrottle}. */
export const SKIP_THROTTLE_METADATA = 'nestjs-backends:skip-throttle';

/** Name of the limit given as a single rate. */
export const DEFAULT_LIMIT_NAME = 'default';

/** A named, parsed limit. */
export interface NamedRate extends Rate {
  name: string;
}

/** @internal What {@link Throttle} stores: parsed limits and an optional shared scope. */
export interface ThrottleMetadata {
  limits: NamedRate[];
  scope?: string;
}

/** Options of {@link Throttle}. */
export interface ThrottleDecoratorOptions {
  /** Routes with the same scope share their counters; by default each handler has its own. @default 'Controller.handler' */
  scope?: string;
}

/** Parses one rate or a map of named rates; throws {@link ThrottlerConfigError} at once when malformed. */
export function parseLimits(limits: ThrottleLimits): NamedRate[] {
  if (typeof limits === 'string' || isRateObject(limits)) {
    return [{ name: DEFAULT_LIMIT_NAME, ...parseRate(limits) }];
  }
  if (typeof limits !== 'object' || limits === null) return [{ name: DEFAULT_LIMIT_NAME, ...parseRate(limits) }];
  const names = Object.keys(limits);
  if (names.length === 0) {
    throw new ThrottlerConfigError('invalid_rate', 'Throttle limits must name at least one rate');
  }
  return names.map((name) => ({ name, ...parseRate((limits as Record<string, RateInput>)[name]) }));
}

/**
 * Limits a controller or a handler (the handler's limits replace the controller's). Rates are
 * parsed here, so a malformed one fails when the app starts.
 * @example @Throttle('10/minute')
 * @example @Throttle({ burst: '5/s', sustained: '100/hour' }, { scope: 'login' })
 */
export function Throttle(
  limits: ThrottleLimits,
  options: ThrottleDecoratorOptions = {},
): ClassDecorator & MethodDecorator {
  const scope = options.scope;
  if (scope !== undefined && (typeof scope !== 'string' || scope.length === 0)) {
    throw new ThrottlerConfigError('invalid_throttle_options', 'Throttle scope must be a non-empty string');
  }
  const metadata: ThrottleMetadata = { limits: parseLimits(limits), scope };
  return SetMetadata(THROTTLE_METADATA, metadata);
}

/**
 * Exempts a controller or a handler from throttling; `@SkipThrottle(false)` on a handler
 * re-enables it inside a skipped controller.
 * @example @SkipThrottle()
 */
export function SkipThrottle(skip = true): ClassDecorator & MethodDecorator {
  return SetMetadata(SKIP_THROTTLE_METADATA, skip);
}
