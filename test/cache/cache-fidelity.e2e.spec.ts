import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { INestApplication } from '@nestjs/common';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { Calls, cacheApp } from '../e2e/web/cache.app.js';
import { useSessions } from '../e2e/web/session.app.js';
import { MATRIX, PLATFORMS, type Platform, type RunningApp, startApp, storageFor } from '../utils/web-app.js';

/** Express's extended (qs) query parser, which keeps malformed escapes such as `%FF` as sent. */
function extendedQuery(platform: Platform) {
  return (app: INestApplication) => {
    if (platform === 'express') app.getHttpAdapter().getInstance().set('query parser', 'extended');
  };
}

/** A hit answers what the miss answered: body, status, content type and the handler's headers. */
describe.each(MATRIX)('CacheInterceptor answers on a hit what the miss answered (%s, %s)', (platform, store) => {
  let app: RunningApp;
  const calls = new Calls();

  beforeAll(async () => {
    app = await startApp(
      platform,
      cacheApp({ storage: storageFor(store, 'cache-fidelity'), cache: { ttlMs: 60_000 } }, calls),
      { setup: extendedQuery(platform) },
    );
  });
  afterAll(() => app.close());

  it('keys by host: two hosts served by one app never share an entry (#21.8)', async () => {
    const a1 = await request(app.url).get('/fidelity/host').set('Host', 'api.example.test');
    const b1 = await request(app.url).get('/fidelity/host').set('Host', 'www.example.test');
    const a2 = await request(app.url).get('/fidelity/host').set('Host', 'api.example.test');
    expect(a1.body).toEqual({ host: 'api.example.test', n: 1 });
    expect(b1.headers['x-cache']).toBe('MISS');
    expect(b1.body).toEqual({ host: 'www.example.test', n: 2 });
    expect(a2.headers['x-cache']).toBe('HIT');
    expect(a2.body).toEqual(a1.body);
    // Without `trust proxy` the app sees the Host header, so X-Forwarded-Host does not split the key.
    const forwarded = await request(app.url)
      .get('/fidelity/host')
      .set({ Host: 'api.example.test', 'X-Forwarded-Host': 'evil.example.test' });
    expect(forwarded.headers['x-cache']).toBe('HIT');
    expect(forwarded.body).toEqual(a1.body);
  });

  it('keeps the content type of a string answer: text/plain stays text/plain (#28.4)', async () => {
    const url = `/fidelity/echo?msg=${encodeURIComponent('<script>alert(1)</script>')}`;
    const miss = await request(app.url).get(url);
    const hit = await request(app.url).get(url);
    expect(miss.headers['content-type']).toMatch(/^text\/plain/);
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
    expect(hit.text).toBe('You said: <script>alert(1)</script>');
  });

  it('replays the headers the handler set (#28.4)', async () => {
    const miss = await request(app.url).get('/fidelity/download');
    const hit = await request(app.url).get('/fidelity/download');
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.text).toBe(miss.text);
    expect(hit.headers['content-type']).toMatch(/^text\/csv/);
    expect(hit.headers['content-type']).toBe(miss.headers['content-type']);
    expect(hit.headers['content-disposition']).toBe('attachment; filename="report.csv"');
    expect(hit.headers.etag).toBe('"report-v1"');
    expect(hit.headers['x-report-rows']).toBe('1');
    expect(calls.of('download')).toBe(1);
  });

  it('honours Vary: Accept, one entry per Accept value (#28.4)', async () => {
    const csv1 = await request(app.url).get('/fidelity/negotiated').set('Accept', 'text/csv');
    const json1 = await request(app.url).get('/fidelity/negotiated').set('Accept', 'application/json');
    const csv2 = await request(app.url).get('/fidelity/negotiated').set('Accept', 'text/csv');
    const json2 = await request(app.url).get('/fidelity/negotiated').set('Accept', 'application/json');
    expect(csv1.headers['content-type']).toMatch(/^text\/csv/);
    expect(json1.headers['x-cache']).toBe('MISS');
    expect(json1.headers['content-type']).toMatch(/^application\/json/);
    expect(json1.body).toEqual({ n: 2 });
    expect(csv2.headers['x-cache']).toBe('HIT');
    expect(csv2.headers['content-type']).toBe(csv1.headers['content-type']);
    expect(csv2.headers.vary).toMatch(/accept/i);
    expect(csv2.text).toBe(csv1.text);
    expect(json2.headers['x-cache']).toBe('HIT');
    expect(json2.body).toEqual({ n: 2 });
    expect(calls.of('negotiated')).toBe(2);
  });

  it('gives each concurrent request of a varying answer its own variant (#28.4)', async () => {
    const accepts = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? 'text/csv' : 'application/json'));
    const responses = await Promise.all(
      accepts.map((accept) => request(app.url).get('/fidelity/negotiated?burst=1').set('Accept', accept)),
    );
    responses.forEach((res, i) => {
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(accepts[i] === 'text/csv' ? /^text\/csv/ : /^application\/json/);
    });
  });

  it('never caches Vary: * (#28.4)', async () => {
    await request(app.url).get('/fidelity/vary-any');
    const second = await request(app.url).get('/fidelity/vary-any');
    expect(second.headers['x-cache']).toBe('MISS');
    expect(calls.of('vary-any')).toBe(2);
  });

  it('caches the last value of a stream that completes (#28.15)', async () => {
    const miss = await request(app.url).get('/fidelity/partial');
    const hit = await request(app.url).get('/fidelity/partial');
    expect(miss.body).toEqual({ part: 'final', n: 1 });
    expect(hit.headers['x-cache']).toBe('HIT');
    expect(hit.body).toEqual({ part: 'final', n: 1 });
  });

  it('never caches a stream that fails after a value (#28.15)', async () => {
    const first = await request(app.url).get('/fidelity/partial-error');
    const second = await request(app.url).get('/fidelity/partial-error');
    expect(first.status).toBe(500);
    expect(second.status).toBe(500);
    expect(calls.of('partial-error')).toBe(2);
  });

  it('keys by the query as sent: %FF and %EF%BF%BD are different inputs (#28.22)', async () => {
    const raw = await request(app.url).get('/fidelity/query?q=%FF');
    const replacement = await request(app.url).get('/fidelity/query?q=%EF%BF%BD');
    expect(replacement.headers['x-cache']).toBe('MISS');
    expect(replacement.body.query).toEqual({ q: '\uFFFD' });
    if (platform === 'express') expect(raw.body.query).toEqual({ q: '%FF' }); // qs keeps it as sent
    const again = await request(app.url).get('/fidelity/query?q=%FF');
    expect(again.headers['x-cache']).toBe('HIT');
    expect(again.body).toEqual(raw.body);
  });

  it('does not reorder parameters whose names are escaped (%61 is a)', async () => {
    const first = await request(app.url).get('/fidelity/query?%61=1&a=2');
    const reordered = await request(app.url).get('/fidelity/query?a=2&%61=1');
    expect(first.headers['x-cache']).toBe('MISS');
    expect(reordered.headers['x-cache']).toBe('MISS');
  });
});

describe.each(PLATFORMS)('CacheInterceptor behind trust proxy (%s)', (platform) => {
  let app: RunningApp;
  const calls = new Calls();

  beforeAll(async () => {
    app = await startApp(platform, cacheApp({ cache: { ttlMs: 60_000 } }, calls), { trustProxy: true });
  });
  afterAll(() => app.close());

  it('keys by the forwarded host the app trusts (#21.8)', async () => {
    const a = await request(app.url).get('/fidelity/host').set('X-Forwarded-Host', 'a.example.test');
    const b = await request(app.url).get('/fidelity/host').set('X-Forwarded-Host', 'b.example.test');
    expect(a.body).toEqual({ host: 'a.example.test', n: 1 });
    expect(b.headers['x-cache']).toBe('MISS');
    expect(b.body).toEqual({ host: 'b.example.test', n: 2 });
  });
});

describe.each(PLATFORMS)('CacheInterceptor with sessions (%s)', (platform) => {
  let app: RunningApp;
  const calls = new Calls();

  beforeAll(async () => {
    app = await startApp(platform, cacheApp({ cache: { ttlMs: 60_000 } }, calls), {
      setup: (nest) => useSessions(nest, platform),
    });
  });
  afterAll(() => app.close());

  it("never serves the answer that created Alice's session to Bob (#28.3)", async () => {
    const alice = await request(app.url).get('/fidelity/csrf');
    const bob = await request(app.url).get('/fidelity/csrf');
    expect(alice.headers['set-cookie']).toBeDefined();
    expect(alice.body).toEqual({ csrf: 'token-1' });
    expect(bob.headers['x-cache']).not.toBe('HIT');
    expect(bob.headers['set-cookie']).toBeDefined();
    expect(bob.body).toEqual({ csrf: 'token-2' });
    expect(calls.of('csrf')).toBe(2);
  });

  it('still caches routes that leave the session alone', async () => {
    await request(app.url).get('/fidelity/public');
    const second = await request(app.url).get('/fidelity/public');
    expect(second.headers['x-cache']).toBe('HIT');
    expect(second.headers['set-cookie']).toBeUndefined();
    expect(calls.of('public')).toBe(1);
  });
});

/** A small view engine on Express's own render path: `{{name}}` replaced by the escaped local. */
function tinyEngine(path: string, options: Record<string, unknown>, done: (err: unknown, html?: string) => void) {
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  readFile(path, 'utf8').then(
    (source) =>
      done(
        null,
        source.replace(/\{\{(\w+)\}\}/g, (_, name: string) => escape(String(options[name]))),
      ),
    done,
  );
}

describe.each(MATRIX.filter(([platform]) => platform === 'express'))(
  'CacheInterceptor on @Render routes (%s, %s)',
  (platform, store) => {
    let app: RunningApp;
    let views: string;
    const calls = new Calls();

    beforeAll(async () => {
      views = await mkdtemp(join(tmpdir(), 'cache-views-'));
      await writeFile(join(views, 'page.tpl'), '<h1>{{title}}</h1><p>{{n}}</p>');
      app = await startApp(
        platform,
        cacheApp({ storage: storageFor(store, 'cache-render'), cache: { ttlMs: 60_000 } }, calls),
        {
          setup: (nest) => {
            const express = nest.getHttpAdapter().getInstance();
            express.engine('tpl', tinyEngine);
            express.set('views', views);
            express.set('view engine', 'tpl');
          },
        },
      );
    });
    afterAll(async () => {
      await app.close();
      await rm(views, { recursive: true, force: true });
    });

    it('caches the locals and renders them again on a hit (#28.16)', async () => {
      const miss = await request(app.url).get('/fidelity/page');
      const hit = await request(app.url).get('/fidelity/page');
      expect(miss.status).toBe(200);
      expect(miss.text).toBe('<h1>Products</h1><p>1</p>');
      expect(hit.status).toBe(200);
      expect(hit.headers['x-cache']).toBe('HIT');
      expect(hit.headers['content-type']).toMatch(/^text\/html/);
      expect(hit.text).toBe(miss.text);
      expect(calls.of('page')).toBe(1);
    });

    it('does not cache locals that JSON would change (a Date)', async () => {
      const first = await request(app.url).get('/fidelity/page-dated');
      const second = await request(app.url).get('/fidelity/page-dated');
      expect(second.status).toBe(200);
      expect(second.headers['x-cache']).toBe('MISS');
      expect(second.text.replace(/<p>\d+<\/p>/, '')).toBe(first.text.replace(/<p>\d+<\/p>/, ''));
      expect(calls.of('page-dated')).toBe(2);
    });
  },
);
