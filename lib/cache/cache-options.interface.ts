/** The `cache` options of {@link BackendsModule.forRoot}. */
export interface CacheModuleOptions {
  /** Lifetime of entries without `@CacheTTL()` or an explicit TTL, in ms; entries always expire. @default 5000 */
  ttlMs?: number;
  /** Longest wait for the backend on a read before answering uncached, in ms. @default 250 */
  timeoutMs?: number;
  /** Namespace of the entries in the shared backend. @default 'cache:' */
  namespace?: string;
}
