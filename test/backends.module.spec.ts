import 'reflect-metadata';
import { describe, expect, it } from '@jest/globals';
import { Inject, Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import {
  type Backend,
  BackendsModule,
  type BackendsModuleOptions,
  EMAIL_BACKEND,
  InjectStorage,
  MemoryBackend,
  MemoryEmailBackend,
  RedisBackend,
  STORAGE_BACKEND,
} from '../lib/index.js';
import { redisUrl, uniquePrefix } from './utils/redis-env.js';

@Injectable()
class CounterService {
  constructor(@InjectStorage() readonly storage: Backend) {}

  hit(): Promise<number> {
    return this.storage.increment('hits');
  }
}

/** A real memory backend that records whether the module closed it. */
class TrackedBackend extends MemoryBackend {
  closed = 0;
  override async close(): Promise<void> {
    this.closed++;
    await super.close();
  }
}

const CONFIG = 'TEST_CONFIG';

@Module({ providers: [{ provide: CONFIG, useValue: { prefix: 'cfg:' } }], exports: [CONFIG] })
class ConfigLikeModule {}

@Injectable()
class OptionsFactory {
  constructor(@Inject(CONFIG) private readonly config: { prefix: string }) {}

  createBackendsOptions(): BackendsModuleOptions {
    return { storage: { type: 'redis', url: redisUrl(), keyPrefix: uniquePrefix(this.config.prefix) } };
  }
}

describe('BackendsModule', () => {
  it('forRoot() defaults to memory storage and injects it into services', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BackendsModule.forRoot({})],
      providers: [CounterService],
    }).compile();
    const service = moduleRef.get(CounterService);
    expect(service.storage).toBeInstanceOf(MemoryBackend);
    expect(moduleRef.get(STORAGE_BACKEND)).toBe(service.storage);
    expect(await service.hit()).toBe(1);
    expect(await service.hit()).toBe(2);
    await moduleRef.close();
  });

  it('forRoot() with a Redis URL creates a RedisBackend and closes it on shutdown', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendsModule.forRoot({ storage: { type: 'redis', url: redisUrl(), keyPrefix: uniquePrefix('mod') } }),
      ],
      providers: [CounterService],
    }).compile();
    const storage = moduleRef.get<RedisBackend>(STORAGE_BACKEND);
    expect(storage).toBeInstanceOf(RedisBackend);
    expect(await moduleRef.get(CounterService).hit()).toBe(1);
    await storage.clear();
    await moduleRef.close();
    expect(storage.client.status).toBe('end');
  });

  it('never closes a Redis client or a backend the user passed in', async () => {
    const client = new Redis(redisUrl());
    const redisModule = await Test.createTestingModule({
      imports: [BackendsModule.forRoot({ storage: { type: 'redis', client, keyPrefix: uniquePrefix('mine') } })],
    }).compile();
    await redisModule.get<Backend>(STORAGE_BACKEND).set('x', 1);
    await redisModule.close();
    expect(await client.ping()).toBe('PONG');
    await client.quit();

    const backend = new TrackedBackend();
    const memoryModule = await Test.createTestingModule({
      imports: [BackendsModule.forRoot({ storage: backend })],
    }).compile();
    expect(memoryModule.get(STORAGE_BACKEND)).toBe(backend);
    await memoryModule.close();
    expect(backend.closed).toBe(0);
    await backend.close();
  });

  it('closes a memory backend it created', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [BackendsModule.forRoot()] }).compile();
    const storage = moduleRef.get<Backend>(STORAGE_BACKEND);
    const close = storage.close.bind(storage);
    let closed = false;
    storage.close = async () => {
      closed = true;
      await close();
    };
    await moduleRef.close();
    expect(closed).toBe(true);
  });

  it('forRootAsync() with useFactory and inject', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendsModule.forRootAsync({
          imports: [ConfigLikeModule],
          inject: [CONFIG],
          useFactory: (config: { prefix: string }) => ({
            storage: { type: 'memory', maxEntries: config.prefix.length },
          }),
        }),
      ],
      providers: [CounterService],
    }).compile();
    const storage = moduleRef.get<Backend>(STORAGE_BACKEND);
    expect(storage).toBeInstanceOf(MemoryBackend);
    // maxEntries 4 ('cfg:'): the oldest of five keys is evicted
    for (const k of ['a', 'b', 'c', 'd', 'e']) await storage.set(k, k);
    expect(await storage.get('a')).toBeUndefined();
    expect(await storage.get('e')).toBe('e');
    await moduleRef.close();
  });

  it('forRootAsync() with useClass', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [BackendsModule.forRootAsync({ imports: [ConfigLikeModule], useClass: OptionsFactory })],
      providers: [CounterService],
    }).compile();
    const storage = moduleRef.get<RedisBackend>(STORAGE_BACKEND);
    expect(storage).toBeInstanceOf(RedisBackend);
    expect(storage.keyPrefix).toMatch(/^test:cfg::/);
    expect(await moduleRef.get(CounterService).hit()).toBe(1);
    await storage.clear();
    await moduleRef.close();
  });

  it('forRootAsync() with useExisting', async () => {
    @Module({ imports: [ConfigLikeModule], providers: [OptionsFactory], exports: [OptionsFactory] })
    class OptionsModule {}

    const moduleRef = await Test.createTestingModule({
      imports: [BackendsModule.forRootAsync({ imports: [OptionsModule], useExisting: OptionsFactory })],
    }).compile();
    const storage = moduleRef.get<RedisBackend>(STORAGE_BACKEND);
    expect(storage).toBeInstanceOf(RedisBackend);
    await storage.set('k', 'v');
    expect(await storage.get('k')).toBe('v');
    await storage.clear();
    await moduleRef.close();
  });

  it('is global by default: a feature module injects the backend without importing the module', async () => {
    @Module({ providers: [CounterService], exports: [CounterService] })
    class FeatureModule {}

    const moduleRef = await Test.createTestingModule({ imports: [BackendsModule.forRoot(), FeatureModule] }).compile();
    expect(await moduleRef.get(CounterService).hit()).toBe(1);
    await moduleRef.close();
  });

  it('refuses an unknown storage type at startup with a clear message', async () => {
    await expect(
      Test.createTestingModule({
        imports: [BackendsModule.forRoot({ storage: { type: 'memcached' } as never })],
      }).compile(),
    ).rejects.toThrow(/Unknown storage type "memcached"/);
  });

  it('overriding STORAGE_BACKEND and EMAIL_BACKEND in a testing module never creates the configured backends', async () => {
    // Both configured backends would fail at creation: a SendGrid key that is empty and a Redis URL that is not one.
    const storage = new TrackedBackend();
    const outbox = new MemoryEmailBackend();
    const moduleRef = await Test.createTestingModule({
      imports: [
        BackendsModule.forRoot({
          storage: { type: 'redis', url: 'not a url' },
          email: { type: 'sendgrid', apiKey: '' },
        }),
      ],
      providers: [CounterService],
    })
      .overrideProvider(STORAGE_BACKEND)
      .useValue(storage)
      .overrideProvider(EMAIL_BACKEND)
      .useValue(outbox)
      .compile();
    expect(await moduleRef.get(CounterService).hit()).toBe(1);
    expect(moduleRef.get(EMAIL_BACKEND)).toBe(outbox);
    await moduleRef.close();
    // An overriding value is the application's: the module does not close it.
    expect(storage.closed).toBe(0);
    await storage.close();
  });
});
