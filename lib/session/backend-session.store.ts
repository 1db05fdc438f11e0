import type { Redis } from 'ioredis';
import { Logger } from '@nestjs/common';
import { EventEmitter } from 'node:events';
import { BackendUnavailableError } from '../errors/index.js';
import { type Backend, RedisBackend } from '../storage/index.js';
import { hashKey } from '../utils/hash.util.js';
import { loadPackage } from '../utils/load-package.util.js';
import { SessionStoreError } from './session-data.error.js';
import type { BackendSessionStoreOptions, StoredSession } from './session-options.interface.js';

type Callback<T> = (err: any, value?: T) => void;
type ExpressSessionStore = { prototype: Record<'regenerate' | 'load' | 'createSession', (...args: any[]) => any> };

/** Index keys live in the sessions' namespace behind a NUL, which no session id starts with. */
const INDEX = '\u0000';
const MARKER = `${INDEX}m:`; // sid → "<user hash>:<slot>"
const COUNTER = `${INDEX}n:`; // user hash → last slot number
const FLOOR = `${INDEX}f:`; // user hash → slots up to here were destroyed
const SLOT = `${INDEX}s:`; // "<user hash>:<slot>" → sid
const TOMB = `${INDEX}t:`; // sid → destroyed recently (guards the generic touch)
const TOMB_TTL_MS = 60_000;
const UNSAFE_KEY = /"(?:__proto__|constructor|prototype)"\s*:/;
const BATCH = 500;
const DAY_MS = 86_400_000;

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

/**
 * An express-session store (same shape for @fastify/session) on the shared backend: TTL from the
 * session cookie, `touch` that never recreates a destroyed session, and
 * {@link BackendSessionStore.destroyAllForUser} through a per-user index in the same backend.
 * Every method takes a callback, or returns a promise without one.
 * @example app.use(session({ store: app.get(BackendSessionStore), secret, resave: false, saveUninitialized: false }))
 */
export class BackendSessionStore extends EventEmitter {
  /** Lifetime of a session whose cookie has no `expires`, in ms. */
  readonly ttlMs: number;
  private readonly backend: Backend;
  private readonly userId?: BackendSessionStoreOptions['userId'];
  /** Session ids written by this process, for enumeration on backends that cannot list keys. */
  private readonly written = new Set<string>();
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
    this.ttlMs = ttlMs;
    this.userId = options.userId;
    this.backend = backend.namespace(options.prefix ?? 'session:');
  }

  /** Reads a session; `null` when missing, expired or holding unsafe keys (then it is deleted). */
  get(sid: string, callback?: Callback<any>): Promise<StoredSession | null> | void {
    return settle(this.read(sid), callback);
  }

  /** Writes a session for the time left on its cookie (else `ttlMs`); an expired one is deleted instead. */
  set(sid: string, session: StoredSession, callback?: Callback<void>): Promise<void> | void {
    return settle(this.write(sid, session), callback);
  }

  /** Deletes a session (and its entry in the per-user index). */
  destroy(sid: string, callback?: Callback<void>): Promise<void> | void {
    return settle(this.remove(sid), callback);
  }

  /** Extends the lifetime of an existing session; a missing or destroyed one stays missing. */
  touch(sid: string, session: StoredSession, callback?: Callback<void>): Promise<void> | void {
    return settle(this.extend(sid, session), callback);
  }

  /** Deletes every session of this store's namespace. */
  clear(callback?: Callback<void>): Promise<void> | void {
    return settle(
      this.backend.clear().then(() => this.written.clear()),
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

  /** Every live session, by id. */
  all(callback?: Callback<any>): Promise<Record<string, StoredSession>> | void {
    return settle(this.readAll(), callback);
  }

  /** Deletes every session of `userId` (needs the `userId` option); resolves how many were deleted. */
  async destroyAllForUser(userId: string | number): Promise<number> {
    if (this.userId === undefined) {
      throw new SessionStoreError('session_config', 'destroyAllForUser needs the userId option of the session store');
    }
    const h = hashKey(String(userId));
    const b = this.backend;
    const [last, floor] = await b.getMany<number>([COUNTER + h, FLOOR + h]);
    const top = typeof last === 'number' ? last : 0;
    const from = typeof floor === 'number' ? floor + 1 : 1;
    const slotKeys: string[] = [];
    for (let i = from; i <= top; i++) slotKeys.push(`${SLOT}${h}:${i}`);
    const sids = new Set<string>();
    for (let i = 0; i < slotKeys.length; i += BATCH) {
      for (const sid of await b.getMany<string>(slotKeys.slice(i, i + BATCH)))
        if (typeof sid === 'string') sids.add(sid);
    }
    const candidates = [...sids];
    const owned: string[] = [];
    for (let i = 0; i < candidates.length; i += BATCH) {
      const chunk = candidates.slice(i, i + BATCH);
      const markers = await b.getMany<string>(chunk.map((sid) => MARKER + sid));
      // A session id reused by another user since then is not this user's any more.
      chunk.forEach((sid, j) => {
        const m = markers[j];
        if (typeof m === 'string' && m.startsWith(`${h}:`)) owned.push(sid);
      });
    }
    if (!this.hasAtomicExpire) await b.setMany(owned.map((sid) => ({ key: TOMB + sid, value: 1, ttlMs: TOMB_TTL_MS })));
    for (let i = 0; i < owned.length; i += BATCH) {
      const chunk = owned.slice(i, i + BATCH);
      await b.deleteMany([...chunk, ...chunk.map((sid) => MARKER + sid)]);
    }
    for (let i = 0; i < slotKeys.length; i += BATCH) await b.deleteMany(slotKeys.slice(i, i + BATCH));
    await b.set(FLOOR + h, top);
    for (const sid of owned) this.written.delete(sid);
    return owned.length;
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

  private get hasAtomicExpire(): boolean {
    return this.backend instanceof RedisBackend;
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
    await this.backend.set(sid, text, ttl);
    if (!this.hasAtomicExpire) this.written.add(sid);
    const uid = this.userId?.(session);
    if (uid !== undefined && uid !== null && uid !== '') await this.index(sid, String(uid), ttl);
  }

  private async remove(sid: string): Promise<void> {
    const b = this.backend;
    if (!this.hasAtomicExpire) {
      // Written before the delete: a generic touch racing with us sees it and undoes its write.
      await b.set(TOMB + sid, 1, TOMB_TTL_MS);
      this.written.delete(sid);
    }
    if (this.userId === undefined) {
      await b.delete(sid);
      return;
    }
    const marker = await b.get<string>(MARKER + sid);
    await b.deleteMany(typeof marker === 'string' ? [sid, MARKER + sid, SLOT + marker] : [sid]);
  }

  private async extend(sid: string, session: StoredSession): Promise<void> {
    const ttl = this.ttlOf(session);
    if (ttl <= 0) return this.remove(sid);
    const extended = await this.expire(sid, ttl);
    if (!extended || this.userId === undefined) return;
    const marker = await this.backend.get<string>(MARKER + sid);
    if (typeof marker !== 'string') return;
    await Promise.all([this.expire(MARKER + sid, ttl), this.expire(SLOT + marker, ttl)]);
  }

  /**
   * Sets a new TTL on `key` only if it exists. Atomic on Redis (PEXPIRE); elsewhere a read and a
   * rewrite, followed by a tombstone check that deletes the key again if it was destroyed meanwhile.
   */
  private async expire(key: string, ttlMs: number): Promise<boolean> {
    const b = this.backend;
    if (b instanceof RedisBackend) {
      try {
        return (await (b.client as unknown as Redis).pexpire(b.keyPrefix + key, ttlMs)) === 1;
      } catch (err) {
        // Same typed errors as every other call: re-run through the backend for its error mapping.
        await b.ttl(key);
        throw err;
      }
    }
    const value = await b.get<unknown>(key);
    if (value === undefined) return false;
    await b.set(key, value, ttlMs);
    const sid = key.startsWith(INDEX) ? undefined : key;
    if (sid !== undefined && (await b.exists(TOMB + sid))) {
      await b.delete(sid);
      return false;
    }
    return true;
  }

  /** Adds `sid` to the index of user `uid` once, and keeps the index entry alive as long as the session. */
  private async index(sid: string, uid: string, ttlMs: number): Promise<void> {
    const b = this.backend;
    const h = hashKey(uid);
    const marker = await b.get<string>(MARKER + sid);
    let slot: string;
    if (typeof marker === 'string' && marker.startsWith(`${h}:`)) {
      slot = marker;
    } else {
      if (typeof marker === 'string') await b.delete(SLOT + marker); // the session changed user
      slot = `${h}:${await b.increment(COUNTER + h)}`;
    }
    await b.setMany([
      { key: MARKER + sid, value: slot, ttlMs },
      { key: SLOT + slot, value: sid, ttlMs },
    ]);
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
    const b = this.backend;
    if (b instanceof RedisBackend) return scanIds(b);
    const ids = [...this.written];
    const live = await Promise.all(ids.map((sid) => b.exists(sid)));
    const out: string[] = [];
    ids.forEach((sid, i) => {
      if (live[i]) out.push(sid);
      else this.written.delete(sid);
    });
    return out;
  }

  private async readAll(): Promise<Record<string, StoredSession>> {
    const ids = await this.listIds();
    const out: Record<string, StoredSession> = {};
    for (let i = 0; i < ids.length; i += BATCH) {
      const chunk = ids.slice(i, i + BATCH);
      const texts = await this.backend.getMany<unknown>(chunk);
      chunk.forEach((sid, j) => {
        const text = texts[j];
        if (typeof text !== 'string') return;
        try {
          out[sid] = parseSession(text);
        } catch {
          /* unreadable sessions are left out; get() drops them */
        }
      });
    }
    return out;
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
