import { Body, Controller, Get, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheTTL, Throttle, ThrottlerGuard } from 'nestjs-backends';
import { AppService } from './app.service.js';

@Controller()
export class AppController {
  constructor(private readonly app: AppService) {}

  @Get('hello')
  @UseGuards(ThrottlerGuard)
  @Throttle('3/hour')
  hello(): string {
    return 'Hello World!';
  }

  @Get('products/:id')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(3_600_000)
  product(@Param('id') id: string) {
    return this.app.product(id);
  }

  @Post('welcome')
  async welcome(@Body() body: { to: string }) {
    const sent = await this.app.welcome(body.to);
    return { backend: sent.backend };
  }
}
