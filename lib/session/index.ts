export { BackendSessionStore, parseSession } from './backend-session.store.js';
export type { BackendSessionStoreOptions, StoredSession } from './session-options.interface.js';
export { SessionStoreError, type SessionStoreErrorCode } from './session-data.error.js';
export { createSessionProviders, SESSION_EXPORTS } from './session.providers.js';
