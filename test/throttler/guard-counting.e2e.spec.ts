import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Controller, Get, type LoggerService, Module, UseGuards } from '@nestjs/common';
import request from 'supertest';
import {
  BackendsModule,
  type BackendsModuleOptions,
  Throttle,
  ThrottlerConfigError,
  ThrottlerGuard,
} from '../../lib/index.js';
import { PLATFORMS, type RunningApp, startApp } from '../utils/web-app.js';
import { freezeDate, thawDate } from './frozen-date.js';

@Controller('twice')
@UseGuards(ThrottlerGuard)
class TwiceController {
  @Get()
  @UseGuards(ThrottlerGuard)
  @Throttle('4/hour')
  twice() {
    return { ok: true };
  }

  @Get('named')
  @UseGuards(ThrottlerGuard)
  @Throttle({ burst: '2/hour', sustained: '3/hour' })
  named() {
    return { ok: true };
  }
}

@Controller('t')
class TrackedController {
  @Get()
  @UseGuards(ThrottlerGuard)
  @Throttle('2/hour')
  limited() {
    return { ok: true };
  }
}

function appOf(options: BackendsModuleOptions, controllers: unknown[]) {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: controllers as never[] })
  class CountingModule {}
  return CountingModule;
}

/** A logger that keeps errors and warnings. */
class KeepingLogger implements LoggerService {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.errors.push(
      [message, ...rest].map((m) => (m instanceof Error ? `${m.name}: ${m.message}` : String(m))).join(' '),
    );
  }
}

async function statuses(app: RunningApp, path: string, n: number, headers: Record<string, string> = {}) {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await request(app.url).get(path).set(headers)).status);
  return out;
}

beforeAll(() => freezeDate());
afterAll(() => thawDate());

describe.each(PLATFORMS)('one count per request and limit, however many guards (%s)', (platform) => {
  const apps: RunningApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it('class and handler @UseGuards(ThrottlerGuard) count a request once', async () => {
    const app = await startApp(platform, appOf({ storage: { type: 'memory' } }, [TwiceController]));
    apps.push(app);
    expect(await statuses(app, '/twice', 5)).toEqual([200, 200, 200, 200, 429]);
    const last = await request(app.url).get('/twice');
    expect(last.headers['x-ratelimit-remaining']).toBe('0');
  });

  it('so do the global guard, the class guard and the handler guard together, for each named limit', async () => {
    const app = await startApp(
      platform,
      appOf({ storage: { type: 'memory' }, throttle: { global: true, rate: '100/hour' } }, [TwiceController]),
    );
    apps.push(app);
    expect(await statuses(app, '/twice', 5)).toEqual([200, 200, 200, 200, 429]);
    expect(await statuses(app, '/twice/named', 3)).toEqual([200, 200, 429]);
  });
});

describe.each(PLATFORMS)('throttle.tracker results (%s)', (platform) => {
  const apps: RunningApp[] = [];
  afterAll(() => Promise.all(apps.map((a) => a.close())));

  it('uses a number as text: one bucket per number', async () => {
    const app = await startApp(
      platform,
      appOf({ throttle: { tracker: (req) => Number(req.headers['x-user']) } }, [TrackedController]),
    );
    apps.push(app);
    expect(await statuses(app, '/t', 3, { 'x-user': '7' })).toEqual([200, 200, 429]);
    expect(await statuses(app, '/t', 1, { 'x-user': '8' })).toEqual([200]);
  });

  it('also from a promise', async () => {
    const app = await startApp(
      platform,
      appOf({ throttle: { tracker: async (req) => Number(req.headers['x-user']) } }, [TrackedController]),
    );
    apps.push(app);
    expect(await statuses(app, '/t', 3, { 'x-user': '7' })).toEqual([200, 200, 429]);
  });

  it.each([
    ['undefined', () => undefined],
    ['null', () => null],
    ['an empty string', () => ''],
    ['undefined, from a promise', async () => undefined],
  ])(
    'a tracker returning %s fails each request with a ThrottlerConfigError naming throttle.tracker',
    async (_what, fn) => {
      const logger = new KeepingLogger();
      const app = await startApp(
        platform,
        appOf({ throttle: { tracker: fn as unknown as () => string } }, [TrackedController]),
        { logger },
      );
      apps.push(app);
      for (let i = 0; i < 2; i++) {
        const res = await request(app.url).get('/t');
        expect(res.status).toBe(500);
        expect(JSON.stringify(res.body)).not.toMatch(/throttle\.tracker/);
      }
      expect(logger.errors.join('\n')).toMatch(
        /ThrottlerConfigError: throttle\.tracker .*returned .*non-empty string or a number/,
      );
    },
  );
});

describe.each(PLATFORMS)('throttle.global without throttle.rate (%s)', (platform) => {
  it('fails at startup with a ThrottlerConfigError', async () => {
    const started = startApp(platform, appOf({ throttle: { global: true } }, [TrackedController]));
    await expect(started).rejects.toThrow(ThrottlerConfigError);
    await expect(started).rejects.toThrow(/throttle\.global needs throttle\.rate/);
  });

  it('also with forRootAsync', async () => {
    @Module({
      imports: [BackendsModule.forRootAsync({ useFactory: async () => ({ throttle: { global: true } }) })],
      controllers: [TrackedController],
    })
    class AsyncModule {}
    await expect(startApp(platform, AsyncModule)).rejects.toThrow(/throttle\.global needs throttle\.rate/);
  });
});
