import { Body, Controller, Get, HttpCode, HttpException, Post, Req, UnauthorizedException } from '@nestjs/common';
import { BackendSessionStore, Throttler } from 'nestjs-backends';
import { BodyPipe } from '../validation/body.pipe.js';
import { type BodyOf, requiredText } from '../validation/body.rules.js';
import { DEMO_USERS } from './demo-users.js';

interface SessionRequest {
  session: {
    userId?: string;
    regenerate(cb: (err?: unknown) => void): void;
    destroy(cb: (err?: unknown) => void): void;
  } & Record<string, unknown>;
}

const LOGIN_BODY = { username: requiredText(100), password: requiredText(200) };
const NO_BODY = {};

const call = (fn: (cb: (err?: unknown) => void) => void) =>
  new Promise<void>((resolve, reject) => fn((err) => (err ? reject(err) : resolve())));

/** Session login/logout/me on BackendSessionStore, with login attempts limited per account. */
@Controller('account')
export class AccountController {
  constructor(
    private readonly throttler: Throttler,
    private readonly sessions: BackendSessionStore,
  ) {}

  @Post('login')
  @HttpCode(200)
  async login(@Req() req: SessionRequest, @Body(new BodyPipe(LOGIN_BODY)) body: BodyOf<typeof LOGIN_BODY>) {
    const { username, password } = body;
    const attempt = await this.throttler.consume(`login:${username}`, '5/15m');
    if (!attempt.allowed) {
      throw new HttpException(
        {
          statusCode: 429,
          message: `Too many login attempts for this account; retry in ${Math.ceil(attempt.retryAfterMs / 1000)} s`,
        },
        429,
      );
    }
    if (!Object.hasOwn(DEMO_USERS, username) || DEMO_USERS[username] !== password) {
      throw new UnauthorizedException(`Wrong username or password (${attempt.remaining} attempts left)`);
    }
    await call((cb) => req.session.regenerate(cb));
    req.session.userId = username;
    return { user: username };
  }

  @Get('me')
  me(@Req() req: SessionRequest) {
    if (!req.session.userId) throw new UnauthorizedException('Not logged in');
    return { user: req.session.userId };
  }

  @Post('logout')
  @HttpCode(200)
  async logout(@Req() req: SessionRequest, @Body(new BodyPipe(NO_BODY)) _body: BodyOf<typeof NO_BODY>) {
    await call((cb) => req.session.destroy(cb));
    return { loggedOut: true };
  }

  /** Ends every session of the current user, on every device. */
  @Post('logout-everywhere')
  @HttpCode(200)
  async logoutEverywhere(@Req() req: SessionRequest, @Body(new BodyPipe(NO_BODY)) _body: BodyOf<typeof NO_BODY>) {
    const user = req.session.userId;
    if (!user) throw new UnauthorizedException('Not logged in');
    return { sessionsEnded: await this.sessions.destroyAllForUser(user) };
  }
}
