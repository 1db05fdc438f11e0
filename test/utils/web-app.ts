import type { DynamicModule, INestApplication, LoggerService, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExpressAdapter } from '@nestjs/platform-express';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import {
  type Backend,
  BackendUnavailableError,
  MemoryBackend,
  RedisBackend,
  type StorageOptions,
} from '../../lib/index.js';
import { redisUrl, uniquePrefix } from './redis-env.js';

export type Platform = 'express' | 'fastify';
export type StoreKind = 'memory' | 'redis';

/** Every e2e scenario runs on each platform with each store. */
export const MATRIX: [Platform, StoreKind][] = [
  ['express', 'memory'],
  ['express', 'redis'],
  ['fastify', 'memory'],
  ['fastify', 'redis'],
];
export const PLATFORMS: Platform[] = ['express', 'fastify'];

/** A running Nest app listening on 127.0.0.1 and its base URL. */
export interface RunningApp {
  app: INestApplication;
  url: string;
  close(): Promise<void>;
}

/** Storage options of a fresh, isolated store of the given kind (a unique Redis key prefix). */
export function storageFor(kind: StoreKind, label: string): StorageOptions {
  return kind === 'memory'
    ? { type: 'memory' }
    : { type: 'redis', url: redisUrl(), keyPrefix: uniquePrefix(label), commandTimeoutMs: 1000 };
}

/** Starts `module` on the platform, listening on 127.0.0.1:0. */
export async function startApp(
  platform: Platform,
  module: Type | DynamicModule,
  options: { trustProxy?: boolean; logger?: LoggerService | false; setup?: (app: INestApplication) => unknown } = {},
): Promise<RunningApp> {
  const adapter =
    platform === 'express' ? new ExpressAdapter() : new FastifyAdapter({ trustProxy: options.trustProxy ?? false });
  const app = await NestFactory.create(module as Type, adapter, {
    logger: options.logger ?? false,
    abortOnError: false,
  });
  if (platform === 'express')
    app
      .getHttpAdapter()
      .getInstance()
      .set('trust proxy', options.trustProxy ?? false);
  await options.setup?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return { app, url: `http://127.0.0.1:${address.port}`, close: () => app.close() };
}

/** A logger that keeps what it is told, for asserting on warnings. */
export class CapturingLogger implements LoggerService {
  readonly warnings: string[] = [];
  log(): void {}
  error(): void {}
  debug(): void {}
  verbose(): void {}
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
}

/**
 * A real backend that can be switched off: while off, every call rejects with
 * `BackendUnavailableError`, as a RedisBackend does when its server is down.
 */
export class SwitchableBackend {
  down = false;
  constructor(readonly inner: Backend) {}

  /** The backend view to give to the module. */
  backend(): Backend {
    return wrap(this.inner, this);
  }
}

function wrap(inner: Backend, sw: SwitchableBackend): Backend {
  return new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') return value;
      if (prop === 'namespace') return (prefix: string) => wrap(target.namespace(prefix), sw);
      if (prop === 'close') return value.bind(target);
      if (prop === 'keys') {
        return async function* (pattern?: string) {
          if (sw.down) throw new BackendUnavailableError('backend switched off');
          for await (const key of target.keys(pattern)) {
            if (sw.down) throw new BackendUnavailableError('backend switched off');
            yield key;
          }
        };
      }
      return (...args: unknown[]) =>
        sw.down ? Promise.reject(new BackendUnavailableError('backend switched off')) : value.apply(target, args);
    },
  });
}

/** A store of each kind that the test owns (closed by the caller). */
export async function openBackend(kind: StoreKind, label: string): Promise<Backend> {
  return kind === 'memory' ? new MemoryBackend() : RedisBackend.connect(redisUrl(), { keyPrefix: uniquePrefix(label) });
}
