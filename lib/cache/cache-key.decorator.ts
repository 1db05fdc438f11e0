import type { ExecutionContext } from '@nestjs/common';
import { SetMetadata } from '@nestjs/common';
import { CacheConfigError } from './cache-config.error.js';

/** @internal Metadata key of {@link CacheKey}. */
export const CACHE_KEY_METADATA = 'nestjs-backends:cache-key';

/** Computes a cache key from the request; `undefined` means "do not cache this request". */
export type CacheKeyFactory = (context: ExecutionContext) => string | undefined;

/**
 * Replaces the default key (method, host, path and query) of a route's cached response; a
 * `Vary` the response sets still splits it per request header value.
 * Requests with `Authorization` or a cookie stay uncached unless the interceptor's `trackBy` is
 * overridden to put the user in the key.
 * @example @CacheKey('products:all')
 * @example @CacheKey((ctx) => `product:${ctx.switchToHttp().getRequest().params.id}`)
 */
export function CacheKey(key: string | CacheKeyFactory): ClassDecorator & MethodDecorator {
  if ((typeof key !== 'string' || key.length === 0) && typeof key !== 'function') {
    throw new CacheConfigError('CacheKey takes a non-empty string or a function');
  }
  return SetMetadata(CACHE_KEY_METADATA, key);
}
