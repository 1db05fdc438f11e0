import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { BackendSessionStore } from '../../lib/index.js';
import { sessionApp, useSessions } from '../e2e/web/session.app.js';
import { MATRIX, type RunningApp, startApp, storageFor } from '../utils/web-app.js';

describe.each(MATRIX)('BackendSessionStore e2e (%s, %s)', (platform, store) => {
  let app: RunningApp;
  let shortApp: RunningApp;

  beforeAll(async () => {
    const options = { storage: storageFor(store, 'session-e2e'), session: { userId: (s: any) => s.userId } };
    app = await startApp(platform, sessionApp(options), { setup: (a) => useSessions(a, platform) });
    shortApp = await startApp(platform, sessionApp({ storage: storageFor(store, 'session-short') }), {
      setup: (a) => useSessions(a, platform, 1000),
    });
  });
  afterAll(() => Promise.all([app.close(), shortApp.close()]));

  it('keeps a login across requests and forgets it after logout', async () => {
    const agent = request.agent(app.url);
    expect((await agent.get('/session/me')).status).toBe(401);
    expect((await agent.post('/session/login').send({ user: 'alice' })).status).toBe(200);
    const me = await agent.get('/session/me');
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ user: 'alice' });
    expect((await agent.post('/session/logout')).status).toBe(200);
    expect((await agent.get('/session/me')).status).toBe(401);
  });

  it('stores nothing for a visitor who never logs in', async () => {
    const storeInApp = app.app.get(BackendSessionStore);
    const before = (await storeInApp.ids()) as string[];
    await request(app.url).get('/session/me');
    expect(((await storeInApp.ids()) as string[]).length).toBe(before.length);
  });

  it('ends every session of one user with destroyAllForUser', async () => {
    const alice1 = request.agent(app.url);
    const alice2 = request.agent(app.url);
    const bob = request.agent(app.url);
    await alice1.post('/session/login').send({ user: 'alice' });
    await alice2.post('/session/login').send({ user: 'alice' });
    await bob.post('/session/login').send({ user: 'bob' });

    const removed = await app.app.get(BackendSessionStore).destroyAllForUser('alice');
    expect(removed).toBe(2);
    expect((await alice1.get('/session/me')).status).toBe(401);
    expect((await alice2.get('/session/me')).status).toBe(401);
    expect((await bob.get('/session/me')).body).toEqual({ user: 'bob' });
  });

  it('expires a session in the store when its cookie expires', async () => {
    const login = await request(shortApp.url).post('/session/login').send({ user: 'carol' });
    // Sent by hand: a cookie jar would itself drop the cookie once expired.
    const cookie = String(login.headers['set-cookie']?.[0] ?? '').split(';')[0];
    expect(cookie).toMatch(/=/);
    expect((await request(shortApp.url).get('/session/me').set('Cookie', cookie)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1500));
    expect((await request(shortApp.url).get('/session/me').set('Cookie', cookie)).status).toBe(401);
  });
});
