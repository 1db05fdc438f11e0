import { type DynamicModule, Module } from '@nestjs/common';
import { EMAIL_BACKEND, STORAGE_BACKEND } from './backends.constants.js';
import { BackendsLifecycle, OWNED_EMAIL, OWNED_STORAGE } from './backends.lifecycle.js';
import type { BackendsModuleOptions } from './backends-options.interface.js';
import {
  BACKENDS_MODULE_OPTIONS,
  type BACKENDS_OPTIONS_TYPE,
  ConfigurableBackendsModule,
} from './backends.module-definition.js';
import { createEmailBackend, type OwnedEmailBackend } from './email/index.js';
import { type Backend, createStorageBackend, type OwnedBackend } from './storage/index.js';

/**
 * Registers the shared storage backend (`STORAGE_BACKEND`), the email backend (`EMAIL_BACKEND`) and
 * the capabilities built on them.
 * @example BackendsModule.forRoot({ storage: { type: 'redis', url: process.env.REDIS_URL } })
 */
@Module({
  providers: [
    {
      provide: OWNED_STORAGE,
      inject: [BACKENDS_MODULE_OPTIONS],
      useFactory: (options: BackendsModuleOptions) => createStorageBackend(options.storage),
    },
    {
      provide: STORAGE_BACKEND,
      inject: [OWNED_STORAGE],
      useFactory: (owned: OwnedBackend) => owned.backend,
    },
    {
      provide: OWNED_EMAIL,
      inject: [BACKENDS_MODULE_OPTIONS, STORAGE_BACKEND],
      useFactory: (options: BackendsModuleOptions, storage: Backend) => createEmailBackend(options.email, storage),
    },
    {
      provide: EMAIL_BACKEND,
      inject: [OWNED_EMAIL],
      useFactory: (owned: OwnedEmailBackend) => owned.backend,
    },
    BackendsLifecycle,
  ],
  exports: [STORAGE_BACKEND, EMAIL_BACKEND],
})
export class BackendsModule extends ConfigurableBackendsModule {
  /** Registers the module with `options` (all optional: memory storage by default). */
  static override forRoot(options: typeof BACKENDS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
