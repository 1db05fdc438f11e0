import { SetMetadata } from '@nestjs/common';
import { assertCacheTtl } from './cache-config.error.js';

/** @internal Metadata key of {@link CacheTTL}. */
export const CACHE_TTL_METADATA = 'nestjs-backends:cache-ttl';

/**
 * Lifetime of a route's (or a controller's) cached responses, in ms; the handler's wins.
 * @example @CacheTTL(60_000)
 */
export function CacheTTL(ttlMs: number): ClassDecorator & MethodDecorator {
  return SetMetadata(CACHE_TTL_METADATA, assertCacheTtl(ttlMs, 'CacheTTL'));
}
