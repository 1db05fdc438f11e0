import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { freezeDate } from '../utils/clock.js';
import type { LoggerService } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import request from 'supertest';
import { BackendPermissionError, BackendUnavailableError } from '../../lib/index.js';
import { OutageReporter } from '../../lib/utils/outage.util.js';
import { Calls, cacheApp } from '../e2e/web/cache.app.js';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { RedisProcess } from '../utils/redis-server.js';
import { PLATFORMS, type RunningApp, startApp } from '../utils/web-app.js';

const PASSWORD = 'permission-test-password';

/** A logger that keeps its errors and its warnings. */
class ErrorCapturingLogger implements LoggerService {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  log(): void {}
  debug(): void {}
  verbose(): void {}
  error(message: unknown): void {
    this.errors.push(String(message));
  }
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/** Creates `user` with the README's ACL rules minus `dropped`. */
async function createUser(port: number, user: string, dropped: string[]): Promise<void> {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const line = /^ACL SETUSER app (.+)$/m.exec(readme)?.[1];
  if (line === undefined) throw new Error('README.md has no "ACL SETUSER app …" line');
  const rules = line.split(' ').map((rule) => (rule === '>password' ? `>${PASSWORD}` : rule));
  const admin = new Redis({ port, host: '127.0.0.1', lazyConnect: true });
  try {
    await admin.call('ACL', 'SETUSER', user, 'reset', ...rules.filter((r) => !dropped.includes(r)));
  } finally {
    admin.disconnect();
  }
}

describe('OutageReporter and refused permissions', () => {
  const refused = (command: string) => new BackendPermissionError(command, `Redis refused ${command.toUpperCase()}`);

  it('logs a refusal as an error at every occurrence, at most once a minute per command, apart from outages', () => {
    const logger = new ErrorCapturingLogger();
    let now = 1_000_000;
    const reporter = new OutageReporter(logger, 'Throttling', () => now);

    reporter.failed(refused('evalsha'));
    reporter.failed(refused('evalsha'));
    // EVAL and EVALSHA carry the same script: one refusal.
    reporter.failed(refused('eval'));
    reporter.failed(refused('select'));
    expect(logger.errors).toHaveLength(2);
    expect(logger.errors[0]).toMatch(/^Throttling: .*EVALSHA.*permission/);
    expect(logger.errors[1]).toMatch(/SELECT/);

    now += 59_999;
    reporter.failed(refused('evalsha'));
    expect(logger.errors).toHaveLength(2);
    now += 1;
    reporter.failed(refused('evalsha'));
    expect(logger.errors).toHaveLength(3);
    expect(logger.errors[2]).toMatch(/EVALSHA/);

    // Never reported as an outage, and an outage is still reported once, beside them.
    expect(logger.warnings).toEqual([]);
    reporter.failed(new BackendUnavailableError('Redis is not connected'));
    reporter.failed(refused('evalsha'));
    reporter.failed(new BackendUnavailableError('Redis is not connected'));
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toMatch(/storage backend failed/);
  });
});

describe.each(PLATFORMS)('an ACL user without EVALSHA/EVAL behind the throttler (%s)', (platform) => {
  let server: RedisProcess;
  let allowApp: RunningApp;
  let denyApp: RunningApp;
  let cached: RunningApp;
  // One logger for the three apps: Nest's static Logger follows the last app created.
  const logger = new ErrorCapturingLogger();
  const calls = new Calls();

  beforeAll(async () => {
    server = await RedisProcess.start();
    await createUser(server.port, 'noeval', ['+eval', '+evalsha']);
    await createUser(server.port, 'noget', ['+get']);
    const storage = (user: string) =>
      ({ type: 'redis', url: `redis://${user}:${PASSWORD}@127.0.0.1:${server.port}`, commandTimeoutMs: 1000 }) as const;
    allowApp = await startApp(
      platform,
      throttleApp({ storage: storage('noeval'), throttle: { onBackendError: 'allow' } }),
      { logger },
    );
    denyApp = await startApp(
      platform,
      throttleApp({ storage: storage('noeval'), throttle: { onBackendError: 'deny' } }),
      { logger },
    );
    cached = await startApp(platform, cacheApp({ storage: storage('noget') }, calls), { logger });
  });
  afterEach(() => {
    jest.useRealTimers();
  });
  afterAll(async () => {
    await Promise.all([allowApp?.close(), denyApp?.close(), cached?.close()]);
    await server?.destroy();
  });

  const throttlingErrors = () => logger.errors.filter((e) => e.startsWith('Throttling:'));
  const throttlingWarnings = () => logger.warnings.filter((w) => w.startsWith('Throttling'));

  it('onBackendError decides (allow: 200, deny: 503); the refusal is logged as an error once a minute, never as an outage', async () => {
    const start = Date.parse('2026-12-03T12:00:00Z');
    freezeDate(start);

    const open = [];
    for (let i = 0; i < 3; i++) open.push((await request(allowApp.url).get('/t/limited')).status);
    expect(open).toEqual([200, 200, 200]);
    const logged = throttlingErrors();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/EVAL/);
    expect(logged[0]).toMatch(/permission/);
    expect(logged[0]).not.toMatch(/unreachable|not connected/i);
    expect(logged[0]).not.toContain(PASSWORD);
    expect(throttlingWarnings()).toEqual([]);

    jest.setSystemTime(start + 59_000);
    expect((await request(allowApp.url).get('/t/limited')).status).toBe(200);
    expect(throttlingErrors()).toHaveLength(1);
    jest.setSystemTime(start + 61_000);
    expect((await request(allowApp.url).get('/t/limited')).status).toBe(200);
    expect(throttlingErrors()).toHaveLength(2);

    const closed = await request(denyApp.url).get('/t/limited');
    expect(closed.status).toBe(503);
    expect(closed.body).toEqual({ statusCode: 503, message: 'Rate limiting is unavailable' });
    expect(throttlingErrors()).toHaveLength(3);
    expect(throttlingWarnings()).toEqual([]);
  });

  it('a cache whose user may not GET answers uncached and logs the refusal as an error, not an outage', async () => {
    const a = await request(cached.url).get('/cache/items');
    const b = await request(cached.url).get('/cache/items');
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(b.headers['x-cache']).toBe('MISS');
    const logged = logger.errors.filter((e) => e.startsWith('Cache:'));
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatch(/GET/);
    expect(logger.warnings.filter((w) => w.startsWith('Cache:'))).toEqual([]);
  });
});
