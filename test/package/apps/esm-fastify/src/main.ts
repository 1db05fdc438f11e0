import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { BackendSessionStore } from 'nestjs-backends';
import { AppModule } from './app.module.js';

const app = await NestFactory.create<NestFastifyApplication>(AppModule, new FastifyAdapter(), {
  logger: ['error', 'warn'],
});
const fastify = app.getHttpAdapter().getInstance();
const store = app.get(BackendSessionStore);
await fastify.register(fastifyCookie);
await fastify.register(fastifySession, {
  store,
  secret: 'a secret with at least 32 characters....',
  cookie: { secure: false },
  saveUninitialized: false,
});
await app.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
// The test reads the port from this line.
console.log(`listening ${(app.getHttpServer().address() as { port: number }).port}`);
