import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import {
  Controller,
  type DynamicModule,
  Get,
  HttpCode,
  Module,
  Post,
  Query,
  Req,
  UnauthorizedException,
  UseGuards,
  UseInterceptors,
} from '@nestjs/common';
import {
  type Backend,
  BackendsModule,
  type BackendsModuleOptions,
  CacheInterceptor,
  MemoryBackend,
  STORAGE_BACKEND,
  Throttle,
  ThrottlerGuard,
} from '../../lib/index.js';
import { useSessions } from '../e2e/web/session.app.js';
import { CapturingLogger, type RunningApp, startApp } from '../utils/web-app.js';
import { freezeDate, thawDate } from '../utils/clock.js';

/** A page of about 90 KB, as the cached route of issue 28 returned. */
const PAGE = 'p'.repeat(90_000);

/** The app of issue 28: a cached catalogue, a login kept in a session and a throttled login form. */
function floodApp(options: BackendsModuleOptions, calls: Map<string, number>): DynamicModule {
  const bump = (name: string) => calls.set(name, (calls.get(name) ?? 0) + 1);

  @Controller()
  class ShopController {
    @Get('products')
    @UseInterceptors(CacheInterceptor)
    products(@Query('page') page: string) {
      bump('products');
      return { page, items: [`item of page ${page}`] };
    }

    @Get('page')
    @UseInterceptors(CacheInterceptor)
    page() {
      bump('page');
      return PAGE;
    }

    @Get('huge')
    @UseInterceptors(CacheInterceptor)
    huge() {
      bump('huge');
      return 'h'.repeat(600_000);
    }

    @Post('login')
    @HttpCode(200)
    @UseGuards(ThrottlerGuard)
    @Throttle('3/day')
    async login(@Req() req: any) {
      req.session.userId = 'alice';
      await new Promise<void>((resolve, reject) => req.session.save((e: unknown) => (e ? reject(e) : resolve())));
      return { user: 'alice' };
    }

    @Get('me')
    me(@Req() req: any) {
      if (!req.session?.userId) throw new UnauthorizedException();
      return { user: req.session.userId };
    }
  }

  @Module({ imports: [BackendsModule.forRoot(options)], controllers: [ShopController] })
  class FloodAppModule {}
  return { module: FloodAppModule };
}

/** Sends `count` GET requests for `path(i)` without cookies, `inFlight` at a time; resolves the statuses seen. */
async function flood(url: string, count: number, path: (i: number) => string, inFlight = 16): Promise<Set<number>> {
  const statuses = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const res = await fetch(url + path(next++));
      await res.arrayBuffer();
      statuses.add(res.status);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return statuses;
}

describe('memory store under an anonymous cache flood (#28.11, express)', () => {
  let app: RunningApp;
  const calls = new Map<string, number>();

  // The login limit counts against a day-long window: `Date` stands still here, so no run crosses the
  // window's end whatever the wall clock says (issue 21 item 2). Memory only: all of it is controlled.
  beforeAll(async () => {
    freezeDate();
    app = await startApp(
      'express',
      floodApp({ storage: { type: 'memory', maxEntries: 200 }, cache: { ttlMs: 600_000 } }, calls),
      {
        setup: (a) => useSessions(a, 'express', 86_400_000),
      },
    );
  });
  afterAll(async () => {
    await app.close();
    thawDate();
  });

  it('keeps the session of a logged-in user and an exhausted login limit through 450 cache misses', async () => {
    const login = await fetch(`${app.url}/login`, { method: 'POST' });
    expect(login.status).toBe(200);
    const cookie = String(login.headers.get('set-cookie')).split(';')[0];
    expect(cookie).toMatch(/^connect\.sid=/);
    for (let i = 0; i < 2; i++) expect((await fetch(`${app.url}/login`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${app.url}/login`, { method: 'POST' })).status).toBe(429);

    // More than twice the store's 200 entries of distinct anonymous cache misses (issue 28: 10,200 at 5,000).
    expect(await flood(app.url, 450, (i) => `/products?page=${i}`)).toEqual(new Set([200]));
    expect(calls.get('products')).toBe(450);
    const storage = app.app.get<Backend>(STORAGE_BACKEND) as MemoryBackend;
    expect(storage.size).toBe(200);

    const me = await fetch(`${app.url}/me`, { headers: { cookie } });
    expect(me.status).toBe(200);
    expect(await me.json()).toEqual({ user: 'alice' });
    expect((await fetch(`${app.url}/login`, { method: 'POST' })).status).toBe(429);
    // The cache still works: the latest pages are served from it.
    const hit = await fetch(`${app.url}/products?page=449`);
    expect(hit.headers.get('x-cache')).toBe('HIT');
  }, 90_000);
});

describe('memory store bounded by bytes (#28.10, express)', () => {
  let app: RunningApp;
  const calls = new Map<string, number>();
  const logger = new CapturingLogger();
  const maxBytes = 8 * 1024 * 1024;

  beforeAll(async () => {
    app = await startApp(
      'express',
      floodApp({ storage: { type: 'memory', maxBytes }, cache: { ttlMs: 600_000 } }, calls),
      { logger },
    );
  });
  afterAll(() => app.close());

  it('keeps a flood of 90 KB pages under ?utm=N within maxBytes', async () => {
    expect(await flood(app.url, 300, (i) => `/page?utm=${i}`)).toEqual(new Set([200]));
    expect(calls.get('page')).toBe(300);
    const storage = app.app.get<Backend>(STORAGE_BACKEND) as MemoryBackend;
    // Counted apart from the backend's own tally: each cached page holds at least its 90,000 characters.
    expect(storage.size).toBeLessThanOrEqual(Math.floor(maxBytes / (2 * PAGE.length)));
    expect(storage.size).toBeGreaterThan(0);
    const hit = await fetch(`${app.url}/page?utm=299`);
    expect(hit.headers.get('x-cache')).toBe('HIT');
    expect(await hit.text()).toBe(PAGE);
  }, 90_000);

  it('answers a result over maxEntryBytes without caching it, and logs no outage', async () => {
    for (let i = 0; i < 2; i++) {
      const res = await fetch(`${app.url}/huge`);
      expect(res.status).toBe(200);
      expect(res.headers.get('x-cache')).toBe('MISS');
      expect(await res.text()).toHaveLength(600_000);
    }
    expect(calls.get('huge')).toBe(2);
    expect(logger.warnings).toEqual([]);
  });
});
