import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { OwnedEmailBackend } from './email/index.js';
import type { OwnedBackend } from './storage/index.js';

/**
 * Closes, on application shutdown, the backends the module created (never those passed in). The
 * `STORAGE_BACKEND` and `EMAIL_BACKEND` factories register what they create here, so a provider the
 * application overrides (`Test.createTestingModule(...).overrideProvider(EMAIL_BACKEND)`) is never created.
 */
@Injectable()
export class BackendsLifecycle implements OnApplicationShutdown {
  #storage?: OwnedBackend;
  #email?: OwnedEmailBackend;

  /** @internal Records the storage backend the module created, and returns it. */
  ownStorage(owned: OwnedBackend): OwnedBackend['backend'] {
    this.#storage = owned;
    return owned.backend;
  }

  /** @internal Records the email backend the module created, and returns it. */
  ownEmail(owned: OwnedEmailBackend): OwnedEmailBackend['backend'] {
    this.#email = owned;
    return owned.backend;
  }

  async onApplicationShutdown(): Promise<void> {
    // Email first: its idempotency records are written to the storage backend.
    if (this.#email?.owned) await this.#email.backend.close();
    if (this.#storage?.owned) await this.#storage.backend.close();
  }
}
