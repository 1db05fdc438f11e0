import type { StorageOptions } from './storage/index.js';

/** Options of {@link BackendsModule.forRoot}. */
export interface BackendsModuleOptions {
  /** The shared storage backend. @default { type: 'memory' } */
  storage?: StorageOptions;
}
