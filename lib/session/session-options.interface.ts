/** The session object as the stores of express-session and @fastify/session receive it. */
export interface StoredSession {
  cookie?: { expires?: Date | string | null; originalMaxAge?: number | null };
  [key: string]: any;
}

/** Options of {@link BackendSessionStore} (and the `session` options of the module). */
export interface BackendSessionStoreOptions {
  /** Namespace of the sessions in the shared backend. @default 'session:' */
  prefix?: string;
  /** Lifetime of a session whose cookie has no `expires`, in ms. @default 86400000 (1 day) */
  ttlMs?: number;
  /**
   * The user a session belongs to, for {@link BackendSessionStore.destroyAllForUser}; sessions
   * with no user are not indexed. Without it the per-user index is off.
   * @default undefined
   * @example userId: (session) => session.userId
   */
  userId?: (session: StoredSession) => string | number | null | undefined;
}
