import { type ExecutionContext, SetMetadata } from '@nestjs/common';
import { isRateObject, parseRate, type Rate, type RateInput } from './rate.parser.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
import type { Resolvable, ThrottleLimitOptions, ThrottleLimits } from './throttler-options.interface.js';

/** @internal Metadata key of {@link Throttle}. */
export const THROTTLE_METADATA = 'nestjs-backends:throttle';
/** @internal Metadata key of {@link SkipThrottle}. */
export const SKIP_THROTTLE_METADATA = 'nestjs-backends:skip-throttle';

/** Name of the limit given as a single rate. */
export const DEFAULT_LIMIT_NAME = 'default';

/** A value computed per request from the execution context. */
export type ContextFunction = (context: ExecutionContext) => number | Promise<number>;

/** A named, parsed limit. */
export interface NamedRate extends Rate {
  name: string;
  /** Once refused, the tracker is refused on this limit for this long (ms). @default 0 (no block) */
  blockMs?: number;
  /** Values computed per request (functions of the context); the numbers above stand in for them until then. */
  resolve?: { limit?: ContextFunction; ttlMs?: ContextFunction; blockMs?: ContextFunction };
}

/** @internal What {@link Throttle} stores: parsed limits, an optional shared scope and the cost. */
export interface ThrottleMetadata {
  limits: NamedRate[];
  scope?: string;
  /** Whether the limits override those of the same name below (the class's, the module's) and keep the others (the `@nestjs/throttler` shape). */
  merge: boolean;
  cost?: Resolvable<number>;
}

/** Options of {@link Throttle}. */
export interface ThrottleDecoratorOptions {
  /** Routes with the same scope share their counters; by default each handler has its own. @default 'Controller.handler' */
  scope?: string;
  /** Hits (tokens) one request takes from each limit: a whole number, or a function of the context. @default 1 */
  cost?: Resolvable<number>;
}

/** Header-safe limit names: they appear in `X-RateLimit-*-<name>` headers. */
const NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function configError(message: string): ThrottlerConfigError {
  return new ThrottlerConfigError('invalid_throttle_options', message);
}

/** A whole number >= `min`, or a function, as given for `what`. */
function resolvable(value: unknown, what: string, min: number): number | ContextFunction {
  if (typeof value === 'function') return value as ContextFunction;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw configError(`${what} must be a whole number >= ${min} or a function of the context, got ${show(value)}`);
  }
  return value;
}

function show(value: unknown): string {
  try {
    return typeof value === 'function' ? 'a function' : (JSON.stringify(value) ?? String(value));
  } catch {
    return String(value);
  }
}

/** Whether `value` is a `@nestjs/throttler` limit (`{ limit, ttl, blockDuration? }`, `ttl` in ms). */
function isNestLimit(value: unknown): value is ThrottleLimitOptions {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    ('ttl' in value || 'blockDuration' in value || ('limit' in value && !('ttlMs' in value)))
  );
}

/** One `@nestjs/throttler` limit: `ttl` and `blockDuration` in ms, each a number or a function of the context. */
function parseNestLimit(name: string, value: ThrottleLimitOptions): NamedRate {
  const where = `Throttle limit "${name}"`;
  const known = new Set(['name', 'limit', 'ttl', 'blockDuration']);
  const extra = Object.keys(value).filter((k) => !known.has(k));
  if (extra.length > 0)
    throw configError(`${where} has unknown option(s) ${extra.join(', ')} (expected limit, ttl, blockDuration)`);
  if (value.ttl === undefined) {
    throw configError(
      value.blockDuration !== undefined
        ? `${where} has a blockDuration but no ttl: give the window too, e.g. { limit: 5, ttl: 60_000, blockDuration: 300_000 }`
        : `${where} has no ttl (the window in ms), e.g. { limit: 5, ttl: 60_000 }`,
    );
  }
  if (value.limit === undefined) throw configError(`${where} has no limit, e.g. { limit: 5, ttl: 60_000 }`);
  const limit = resolvable(value.limit, `${where}: limit`, 1);
  const ttl = resolvable(value.ttl, `${where}: ttl`, 1);
  const block = value.blockDuration === undefined ? 0 : resolvable(value.blockDuration, `${where}: blockDuration`, 0);
  const rate: NamedRate = {
    name,
    limit: typeof limit === 'number' ? limit : 1,
    ttlMs: typeof ttl === 'number' ? ttl : 1,
    blockMs: typeof block === 'number' ? block : 0,
  };
  if (typeof limit === 'number' && typeof ttl === 'number') parseRate({ limit, ttlMs: ttl });
  if (typeof limit === 'function' || typeof ttl === 'function' || typeof block === 'function') {
    rate.resolve = {
      limit: typeof limit === 'function' ? limit : undefined,
      ttlMs: typeof ttl === 'function' ? ttl : undefined,
      blockMs: typeof block === 'function' ? block : undefined,
    };
  }
  return rate;
}

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw configError(`Throttle limit names must be header-safe tokens (letters, digits, - or _), got ${show(name)}`);
  }
  return name;
}

/** One named limit in any accepted form. */
function parseOne(name: string, value: unknown): { rate: NamedRate; nest: boolean } {
  checkName(name);
  if (typeof value === 'string') return { rate: { name, ...parseRate(value) }, nest: false };
  if (isRateObject(value)) {
    const extra = Object.keys(value).filter((k) => k !== 'limit' && k !== 'ttlMs' && k !== 'blockDuration');
    if (extra.length > 0) throw configError(`Throttle limit "${name}" has unknown option(s) ${extra.join(', ')}`);
    const blockDuration = (value as { blockDuration?: unknown }).blockDuration;
    const rate: NamedRate = { name, ...parseRate({ limit: value.limit, ttlMs: value.ttlMs }) };
    if (blockDuration !== undefined) {
      if (typeof blockDuration !== 'number' || !Number.isSafeInteger(blockDuration) || blockDuration < 0) {
        throw configError(
          `Throttle limit "${name}": blockDuration must be a whole number of ms >= 0, got ${show(blockDuration)}`,
        );
      }
      rate.blockMs = blockDuration;
    }
    return { rate, nest: false };
  }
  if (isNestLimit(value)) return { rate: parseNestLimit(name, value), nest: true };
  throw new ThrottlerConfigError(
    'invalid_rate',
    `Invalid throttle limit "${name}": ${show(value)} (expected "100/minute", { limit, ttlMs } or { limit, ttl, blockDuration? } with ttl in ms)`,
  );
}

/** Parses one rate, a map of named rates or a `ThrottlerModule`-style array; throws {@link ThrottlerConfigError} at once when malformed. */
export function parseLimits(limits: ThrottleLimits): NamedRate[] {
  return parseLimitsOf(limits).limits;
}

/** @internal {@link parseLimits}, and whether the `@nestjs/throttler` shape was used. */
export function parseLimitsOf(limits: ThrottleLimits): { limits: NamedRate[]; nest: boolean } {
  if (typeof limits === 'string' || isRateObject(limits)) {
    return { limits: [parseOne(DEFAULT_LIMIT_NAME, limits).rate], nest: false };
  }
  if (Array.isArray(limits)) {
    if (limits.length === 0) throw configError('Throttle limits must name at least one rate');
    const out = limits.map((entry: unknown, i) => {
      if (typeof entry !== 'object' || entry === null)
        throw configError(`Throttle limit #${i} must be { name?, limit, ttl, blockDuration? }, got ${show(entry)}`);
      const name = (entry as { name?: unknown }).name ?? DEFAULT_LIMIT_NAME;
      checkName(name);
      return parseNestLimit(name as string, entry as ThrottleLimitOptions);
    });
    return { limits: unique(out), nest: true };
  }
  if (isNestLimit(limits)) return { limits: [parseNestLimit(DEFAULT_LIMIT_NAME, limits)], nest: true };
  if (typeof limits !== 'object' || limits === null) {
    return { limits: [parseOne(DEFAULT_LIMIT_NAME, limits).rate], nest: false };
  }
  const names = Object.keys(limits);
  if (names.length === 0) throw new ThrottlerConfigError('invalid_rate', 'Throttle limits must name at least one rate');
  let nest = false;
  const out = names.map((name) => {
    const parsed = parseOne(name, (limits as Record<string, RateInput>)[name]);
    nest ||= parsed.nest;
    return parsed.rate;
  });
  return { limits: out, nest };
}

function unique(limits: NamedRate[]): NamedRate[] {
  const seen = new Set<string>();
  for (const l of limits) {
    if (seen.has(l.name)) throw configError(`Throttle limit name "${l.name}" is given twice`);
    seen.add(l.name);
  }
  return limits;
}

/**
 * Limits a controller or a handler. Our forms (a rate string, `{ limit, ttlMs }`, a map of them)
 * replace the controller's or module's limits; the `@nestjs/throttler` form (`{ name: { limit, ttl } }`,
 * `ttl` in ms) overrides the limits of those names and keeps the others, as there. Rates are parsed
 * here, so a malformed one fails when the app starts.
 * @example @Throttle('10/minute')
 * @example @Throttle({ burst: '5/s', sustained: '100/hour' }, { scope: 'login' })
 * @example @Throttle({ default: { limit: 3, ttl: 60_000, blockDuration: 300_000 } })
 * @example @Throttle('100/minute', { cost: 5 })
 */
export function Throttle(
  limits: ThrottleLimits,
  options: ThrottleDecoratorOptions = {},
): ClassDecorator & MethodDecorator {
  const scope = options.scope;
  if (scope !== undefined && (typeof scope !== 'string' || scope.length === 0)) {
    throw new ThrottlerConfigError('invalid_throttle_options', 'Throttle scope must be a non-empty string');
  }
  const cost = options.cost === undefined ? undefined : resolvable(options.cost, 'Throttle cost', 1);
  const parsed = parseLimitsOf(limits);
  if (typeof cost === 'number') {
    const small = parsed.limits.find((l) => l.resolve?.limit === undefined && l.limit < cost);
    if (small !== undefined) {
      throw configError(
        `Throttle cost ${cost} is more than limit "${small.name}" (${small.limit}): no request could ever pass`,
      );
    }
  }
  const metadata: ThrottleMetadata = { limits: parsed.limits, scope, merge: parsed.nest, cost };
  return SetMetadata(THROTTLE_METADATA, metadata);
}

/**
 * Exempts a controller or a handler from throttling: all its limits (`true`), or the named ones
 * (`{ burst: true }`, as `@nestjs/throttler`); `false` (or `{ name: false }`) on a handler re-enables
 * what its controller skipped.
 * @example @SkipThrottle()
 * @example @SkipThrottle({ burst: true })
 */
export function SkipThrottle(skip: boolean | Record<string, boolean> = true): ClassDecorator & MethodDecorator {
  if (typeof skip !== 'boolean' && (typeof skip !== 'object' || skip === null || Array.isArray(skip))) {
    throw configError(`SkipThrottle takes true/false or { name: boolean }, got ${show(skip)}`);
  }
  return SetMetadata(SKIP_THROTTLE_METADATA, skip);
}
