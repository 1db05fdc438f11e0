export type { Backend } from './backend.interface.js';
export { MemoryBackend, type MemoryBackendOptions, type MemoryNamespaceOptions } from './memory.backend.js';
export { RedisBackend, type RedisBackendOptions, type RedisClient, type RedisTarget } from './redis/index.js';
export { MAX_KEY_BYTES } from './storage.validation.js';
export type { MemoryStorageOptions, RedisStorageOptions, StorageOptions } from './storage-options.interface.js';
export { createStorageBackend, isBackend, type OwnedBackend } from './storage.factory.js';
export { InjectStorage } from './inject-storage.decorator.js';
