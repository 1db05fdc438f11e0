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
  Render,
  Req,
  Res,
  StreamableFile,
  UseInterceptors,
} from '@nestjs/common';
import { Readable } from 'node:stream';
import { concat, of, throwError } from 'rxjs';
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

/** Sets a response header on an Express response or a Fastify reply, as a handler would. */
function setHeader(res: any, name: string, value: string): void {
  if (typeof res.setHeader === 'function') res.setHeader(name, value);
  else res.header(name, value);
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

  /** Answers whose fidelity on a hit is under test: host, headers, Vary, streams, sessions, views. */
  @Controller('fidelity')
  @UseInterceptors(CacheInterceptor)
  class FidelityController {
    @Get('host')
    host(@Req() req: any) {
      return { host: req.hostname, n: calls.bump('host') };
    }

    @Get('echo')
    echo(@Query('msg') msg: string, @Res({ passthrough: true }) res: any) {
      calls.bump('echo');
      res.type('text/plain');
      return `You said: ${msg}`;
    }

    @Get('download')
    download(@Res({ passthrough: true }) res: any) {
      const n = calls.bump('download');
      res.type('text/csv');
      setHeader(res, 'Content-Disposition', 'attachment; filename="report.csv"');
      setHeader(res, 'ETag', '"report-v1"');
      setHeader(res, 'X-Report-Rows', '1');
      return `a,b\n${n},2\n`;
    }

    @Get('negotiated')
    negotiated(@Req() req: any, @Res({ passthrough: true }) res: any) {
      const n = calls.bump('negotiated');
      setHeader(res, 'Vary', 'Accept');
      if (String(req.headers.accept).includes('text/csv')) {
        res.type('text/csv');
        return `n\n${n}\n`;
      }
      return { n };
    }

    @Get('vary-any')
    varyAny(@Res({ passthrough: true }) res: any) {
      setHeader(res, 'Vary', '*');
      return { n: calls.bump('vary-any') };
    }

    @Get('query')
    query(@Query() query: Record<string, unknown>) {
      return { n: calls.bump('query'), query };
    }

    @Get('partial')
    partial() {
      const n = calls.bump('partial');
      return of({ part: 'first', n }, { part: 'final', n });
    }

    @Get('partial-error')
    partialError() {
      const n = calls.bump('partial-error');
      return concat(
        of({ page: 1, n }),
        throwError(() => new Error('page 2 failed')),
      );
    }

    /** Creates a session (a CSRF token) for an anonymous visitor: the answer is that visitor's. */
    @Get('csrf')
    csrf(@Req() req: any) {
      const n = calls.bump('csrf');
      req.session.csrf ??= `token-${n}`;
      return { csrf: req.session.csrf };
    }

    /** Does not touch the session: cacheable with the session middleware installed. */
    @Get('public')
    publicPage() {
      return { n: calls.bump('public') };
    }

    @Get('page')
    @Render('page')
    page() {
      return { title: 'Products', n: calls.bump('page') };
    }

    @Get('page-dated')
    @Render('page')
    pageDated() {
      return { title: new Date(0), n: calls.bump('page-dated') };
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

  return [CachedController, FidelityController, PerUserController];
}

/** The caching test app; `calls` observes the handlers. */
export function cacheApp(options: BackendsModuleOptions, calls: Calls): DynamicModule {
  @Module({ imports: [BackendsModule.forRoot(options)], controllers: cacheControllers(calls) })
  class CacheAppModule {}
  return { module: CacheAppModule };
}
