import type { Provider } from '@nestjs/common';
import { BACKENDS_MODULE_OPTIONS } from '../backends.module-definition.js';
import type { BackendsModuleOptions } from '../backends-options.interface.js';
import { STORAGE_BACKEND } from '../backends.constants.js';
import type { Backend } from '../storage/index.js';
import { CacheInterceptor } from './cache.interceptor.js';
import { CacheService } from './cache.service.js';

/** @internal Providers of the caching capability. */
export function createCacheProviders(): Provider[] {
  return [
    {
      provide: CacheService,
      inject: [STORAGE_BACKEND, BACKENDS_MODULE_OPTIONS],
      useFactory: (backend: Backend, options: BackendsModuleOptions) => new CacheService(backend, options.cache),
    },
    CacheInterceptor,
  ];
}

/** @internal What the module exports of the caching capability. */
export const CACHE_EXPORTS = [CacheService, CacheInterceptor];
