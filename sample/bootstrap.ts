import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import session from 'express-session';
import {
  type Backend,
  BackendSessionStore,
  BackendUnavailableError,
  EMAIL_BACKEND,
  type EmailBackend,
  SmtpBackend,
  STORAGE_BACKEND,
} from 'nestjs-backends';
import { AppModule } from './app.module.js';
import { emailVariable, sampleOptions, storageVariable } from './config/sample.config.js';
import { SampleConfigError } from './config/sample-config.error.js';

type Env = Record<string, string | undefined>;

/** Fails with a {@link SampleConfigError} when the configured services cannot be reached. */
async function checkServices(app: INestApplication, env: Env): Promise<void> {
  if (env.REDIS_URL || env.REDIS_CLUSTER_NODES) {
    try {
      await app.get<Backend>(STORAGE_BACKEND).exists('startup-check');
    } catch (err) {
      const reason = err instanceof BackendUnavailableError ? err.message : 'Redis refused the first command';
      throw new SampleConfigError(storageVariable(env), `Redis is unreachable (${reason})`);
    }
  }
  const email = app.get<EmailBackend>(EMAIL_BACKEND);
  if (email instanceof SmtpBackend) {
    try {
      await email.verify();
    } catch (err) {
      throw new SampleConfigError(emailVariable(env), `SMTP check failed (${(err as Error).message})`);
    }
  }
}

/** Creates the sample app from environment variables (no listen), checking that its services answer. */
export async function createSampleApp(env: Env, logger: false | undefined = undefined): Promise<INestApplication> {
  const options = sampleOptions(env);
  const app = await NestFactory.create(AppModule.forRoot(options), { logger: logger ?? ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  app.use(
    session({
      store: app.get(BackendSessionStore),
      secret: env.SESSION_SECRET ?? 'sample-only-secret-change-me',
      resave: false,
      saveUninitialized: false,
      cookie: { httpOnly: true, sameSite: 'lax', maxAge: 24 * 60 * 60 * 1000 },
    }),
  );
  try {
    await checkServices(app, env);
  } catch (err) {
    await app.close();
    throw err;
  }
  return app;
}
