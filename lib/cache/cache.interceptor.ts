import {
  type CallHandler,
  type ExecutionContext,
  Injectable,
  type NestInterceptor,
  StreamableFile,
  type Type,
} from '@nestjs/common';
import {
  HEADERS_METADATA,
  HTTP_CODE_METADATA,
  REDIRECT_METADATA,
  RENDER_METADATA,
  SSE_METADATA,
} from '@nestjs/common/constants.js';
import { Reflector } from '@nestjs/core';
import { type Observable, of, tap } from 'rxjs';
import { getResponseHeader, setResponseHeader } from '../utils/http.util.js';
import { RoutePlans } from '../utils/route-plans.util.js';
import {
  type CachedAnswer,
  type EntryKind,
  markerNames,
  type PreparedEntry,
  sealEntry,
  serveEntry,
  UNSERVABLE,
  varyMarker,
} from './cache-entry.util.js';
import { CACHE_KEY_METADATA, type CacheKeyFactory } from './cache-key.decorator.js';
import { requestKey, variantKey, varyNames } from './cache-key.util.js';
import { CACHE_TTL_METADATA } from './cache-ttl.decorator.js';
import { CacheService } from './cache.service.js';

/** What the interceptor knows of a route, resolved once from its metadata. */
interface RoutePlan {
  ttlMs: number;
  key?: string | CacheKeyFactory;
  /** A `@Render` route: its entries hold the view's locals, rendered again on a hit. */
  render: boolean;
}

const NEVER: RoutePlan = { ttlMs: 0, render: false };
const UNSHAREABLE = /\b(?:private|no-store)\b/i;
/** Headers never replayed from an entry: computed for each response, ours, or one user's. */
const NOT_REPLAYED = new Set([
  'set-cookie',
  'x-cache',
  'content-type', // stored apart, as written
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'date',
]);

/**
 * Caches the results of GET handlers (HEAD is answered from the same entry) on the shared
 * backend, with `X-Cache: HIT | MISS | BYPASS` and one handler run per key for concurrent misses.
 * An entry keeps the status, the content type and the headers the handler set, and answers vary
 * on the request headers their `Vary` names. Never caches errors, streams, non-200 answers,
 * responses that set cookies (also those a session middleware adds as the head is written) or
 * are marked `Cache-Control: private | no-store`, nor requests with `Authorization` or cookies
 * unless {@link CacheInterceptor.trackBy} is overridden to include the user in the key.
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

  /** Answers a request `trackBy` keyed (or left out: `X-Cache: BYPASS`). */
  private answer(
    context: ExecutionContext,
    plan: RoutePlan,
    key: string | undefined,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (key === undefined) {
      setResponseHeader(context.getArgByIndex(1), 'X-Cache', 'BYPASS');
      return next.handle();
    }
    return this.lookup(context, plan, key, key, next);
  }

  /** Serves `key` (`base` or a variant of it) from a running flight or the cache, else leads a flight. */
  private lookup(
    context: ExecutionContext,
    plan: RoutePlan,
    base: string,
    key: string,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    const pending = this.cache.flights.get(key);
    if (pending !== undefined) return this.join(pending, context, plan, base, key, next);
    const stored = this.cache.readEntry(key);
    if (stored instanceof Promise) return stored.then((entry) => this.afterRead(context, plan, base, key, entry, next));
    return this.afterRead(context, plan, base, key, stored, next);
  }

  private afterRead(
    context: ExecutionContext,
    plan: RoutePlan,
    base: string,
    key: string,
    stored: string | undefined | null,
    next: CallHandler,
  ): Observable<unknown> | Promise<Observable<unknown>> {
    if (typeof stored === 'string') {
      const names = markerNames(stored);
      if (names === undefined) {
        const body = serveEntry(context.getArgByIndex(1), stored, plan.render);
        if (body !== UNSERVABLE) return of(body);
      } else if (key === base) {
        // Answers here vary on request headers: look up this request's variant.
        return this.lookup(context, plan, base, variantKey(base, names, context.getArgByIndex(0).headers), next);
      }
    } else if (stored === null) {
      // The backend failed or is slow: answer as if uncached, without storing anything.
      setResponseHeader(context.getArgByIndex(1), 'X-Cache', 'MISS');
      return next.handle();
    }
    // Checked again: another request may have become the leader while this one was reading.
    const pending = this.cache.flights.get(key);
    if (pending !== undefined) return this.join(pending, context, plan, base, key, next);
    return this.lead(context, plan, base, key, next);
  }

  /** Whether the request may be answered from the cache: GET or HEAD. */
  protected isRequestCacheable(_context: ExecutionContext, req: Record<string, any>): boolean {
    const method = req.method;
    return method === 'GET' || method === 'HEAD';
  }

  /**
   * The cache key of the request, or `undefined` to leave it uncached (`X-Cache: BYPASS`). By
   * default requests with `Authorization` or a cookie are not cached; override to cache them per
   * user, e.g. `return req.user ? \`${req.user.id}:${this.getRouteKey(context)}\` : super.trackBy(context)`.
   */
  protected trackBy(context: ExecutionContext): string | undefined | Promise<string | undefined> {
    const headers = context.getArgByIndex(0).headers ?? {};
    if (headers.authorization !== undefined || headers.cookie !== undefined) return undefined;
    return this.getRouteKey(context);
  }

  /**
   * The key of the route for this request: `@CacheKey()`, else `GET <host> <path>?<query>` with
   * the host as the app sees it and the query as sent, its parameters sorted by name.
   */
  protected getRouteKey(context: ExecutionContext): string | undefined {
    const custom = this.plans.of(context).key;
    if (typeof custom === 'string') return custom;
    if (typeof custom === 'function') return custom(context);
    return requestKey(context.getArgByIndex(0));
  }

  /**
   * Whether a handler's result may be stored, asked when the response head is written (so headers
   * a session middleware adds then count): status 200, no `Set-Cookie`, no
   * `Cache-Control: private | no-store`, and a JSON-serializable value or a string (not a stream).
   */
  protected isResponseCacheable(_context: ExecutionContext, res: Record<string, any>, value: unknown): boolean {
    if (!isStorableValue(value)) return false;
    if (res.statusCode !== undefined && res.statusCode !== 200) return false;
    if (getResponseHeader(res, 'set-cookie') !== undefined) return false;
    const cacheControl = getResponseHeader(res, 'cache-control');
    return cacheControl === undefined || !UNSHAREABLE.test(String(cacheControl));
  }

  /**
   * Waits for the leader of `joined`: its stored answer when this request has the same key; when
   * the answer varies and this request (which joined on the base key) is another variant, that
   * variant's own lookup (once); else a run of our own.
   */
  private async join(
    pending: Promise<CachedAnswer | undefined>,
    context: ExecutionContext,
    plan: RoutePlan,
    base: string,
    joined: string,
    next: CallHandler,
  ): Promise<Observable<unknown>> {
    const answer = await pending;
    const res = context.getArgByIndex(1);
    if (answer !== undefined) {
      const mine = answer.vary.length === 0 ? base : variantKey(base, answer.vary, context.getArgByIndex(0).headers);
      if (mine === answer.key) {
        const body = serveEntry(res, answer.entry, plan.render);
        if (body !== UNSERVABLE) return of(body);
      } else if (joined === base) {
        return this.lookup(context, plan, base, mine, next);
      }
    }
    setResponseHeader(res, 'X-Cache', 'MISS');
    return next.handle();
  }

  /**
   * Runs the handler for every concurrent request of `key`. The last value of a stream that
   * completes is prepared as an entry; whether it is stored is decided when the response head is
   * written, after every middleware and hook has set its headers.
   */
  private lead(
    context: ExecutionContext,
    plan: RoutePlan,
    base: string,
    key: string,
    next: CallHandler,
  ): Observable<unknown> {
    const flights = this.cache.flights;
    const req = context.getArgByIndex(0);
    const res = context.getArgByIndex(1);
    let settle!: (answer: CachedAnswer | undefined) => void;
    let fail!: (err: unknown) => void;
    const flight = new Promise<CachedAnswer | undefined>((resolve, reject) => {
      settle = resolve;
      fail = reject;
    });
    flight.catch(() => undefined); // waiters get the error; nobody waiting is fine too
    flights.set(key, flight);
    let done = false;
    const release = () => {
      if (flights.get(key) === flight) flights.delete(key);
    };
    const finish = (answer: CachedAnswer | undefined) => {
      if (done) return;
      done = true;
      settle(answer);
      // The flight stays until the entry is written, so a request reading meanwhile joins it.
      if (answer === undefined) return release();
      const ttlMs = plan.ttlMs;
      const writes = [this.cache.writeEntry(answer.key, answer.entry, ttlMs)];
      if (answer.vary.length > 0) writes.push(this.cache.writeEntry(base, varyMarker(answer.vary), ttlMs));
      void Promise.all(writes).then(release);
    };

    const before = responseHeaders(res);
    setResponseHeader(res, 'X-Cache', 'MISS');
    let last: unknown;
    let completed = false;
    let prepared: PreparedEntry | undefined;
    const raw: Record<string, any> = res.raw ?? res;
    afterHeadWritten(raw, () => {
      if (done) return;
      try {
        if (prepared === undefined || !this.isResponseCacheable(context, res, last)) return finish(undefined);
        const entry = sealEntry(prepared, res.statusCode ?? 200, getResponseHeader(res, 'content-type'));
        const vary = prepared.vary;
        finish({ key: vary.length === 0 ? base : variantKey(base, vary, req.headers), entry, vary });
      } catch {
        finish(undefined);
      }
    });
    raw.once?.('close', () => finish(undefined)); // the head was never written (the client left)
    return next.handle().pipe(
      tap({
        next: (value) => {
          last = value;
        },
        error: (err) => {
          if (done) return;
          done = true;
          fail(err);
          release();
        },
        complete: () => {
          completed = true;
          prepared = this.prepare(plan, res, last, before);
          if (prepared === undefined) finish(undefined);
        },
        finalize: () => {
          if (!completed) finish(undefined); // unsubscribed before completing
        },
      }),
    );
  }

  /** The entry of a completed handler's last value, but for its status and content type. */
  private prepare(
    plan: RoutePlan,
    res: Record<string, any>,
    value: unknown,
    before: Record<string, unknown>,
  ): PreparedEntry | undefined {
    if (!isStorableValue(value)) return undefined;
    const vary = varyNames(getResponseHeader(res, 'vary'));
    if (vary === '*') return undefined;
    let kind: EntryKind;
    let body: string;
    if (plan.render) {
      // Locals are rendered again on a hit: only those that read back the same from JSON.
      if (typeof value !== 'object' || !isPlainJson(value, 0)) return undefined;
      kind = 'r';
      body = JSON.stringify(value);
    } else if (typeof value === 'string') {
      kind = 's';
      body = value;
    } else {
      try {
        const text = JSON.stringify(value);
        if (text === undefined) return undefined;
        kind = 'j';
        body = text;
      } catch {
        return undefined; // cycles, BigInt...: the response is sent as usual, just not cached
      }
    }
    const headers: [string, unknown][] = [];
    const now = responseHeaders(res);
    for (const name of Object.keys(now)) {
      const value = now[name];
      if (NOT_REPLAYED.has(name) || value === undefined || sameHeader(before[name], value)) continue;
      headers.push([name, value]);
    }
    return { kind, body, headers, vary };
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
      render: Reflect.getMetadata(RENDER_METADATA, handler) !== undefined,
    };
  }
}

/** A value an entry can hold: a string or a JSON-serializable object, not bytes or a stream. */
function isStorableValue(value: unknown): boolean {
  if (value === undefined || value === null) return false;
  if (typeof value !== 'object' && typeof value !== 'string') return false;
  if (value instanceof StreamableFile || value instanceof Uint8Array) return false;
  return typeof (value as { pipe?: unknown }).pipe !== 'function';
}

/** Plain JSON data (no Date, class instance, function...): what `JSON.parse(JSON.stringify(v))` gives back. */
function isPlainJson(value: unknown, depth: number): boolean {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value !== 'object' || depth > 64) return false;
  if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return false;
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== undefined && !isPlainJson(item, depth + 1)) return false;
  }
  return true;
}

/** The response headers set so far, names lower-cased, on an Express response or a Fastify reply. */
function responseHeaders(res: Record<string, any>): Record<string, unknown> {
  return typeof res.getHeaders === 'function' ? (res.getHeaders() as Record<string, unknown>) : {};
}

function sameHeader(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((v, i) => v === b[i]);
}

/**
 * Calls `fn` once the head of `raw` (a Node response) is written: after the `writeHead` it had,
 * so after what was wrapped around it before (express-session's `on-headers` adds `Set-Cookie`
 * there; Fastify's `onSend` hooks, e.g. @fastify/session's, ran before it).
 */
function afterHeadWritten(raw: Record<string, any>, fn: () => void): void {
  const writeHead = raw.writeHead as ((...args: unknown[]) => unknown) | undefined;
  if (typeof writeHead !== 'function') return;
  let called = false;
  raw.writeHead = function (this: unknown, ...args: unknown[]) {
    const result = writeHead.apply(this, args);
    if (!called) {
      called = true;
      fn();
    }
    return result;
  };
}
