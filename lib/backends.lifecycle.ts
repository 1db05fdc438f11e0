import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { OwnedBackend } from './storage/index.js';

/** @internal Token of the storage backend together with its ownership flag. */
export const OWNED_STORAGE = 'NESTJS_BACKENDS_OWNED_STORAGE';

/** Closes, on application shutdown, the backends the module created (never those passed in). */
@Injectable()
export class BackendsLifecycle implements OnApplicationShutdown {
  constructor(@Inject(OWNED_STORAGE) private readonly storage: OwnedBackend) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.storage.owned) await this.storage.backend.close();
  }
}
