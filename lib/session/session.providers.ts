import type { Provider } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { BACKENDS_MODULE_OPTIONS } from '../backends.module-definition.js';
import type { BackendsModuleOptions } from '../backends-options.interface.js';
import { STORAGE_BACKEND } from '../backends.constants.js';
import type { Backend } from '../storage/index.js';
import { BackendSessionStore } from './backend-session.store.js';
import { SessionUnavailableFilter } from './session-unavailable.filter.js';

/** @internal Providers of the session capability. */
export function createSessionProviders(): Provider[] {
  return [
    {
      provide: BackendSessionStore,
      inject: [STORAGE_BACKEND, BACKENDS_MODULE_OPTIONS],
      useFactory: (backend: Backend, options: BackendsModuleOptions) =>
        new BackendSessionStore(backend, options.session),
    },
    // A session save that fails because the backend is down answers 503, not 500.
    { provide: APP_FILTER, useClass: SessionUnavailableFilter },
  ];
}

/** @internal What the module exports of the session capability. */
export const SESSION_EXPORTS = [BackendSessionStore];
