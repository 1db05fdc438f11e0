import { Injectable } from '@nestjs/common';
import { CacheService } from 'nestjs-backends';

const PRODUCTS = [
  { id: 1, name: 'Keyboard', price: 49 },
  { id: 2, name: 'Mouse', price: 19 },
  { id: 3, name: 'Monitor', price: 199 },
];

/** A slow "database", cached in-service with CacheService.wrap. */
@Injectable()
export class CatalogService {
  computations = 0;

  constructor(private readonly cache: CacheService) {}

  products(): { id: number; name: string; price: number }[] {
    return PRODUCTS;
  }

  /** Expensive statistics, computed at most once per 30 s (and once for concurrent callers). */
  stats(): Promise<{ count: number; averagePrice: number; computedAt: string; computations: number }> {
    return this.cache.wrap(
      'catalog:stats',
      async () => {
        this.computations++;
        await new Promise((r) => setTimeout(r, 50));
        const total = PRODUCTS.reduce((sum, p) => sum + p.price, 0);
        return {
          count: PRODUCTS.length,
          averagePrice: total / PRODUCTS.length,
          computedAt: new Date().toISOString(),
          computations: this.computations,
        };
      },
      30_000,
    );
  }
}
