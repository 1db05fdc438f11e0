export type { CacheModuleOptions } from './cache-options.interface.js';
export { CacheConfigError } from './cache-config.error.js';
export { CacheKey, CACHE_KEY_METADATA, type CacheKeyFactory } from './cache-key.decorator.js';
export { CacheTTL, CACHE_TTL_METADATA } from './cache-ttl.decorator.js';
export { CacheService } from './cache.service.js';
export { CacheInterceptor } from './cache.interceptor.js';
export { createCacheProviders, CACHE_EXPORTS } from './cache.providers.js';
