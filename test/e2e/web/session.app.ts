import {
  Body,
  Controller,
  type DynamicModule,
  Get,
  HttpCode,
  Module,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import type { INestApplication } from '@nestjs/common';
import fastifyCookie from '@fastify/cookie';
import fastifySession from '@fastify/session';
import session from 'express-session';
import { BackendSessionStore, BackendsModule, type BackendsModuleOptions } from '../../../lib/index.js';
import type { Platform } from '../../utils/web-app.js';

const SECRET = 'a-test-secret-that-is-at-least-32-chars-long';

@Controller('session')
export class SessionController {
  @Post('login')
  @HttpCode(200)
  async login(@Req() req: any, @Body() body: { user: string }) {
    req.session.userId = body.user;
    await save(req.session);
    return { user: body.user };
  }

  @Get('me')
  me(@Req() req: any) {
    if (!req.session?.userId) throw new UnauthorizedException();
    return { user: req.session.userId };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: any) {
    await new Promise<void>((resolve, reject) =>
      req.session.destroy((err: unknown) => (err ? reject(err) : resolve())),
    );
    return { ok: true };
  }
}

/** Saves now (both platforms' sessions take a callback). */
function save(s: any): Promise<void> {
  return new Promise((resolve, reject) => s.save((err: unknown) => (err ? reject(err) : resolve())));
}

/** The session test app. */
export function sessionApp(options: BackendsModuleOptions): DynamicModule {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: [SessionController] })
  class SessionAppModule {}
  return { module: SessionAppModule };
}

/** Installs express-session or @fastify/session with the module's store. */
export async function useSessions(app: INestApplication, platform: Platform, maxAgeMs = 60_000): Promise<void> {
  const store = app.get(BackendSessionStore);
  if (platform === 'express') {
    app.use(session({ store, secret: SECRET, resave: false, saveUninitialized: false, cookie: { maxAge: maxAgeMs } }));
    return;
  }
  const fastify = app.getHttpAdapter().getInstance();
  await fastify.register(fastifyCookie as any);
  await fastify.register(fastifySession as any, {
    store,
    secret: SECRET,
    saveUninitialized: false,
    cookie: { maxAge: maxAgeMs, secure: false },
  });
}
