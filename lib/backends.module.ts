import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { EMAIL_BACKEND, STORAGE_BACKEND } from './backends.constants.js';
import { BackendsLifecycle } from './backends.lifecycle.js';
import type { BackendsModuleOptions } from './backends-options.interface.js';
import {
  BACKENDS_ASYNC_OPTIONS_TYPE,
  BACKENDS_MODULE_OPTIONS,
  BACKENDS_OPTIONS_TYPE,
  ConfigurableBackendsModule,
} from './backends.module-definition.js';
import { CACHE_EXPORTS, createCacheProviders } from './cache/index.js';
import { createEmailBackend } from './email/index.js';
import { createSessionProviders, SESSION_EXPORTS } from './session/index.js';
import { type Backend, createStorageBackend } from './storage/index.js';
import { createThrottleProviders, THROTTLE_EXPORTS, ThrottlerGuard } from './throttler/index.js';

/** A guard that lets everything through: `APP_GUARD` of `forRootAsync` when throttling is not global. */
const PASS_GUARD = { canActivate: () => true };

/**
 * Registers the shared storage backend (`STORAGE_BACKEND`), the email backend (`EMAIL_BACKEND`) and
 * the capabilities built on them.
 * @example BackendsModule.forRoot({ storage: { type: 'redis', url: process.env.REDIS_URL } })
 */
@Module({
  providers: [
    BackendsLifecycle,
    {
      provide: STORAGE_BACKEND,
      inject: [BACKENDS_MODULE_OPTIONS, BackendsLifecycle],
      useFactory: (options: BackendsModuleOptions, lifecycle: BackendsLifecycle) =>
        lifecycle.ownStorage(createStorageBackend(options.storage)),
    },
    {
      provide: EMAIL_BACKEND,
      inject: [BACKENDS_MODULE_OPTIONS, STORAGE_BACKEND, BackendsLifecycle],
      useFactory: (options: BackendsModuleOptions, storage: Backend, lifecycle: BackendsLifecycle) =>
        lifecycle.ownEmail(createEmailBackend(options.email, storage)),
    },
    ...createThrottleProviders(),
    ...createCacheProviders(),
    ...createSessionProviders(),
  ],
  exports: [STORAGE_BACKEND, EMAIL_BACKEND, ...THROTTLE_EXPORTS, ...CACHE_EXPORTS, ...SESSION_EXPORTS],
})
export class BackendsModule extends ConfigurableBackendsModule {
  /** Like the generated `forRoot` (all options optional), plus `APP_GUARD` when `throttle.global` is set. */
  static override forRoot(options: typeof BACKENDS_OPTIONS_TYPE = {}): DynamicModule {
    const mod = super.forRoot(options);
    if (!options.throttle?.global) return mod;
    return withProvider(mod, { provide: APP_GUARD, useExisting: ThrottlerGuard });
  }

  /** Like the generated `forRootAsync`; `throttle.global` is read from the resolved options. */
  static override forRootAsync(options: typeof BACKENDS_ASYNC_OPTIONS_TYPE): DynamicModule {
    return withProvider(super.forRootAsync(options), {
      provide: APP_GUARD,
      inject: [BACKENDS_MODULE_OPTIONS, ThrottlerGuard],
      useFactory: (resolved: BackendsModuleOptions, guard: ThrottlerGuard) =>
        resolved.throttle?.global ? guard : PASS_GUARD,
    });
  }
}

function withProvider(mod: DynamicModule, provider: Provider): DynamicModule {
  return { ...mod, providers: [...(mod.providers ?? []), provider] };
}
