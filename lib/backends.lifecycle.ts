import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import type { OwnedEmailBackend } from './email/index.js';
import type { OwnedBackend } from './storage/index.js';

/**
 * Closes, on application shutdown, the backends the module created (never those passed in). The
 * `STORAGE_BACKEND` and email backend factories (`EMAIL_BACKEND` and each named one) register what they
 * create here, so a provider the application overrides
 * (`Test.createTestingModule(...).overrideProvider(EMAIL_BACKEND)`) is never created.
 */
@Injectable()
export class BackendsLifecycle implements OnApplicationShutdown {
  #storage?: OwnedBackend;
  readonly #email = new Map<string, OwnedEmailBackend>();

  /** @internal Records the storage backend the module created, and returns it. */
  ownStorage(owned: OwnedBackend): OwnedBackend['backend'] {
    this.#storage = owned;
    return owned.backend;
  }

  /** @internal Records an email backend the module created (`default` or a named one), and returns it. */
  ownEmail(owned: OwnedEmailBackend, name = 'default'): OwnedEmailBackend['backend'] {
    this.#email.set(name, owned);
    return owned.backend;
  }

  async onApplicationShutdown(): Promise<void> {
    // Email first (all of them at once): their idempotency records are written to the storage backend.
    const emails = [...this.#email.values()].filter((e) => e.owned);
    const closed = await Promise.allSettled(emails.map((e) => e.backend.close()));
    if (this.#storage?.owned) await this.#storage.backend.close();
    const failed = closed.find((c): c is PromiseRejectedResult => c.status === 'rejected');
    if (failed) throw failed.reason;
  }
}
