import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  StreamableFile,
  type Type,
} from '@nestjs/common';
import { HEADERS_METADATA, HTTP_CODE_METADATA, REDIRECT_METADATA, SSE_METADATA } from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { type Observable, of, tap } from 'rxjs';
import { getResponseHeader, setResponseHeader } from '../utils/http.util.js';
import { CACHE_KEY_METADATA, type CacheKeyFactory } from './cache-key.decorator.js';
import { CACHE_TTL_METADATA } from './cache-ttl.decorator.js';
import { CacheService } from './cache.service.js';
import { RoutePlans } from '../utils/route-plans.util.js';

/** What the interceptor knows of a route, resolved once from its metadata. */
interface RoutePlan {
  ttlMs: number;
  key?: string | CacheKeyFactory;
}

const NEVER: RoutePlan = { ttlMs: 0 };
/** Entries are stored serialized, tagged with how to send them back. */
const JSON_ENTRY = 'j';
const TEXT_ENTRY = 's';
const JSON_TYPE = 'application/json; charset=utf-8';
const UNSHAREABLE = /\b(?:private|no-store)\b/i;

/**
 * Caches the results of GET handlers (HEAD is answered from the same entry) on the shared
 * backend, with `X-Cache: HIT | MISS` and one handler run per key for concurrent misses.
 * Never caches errors, streams, non-200 answers, responses that set cookies or are marked
 * `Cache-Control: private | no-store`, nor requests with `Authorization` or cookies unless
 * {@link CacheInterceptor.trackBy} is overridden to include the user in the key.
 * @example @UseInterceptors(CacheInterceptor) @CacheTTL(10_000) @Get() list() {}
 */
@Injectable()
export class CacheInterceptor implements NestInterceptor {
  private readonly plans = new RoutePlans<RoutePlan>((cls, handler) => this.buildPlan(cls, handler));

  constructor(
    protected readonly cache: CacheService,
    protected readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> | Promise<Observable<unknown>> {
    if (context.getType() !== 'http') return next.handle();
    const plan = this.plans.of(context);
    if (plan === NEVER) return next.handle();
    if (!this.isRequestCacheable(context, context.getArgByIndex(0))) return next.handle();
    const key = this.trackBy(context);
    if (typeof key === 'string' || key === undefined) return this.answer(context, plan, key, next);
    return key.then((k) => this.answer(context, plan, k, next));
  }

  /** Serves `key` from a running flight or the cache, else runs the handler as the flight's leader. */
  private answer(
    context: ExecutionContext,
    plan: RoutePlan,
    key: string | undefined,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (key === undefined) return next.handle();
    const res = context.getArgByIndex(1);
    const pending = this.cache.flights.get(key);
    if (pending !== undefined) return this.join(pending, res, next);
    const stored = this.cache.readEntry(key);
    if (stored instanceof Promise) return stored.then((entry) => this.afterRead(context, plan, key, entry, res, next));
    return this.afterRead(context, plan, key, stored, res, next);
  }

  private afterRead(
    context: ExecutionContext,
    plan: RoutePlan,
    key: string,
    stored: string | undefined | null,
    res: Record<string, any>,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (typeof stored === 'string') return of(serve(res, stored, 'HIT'));
    if (stored === null) {
      // The backend failed or is slow: answer as if uncached, without storing anything.
      setResponseHeader(res, 'X-Cache', 'MISS');
      return next.handle();
    }
    // Checked again: another request may have become the leader while this one was reading.
    const pending = this.cache.flights.get(key);
    if (pending !== undefined) return this.join(pending, res, next);
    return this.lead(key, plan.ttlMs, context, res, next);
  }

  /** Whether the request may be answered from the cache: GET or HEAD. */
  protected isRequestCacheable(_context: ExecutionContext, req: Record<string, any>): boolean {
    const method = req.method;
    return method === 'GET' || method === 'HEAD';
  }

  /**
   * The cache key of the request, or `undefined` to leave it uncached. By default requests with
   * `Authorization` or a cookie are not cached; override to cache them per user, e.g.
   * `return req.user ? \`${req.user.id}:${this.getRouteKey(context)}\` : super.trackBy(context)`.
   */
  protected trackBy(context: ExecutionContext): string | undefined | Promise<string | undefined> {
    const headers = context.getArgByIndex(0).headers ?? {};
    if (headers.authorization !== undefined || headers.cookie !== undefined) return undefined;
    return this.getRouteKey(context);
  }

  /** The key of the route for this request: `@CacheKey()`, else `GET <path>?<query sorted by name>`. */
  protected getRouteKey(context: ExecutionContext): string | undefined {
    const custom = this.plans.of(context).key;
    if (typeof custom === 'string') return custom;
    if (typeof custom === 'function') return custom(context);
    const req = context.getArgByIndex(0);
    const url: string = req.originalUrl ?? req.url ?? '/';
    const q = url.indexOf('?');
    if (q === -1) return `GET ${url}`;
    const params = new URLSearchParams(url.slice(q + 1));
    params.sort();
    return `GET ${url.slice(0, q)}?${params.toString()}`;
  }

  /**
   * Whether a handler's result may be stored: status 200, no `Set-Cookie`, no
   * `Cache-Control: private | no-store`, and a JSON-serializable value or a string (not a stream).
   */
  protected isResponseCacheable(_context: ExecutionContext, res: Record<string, any>, value: unknown): boolean {
    if (value === undefined || value === null) return false;
    if (typeof value !== 'object' && typeof value !== 'string') return false;
    if (value instanceof StreamableFile || value instanceof Uint8Array) return false;
    if (typeof (value as { pipe?: unknown }).pipe === 'function') return false;
    if (res.statusCode !== undefined && res.statusCode !== 200) return false;
    if (getResponseHeader(res, 'set-cookie') !== undefined) return false;
    const cacheControl = getResponseHeader(res, 'cache-control');
    return cacheControl === undefined || !UNSHAREABLE.test(String(cacheControl));
  }

  /** Waits for the leader of `key`: its stored answer, its error, or a run of our own when it was not shareable. */
  private async join(
    pending: Promise<string | undefined>,
    res: Record<string, any>,
    next: CallHandler,
  ): Promise<Observable<unknown>> {
    const entry = await pending;
    if (entry !== undefined) return of(serve(res, entry, 'HIT'));
    setResponseHeader(res, 'X-Cache', 'MISS');
    return next.handle();
  }

  /** Runs the handler for every concurrent request of `key`, stores a cacheable result. */
  private lead(
    key: string,
    ttlMs: number,
    context: ExecutionContext,
    res: Record<string, any>,
    next: CallHandler,
  ): Observable<unknown> {
    const flights = this.cache.flights;
    let settle!: (entry: string | undefined) => void;
    let fail!: (err: unknown) => void;
    const flight = new Promise<string | undefined>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    flight.catch(() => undefined); // waiters get the error; nobody waiting is fine too
    flights.set(key, flight);
    let done = false;
    const release = () => {
      if (flights.get(key) === flight) flights.delete(key);
    };
    const finish = (entry: string | undefined) => {
      if (done) return;
      done = true;
      settle(entry);
      // The flight stays until the entry is written, so a request reading meanwhile joins it.
      if (entry === undefined) release();
      else void this.cache.writeEntry(key, entry, ttlMs).then(release);
    };
    setResponseHeader(res, 'X-Cache', 'MISS');
    return next.handle().pipe(
      tap({
        next: (value) => finish(this.toEntry(context, res, value)),
        error: (err) => {
          if (done) return;
          done = true;
          fail(err);
          release();
        },
        complete: () => finish(undefined),
        finalize: () => finish(undefined),
      }),
    );
  }

  private toEntry(context: ExecutionContext, res: Record<string, any>, value: unknown): string | undefined {
    if (!this.isResponseCacheable(context, res, value)) return undefined;
    if (typeof value === 'string') return TEXT_ENTRY + value;
    try {
      const text = JSON.stringify(value);
      return text === undefined ? undefined : JSON_ENTRY + text;
    } catch {
      return undefined; // cycles, BigInt...: the response is sent as usual, just not cached
    }
  }

  private buildPlan(cls: Type, handler: (...args: any[]) => any): RoutePlan {
    const code = Reflect.getMetadata(HTTP_CODE_METADATA, handler) as number | undefined;
    if (code !== undefined && code !== 200) return NEVER;
    if (Reflect.getMetadata(REDIRECT_METADATA, handler) !== undefined) return NEVER;
    if (Reflect.getMetadata(SSE_METADATA, handler) !== undefined) return NEVER;
    const headers = (Reflect.getMetadata(HEADERS_METADATA, handler) ?? []) as { name: string; value: string }[];
    for (const { name, value } of headers) {
      const lower = name.toLowerCase();
      if (lower === 'set-cookie') return NEVER;
      if (lower === 'cache-control' && UNSHAREABLE.test(String(value))) return NEVER;
    }
    return {
      ttlMs:
        this.reflector.getAllAndOverride<number | undefined>(CACHE_TTL_METADATA, [handler, cls]) ??
        this.cache.defaultTtlMs,
      key: this.reflector.getAllAndOverride<string | CacheKeyFactory | undefined>(CACHE_KEY_METADATA, [handler, cls]),
    };
  }
}

/** Answers from a stored entry: sets the headers and returns the body text as the handler result. */
function serve(res: Record<string, any>, entry: string, label: 'HIT' | 'MISS'): string {
  setResponseHeader(res, 'X-Cache', label);
  if (entry.charCodeAt(0) === 106 /* j */) setResponseHeader(res, 'Content-Type', JSON_TYPE);
  return entry.slice(1);
}
