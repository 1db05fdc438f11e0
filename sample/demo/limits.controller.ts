import { Controller, Get, UseGuards } from '@nestjs/common';
import { Throttle, ThrottlerGuard } from 'nestjs-backends';

/** Throttled routes: one rate, and a burst + sustained pair checked together. */
@Controller('limits')
@UseGuards(ThrottlerGuard)
export class LimitsController {
  @Get('slow')
  @Throttle('5/minute')
  slow() {
    return { ok: true, limit: '5/minute' };
  }

  @Get('burst')
  @Throttle({ burst: '3/s', sustained: '20/minute' })
  burst() {
    return { ok: true, limits: { burst: '3/s', sustained: '20/minute' } };
  }
}
