import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { Logger, type LoggerService } from '@nestjs/common';
import { createServer, type Server, type Socket } from 'node:net';
import { inspect } from 'node:util';
import request from 'supertest';
import {
  Email,
  type EmailBackend,
  MailgunBackend,
  RedisBackend,
  SendGridBackend,
  SesBackend,
  SmtpBackend,
} from '../../lib/index.js';
import { throttleApp } from '../e2e/web/throttle.app.js';
import { everythingShown } from '../email/secrets.util.js';
import { freePort } from '../utils/free-port.js';
import { HttpPeer } from '../utils/http-peer.js';
import { RedisProcess } from '../utils/redis-server.js';
import { SmtpPeer } from '../utils/smtp-peer.js';
import { startApp } from '../utils/web-app.js';

process.env.AWS_EC2_METADATA_DISABLED = 'true';

/** The planted secrets: none may show in any error, log line or inspection. */
const SECRETS = {
  sendgrid: 'SG.planted-SendGrid-Key-5521',
  mailgun: 'key-planted-Mailgun-8810',
  ses: 'planted/SES+Secret=Access-Key-4417',
  smtp: 'planted-Smtp-Pa55word-2290',
  redis: 'planted-Redis-Pa55word-6603',
  redisSentinel: 'planted-Sentinel-Pa55word-3318',
  redisQuery: 'planted-Query-Pa55word-4471',
  redisSentinelEntry: 'planted-SentinelEntry-Pa55word-9052',
  redisClusterOptions: 'planted-ClusterOptions-Pa55word-2264',
  redisClusterNode: 'planted-ClusterNode-Pa55word-7139',
  redisTlsKey: 'planted-Tls-Key-Material-5150',
  redisTlsPassphrase: 'planted-Tls-Pa55phrase-8826',
  redisTlsPfx: 'planted-Tls-Pfx-Material-6093',
};
const forms = (s: string) => [s, Buffer.from(s).toString('base64'), encodeURIComponent(s)];
const ALL_FORMS = Object.values(SECRETS).flatMap(forms);

/** Everything written through Nest's Logger, console, stdout and stderr while the suite runs. */
const logged: string[] = [];
class CapturingLogger implements LoggerService {
  log = (...a: unknown[]) => logged.push(a.map((x) => inspect(x)).join(' '));
  error = this.log;
  warn = this.log;
  debug = this.log;
  verbose = this.log;
  fatal = this.log;
}
const shown: string[] = [];

/** Runs `call`, which must fail, and keeps everything one could print of its error and of `owners`. */
async function failure(call: () => Promise<unknown>, ...owners: unknown[]): Promise<Error> {
  const err = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  shown.push(everythingShown(err, ...owners), String(owners), JSON.stringify(owners));
  return err as Error;
}

const simple = () =>
  Email.builder().from('sender@example.com').to('rcpt@example.com').subject('s').textBody('t').build();

beforeAll(() => {
  Logger.overrideLogger(new CapturingLogger());
  for (const method of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    jest.spyOn(console, method).mockImplementation((...a: unknown[]) => {
      logged.push(a.map((x) => inspect(x)).join(' '));
    });
  }
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    jest.spyOn(stream, 'write').mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (write as (...x: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
});
afterAll(() => {
  jest.restoreAllMocks();
  Logger.overrideLogger(new Logger());
  // The check of the whole suite: nothing shown or logged carries a planted secret in any form.
  const everything = [...shown, ...logged].join('\n');
  expect(shown.length).toBeGreaterThan(20);
  for (const secret of ALL_FORMS) {
    const at = everything.indexOf(secret);
    expect(at === -1 ? 'absent' : `${secret} in: ${everything.slice(Math.max(0, at - 3000), at + 300)}`).toBe('absent');
  }
});

describe('secrets never leak: Redis password', () => {
  let server: RedisProcess;
  beforeAll(async () => {
    server = await RedisProcess.start(['--requirepass', 'another-password']);
  });
  afterAll(async () => {
    await server.destroy();
  });

  it('wrong password (from the URL and from options), server down, server hung, sink', async () => {
    const url = `redis://:${encodeURIComponent(SECRETS.redis)}@127.0.0.1:${server.port}`;
    await failure(() => RedisBackend.connect(url, { connectTimeoutMs: 800 }));
    await failure(() =>
      RedisBackend.connect(
        { host: '127.0.0.1', port: server.port, password: SECRETS.redis },
        { connectTimeoutMs: 800 },
      ),
    );

    const live = await RedisProcess.start(['--requirepass', SECRETS.redis]);
    const backend = await RedisBackend.connect(`redis://:${encodeURIComponent(SECRETS.redis)}@127.0.0.1:${live.port}`, {
      commandTimeoutMs: 300,
    });
    await backend.set('k', 1);
    live.pause();
    await failure(() => backend.get('k'), backend);
    live.resume();
    await live.destroy();
    await failure(() => backend.set('k', 2), backend);
    await failure(() => backend.increment('n'), backend);
    await backend.close();
    await failure(() => backend.get('k'), backend);

    const sockets = new Set<Socket>();
    const sink: Server = createServer((s) => sockets.add(s.on('error', () => undefined)));
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const port = (sink.address() as { port: number }).port;
    await failure(() =>
      RedisBackend.connect({ host: '127.0.0.1', port, password: SECRETS.redis }, { connectTimeoutMs: 300 }),
    );
    for (const s of sockets) s.destroy();
    await new Promise((r) => sink.close(r));
  });

  it('through the module: Redis down at start, throttled routes under load, and shutdown', async () => {
    const url = `redis://:${encodeURIComponent(SECRETS.redis)}@127.0.0.1:${await freePort()}`;
    const storage = { type: 'redis' as const, url, commandTimeoutMs: 200 };
    const app = await startApp(
      'express',
      throttleApp({ storage, email: { type: 'sendgrid', apiKey: SECRETS.sendgrid, baseUrl: 'http://127.0.0.1:1' } }),
      {
        logger: new CapturingLogger(),
      },
    );
    try {
      for (let i = 0; i < 5; i++) expect((await request(app.url).get('/t/limited')).status).toBe(200);
      shown.push(inspect(app.app, { depth: 4 }));
    } finally {
      await app.close();
    }
  });
});

/**
 * A hostile "Redis" that answers every command with an error echoing its arguments (AUTH and HELLO
 * included, so the credential comes back in the reply), as a misconfigured proxy may.
 */
async function startEchoRedis(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s.on('error', () => undefined));
    s.on('data', (chunk: Buffer) => {
      for (const command of chunk.toString('latin1').split(/\r\n(?=\*)/)) {
        const args = command.split('\r\n').filter((line) => line !== '' && !/^[*$]\d+$/.test(line));
        s.write(`-ERR echo ${args.join(' ')}\r\n`);
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

describe('secrets never leak: every Redis credential ioredis accepts (#21.13)', () => {
  let echo: { port: number; close(): Promise<void> };
  beforeAll(async () => {
    echo = await startEchoRedis();
  });
  afterAll(async () => {
    await echo.close();
  });

  it('sentinelPassword, ?password= in the URL, sentinels[].password, Cluster redisOptions and node URLs, TLS key/passphrase/pfx', async () => {
    const at = { host: '127.0.0.1', port: echo.port };
    const pem = (secret: string) => `-----BEGIN PRIVATE KEY-----\n${secret}\n-----END PRIVATE KEY-----\n`;
    const targets = [
      { sentinels: [at], name: 'mymaster', sentinelPassword: SECRETS.redisSentinel },
      { sentinels: [{ ...at, password: SECRETS.redisSentinelEntry }], name: 'mymaster' },
      `redis://127.0.0.1:${echo.port}?password=${encodeURIComponent(SECRETS.redisQuery)}`,
      `redis://app-user:${encodeURIComponent(SECRETS.redis)}@127.0.0.1:${echo.port}`,
      { cluster: [at], options: { redisOptions: { password: SECRETS.redisClusterOptions } } },
      { cluster: [`redis://:${encodeURIComponent(SECRETS.redisClusterNode)}@127.0.0.1:${echo.port}`] },
      { ...at, tls: { key: pem(SECRETS.redisTlsKey), passphrase: SECRETS.redisTlsPassphrase } },
      { ...at, tls: { pfx: Buffer.from(SECRETS.redisTlsPfx), passphrase: SECRETS.redisTlsPassphrase } },
    ];
    for (const target of targets) {
      await failure(() => RedisBackend.connect(target, { connectTimeoutMs: 600 }));
      const backend = RedisBackend.create(target, { commandTimeoutMs: 300 });
      try {
        await failure(() => backend.get('k'), backend);
        await failure(() => backend.increment('n'), backend);
      } finally {
        await backend.close();
      }
    }
  }, 60_000);
});

describe('secrets never leak: email credentials', () => {
  let peer: HttpPeer;
  /** A provider that echoes the credential it was sent (in the forms it was sent), as some error pages do. */
  const echo = (status: number, secret: string) => {
    const text = `bad credential ${secret} Bearer ${secret} Basic ${Buffer.from(`api:${secret}`).toString('base64')}`;
    return { status, body: { errors: [{ message: text }], message: text, Message: text } };
  };
  beforeAll(async () => {
    peer = await HttpPeer.start(() => ({ status: 401 }));
  });
  afterAll(async () => {
    await peer.close();
  });

  it('SendGrid, Mailgun and SES: 401/403 and 500 echoing the key, reset, hang, nothing listening', async () => {
    const retry = { retries: 1, minDelayMs: 1, maxDelayMs: 10 };
    const make = (url: string): EmailBackend[] => [
      new SendGridBackend(SECRETS.sendgrid, { baseUrl: url, retry, timeoutMs: 300 }),
      new MailgunBackend(SECRETS.mailgun, 'mg.example.test', { url, retry, timeoutMs: 300 }),
      new SesBackend({
        endpoint: url,
        region: 'us-east-1',
        credentials: { accessKeyId: 'AKID', secretAccessKey: SECRETS.ses },
        retry,
        timeoutMs: 300,
      }),
    ];
    const backends = [...make(peer.url), ...make('http://127.0.0.1:1')];
    try {
      for (const [b, secret] of backends
        .slice(0, 3)
        .map((x, i) => [x, [SECRETS.sendgrid, SECRETS.mailgun, SECRETS.ses][i]] as const)) {
        for (const reply of [
          echo(401, secret),
          echo(403, secret),
          echo(500, secret),
          'reset' as const,
          'hang' as const,
        ]) {
          peer.reset();
          peer.script(reply, reply);
          await failure(() => b.sendEmail(simple(), { idempotencyKey: `k-${Math.random()}` }), b);
        }
      }
      for (const b of backends.slice(3)) await failure(() => b.sendEmail(simple()), b);
    } finally {
      await Promise.all(backends.map((b) => b.close()));
    }
  });

  it('SMTP: password refused, server down, server silent', async () => {
    const smtp = await SmtpPeer.start({ mode: 'none', auth: { username: 'u', password: 'the-right-one' } });
    const sockets = new Set<Socket>();
    const silent: Server = createServer((s) => sockets.add(s.on('error', () => undefined)));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const auth = { username: 'u', password: SECRETS.smtp };
    const backends = [
      new SmtpBackend({ host: '127.0.0.1', port: smtp.port, encryption: 'none', auth, retry: { retries: 0 } }),
      new SmtpBackend({ host: '127.0.0.1', port: await freePort(), encryption: 'none', auth, retry: { retries: 0 } }),
      new SmtpBackend({
        host: '127.0.0.1',
        port: (silent.address() as { port: number }).port,
        encryption: 'none',
        auth,
        timeoutMs: 300,
        retry: { retries: 0 },
      }),
    ];
    try {
      for (const b of backends) {
        await failure(() => b.sendEmail(simple()), b);
        await failure(() => b.verify(), b);
      }
    } finally {
      await Promise.all(backends.map((b) => b.close()));
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
      await smtp.close();
    }
  });
});
