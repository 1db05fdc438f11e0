import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  Optional,
  type Type,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { BackendError } from '../errors/index.js';
import { type HttpPair, setResponseHeader } from '../utils/http.util.js';
import { OutageReporter } from '../utils/outage.util.js';
import { clientIp } from './client-ip.util.js';
import {
  type NamedRate,
  SKIP_THROTTLE_METADATA,
  THROTTLE_METADATA,
  type ThrottleMetadata,
} from './throttle.decorator.js';
import { THROTTLE_SETTINGS, type ThrottleSettings } from './throttler.constants.js';
import { ThrottlerException, ThrottlerUnavailableException } from './throttler.exception.js';
import { type ThrottleResult, Throttler } from './throttler.service.js';
import { RoutePlans } from '../utils/route-plans.util.js';

/** The limits of one route, resolved once from its metadata. */
interface RoutePlan {
  /** Key prefix of each limit: scope + limit name. */
  limits: { rate: NamedRate; prefix: string }[];
}

const SKIP: RoutePlan = { limits: [] };
const COUNTED = Symbol('nestjs-backends:throttled');
const DEFAULT_SETTINGS: ThrottleSettings = { defaultLimits: [], onBackendError: 'allow', ipv6Subnet: 64, global: false };

/**
 * Limits requests per client with the shared backend: `X-RateLimit-*` headers on every throttled
 * response, 429 with `Retry-After` past the limit. Subclass it to change one step (tracker,
 * request extraction for WebSocket/GraphQL, the error thrown).
 * @example @UseGuards(ThrottlerGuard) @Throttle('10/minute') @Get() list() {}
 */
@Injectable()
export class ThrottlerGuard implements CanActivate {
  /** Logger of backend failures (one warning per outage). */
  protected readonly logger = new Logger('ThrottlerGuard');
  private readonly outage = new OutageReporter(this.logger, 'Throttling');
  private readonly plans = new RoutePlans<RoutePlan>((cls, handler) => this.buildPlan(cls, handler));
  protected readonly settings: ThrottleSettings;

  constructor(
    protected readonly throttler: Throttler,
    protected readonly reflector: Reflector,
    @Optional() @Inject(THROTTLE_SETTINGS) settings?: ThrottleSettings,
  ) {
    this.settings = settings ?? DEFAULT_SETTINGS;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const plan = this.plans.of(context);
    if (plan === SKIP) return true;
    const pair = this.getRequestResponse(context);
    if (pair === undefined) return true;
    const { req, res } = pair;
    if (this.settings.global) {
      // A route under both the global guard and @UseGuards(ThrottlerGuard) is counted once.
      const marks = req as Record<symbol, unknown>;
      if (marks[COUNTED] === true) return true;
      marks[COUNTED] = true;
    }
    const skip = this.shouldSkip(context, req);
    if (skip === true || (skip !== false && (await skip))) return true;
    const trackerOrPromise = this.getTracker(context, req);
    const tracker = typeof trackerOrPromise === 'string' ? trackerOrPromise : await trackerOrPromise;

    let results: ThrottleResult[];
    try {
      const limits = plan.limits;
      results =
        limits.length === 1
          ? [await this.throttler.take(limits[0].prefix + tracker, limits[0].rate)]
          : await Promise.all(limits.map((l) => this.throttler.take(l.prefix + tracker, l.rate)));
    } catch (err) {
      if (!(err instanceof BackendError)) throw err;
      return this.onBackendError(context, err);
    }
    this.outage.ok();

    // Report the most constrained limit; refuse when any limit is exceeded.
    let shown = results[0];
    let refused: ThrottleResult | undefined;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (i > 0 && (r.remaining < shown.remaining || (r.remaining === shown.remaining && r.resetMs > shown.resetMs))) {
        shown = r;
      }
      if (!r.allowed && (refused === undefined || r.retryAfterMs > refused.retryAfterMs)) refused = r;
    }
    if (refused !== undefined) shown = refused;
    this.setHeaders(res, shown);
    if (refused !== undefined) {
      setResponseHeader(res, 'Retry-After', Math.max(1, Math.ceil(refused.retryAfterMs / 1000)));
      return this.throwThrottlingException(context, refused);
    }
    return true;
  }

  /**
   * The request and response of the context. HTTP by default; override it for other transports,
   * e.g. GraphQL: `const ctx = GqlExecutionContext.create(context).getContext(); return { req: ctx.req, res: ctx.res }`,
   * or WebSocket: `return { req: context.switchToWs().getClient() }` (with a `getTracker` reading the socket's address).
   * Returning `undefined` lets the request through unthrottled.
   */
  protected getRequestResponse(context: ExecutionContext): HttpPair | undefined {
    if (context.getType() !== 'http') return undefined;
    const http = context.switchToHttp();
    return { req: http.getRequest(), res: http.getResponse() };
  }

  /**
   * Who is counted: `throttle.tracker` when configured, else the client IP as Express/Fastify
   * compute it (`req.ip`, following the app's trust-proxy setting; IPv6 grouped by subnet).
   */
  protected getTracker(context: ExecutionContext, req: Record<string, any>): string | Promise<string> {
    const custom = this.settings.tracker;
    if (custom !== undefined) return custom(req, context);
    return clientIp(req, this.settings.ipv6Subnet);
  }

  /** Extra per-request exemption (e.g. health checks or trusted clients). @default never */
  protected shouldSkip(_context: ExecutionContext, _req: Record<string, any>): boolean | Promise<boolean> {
    return false;
  }

  /** Sets `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds). */
  protected setHeaders(res: Record<string, any> | undefined, result: ThrottleResult): void {
    if (res === undefined) return;
    setResponseHeader(res, 'X-RateLimit-Limit', result.limit);
    setResponseHeader(res, 'X-RateLimit-Remaining', result.remaining);
    setResponseHeader(res, 'X-RateLimit-Reset', Math.max(1, Math.ceil(result.resetMs / 1000)));
  }

  /** Refuses the request: throws {@link ThrottlerException} (429). Override for another transport's error. */
  protected throwThrottlingException(_context: ExecutionContext, _result: ThrottleResult): never {
    throw new ThrottlerException();
  }

  /** Applies `throttle.onBackendError`: let through (warning once per outage) or 503. */
  protected onBackendError(_context: ExecutionContext, err: BackendError): boolean {
    this.outage.failed(err);
    if (this.settings.onBackendError === 'deny') throw new ThrottlerUnavailableException();
    return true;
  }

  private buildPlan(cls: Type, handler: (...args: any[]) => any): RoutePlan {
    const skip = this.reflector.getAllAndOverride<boolean | undefined>(SKIP_THROTTLE_METADATA, [handler, cls]);
    if (skip === true) return SKIP;
    const onHandler = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, handler);
    const onClass = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, cls);
    const limits = onHandler?.limits ?? onClass?.limits ?? this.settings.defaultLimits;
    if (limits.length === 0) return SKIP;
    const scope = onHandler?.scope ?? onClass?.scope ?? `${cls.name}.${handler.name}`;
    return { limits: limits.map((rate) => ({ rate, prefix: `${scope}\u0000${rate.name}\u0000` })) };
  }
}
