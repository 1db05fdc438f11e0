import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { BackendUnavailableError } from '../errors/index.js';
import { type Backend, RedisBackend } from '../storage/index.js';
import { decodeValue, encodeValue } from '../storage/value.codec.js';
import { hashKey } from '../utils/hash.util.js';
import { loadPackage } from '../utils/load-package.util.js';
import { LocalSessionIndex } from './local-session.index.js';
import { SESSION_COMMANDS } from './redis-session.scripts.js';
import { SessionStoreError } from './session-data.error.js';
import type { BackendSessionStoreOptions, StoredSession } from './session-options.interface.js';

type Callback<T> = (err: any, value?: T) => void;
type ExpressSessionStore = { prototype: Record<'regenerate' | 'load' | 'createSession', (...args: any[]) => any> };
type ScriptClient = Record<string, (...args: (string | number)[]) => Promise<unknown>>;

/** Index keys live in the sessions' namespace behind a NUL, which no session id starts with. */
const INDEX = '\u0000';
/** user hash → Redis hash of `sid → "<expiresAt>|<token>"` (see redis-session.scripts.ts). */
const USER = `${INDEX}u:`;
// The per-user index of 0.1 (slots from a counter above a floor), still read for sessions saved by it.
const LEGACY_MARKER = `${INDEX}m:`; // sid → "<user hash>:<slot>"
const LEGACY_COUNTER = `${INDEX}n:`; // user hash → last slot number
const LEGACY_FLOOR = `${INDEX}f:`; // user hash → slots up to here were destroyed
const LEGACY_SLOT = `${INDEX}s:`; // "<user hash>:<slot>" → sid
const UNSAFE_KEY = /"(?:__proto__|constructor|prototype)"\s*:/;
const BATCH = 500;
const DAY_MS = 86_400_000;
/** Attempts of a touch to rewrite a session that keeps changing under it, before it only extends it. */
const TOUCH_ATTEMPTS = 5;

/** Index entries carry a token unique to one write: this process's part, then a counter. */
const PROCESS_TOKEN = randomBytes(6).toString('base64url');
let writes = 0;

/** The in-process indexes, one per backend and prefix, shared by the stores built on them. */
const localIndexes = new WeakMap<Backend, Map<string, LocalSessionIndex>>();

let expressSessionStore: ExpressSessionStore | undefined;

/** express-session's `Store`, loaded on first use (express-session is an optional peer dependency). */
function storeBase(): ExpressSessionStore {
  expressSessionStore ??= loadPackage<{ Store: ExpressSessionStore }>('express-session', 'BackendSessionStore').Store;
  return expressSessionStore;
}

/** Parses stored session JSON, refusing `__proto__` / `constructor` / `prototype` keys at any depth. */
export function parseSession(text: string): StoredSession {
  if (UNSAFE_KEY.test(text)) throw unsafe();
  if (text.indexOf('\\u') === -1) return JSON.parse(text) as StoredSession;
  // Escaped keys ("\u005f_proto__") only show once parsed: check every key.
  return JSON.parse(text, (key, value) => {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') throw unsafe();
    return value;
  }) as StoredSession;
}

function unsafe(): SessionStoreError {
  return new SessionStoreError('session_data', 'Session data holds a "__proto__", "constructor" or "prototype" key');
}

/** `stored` with the cookie (new expiry) of `session`, as JSON text. */
function withCookie(stored: StoredSession, session: StoredSession): string {
  const text = JSON.stringify({ ...stored, cookie: session?.cookie ?? stored.cookie });
  if (UNSAFE_KEY.test(text)) throw unsafe();
  return text;
}

/** Parses the text of a stored session; `undefined` when it is not one (`get()` drops those). */
function parseStored(text: unknown): StoredSession | undefined {
  if (typeof text !== 'string') return undefined;
  try {
    return parseSession(text);
  } catch {
    return undefined;
  }
}

/**
 * An express-session store (same shape for @fastify/session) on the shared backend: TTL from the
 * session cookie, `touch` that never recreates a destroyed session, and
 * {@link BackendSessionStore.destroyAllForUser} through a per-user index (a hash per user in Redis,
 * in the process for other backends). Every method takes a callback, or returns a promise without one.
 * @example app.use(session({ store: app.get(BackendSessionStore), secret, resave: false, saveUninitialized: false }))
 */
export class BackendSessionStore extends EventEmitter {
  /** Lifetime of a session whose cookie has no `expires`, in ms. */
  readonly ttlMs: number;
  private readonly backend: Backend;
  private readonly userId?: BackendSessionStoreOptions['userId'];
  /** The backend when it is Redis (scripts, SCAN, the per-user hashes). */
  private readonly redis?: RedisBackend;
  /** Ids, per-user index and recently destroyed ids on every other backend. */
  private readonly local?: LocalSessionIndex;
  private policyCheck?: Promise<string | undefined>;
  private readonly logger = new Logger('BackendSessionStore');

  constructor(backend: Backend, options: BackendSessionStoreOptions = {}) {
    super();
    const ttlMs = options.ttlMs ?? DAY_MS;
    if (!Number.isSafeInteger(ttlMs) || ttlMs < 1) {
      throw new SessionStoreError('session_config', 'session ttlMs must be a whole number of milliseconds >= 1');
    }
    if (options.userId !== undefined && typeof options.userId !== 'function') {
      throw new SessionStoreError('session_config', 'session userId must be a function of the session');
    }
    const prefix = options.prefix ?? 'session:';
    this.ttlMs = ttlMs;
    this.userId = options.userId;
    this.backend = backend.namespace(prefix);
    if (this.backend instanceof RedisBackend) {
      this.redis = this.backend;
      defineCommands(this.redis.client as unknown as ScriptClient);
      this.checkEvictionPolicy().catch(() => undefined);
    } else {
      this.local = localIndexFor(backend, prefix, this.backend);
    }
  }

  /** Reads a session; `null` when missing, expired or holding unsafe keys (then it is deleted). */
  get(sid: string, callback?: Callback<any>): Promise<StoredSession | null> | void {
    return settle(this.read(sid), callback);
  }

  /** Writes a session for the time left on its cookie (else `ttlMs`); an expired one is deleted instead. */
  set(sid: string, session: StoredSession, callback?: Callback<void>): Promise<void> | void {
    return settle(this.write(sid, session), callback);
  }

  /** Deletes a session. */
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return settle(this.remove(sid), callback);
  }

  /**
   * Writes the cookie of `session` (its new expiry) into an existing session and gives it the new TTL;
   * a missing or destroyed session stays missing. The stored data is kept as it is.
   */
  touch(sid: string, session: StoredSession, callback?: Callback<void>): Promise<void> | void {
    return settle(this.extend(sid, session), callback);
  }

  /** Deletes every session of this store's namespace. */
  clear(callback?: Callback<void>): Promise<void> | void {
    return settle(
      this.backend.clear().then(() => this.local?.clear()),
      callback,
    );
  }

  /** How many live sessions there are. */
  length(callback?: Callback<number>): Promise<number> | void {
    return settle(
      this.listIds().then((ids) => ids.length),
      callback,
    );
  }

  /** The ids of the live sessions. */
  ids(callback?: Callback<string[]>): Promise<string[]> | void {
    return settle(this.listIds(), callback);
  }

  /** Every live session, as an array (express-session's `store.all`), each with its `id`. */
  all(callback?: Callback<any>): Promise<(StoredSession & { id: string })[]> | void {
    return settle(this.readAll(), callback);
  }

  /**
   * Deletes every session of `userId` (needs the `userId` option); resolves how many were deleted.
   * A session saved while it runs is deleted by it or, at the latest, by the next call.
   */
  async destroyAllForUser(userId: string | number): Promise<number> {
    if (this.userId === undefined) {
      throw new SessionStoreError('session_config', 'destroyAllForUser needs the userId option of the session store');
    }
    const uid = String(userId);
    return this.local ? this.destroyAllLocal(this.local, uid) : this.destroyAllRedis(this.redis!, uid);
  }

  /**
   * Asks Redis for its `maxmemory-policy` (once; on every master of a Cluster) and logs a warning when
   * it lets Redis evict sessions and the per-user index regardless of their lifetime (`allkeys-*`,
   * `volatile-random`); resolves that policy, else `undefined`. A refused `CONFIG GET` (ACL) is logged at
   * debug level only. Runs by itself when the store is built on a `RedisBackend`.
   */
  checkEvictionPolicy(): Promise<string | undefined> {
    this.policyCheck ??= this.readEvictionPolicy();
    return this.policyCheck;
  }

  /** express-session's `Store#regenerate` (loads express-session). */
  regenerate(req: any, callback: (err?: any) => void): void {
    storeBase().prototype.regenerate.call(this, req, callback);
  }

  /** express-session's `Store#load` (loads express-session). */
  load(sid: string, callback: (err: any, session?: any) => void): void {
    storeBase().prototype.load.call(this, sid, callback);
  }

  /** express-session's `Store#createSession` (loads express-session). */
  createSession(req: any, session: any): any {
    return storeBase().prototype.createSession.call(this, req, session);
  }

  private async read(sid: string): Promise<StoredSession | null> {
    const text = await this.backend.get<unknown>(sid);
    if (text === undefined) return null;
    try {
      if (typeof text !== 'string') throw new SessionStoreError('session_data', 'Stored session is not JSON text');
      return parseSession(text);
    } catch (err) {
      this.logger.warn(`Dropped an unreadable session: ${(err as Error).message}`);
      await this.remove(sid);
      return null;
    }
  }

  private async write(sid: string, session: StoredSession): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.remove(sid);
    let text: string;
    try {
      text = JSON.stringify(session);
    } catch (err) {
      throw new SessionStoreError('session_data', 'Session data is not JSON-serializable', { cause: err });
    }
    if (UNSAFE_KEY.test(text)) throw unsafe();
    // The session first, its index entry after: a destroyAllForUser that reads the index before the
    // entry lands misses the session, but the entry stays for its next call.
    await this.backend.set(sid, text, ttl);
    const user = this.userOf(session);
    if (this.local) await this.local.add(sid, user);
    else if (user !== undefined) await this.indexOnRedis(this.redis!, user, sid, ttl);
  }

  private async remove(sid: string): Promise<void> {
    const local = this.local;
    if (local === undefined) {
      await this.backend.delete(sid);
      return;
    }
    const version = local.versionOf(sid);
    // Before the delete: a touch racing with us sees it and undoes its write.
    local.bury(sid);
    await this.backend.delete(sid);
    local.forget(sid, version);
  }

  private async extend(sid: string, session: StoredSession): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.remove(sid);
    if (this.redis) {
      const stored = await this.replaceOnRedis(this.redis, sid, session, ttl);
      const user = stored && this.userOf(stored);
      if (user !== undefined) await this.indexOnRedis(this.redis, user, sid, ttl);
      return;
    }
    // Elsewhere a read and a rewrite, then the tombstone check deletes it again if it was destroyed meanwhile.
    const local = this.local!;
    const stored = parseStored(await this.backend.get<unknown>(sid));
    if (stored === undefined) return;
    await this.backend.set(sid, withCookie(stored, session), ttl);
    if (local.buried(sid)) {
      await this.backend.delete(sid);
      return;
    }
    await local.add(sid, this.userOf(stored));
  }

  /**
   * Rewrites the session with the new cookie only if it still holds what was read (a script): never
   * recreates a destroyed one, never loses a save made meanwhile. Resolves the stored session if written.
   */
  private async replaceOnRedis(
    r: RedisBackend,
    sid: string,
    session: StoredSession,
    ttlMs: number,
  ): Promise<StoredSession | undefined> {
    const client = r.client as unknown as ScriptClient & { get(key: string): Promise<string | null> };
    const full = r.keyPrefix + sid;
    return onRedis(r, async () => {
      for (let i = 0; i < TOUCH_ATTEMPTS; i++) {
        const raw = await client.get(full);
        if (raw === null) return undefined;
        const stored = parseStored(decodeOrNothing(raw));
        if (stored === undefined) return undefined; // get() drops it
        const next = encodeValue(withCookie(stored, session));
        const done = await client[SESSION_COMMANDS.replace.name](full, raw, next, ttlMs);
        if (done === 1) return stored;
        if (done === 0) return undefined;
      }
      // Saved again on every attempt: those saves carry the data; only the lifetime is extended here.
      await (r.client as unknown as ScriptClient).pexpire(full, ttlMs);
      return undefined;
    });
  }

  /** Adds or refreshes `sid` in the index hash of `user` (atomic, one key: fine on a Cluster). */
  private async indexOnRedis(r: RedisBackend, user: string, sid: string, ttlMs: number): Promise<void> {
    const client = r.client as unknown as ScriptClient;
    const now = Date.now();
    const entry = `${now + ttlMs}|${PROCESS_TOKEN}${(++writes).toString(36)}`;
    await onRedis(r, () =>
      client[SESSION_COMMANDS.indexAdd.name](r.keyPrefix + USER + hashKey(user), sid, entry, ttlMs, now),
    );
  }

  private async destroyAllLocal(local: LocalSessionIndex, uid: string): Promise<number> {
    const entries = local.forUser(uid);
    const { owned, gone } = await this.ownedBy(
      uid,
      entries.map(([sid]) => sid),
    );
    for (const sid of owned) local.bury(sid);
    const doomed = [...owned];
    for (let i = 0; i < doomed.length; i += BATCH) await this.backend.deleteMany(doomed.slice(i, i + BATCH));
    // Only entries unchanged since they were read: a session saved meanwhile stays for the next call.
    for (const [sid, version] of entries) if (owned.has(sid) || gone.has(sid)) local.forget(sid, version);
    return owned.size;
  }

  private async destroyAllRedis(r: RedisBackend, uid: string): Promise<number> {
    const h = hashKey(uid);
    const key = r.keyPrefix + USER + h;
    const client = r.client as unknown as ScriptClient & { hgetall(key: string): Promise<Record<string, string>> };
    const fields = await onRedis(r, () => client.hgetall(key));
    const entries = Object.entries(fields).filter(([sid]) => !sid.startsWith(INDEX));
    const fromLegacy = await this.legacySlots(h);
    const legacy = fromLegacy ?? new Map<string, string>();
    const candidates = [...new Set([...entries.map(([sid]) => sid), ...legacy.values()])];
    const { owned, gone } = await this.ownedBy(uid, candidates);
    const doomed = [...owned];
    for (let i = 0; i < doomed.length; i += BATCH) {
      const chunk = doomed.slice(i, i + BATCH);
      await this.backend.deleteMany([...chunk, ...chunk.map((sid) => LEGACY_MARKER + sid)]);
    }
    // Releases only the entries that still hold what was read: one rewritten since then is a later save.
    for (let i = 0; i < entries.length; i += BATCH) {
      const pairs = entries.slice(i, i + BATCH).flat();
      await onRedis(r, () => client[SESSION_COMMANDS.indexRelease.name](key, ...pairs));
    }
    const slots = [...legacy].filter(([, sid]) => owned.has(sid) || gone.has(sid)).map(([slot]) => slot);
    for (let i = 0; i < slots.length; i += BATCH) await this.backend.deleteMany(slots.slice(i, i + BATCH));
    // Nothing left in the 0.1 index (only 0.1 instances still write it): later calls need not walk its range.
    if (fromLegacy && slots.length === legacy.size)
      await this.backend.deleteMany([LEGACY_COUNTER + h, LEGACY_FLOOR + h]);
    return owned.size;
  }

  /** The slot keys of the 0.1 index of user hash `h` that still name a session (with it); `undefined` without one. */
  private async legacySlots(h: string): Promise<Map<string, string> | undefined> {
    const b = this.backend;
    const [last, floor] = await b.getMany<number>([LEGACY_COUNTER + h, LEGACY_FLOOR + h]);
    if (typeof last !== 'number') return undefined;
    const found = new Map<string, string>();
    const slotKeys: string[] = [];
    for (let i = typeof floor === 'number' ? floor + 1 : 1; i <= last; i++) slotKeys.push(`${LEGACY_SLOT}${h}:${i}`);
    for (let i = 0; i < slotKeys.length; i += BATCH) {
      const chunk = slotKeys.slice(i, i + BATCH);
      const sids = await b.getMany<string>(chunk);
      chunk.forEach((slot, j) => {
        const sid = sids[j];
        if (typeof sid === 'string') found.set(slot, sid);
      });
    }
    return found;
  }

  /**
   * Which of `sids` are sessions of `uid` now (by their own data: a session that moved to another user
   * is not this user's any more), and which are gone.
   */
  private async ownedBy(uid: string, sids: string[]): Promise<{ owned: Set<string>; gone: Set<string> }> {
    const owned = new Set<string>();
    const gone = new Set<string>();
    for (let i = 0; i < sids.length; i += BATCH) {
      const chunk = sids.slice(i, i + BATCH);
      const texts = await this.backend.getMany<unknown>(chunk);
      chunk.forEach((sid, j) => {
        if (texts[j] === undefined) {
          gone.add(sid);
          return;
        }
        const stored = parseStored(texts[j]);
        if (stored !== undefined && this.userOf(stored) === uid) owned.add(sid);
      });
    }
    return { owned, gone };
  }

  private async readEvictionPolicy(): Promise<string | undefined> {
    const r = this.redis;
    if (r === undefined) return undefined;
    const client = r.client as any;
    try {
      await r.exists(`${INDEX}probe`); // connected (a Cluster knows its masters only then)
      const nodes: any[] = client.isCluster ? client.nodes('master') : [client];
      for (const node of nodes) {
        const reply = (await node.config('GET', 'maxmemory-policy')) as string[];
        const policy = reply?.[1];
        if (typeof policy === 'string' && (policy.startsWith('allkeys-') || policy === 'volatile-random')) {
          this.logger.warn(
            `Redis maxmemory-policy is "${policy}": under memory pressure Redis may evict sessions and the ` +
              'per-user index of destroyAllForUser apart; use "noeviction" (or volatile-lru, -lfu or -ttl) for sessions',
          );
          return policy;
        }
      }
    } catch (err) {
      this.logger.debug(`Could not read Redis maxmemory-policy: ${(err as Error).message}`);
    }
    return undefined;
  }

  private userOf(session: StoredSession): string | undefined {
    const uid = this.userId?.(session);
    return uid === undefined || uid === null || uid === '' ? undefined : String(uid);
  }

  private ttlOf(session: StoredSession): number {
    const expires = session?.cookie?.expires;
    if (expires !== undefined && expires !== null) {
      const at = expires instanceof Date ? expires.getTime() : new Date(expires).getTime();
      if (!Number.isNaN(at)) return at - Date.now();
    }
    return this.ttlMs;
  }

  private async listIds(): Promise<string[]> {
    if (this.redis) return scanIds(this.redis);
    const local = this.local!;
    const ids = local.ids();
    const versions = ids.map((sid) => local.versionOf(sid));
    const live = await Promise.all(ids.map((sid) => this.backend.exists(sid)));
    const out: string[] = [];
    ids.forEach((sid, i) => {
      if (live[i]) out.push(sid);
      else local.forget(sid, versions[i]);
    });
    return out;
  }

  private async readAll(): Promise<(StoredSession & { id: string })[]> {
    const ids = await this.listIds();
    const out: (StoredSession & { id: string })[] = [];
    for (let i = 0; i < ids.length; i += BATCH) {
      const chunk = ids.slice(i, i + BATCH);
      const texts = await this.backend.getMany<unknown>(chunk);
      chunk.forEach((sid, j) => {
        // Unreadable sessions are left out; get() drops them.
        const stored = parseStored(texts[j]);
        if (stored !== undefined) out.push({ ...stored, id: sid });
      });
    }
    return out;
  }
}

/** The in-process index of `prefix` on `root`, shared by every store built on them. */
function localIndexFor(root: Backend, prefix: string, backend: Backend): LocalSessionIndex {
  let byPrefix = localIndexes.get(root);
  if (byPrefix === undefined) localIndexes.set(root, (byPrefix = new Map()));
  let index = byPrefix.get(prefix);
  if (index === undefined) {
    index = new LocalSessionIndex((sids) => Promise.all(sids.map((sid) => backend.exists(sid))));
    byPrefix.set(prefix, index);
  }
  return index;
}

/** Registers the session scripts on the ioredis client once (EVALSHA, with the script on NOSCRIPT). */
function defineCommands(client: ScriptClient & { defineCommand?: (name: string, def: object) => void }): void {
  for (const { name, lua } of Object.values(SESSION_COMMANDS)) {
    if (typeof client[name] !== 'function') client.defineCommand?.(name, { numberOfKeys: 1, lua });
  }
}

/** A stored raw value decoded, or `undefined` when it is not the backend's encoding. */
function decodeOrNothing(raw: string): unknown {
  try {
    return decodeValue(raw);
  } catch {
    return undefined;
  }
}

/** Runs direct client calls; a failure goes through the backend once for its typed error (outage, timeout). */
async function onRedis<T>(r: RedisBackend, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    await r.ttl(`${INDEX}probe`);
    throw err;
  }
}

/** Lists the session ids of a Redis namespace with SCAN on every master, index keys left out. */
async function scanIds(backend: RedisBackend): Promise<string[]> {
  const client = backend.client as any;
  const prefix = backend.keyPrefix;
  const pattern = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
  const nodes: any[] = client.isCluster ? client.nodes('master') : [client];
  const ids: string[] = [];
  try {
    for (const node of nodes) {
      let cursor = '0';
      do {
        const [next, keys] = (await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)) as [string, string[]];
        cursor = next;
        for (const key of keys) {
          const id = key.slice(prefix.length);
          if (!id.startsWith(INDEX)) ids.push(id);
        }
      } while (cursor !== '0');
    }
  } catch (err) {
    await backend.ttl('\u0000probe'); // surfaces the backend's typed error when Redis is down
    throw err;
  }
  return [...new Set(ids)];
}

/** A storage outage becomes a `session_unavailable` error, which the web frameworks answer with 503. */
function unavailable(err: unknown): never {
  if (err instanceof BackendUnavailableError) {
    throw new SessionStoreError('session_unavailable', 'The session store is unavailable', { cause: err });
  }
  throw err;
}

/** Calls back (on the next tick, outside the promise chain) or returns the promise. */
function settle<T>(work: Promise<T>, callback: Callback<T> | undefined): Promise<T> | void {
  const promise = work.catch(unavailable);
  if (callback === undefined) return promise;
  promise.then(
    (value) => process.nextTick(callback, null, value),
    (err) => process.nextTick(callback, err),
  );
}
