export type { Backend, BackendHit } from './backend.interface.js';
export { MemoryBackend, type MemoryBackendOptions, type MemoryNamespaceOptions } from './memory.backend.js';
export {
  RedisBackend,
  type RedisBackendOptions,
  type RedisClient,
  type RedisClusterConnectionOptions,
  type RedisClusterNode,
  type RedisConnectionOptions,
  type RedisSentinelAddress,
  type RedisTarget,
  type RedisTlsOptions,
} from './redis/index.js';
export { MAX_KEY_BYTES } from './storage.validation.js';
export type { MemoryStorageOptions, RedisStorageOptions, StorageOptions } from './storage-options.interface.js';
export { createStorageBackend, isBackend, type OwnedBackend } from './storage.factory.js';
export { InjectStorage } from './inject-storage.decorator.js';
export {
  hasLimitStep,
  type LimitStepBackend,
  type LimitStepEntry,
  type LimitStepKind,
  type LimitStepReply,
  type LimitStepRequest,
  type LimitStepState,
} from './limit-step.interface.js';
