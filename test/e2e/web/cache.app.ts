import {
  Controller,
  type DynamicModule,
  type ExecutionContext,
  Get,
  Header,
  HttpCode,
  Injectable,
  Module,
  NotFoundException,
  Query,
  Res,
  StreamableFile,
  UseInterceptors,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import {
  BackendsModule,
  type BackendsModuleOptions,
  CacheInterceptor,
  CacheKey,
  CacheTTL,
} from '../../../lib/index.js';

/** How many times each handler ran: the observable effect of the cache. */
export class Calls {
  readonly counts = new Map<string, number>();
  bump(name: string): number {
    const n = (this.counts.get(name) ?? 0) + 1;
    this.counts.set(name, n);
    return n;
  }
  of(name: string): number {
    return this.counts.get(name) ?? 0;
  }
}

/** Caches per user (the `x-user` header) when the request carries credentials: the `trackBy` hook. */
@Injectable()
export class PerUserCacheInterceptor extends CacheInterceptor {
  protected override trackBy(context: ExecutionContext): string | undefined | Promise<string | undefined> {
    const req = context.switchToHttp().getRequest();
    const user = req.headers['x-user'];
    if (typeof user !== 'string') return super.trackBy(context);
    return `user:${user}:${this.getRouteKey(context)}`;
  }
}

function cacheControllers(calls: Calls) {
  @Controller('cache')
  @UseInterceptors(CacheInterceptor)
  class CachedController {
    @Get('items')
    items(@Query() query: Record<string, string>) {
      return { n: calls.bump('items'), query };
    }

    @Get('text')
    text() {
      return `plain ${calls.bump('text')}`;
    }

    @Get('slow')
    async slow() {
      const n = calls.bump('slow');
      await new Promise((r) => setTimeout(r, 150));
      return { n };
    }

    @Get('slow-fail')
    async slowFail() {
      calls.bump('slow-fail');
      await new Promise((r) => setTimeout(r, 150));
      throw new NotFoundException('nothing here');
    }

    @Get('fails')
    fails() {
      const n = calls.bump('fails');
      if (n === 1) throw new NotFoundException('not yet');
      return { n };
    }

    @Get('private')
    @Header('Cache-Control', 'private, max-age=60')
    privateResponse() {
      return { n: calls.bump('private') };
    }

    @Get('no-store')
    noStore(@Res({ passthrough: true }) res: any) {
      const set = typeof res.setHeader === 'function' ? res.setHeader.bind(res) : res.header.bind(res);
      set('Cache-Control', 'no-store');
      return { n: calls.bump('no-store') };
    }

    @Get('sets-cookie')
    setsCookie(@Res({ passthrough: true }) res: any) {
      const set = typeof res.setHeader === 'function' ? res.setHeader.bind(res) : res.header.bind(res);
      set('Set-Cookie', `visit=${calls.bump('sets-cookie')}; Path=/; HttpOnly`);
      return { ok: true };
    }

    @Get('created')
    @HttpCode(202)
    created() {
      return { n: calls.bump('created') };
    }

    @Get('stream')
    stream() {
      calls.bump('stream');
      return new StreamableFile(Readable.from([Buffer.from('streamed')]), { type: 'text/plain' });
    }

    @Get('keyed')
    @CacheKey('fixed-key')
    keyed(@Query('v') v: string) {
      return { n: calls.bump('keyed'), v };
    }

    @Get('short')
    @CacheTTL(150)
    short() {
      return { n: calls.bump('short') };
    }
  }

  @Controller('per-user')
  @UseInterceptors(PerUserCacheInterceptor)
  class PerUserController {
    @Get()
    me() {
      return { n: calls.bump('per-user') };
    }
  }

  return [CachedController, PerUserController];
}

/** The caching test app; `calls` observes the handlers. */
export function cacheApp(options: BackendsModuleOptions, calls: Calls): DynamicModule {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: cacheControllers(calls) })
  class CacheAppModule {}
  return { module: CacheAppModule };
}
