import { MemoryBackend, type StorageOptions } from '../../lib/index.js';
import { RedisProcess } from './redis-server.js';
import type { StoreKind } from './web-app.js';
import { SwitchableBackend } from './web-app.js';

/** A store the test can take down and bring back: a private redis-server, or a switchable memory backend. */
export interface FailingStore {
  storage: StorageOptions;
  down(): Promise<void>;
  up(): Promise<void>;
  dispose(): Promise<void>;
}

export async function failingStore(kind: StoreKind): Promise<FailingStore> {
  if (kind === 'memory') {
    const sw = new SwitchableBackend(new MemoryBackend());
    return {
      storage: sw.backend(),
      down: async () => {
        sw.down = true;
      },
      up: async () => {
        sw.down = false;
      },
      dispose: () => sw.inner.close(),
    };
  }
  const redis = await RedisProcess.start();
  return {
    storage: { type: 'redis', url: redis.url, commandTimeoutMs: 200 },
    down: () => redis.stop(),
    up: () => redis.start(),
    dispose: () => redis.destroy(),
  };
}
