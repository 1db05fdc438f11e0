import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  BackendsModule,
  EMAIL_BACKEND,
  Email,
  type EmailBackend,
  EmailError,
  getEmailBackendToken,
  InjectEmail,
  MemoryEmailBackend,
  SmtpBackend,
} from '../../lib/index.js';
import { SmtpPeer } from '../utils/smtp-peer.js';
import { failure } from './failure.util.js';

const mail = (to: string, subject: string) =>
  Email.builder().from('app@example.com').to(to).subject(subject).textBody('Hi').build();

@Injectable()
class Mailer {
  constructor(
    @InjectEmail() readonly transactional: EmailBackend,
    @InjectEmail('marketing') readonly marketing: EmailBackend,
  ) {}
  receipt(to: string) {
    return this.transactional.sendEmail(mail(to, 'Your receipt'));
  }
  newsletter(to: string) {
    return this.marketing.sendEmail(mail(to, 'News'));
  }
}

/** A feature module: it sees the named backends because the module is global. */
@Module({ providers: [Mailer], exports: [Mailer] })
class MailerModule {}

let smtp: SmtpPeer;
let moduleRef: TestingModule | undefined;
beforeAll(async () => {
  smtp = await SmtpPeer.start({ mode: 'none' });
});
beforeEach(() => smtp.reset());
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});
afterAll(async () => smtp.close());

async function start(imports: Parameters<typeof Module>[0]['imports']): Promise<TestingModule> {
  moduleRef = await Test.createTestingModule({ imports }).compile();
  await moduleRef.init();
  return moduleRef;
}

describe('getEmailBackendToken', () => {
  it('is EMAIL_BACKEND for `default` or no name, and one token per other name', () => {
    expect(getEmailBackendToken()).toBe(EMAIL_BACKEND);
    expect(getEmailBackendToken('default')).toBe(EMAIL_BACKEND);
    expect(getEmailBackendToken('marketing')).not.toBe(EMAIL_BACKEND);
    expect(getEmailBackendToken('marketing')).toBe(getEmailBackendToken('marketing'));
    expect(getEmailBackendToken('marketing')).not.toBe(getEmailBackendToken('alerts'));
  });

  it('refuses a name that cannot be one', () => {
    for (const bad of ['', 'with space', 'line\nbreak', 42 as unknown as string]) {
      expect(() => getEmailBackendToken(bad)).toThrow(EmailError);
    }
  });
});

describe('BackendsModule: email: { backends: { default, marketing } }', () => {
  it('injects each named backend where it is asked for; messages land in the right one', async () => {
    const m = await start([
      BackendsModule.forRoot({
        isGlobal: true,
        email: { backends: { default: { type: 'memory' }, marketing: { type: 'memory' } } },
      }),
      MailerModule,
    ]);
    const mailer = m.get(Mailer);
    await mailer.receipt('buyer@example.com');
    await mailer.newsletter('reader@example.com');
    await mailer.newsletter('other@example.com');
    const byDefault = m.get<MemoryEmailBackend>(EMAIL_BACKEND);
    const marketing = m.get<MemoryEmailBackend>(getEmailBackendToken('marketing'));
    expect(byDefault).not.toBe(marketing);
    expect(mailer.transactional).toBe(byDefault);
    expect(mailer.marketing).toBe(marketing);
    expect(byDefault.sentEmails().map((e) => [e.to, e.subject])).toEqual([[['buyer@example.com'], 'Your receipt']]);
    expect(marketing.sentEmails().map((e) => e.to)).toEqual([['reader@example.com'], ['other@example.com']]);
  });

  it('memory + SMTP: the marketing mail reaches the SMTP server, the default one stays in memory', async () => {
    const m = await start([
      BackendsModule.forRoot({
        isGlobal: true,
        email: {
          backends: {
            default: { type: 'memory' },
            marketing: { type: 'smtp', host: '127.0.0.1', port: smtp.port, encryption: 'none' },
          },
        },
      }),
      MailerModule,
    ]);
    const sent = await m.get(Mailer).newsletter('reader@example.com');
    expect(sent.backend).toBe('smtp');
    expect(m.get(getEmailBackendToken('marketing'))).toBeInstanceOf(SmtpBackend);
    expect(smtp.messages.map((x) => [x.envelope.to, x.parsed.subject])).toEqual([[['reader@example.com'], 'News']]);
    expect(m.get<MemoryEmailBackend>(EMAIL_BACKEND).sentEmails()).toHaveLength(0);
  });

  it('closes every named backend it created on shutdown', async () => {
    const m = await start([
      BackendsModule.forRoot({
        isGlobal: true,
        email: {
          backends: {
            default: { type: 'memory' },
            marketing: { type: 'smtp', host: '127.0.0.1', port: smtp.port, encryption: 'none' },
            alerts: { type: 'memory' },
          },
        },
      }),
    ]);
    await m.get<EmailBackend>(getEmailBackendToken('marketing')).sendEmail(mail('a@example.com', 'open'));
    const all = ['default', 'marketing', 'alerts'].map((n) => m.get<EmailBackend>(getEmailBackendToken(n)));
    await m.close();
    moduleRef = undefined;
    for (const b of all)
      expect(await failure(b.sendEmail(mail('a@example.com', 'closed')))).toMatchObject({ code: 'configuration' });
    expect(smtp.messages).toHaveLength(1);
  });

  it('leaves a named backend given as an object open', async () => {
    const mine = new MemoryEmailBackend();
    const m = await start([
      BackendsModule.forRoot({ email: { backends: { default: { type: 'memory' }, marketing: mine } } }),
    ]);
    expect(m.get(getEmailBackendToken('marketing'))).toBe(mine);
    await m.close();
    moduleRef = undefined;
    await mine.sendEmail(mail('a@example.com', 'still open'));
    expect(mine.sentEmails()).toHaveLength(1);
    await mine.close();
  });

  it('overriding a named backend in a testing module never creates the configured one', async () => {
    // The configured marketing backend would fail at creation (an empty SendGrid key): see the next test.
    const outbox = new MemoryEmailBackend();
    const options = {
      email: {
        backends: { default: { type: 'memory' as const }, marketing: { type: 'sendgrid' as const, apiKey: '' } },
      },
    };
    moduleRef = await Test.createTestingModule({
      imports: [BackendsModule.forRoot({ isGlobal: true, ...options }), MailerModule],
    })
      .overrideProvider(getEmailBackendToken('marketing'))
      .useValue(outbox)
      .compile();
    await moduleRef.init();
    await moduleRef.get(Mailer).newsletter('reader@example.com');
    expect(outbox.sentEmails().map((e) => e.to)).toEqual([['reader@example.com']]);
    expect(moduleRef.get<MemoryEmailBackend>(EMAIL_BACKEND).sentEmails()).toHaveLength(0);
    await moduleRef.close();
    moduleRef = undefined;
    // An overriding value is the application's: the module does not close it.
    await outbox.sendEmail(mail('a@example.com', 'still open'));
    await outbox.close();
  });

  it('without the override, that configuration fails at startup', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        BackendsModule.forRoot({
          email: { backends: { default: { type: 'memory' }, marketing: { type: 'sendgrid', apiKey: '' } } },
        }),
      ],
    }).compile();
    await expect(compiling).rejects.toMatchObject({ code: 'configuration', backend: 'sendgrid' });
  });

  it('a named backend can be a failover chain', async () => {
    const m = await start([
      BackendsModule.forRoot({
        email: {
          backends: {
            default: { type: 'memory' },
            marketing: { type: 'failover', backends: [{ type: 'memory', name: 'first' }, { type: 'memory' }] },
          },
        },
      }),
    ]);
    const sent = await m.get<EmailBackend>(getEmailBackendToken('marketing')).sendEmail(mail('a@example.com', 'x'));
    expect(sent.backend).toBe('first');
  });

  it('the one-backend form is unchanged: no named tokens, EMAIL_BACKEND as before', async () => {
    const m = await start([BackendsModule.forRoot({ email: { type: 'memory' } })]);
    expect(m.get(EMAIL_BACKEND)).toBeInstanceOf(MemoryEmailBackend);
    expect(() => m.get(getEmailBackendToken('marketing'))).toThrow();
  });
});

describe('BackendsModule.forRootAsync with named email backends', () => {
  it('registers the names given in `emailBackends` and builds them from the resolved options', async () => {
    const m = await start([
      BackendsModule.forRootAsync({
        isGlobal: true,
        emailBackends: ['marketing'],
        useFactory: async () => ({
          email: { backends: { default: { type: 'memory' }, marketing: { type: 'memory' } } },
        }),
      }),
      MailerModule,
    ]);
    await m.get(Mailer).newsletter('reader@example.com');
    expect(m.get<MemoryEmailBackend>(getEmailBackendToken('marketing')).sentEmails()).toHaveLength(1);
    expect(m.get<MemoryEmailBackend>(EMAIL_BACKEND).sentEmails()).toHaveLength(0);
  });

  it('a configured name that was not declared fails at startup', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        BackendsModule.forRootAsync({
          useFactory: () => ({ email: { backends: { default: { type: 'memory' }, marketing: { type: 'memory' } } } }),
        }),
      ],
    }).compile();
    await expect(compiling).rejects.toMatchObject({ code: 'configuration' });
    await expect(compiling).rejects.toThrow(/"marketing".*emailBackends/);
  });

  it('a declared name that is not configured fails at startup', async () => {
    const compiling = Test.createTestingModule({
      imports: [
        BackendsModule.forRootAsync({
          emailBackends: ['marketing'],
          useFactory: () => ({ email: { type: 'memory' } }),
        }),
      ],
    }).compile();
    await expect(compiling).rejects.toThrow(/"marketing" is declared but not configured/);
  });

  it('an invalid declared name is refused when the module is defined', () => {
    expect(() => BackendsModule.forRootAsync({ emailBackends: ['bad name'], useFactory: () => ({}) })).toThrow(
      EmailError,
    );
  });
});

describe('BackendsModule: bad named email configuration is a typed error at startup', () => {
  const cases: [string, unknown, RegExp][] = [
    ['no default', { backends: { marketing: { type: 'memory' } } }, /needs a `default` entry/],
    ['an array (a failover without its type)', { backends: [{ type: 'memory' }] }, /type: "failover"/],
    [
      'an invalid name',
      { backends: { default: { type: 'memory' }, 'bad name': { type: 'memory' } } },
      /"bad name" is invalid/,
    ],
    [
      'a nested set of named backends',
      { backends: { default: { type: 'memory' }, marketing: { backends: { default: { type: 'memory' } } } } },
      /itself a set of named backends/,
    ],
    ['an entry without a type', { backends: { default: { host: 'smtp.example.com' } } }, /Unknown email type/],
  ];
  it.each(cases)('%s', async (_name, email, message) => {
    const compiling = Test.createTestingModule({
      imports: [BackendsModule.forRoot({ email: email as never })],
    }).compile();
    await expect(compiling).rejects.toBeInstanceOf(EmailError);
    await expect(compiling).rejects.toMatchObject({ code: 'configuration' });
    await expect(compiling).rejects.toThrow(message);
  });
});
