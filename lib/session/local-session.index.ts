/** Ids tracked before the first prune; later the bound is twice the live sessions found by the last one. */
const MIN_TRACKED = 1024;
/** How long a destroyed id stays known, for a touch racing with the destroy, in ms. */
const TOMB_TTL_MS = 60_000;
/** Most destroyed ids kept; past it the oldest are forgotten first. */
const MAX_TOMBS = 10_000;

interface Tracked {
  /** The user the session was last written for, if any. */
  user: string | undefined;
  /** Bumped on every write, so that a cleanup never removes an entry written after it looked. */
  version: number;
}

/**
 * @internal The in-process bookkeeping of {@link BackendSessionStore} on backends that can neither list
 * their keys nor run scripts (MemoryBackend): the ids written (for `ids`/`length`/`all`), the per-user
 * index of `destroyAllForUser` and recently destroyed ids. It is never in the backend's LRU, so no
 * eviction splits it from the sessions, and it stays bounded by the backend: once it tracks more than
 * twice the sessions alive at its last prune (and at least 1024), the ids of gone sessions are pruned.
 */
export class LocalSessionIndex {
  private readonly tracked = new Map<string, Tracked>();
  private readonly users = new Map<string, Map<string, number>>();
  private readonly tombs = new Map<string, number>();
  private version = 0;
  private pruneAbove = MIN_TRACKED;
  private pruning: Promise<void> | undefined;

  /** `exists` answers, in order, which of the given ids still hold a session in the backend. */
  constructor(private readonly exists: (sids: string[]) => Promise<boolean[]>) {}

  /** How many session ids are tracked (live or not pruned yet). */
  get size(): number {
    return this.tracked.size;
  }

  /** Records a write of `sid` (for `user`, or none); call it after the session is stored. */
  add(sid: string, user: string | undefined): Promise<void> {
    const before = this.tracked.get(sid);
    if (before?.user !== undefined && before.user !== user) this.unlink(before.user, sid, before.version);
    const version = ++this.version;
    this.tracked.set(sid, { user, version });
    if (user !== undefined) {
      let sids = this.users.get(user);
      if (sids === undefined) this.users.set(user, (sids = new Map()));
      sids.set(sid, version);
    }
    return this.tracked.size > this.pruneAbove ? this.prune() : Promise.resolve();
  }

  /** The current version of `sid`'s entry, to pass to {@link LocalSessionIndex.forget}. */
  versionOf(sid: string): number | undefined {
    return this.tracked.get(sid)?.version;
  }

  /** Drops `sid` if its entry is still the one seen as `version` (a write since then keeps it). */
  forget(sid: string, version: number | undefined): void {
    const entry = this.tracked.get(sid);
    if (entry === undefined || entry.version !== version) return;
    this.tracked.delete(sid);
    if (entry.user !== undefined) this.unlink(entry.user, sid, version);
  }

  /** The ids indexed for `user`, each with the version to give back to {@link LocalSessionIndex.forget}. */
  forUser(user: string): [string, number][] {
    return [...(this.users.get(user) ?? [])];
  }

  /** Every tracked id. */
  ids(): string[] {
    return [...this.tracked.keys()];
  }

  /** Marks `sid` as destroyed for a while (a touch racing with the destroy then deletes what it wrote). */
  bury(sid: string, now = Date.now()): void {
    const tombs = this.tombs;
    tombs.delete(sid);
    tombs.set(sid, now + TOMB_TTL_MS);
    // Insertion order is expiry order: drop expired ones from the front, and the oldest past the bound.
    for (const [oldest, until] of tombs) {
      if (until > now && tombs.size <= MAX_TOMBS) break;
      tombs.delete(oldest);
    }
  }

  /** Whether `sid` was destroyed recently. */
  buried(sid: string, now = Date.now()): boolean {
    const until = this.tombs.get(sid);
    return until !== undefined && until > now;
  }

  /** Forgets everything (after the backend namespace was cleared). */
  clear(): void {
    this.tracked.clear();
    this.users.clear();
    this.pruneAbove = MIN_TRACKED;
  }

  /** Drops the ids whose session is gone (expired, evicted or destroyed elsewhere); one prune at a time. */
  prune(): Promise<void> {
    this.pruning ??= this.sweep().finally(() => (this.pruning = undefined));
    return this.pruning;
  }

  private async sweep(): Promise<void> {
    const seen = [...this.tracked].map(([sid, entry]) => [sid, entry.version] as const);
    const BATCH = 1000;
    for (let i = 0; i < seen.length; i += BATCH) {
      const chunk = seen.slice(i, i + BATCH);
      const live = await this.exists(chunk.map(([sid]) => sid));
      chunk.forEach(([sid, version], j) => {
        if (!live[j]) this.forget(sid, version);
      });
    }
    this.pruneAbove = Math.max(MIN_TRACKED, 2 * this.tracked.size);
  }

  private unlink(user: string, sid: string, version: number | undefined): void {
    const sids = this.users.get(user);
    if (sids === undefined || (version !== undefined && sids.get(sid) !== version)) return;
    sids.delete(sid);
    if (sids.size === 0) this.users.delete(user);
  }
}
