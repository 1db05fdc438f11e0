import { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { EMAIL_BACKEND, MemoryEmailBackend } from 'nestjs-backends';
import request from 'supertest';
import { AppModule } from '../src/app.module.js';

describe('AppController (e2e)', () => {
  let app: INestApplication;
  const outbox = new MemoryEmailBackend();

  beforeEach(async () => {
    const moduleRef = await Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(EMAIL_BACKEND)
      .useValue(outbox)
      .compile();
    app = moduleRef.createNestApplication();
    await app.init();
  });

  afterEach(() => app.close());

  it('throttles /hello after 3 requests', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await request(app.getHttpServer()).get('/hello')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });

  it('answers /products/:id from the cache the second time', async () => {
    const first = await request(app.getHttpServer()).get('/products/42');
    const second = await request(app.getHttpServer()).get('/products/42');
    expect([first.headers['x-cache'], second.headers['x-cache']]).toEqual(['MISS', 'HIT']);
    expect(second.body).toEqual({ id: '42', served: 1 });
  });

  it('sends email through the overridden backend', async () => {
    const res = await request(app.getHttpServer()).post('/welcome').send({ to: 'a@example.com' });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({ backend: 'memory' });
    expect(outbox.sentEmails()).toHaveLength(1);
  });
});
