import type { EmailOptions } from './email/index.js';
import type { NamedEmailOptions } from './email/email-options.interface.js';
import type { CacheModuleOptions } from './cache/index.js';
import type { BackendSessionStoreOptions } from './session/index.js';
import type { StorageOptions } from './storage/index.js';
import type { ThrottleModuleOptions } from './throttler/index.js';

/** Options of {@link BackendsModule.forRoot}. */
export interface BackendsModuleOptions {
  /** The shared storage backend. @default { type: 'memory' } */
  storage?: StorageOptions;
  /**
   * The email backend behind `EMAIL_BACKEND`; idempotency keys live in `storage`. When omitted,
   * `EMAIL_BACKEND` is still injectable but every send fails with `EmailError` code `configuration`.
   * `{ backends: { default: {...}, marketing: {...} } }` (no `type`) configures several, by name.
   */
  email?: EmailOptions | NamedEmailOptions;
  /** Throttling ({@link ThrottlerGuard}, {@link Throttler}) in the `throttle:` namespace. @default {} */
  throttle?: ThrottleModuleOptions;
  /** Caching ({@link CacheInterceptor}, {@link CacheService}) in the `cache:` namespace. @default {} */
  cache?: CacheModuleOptions;
  /** The session store ({@link BackendSessionStore}) in the `session:` namespace. @default {} */
  session?: BackendSessionStoreOptions;
}
