export { BackendsModule } from './backends.module.js';
export { BACKENDS_MODULE_OPTIONS } from './backends.module-definition.js';
export type { BackendsModuleOptions } from './backends-options.interface.js';
export { STORAGE_BACKEND, EMAIL_BACKEND } from './backends.constants.js';
export * from './errors/index.js';
export {
  type Backend,
  MemoryBackend,
  type MemoryBackendOptions,
  RedisBackend,
  type RedisBackendOptions,
  type RedisClient,
  type RedisTarget,
  MAX_KEY_BYTES,
  type MemoryStorageOptions,
  type RedisStorageOptions,
  type StorageOptions,
  InjectStorage,
} from './storage/index.js';
export {
  Throttle,
  SkipThrottle,
  ThrottlerGuard,
  Throttler,
  ThrottlerException,
  ThrottlerUnavailableException,
  ThrottlerConfigError,
  parseRate,
  DEFAULT_LIMIT_NAME,
  type Rate,
  type RateInput,
  type NamedRate,
  type ThrottleResult,
  type ThrottlerOptions,
  type ThrottleAlgorithm,
  type ThrottleLimits,
  type ThrottleModuleOptions,
  type ThrottleTracker,
  type ThrottleDecoratorOptions,
} from './throttler/index.js';
export {
  CacheInterceptor,
  CacheService,
  CacheKey,
  CacheTTL,
  CacheConfigError,
  type CacheKeyFactory,
  type CacheModuleOptions,
} from './cache/index.js';
export {
  BackendSessionStore,
  SessionStoreError,
  type SessionStoreErrorCode,
  type BackendSessionStoreOptions,
  type StoredSession,
} from './session/index.js';
export type { HttpPair } from './utils/http.util.js';
