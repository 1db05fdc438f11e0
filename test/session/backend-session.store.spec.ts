import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Store } from 'express-session';
import { type Backend, BackendSessionStore, SessionStoreError } from '../../lib/index.js';
import { openBackend, type StoreKind } from '../utils/web-app.js';

const inMs = (ms: number) => new Date(Date.now() + ms);
const session = (data: Record<string, unknown>, expiresInMs = 60_000) => ({
  cookie: { originalMaxAge: expiresInMs, expires: inMs(expiresInMs), httpOnly: true, path: '/' },
  ...data,
});

describe.each<StoreKind>(['memory', 'redis'])('BackendSessionStore on %s', (kind) => {
  let backend: Backend;
  let store: BackendSessionStore;
  let raw: Backend;

  beforeAll(async () => {
    backend = await openBackend(kind, 'session-store');
    store = new BackendSessionStore(backend, { prefix: 'sess:', userId: (s) => s.userId });
    raw = backend.namespace('sess:');
  });
  afterAll(() => backend.close());

  it('is an express-session Store by shape', () => {
    const asStore: Store = store; // compile-time check of the shape express-session types expect
    expect(typeof asStore.regenerate).toBe('function');
  });

  it('writes, reads and destroys with callbacks as express-session calls them', async () => {
    await new Promise<void>((resolve, reject) =>
      store.set('cb-1', session({ n: 1 }), (err) => (err ? reject(err) : resolve())),
    );
    const read = await new Promise<any>((resolve, reject) =>
      store.get('cb-1', (err, value) => (err ? reject(err) : resolve(value))),
    );
    expect(read.n).toBe(1);
    expect(new Date(read.cookie.expires).getTime()).toBeGreaterThan(Date.now());
    await new Promise<void>((resolve, reject) => store.destroy('cb-1', (err) => (err ? reject(err) : resolve())));
    expect(await store.get('cb-1')).toBeNull();
  });

  it('takes the TTL from cookie.expires, else ttlMs', async () => {
    await store.set('ttl-1', session({}, 5_000));
    const ttl = await raw.ttl('ttl-1');
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(5_000);
    await store.set('ttl-2', { cookie: { expires: null, originalMaxAge: null } });
    expect(await raw.ttl('ttl-2')).toBeGreaterThan(5_000); // the 1-day default
  });

  it('deletes an already-expired session instead of writing it', async () => {
    await store.set('exp-1', session({ n: 1 }));
    await store.set('exp-1', session({ n: 2 }, -1000));
    expect(await raw.exists('exp-1')).toBe(false);
    await store.set('exp-2', session({ n: 1 }, -1000));
    expect(await raw.exists('exp-2')).toBe(false);
  });

  it('touch extends an existing session and never recreates a destroyed one', async () => {
    await store.set('touch-1', session({ n: 1 }, 2_000));
    await store.touch('touch-1', session({ n: 1 }, 120_000));
    expect(await raw.ttl('touch-1')).toBeGreaterThan(60_000);
    expect((await store.get('touch-1'))?.n).toBe(1);

    await store.destroy('touch-1');
    await store.touch('touch-1', session({ n: 1 }, 120_000));
    expect(await store.get('touch-1')).toBeNull();

    await store.touch('never-set', session({ n: 1 }));
    expect(await raw.exists('never-set')).toBe(false);
  });

  it('touch racing with destroy leaves no session behind', async () => {
    for (let i = 0; i < 20; i++) {
      const sid = `race-${i}`;
      await store.set(sid, session({ i }));
      await Promise.all([
        store.touch(sid, session({ i }, 120_000)),
        store.destroy(sid),
        store.touch(sid, session({ i })),
      ]);
      expect(await raw.exists(sid)).toBe(false);
    }
  });

  it('refuses __proto__ / constructor payloads on read (and drops them) and on write', async () => {
    await raw.set('evil-1', '{"cookie":{},"__proto__":{"isAdmin":true}}', 60_000);
    await raw.set('evil-2', '{"cookie":{},"a":{"constructor":{"prototype":{"isAdmin":true}}}}', 60_000);
    await raw.set('evil-3', '{"cookie":{},"\\u005f_proto__":{"isAdmin":true}}', 60_000);
    for (const sid of ['evil-1', 'evil-2', 'evil-3']) {
      expect(await store.get(sid)).toBeNull();
      expect(await raw.exists(sid)).toBe(false);
    }
    expect(({} as { isAdmin?: boolean }).isAdmin).toBeUndefined();

    const poisoned = JSON.parse('{"cookie":{},"prefs":{"__proto__":{"isAdmin":true}}}');
    await expect(store.set('evil-4', poisoned)).rejects.toBeInstanceOf(SessionStoreError);
    expect(await raw.exists('evil-4')).toBe(false);
  });

  it('lists, counts and clears its sessions only', async () => {
    const other = new BackendSessionStore(backend, { prefix: 'other-sess:' });
    await other.set('keep', session({}));
    await store.clear();
    await store.set('list-1', session({ userId: 'u1' }));
    await store.set('list-2', session({ n: 2 }));
    expect(((await store.ids()) as string[]).sort()).toEqual(['list-1', 'list-2']);
    expect(await store.length()).toBe(2);
    const all = (await store.all()) as any[];
    expect(Array.isArray(all)).toBe(true);
    expect(all.map((s) => s.id).sort()).toEqual(['list-1', 'list-2']);
    expect(all.find((s) => s.id === 'list-2').n).toBe(2);
    await store.clear();
    expect(await store.length()).toBe(0);
    expect(await other.get('keep')).not.toBeNull();
    await other.clear();
  });

  it('destroys every session of one user, and not those that moved to another user', async () => {
    await store.set('u-a1', session({ userId: 'ann' }));
    await store.set('u-a2', session({ userId: 'ann' }));
    await store.set('u-a2', session({ userId: 'ann', more: true })); // re-saved: indexed once
    await store.set('u-moved', session({ userId: 'ann' }));
    await store.set('u-moved', session({ userId: 'ben' }));
    await store.set('u-b1', session({ userId: 'ben' }));

    expect(await store.destroyAllForUser('ann')).toBe(2);
    expect(await store.get('u-a1')).toBeNull();
    expect(await store.get('u-a2')).toBeNull();
    expect(await store.get('u-moved')).not.toBeNull();
    expect(await store.get('u-b1')).not.toBeNull();

    await store.set('u-a3', session({ userId: 'ann' }));
    expect(await store.destroyAllForUser('ann')).toBe(1);
    expect(await store.destroyAllForUser('ben')).toBe(2);
  });

  it('needs the userId option for destroyAllForUser', async () => {
    const plain = new BackendSessionStore(backend, { prefix: 'plain:' });
    await expect(plain.destroyAllForUser('x')).rejects.toMatchObject({ code: 'session_config' });
  });
});
