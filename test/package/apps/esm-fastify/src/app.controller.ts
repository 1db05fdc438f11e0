import { Controller, Get, Param, Req, UseGuards, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheTTL, Throttle, ThrottlerGuard } from 'nestjs-backends';

interface SessionRequest {
  session: { visits?: number; get?(key: string): unknown; set?(key: string, value: unknown): void };
}

@Controller()
export class AppController {
  private served = 0;

  @Get('hello')
  @UseGuards(ThrottlerGuard)
  @Throttle('3/hour')
  hello(): string {
    return 'Hello World!';
  }

  @Get('visits')
  visits(@Req() req: SessionRequest) {
    const visits = Number(req.session.get?.('visits') ?? 0) + 1;
    req.session.set?.('visits', visits);
    return { visits };
  }

  @Get('products/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(3_600_000)
  product(@Param('id') id: string) {
    this.served += 1;
    return { id, served: this.served };
  }
}
