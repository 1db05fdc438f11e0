import { Controller, Get, UseInterceptors } from '@nestjs/common';
import { CacheInterceptor, CacheTTL } from 'nestjs-backends';
import { CatalogService } from './catalog.service.js';

@Controller('catalog')
export class CatalogController {
  private served = 0;

  constructor(private readonly catalog: CatalogService) {}

  /** Cached for 10 s by the interceptor: see the `X-Cache: HIT | MISS` header. */
  @Get('products')
  @UseInterceptors(CacheInterceptor)
  @CacheTTL(10_000)
  products() {
    this.served++;
    return { products: this.catalog.products(), renderedBy: this.served };
  }

  @Get('stats')
  stats() {
    return this.catalog.stats();
  }
}
