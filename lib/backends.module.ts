import { type DynamicModule, Module } from '@nestjs/common';
import { STORAGE_BACKEND } from './backends.constants.js';
import { BackendsLifecycle, OWNED_STORAGE } from './backends.lifecycle.js';
import type { BackendsModuleOptions } from './backends-options.interface.js';
import {
  BACKENDS_MODULE_OPTIONS,
  type BACKENDS_OPTIONS_TYPE,
  ConfigurableBackendsModule,
} from './backends.module-definition.js';
import { createStorageBackend, type OwnedBackend } from './storage/index.js';

/**
 * Registers the shared storage backend (`STORAGE_BACKEND`) and the capabilities built on it.
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
    BackendsLifecycle,
  ],
  exports: [STORAGE_BACKEND],
})
export class BackendsModule extends ConfigurableBackendsModule {
  /** Registers the module with `options` (all optional: memory storage by default). */
  static override forRoot(options: typeof BACKENDS_OPTIONS_TYPE = {}): DynamicModule {
    return super.forRoot(options);
  }
}
