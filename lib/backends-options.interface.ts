import type { EmailOptions } from './email/index.js';
import type { StorageOptions } from './storage/index.js';

/** Options of {@link BackendsModule.forRoot}. */
export interface BackendsModuleOptions {
  /** The shared storage backend. @default { type: 'memory' } */
  storage?: StorageOptions;
  /**
   * The email backend behind `EMAIL_BACKEND`; idempotency keys live in `storage`. When omitted,
   * `EMAIL_BACKEND` is still injectable but every send fails with `EmailError` code `configuration`.
   */
  email?: EmailOptions;
}
