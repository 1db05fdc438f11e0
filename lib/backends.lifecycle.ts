import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { OwnedEmailBackend } from './email/index.js';
import type { OwnedBackend } from './storage/index.js';

/** @internal Token of the storage backend together with its ownership flag. */
export const OWNED_STORAGE = 'NESTJS_BACKENDS_OWNED_STORAGE';

/** @internal Token of the email backend together with its ownership flag. */
export const OWNED_EMAIL = 'NESTJS_BACKENDS_OWNED_EMAIL';

/** Closes, on application shutdown, the backends the module created (never those passed in). */
@Injectable()
export class BackendsLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(OWNED_STORAGE) private readonly storage: OwnedBackend,
    @Inject(OWNED_EMAIL) private readonly email: OwnedEmailBackend,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    // Email first: its idempotency records are written to the storage backend.
    if (this.email.owned) await this.email.backend.close();
    if (this.storage.owned) await this.storage.backend.close();
  }
}
