import { BackendValidationError } from '../errors/backend-validation.error.js';
import type { Backend } from './backend.interface.js';
import { MemoryBackend } from './memory.backend.js';
import { RedisBackend } from './redis/redis.backend.js';
import type { RedisTarget } from './redis/redis.types.js';
import type { StorageOptions } from './storage-options.interface.js';

/** A backend and whether the module that built it must close it. */
export interface OwnedBackend {
  backend: Backend;
  owned: boolean;
}

/** Whether `value` already implements {@link Backend}. */
export function isBackend(value: unknown): value is Backend {
  const v = value as Partial<Backend> | undefined;
  return typeof v?.get === 'function' && typeof v.set === 'function' && typeof v.increment === 'function';
}

/** Builds the storage backend described by the module options (memory when omitted). */
export function createStorageBackend(options: StorageOptions | undefined): OwnedBackend {
  if (options === undefined) return { backend: new MemoryBackend(), owned: true };
  if (isBackend(options)) return { backend: options, owned: false };
  if (options.type === 'memory') {
    const { maxEntries, maxBytes, maxEntryBytes, sweepIntervalMs } = options;
    return { backend: new MemoryBackend({ maxEntries, maxBytes, maxEntryBytes, sweepIntervalMs }), owned: true };
  }
  if (options.type === 'redis') {
    const { url, cluster, options: clientOptions, client, ...backendOptions } = options;
    if (client) return { backend: new RedisBackend(client, backendOptions), owned: false };
    let target: RedisTarget;
    if (cluster) target = { cluster, options: clientOptions };
    else if (url) target = url;
    else if (clientOptions) target = clientOptions as RedisTarget;
    else throw new BackendValidationError('storage.type "redis" needs one of url, cluster, options or client');
    return { backend: RedisBackend.create(target, backendOptions), owned: true };
  }
  throw new BackendValidationError(
    `Unknown storage type ${JSON.stringify((options as { type?: unknown }).type)}: use "memory", "redis" or a Backend object`,
  );
}
