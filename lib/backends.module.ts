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
import { DEFAULT_EMAIL_NAME, getEmailBackendToken } from './email/email-token.util.js';
import { checkDeclaredNames, namedEmailNames, selectEmailOptions } from './email/named-email.util.js';
import { createSessionProviders, SESSION_EXPORTS } from './session/index.js';
import { type Backend, createStorageBackend } from './storage/index.js';
import { createThrottleProviders, THROTTLE_EXPORTS, ThrottlerGuard } from './throttler/index.js';

/** A guard that lets everything through: `APP_GUARD` of `forRootAsync` when throttling is not global. */
const PASS_GUARD = { canActivate: () => true };

/**
 * @internal The named email backends the module registered providers for: `declared` is set by
 * `forRootAsync` (its `emailBackends`), whose resolved options must then name the same ones.
 */
const EMAIL_NAMES = 'NESTJS_BACKENDS_EMAIL_NAMES';
interface EmailNames {
  declared?: readonly string[];
}

/** Options of {@link BackendsModule.forRootAsync}: Nest's async options plus the named email backends. */
export type BackendsModuleAsyncOptions = typeof BACKENDS_ASYNC_OPTIONS_TYPE & {
  /**
   * Names of the email backends the factory's `email: { backends: { ... } }` configures besides
   * `default` (providers are registered before the factory runs, so they are declared here). @default []
   */
  emailBackends?: readonly string[];
};

function emailProvider(name: string): Provider {
  return {
    provide: getEmailBackendToken(name),
    inject: [BACKENDS_MODULE_OPTIONS, STORAGE_BACKEND, BackendsLifecycle, { token: EMAIL_NAMES, optional: true }],
    useFactory: (
      options: BackendsModuleOptions,
      storage: Backend,
      lifecycle: BackendsLifecycle,
      names: EmailNames | undefined,
    ) =>
      lifecycle.ownEmail(createEmailBackend(selectEmailOptions(options.email, name, names?.declared), storage), name),
  };
}

/** Adds the providers (and exports) of the named email backends. */
function withEmailNames(mod: DynamicModule, names: readonly string[], declared?: readonly string[]): DynamicModule {
  const value: EmailNames = declared === undefined ? {} : { declared };
  return {
    ...mod,
    providers: [...(mod.providers ?? []), { provide: EMAIL_NAMES, useValue: value }, ...names.map(emailProvider)],
    exports: [...(mod.exports ?? []), ...names.map((n) => getEmailBackendToken(n))],
  };
}

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
    emailProvider(DEFAULT_EMAIL_NAME),
    ...createThrottleProviders(),
    ...createCacheProviders(),
    ...createSessionProviders(),
  ],
  exports: [STORAGE_BACKEND, EMAIL_BACKEND, ...THROTTLE_EXPORTS, ...CACHE_EXPORTS, ...SESSION_EXPORTS],
})
export class BackendsModule extends ConfigurableBackendsModule {
  /**
   * Like the generated `forRoot` (all options optional), plus `APP_GUARD` when `throttle.global` is set
   * and a provider per named email backend.
   */
  static override forRoot(options: typeof BACKENDS_OPTIONS_TYPE = {}): DynamicModule {
    const mod = withEmailNames(super.forRoot(options), namedEmailNames(options.email));
    if (!options.throttle?.global) return mod;
    return withProvider(mod, { provide: APP_GUARD, useExisting: ThrottlerGuard });
  }

  /**
   * Like the generated `forRootAsync`; `throttle.global` is read from the resolved options, and the
   * named email backends are declared in `emailBackends` (checked against the resolved options at startup).
   */
  static override forRootAsync(options: BackendsModuleAsyncOptions): DynamicModule {
    const { emailBackends, ...rest } = options;
    const declared = checkDeclaredNames(emailBackends);
    const mod = withEmailNames(super.forRootAsync(rest), declared, declared);
    return withProvider(mod, {
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
