import { afterEach, describe, expect, it } from '@jest/globals';
import { Injectable, Module } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import {
  type Backend,
  BackendsModule,
  EMAIL_BACKEND,
  Email,
  type EmailBackend,
  EmailError,
  InjectEmail,
  MemoryBackend,
  MemoryEmailBackend,
  STORAGE_BACKEND,
} from '../../lib/index.js';

@Injectable()
class Notifier {
  constructor(@InjectEmail() readonly email: EmailBackend) {}
  welcome(to: string) {
    return this.email.sendEmail(
      Email.builder().from('app@example.com').to(to).subject('Welcome').textBody('Hi').build(),
      { idempotencyKey: `welcome:${to}` },
    );
  }
}

let moduleRef: TestingModule | undefined;
afterEach(async () => {
  await moduleRef?.close();
  moduleRef = undefined;
});

async function compile(imports: Parameters<typeof Module>[0]['imports']): Promise<TestingModule> {
  moduleRef = await Test.createTestingModule({ imports, providers: [Notifier] }).compile();
  moduleRef.enableShutdownHooks();
  await moduleRef.init();
  return moduleRef;
}

describe('BackendsModule email option', () => {
  it('provides EMAIL_BACKEND from { type: "memory" } and keeps idempotency keys in STORAGE_BACKEND', async () => {
    const m = await compile([BackendsModule.forRoot({ email: { type: 'memory' } })]);
    const email = m.get<MemoryEmailBackend>(EMAIL_BACKEND);
    expect(email).toBeInstanceOf(MemoryEmailBackend);
    const notifier = m.get(Notifier);
    const first = await notifier.welcome('a@example.com');
    const second = await notifier.welcome('a@example.com');
    expect(second).toEqual(first);
    expect(email.sentEmails()).toHaveLength(1);
    const storage = m.get<Backend>(STORAGE_BACKEND);
    const keys = await storage.getMany([
      `email:idempotency:${(await import('node:crypto')).createHash('sha256').update('welcome:a@example.com').digest('hex')}`,
    ]);
    expect(keys[0]).toEqual({ state: 'sent', messageId: first.messageId, backend: 'memory' });
  });

  it('closes the backend it created on application shutdown', async () => {
    const m = await compile([BackendsModule.forRoot({ email: { type: 'memory' } })]);
    const email = m.get<EmailBackend>(EMAIL_BACKEND);
    await m.close();
    moduleRef = undefined;
    await expect(
      email.sendEmail(Email.builder().from('a@example.com').to('b@example.com').subject('s').textBody('t').build()),
    ).rejects.toMatchObject({
      code: 'configuration',
    });
  });

  it('uses an EmailBackend object as given and leaves it open', async () => {
    const mine = new MemoryEmailBackend();
    const m = await compile([BackendsModule.forRootAsync({ useFactory: () => ({ email: mine }) })]);
    expect(m.get(EMAIL_BACKEND)).toBe(mine);
    await m.close();
    moduleRef = undefined;
    await mine.sendEmail(Email.builder().from('a@example.com').to('b@example.com').subject('s').textBody('t').build());
    expect(mine.sentEmails()).toHaveLength(1);
    await mine.close();
  });

  it('builds an SMTP backend from options without connecting (nodemailer pools lazily)', async () => {
    const m = await compile([
      BackendsModule.forRoot({ email: { type: 'smtp', host: '127.0.0.1', port: 2525, encryption: 'none' } }),
    ]);
    expect(m.get(EMAIL_BACKEND).constructor.name).toBe('SmtpBackend');
  });

  it('without `email`, EMAIL_BACKEND is injectable and every send fails with `configuration`', async () => {
    const m = await compile([BackendsModule.forRoot({ storage: new MemoryBackend() })]);
    const err = await m
      .get(Notifier)
      .welcome('a@example.com')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EmailError);
    expect((err as EmailError).code).toBe('configuration');
    expect((err as EmailError).message).toMatch(/BackendsModule\.forRoot/);
  });

  it('an unknown email type fails at start-up with `configuration`', async () => {
    await expect(
      Test.createTestingModule({ imports: [BackendsModule.forRoot({ email: { type: 'pigeon' } as never })] }).compile(),
    ).rejects.toMatchObject({ code: 'configuration' });
  });
});
