import { Test } from '@nestjs/testing';
import { BackendsModule, EMAIL_BACKEND, MemoryEmailBackend } from 'nestjs-backends';
import { AppService } from './app.service.js';

describe('AppService', () => {
  it('sends the welcome email through the email backend', async () => {
    const outbox = new MemoryEmailBackend();
    const moduleRef = await Test.createTestingModule({
      imports: [BackendsModule.forRoot()],
      providers: [AppService],
    })
      .overrideProvider(EMAIL_BACKEND)
      .useValue(outbox)
      .compile();
    await moduleRef.get(AppService).welcome('new.user@example.com');
    expect(outbox.sentEmails().map((e) => [e.to, e.subject])).toEqual([[['new.user@example.com'], 'Welcome']]);
    await moduleRef.close();
  });
});
