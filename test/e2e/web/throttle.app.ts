import {
  Controller,
  type DynamicModule,
  Get,
  Injectable,
  Module,
  type ExecutionContext,
  UseGuards,
} from '@nestjs/common';
import {
  BackendsModule,
  type BackendsModuleOptions,
  SkipThrottle,
  Throttle,
  ThrottlerGuard,
} from '../../../lib/index.js';

/** Counts per `x-user` header instead of the IP: the protected hook a subclass overrides. */
@Injectable()
export class UserThrottlerGuard extends ThrottlerGuard {
  protected override getTracker(_context: ExecutionContext, req: Record<string, any>): string {
    return String(req.headers['x-user'] ?? 'anonymous');
  }
}

/**
 * Windows are an hour or longer: a sequence of requests in a test (or across the tests of one app) that
 * crossed a window's end would see its counter start again.
 */
@Controller('t')
@UseGuards(ThrottlerGuard)
export class ThrottledController {
  @Get('limited')
  @Throttle('3/hour')
  limited() {
    return { ok: true };
  }

  /** For bursts across processes: a day-long window, so a burst all but never straddles a window boundary. */
  @Get('limited-daily')
  @Throttle('3/day')
  limitedDaily() {
    return { ok: true };
  }

  @Get('default')
  byDefault() {
    return { ok: true };
  }

  @Get('skipped')
  @SkipThrottle()
  @Throttle('1/hour')
  skipped() {
    return { ok: true };
  }

  @Get('named-burst')
  @Throttle({ burst: '2/hour', sustained: '5/day' })
  namedBurst() {
    return { ok: true };
  }

  @Get('named-sustained')
  @Throttle({ burst: '5/hour', sustained: '3/day' })
  namedSustained() {
    return { ok: true };
  }

  @Get('multi-unit')
  @Throttle('5/15m')
  multiUnit() {
    return { ok: true };
  }

  @Get('object-rate')
  @Throttle({ limit: 2, ttlMs: 3_600_000 })
  objectRate() {
    return { ok: true };
  }

  @Get('shared-a')
  @Throttle('3/hour', { scope: 'shared' })
  sharedA() {
    return { ok: 'a' };
  }

  @Get('shared-b')
  @Throttle('3/hour', { scope: 'shared' })
  sharedB() {
    return { ok: 'b' };
  }
}

@Controller('c')
@UseGuards(ThrottlerGuard)
@Throttle('10/hour')
export class ClassThrottledController {
  @Get('inherits')
  inherits() {
    return { ok: true };
  }

  @Get('overrides')
  @Throttle('2/hour')
  overrides() {
    return { ok: true };
  }
}

@Controller('skip-class')
@UseGuards(ThrottlerGuard)
@SkipThrottle()
@Throttle('1/hour')
export class SkippedController {
  @Get('free')
  free() {
    return { ok: true };
  }

  @Get('counted')
  @SkipThrottle(false)
  counted() {
    return { ok: true };
  }
}

@Controller('u')
@UseGuards(UserThrottlerGuard)
export class PerUserController {
  @Get()
  @Throttle('2/hour')
  get() {
    return { ok: true };
  }
}

@Controller('open')
export class UnguardedController {
  @Get()
  get() {
    return { ok: true };
  }
}

/** The throttling test app: every controller above, module options from the caller. */
export function throttleApp(options: BackendsModuleOptions): DynamicModule {
  @Module({
    imports: [BackendsModule.forRoot(options)],
    controllers: [
      ThrottledController,
      ClassThrottledController,
      SkippedController,
      PerUserController,
      UnguardedController,
    ],
  })
  class ThrottleAppModule {}
  return { module: ThrottleAppModule };
}
