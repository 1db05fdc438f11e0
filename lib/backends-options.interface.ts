import type { CacheModuleOptions } from './cache/index.js';
import type { BackendSessionStoreOptions } from './session/index.js';
import type { StorageOptions } from './storage/index.js';
import type { ThrottleModuleOptions } from './throttler/index.js';

/** Options of {@link BackendsModule.forRoot}. */
export interface BackendsModuleOptions {
  /** The shared storage backend. @default { type: 'memory' } */
  storage?: StorageOptions;
  /** Throttling ({@link ThrottlerGuard}, {@link Throttler}) in the `throttle:` namespace. @default {} */
  throttle?: ThrottleModuleOptions;
  /** Caching ({@link CacheInterceptor}, {@link CacheService}) in the `cache:` namespace. @default {} */
  cache?: CacheModuleOptions;
  /** The session store ({@link BackendSessionStore}) in the `session:` namespace. @default {} */
  session?: BackendSessionStoreOptions;
}
