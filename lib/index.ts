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
