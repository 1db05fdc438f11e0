import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  Optional,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { BackendError } from '../errors/index.js';
import { type HttpPair, nodeSetHeader, setResponseHeader } from '../utils/http.util.js';
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
import { type ThrottleResult, Throttler, TrackedLimit } from './throttler.service.js';
import { RoutePlans } from '../utils/route-plans.util.js';

/** The limits of one route, resolved once from its metadata. */
interface RoutePlan {
  /** Each limit with its key prefix (scope + limit name) and its recent trackers. */
  limits: TrackedLimit[];
}

const SKIP: RoutePlan = { limits: [] };
const COUNTED = Symbol('nestjs-backends:throttled');
const DEFAULT_SETTINGS: ThrottleSettings = {
  defaultLimits: [],
  onBackendError: 'allow',
  ipv6Subnet: 64,
  global: false,
};

/**
 * The `settings` of the Express app Nest serves (read live, so a later `app.set('trust proxy', …)`
 * counts), or `null` on another platform. Read from the app once instead of from `req.app` on each
 * request: Express gives every request object a shape of its own, so each property read from one
 * costs V8 a slow lookup.
 */
function expressSettings(host: HttpAdapterHost | undefined): Record<string, unknown> | null {
  const app: unknown = host?.httpAdapter?.getInstance?.();
  if (typeof app !== 'function' || typeof (app as { set?: unknown }).set !== 'function') return null;
  const settings: unknown = (app as { settings?: unknown }).settings;
  return typeof settings === 'object' && settings !== null ? (settings as Record<string, unknown>) : null;
}

/** The decimal text of the last number asked for, kept until another number comes. */
class NumberText {
  private n = 0;
  private text = '0';

  of(n: number): string {
    if (n !== this.n) {
      this.n = n;
      this.text = String(n);
    }
    return this.text;
  }
}

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
  private readonly limitText = new NumberText();
  private readonly resetText = new NumberText();
  protected readonly settings: ThrottleSettings;
  /** The Express app's `settings` once looked up, `null` on another platform or without the app. */
  private appSettings: Record<string, unknown> | null | undefined;

  constructor(
    protected readonly throttler: Throttler,
    protected readonly reflector: Reflector,
    @Optional() @Inject(THROTTLE_SETTINGS) settings?: ThrottleSettings,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.settings = settings ?? DEFAULT_SETTINGS;
  }

  /**
   * Counts the request against each limit of its route. Answers synchronously when it can (memory
   * backend, no asynchronous hook), which spares Nest an await per request.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
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
    if (skip === true) return true;
    if (skip !== false) {
      return skip.then((skipped) => (skipped ? true : this.countTracker(context, plan, req, res)));
    }
    return this.countTracker(context, plan, req, res);
  }

  /**
   * The request and response of the context. HTTP by default; override it for other transports,
   * e.g. GraphQL: `const ctx = GqlExecutionContext.create(context).getContext(); return { req: ctx.req, res: ctx.res }`,
   * or WebSocket: `return { req: context.switchToWs().getClient() }` (with a `getTracker` reading the socket's address).
   * Returning `undefined` lets the request through unthrottled.
   */
  protected getRequestResponse(context: ExecutionContext): HttpPair | undefined {
    if (context.getType() !== 'http') return undefined;
    // The HTTP arguments are (req, res, next); switchToHttp() would build three closures per call.
    return { req: context.getArgByIndex(0), res: context.getArgByIndex(1) };
  }

  /**
   * Who is counted: `throttle.tracker` when configured, else the client IP as Express/Fastify
   * compute it (`req.ip`, following the app's trust-proxy setting; IPv6 grouped by subnet).
   */
  protected getTracker(context: ExecutionContext, req: Record<string, any>): string | Promise<string> {
    const custom = this.settings.tracker;
    if (custom !== undefined) return custom(req, context);
    let app = this.appSettings;
    if (app === undefined) app = this.appSettings = expressSettings(this.adapterHost);
    return clientIp(req, this.settings.ipv6Subnet, app ?? undefined);
  }

  /** Extra per-request exemption (e.g. health checks or trusted clients). @default never */
  protected shouldSkip(_context: ExecutionContext, _req: Record<string, any>): boolean | Promise<boolean> {
    return false;
  }

  /** Sets `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds). */
  protected setHeaders(res: Record<string, any> | undefined, result: ThrottleResult): void {
    if (res === undefined) return;
    // Strings, so Node converts nothing twice (it checks a value, then writes it). The limit and the
    // reset second repeat from one request to the next: their text is reused.
    const limit = this.limitText.of(result.limit);
    const reset = this.resetText.of(Math.max(1, Math.ceil(result.resetMs / 1000)));
    const setHeader = nodeSetHeader(res);
    if (setHeader !== undefined) {
      setHeader.call(res, 'X-RateLimit-Limit', limit);
      setHeader.call(res, 'X-RateLimit-Remaining', String(result.remaining));
      setHeader.call(res, 'X-RateLimit-Reset', reset);
      return;
    }
    // A Fastify reply: its own `header`, without looking for `setHeader` again for each header.
    if (typeof res.header !== 'function') return;
    res.header('X-RateLimit-Limit', limit);
    res.header('X-RateLimit-Remaining', String(result.remaining));
    res.header('X-RateLimit-Reset', reset);
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

  private countTracker(
    context: ExecutionContext,
    plan: RoutePlan,
    req: Record<string, any>,
    res: Record<string, any> | undefined,
  ): boolean | Promise<boolean> {
    const tracker = this.getTracker(context, req);
    if (typeof tracker !== 'string') return tracker.then((t) => this.count(context, plan, res, t));
    return this.count(context, plan, res, tracker);
  }

  /** One increment per limit, then the headers and the verdict. */
  private count(
    context: ExecutionContext,
    plan: RoutePlan,
    res: Record<string, any> | undefined,
    tracker: string,
  ): boolean | Promise<boolean> {
    const limits = plan.limits;
    let taken: ThrottleResult | Promise<ThrottleResult> | Promise<ThrottleResult[]>;
    try {
      taken =
        limits.length === 1
          ? this.throttler.takeTracked(limits[0], tracker)
          : Promise.all(limits.map((l) => this.throttler.takeTracked(l, tracker)));
    } catch (err) {
      return this.failed(context, err);
    }
    if (taken instanceof Promise) {
      return taken.then(
        (results) => this.decide(context, res, results),
        (err: unknown) => this.failed(context, err),
      );
    }
    return this.decide(context, res, taken);
  }

  /** Sets the headers of the most constrained limit and refuses when any limit is exceeded. */
  private decide(
    context: ExecutionContext,
    res: Record<string, any> | undefined,
    results: ThrottleResult | ThrottleResult[],
  ): boolean {
    this.outage.ok();
    let shown: ThrottleResult;
    let refused: ThrottleResult | undefined;
    if (!Array.isArray(results)) {
      shown = results;
      if (!results.allowed) refused = results;
    } else {
      shown = results[0];
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        if (
          i > 0 &&
          (r.remaining < shown.remaining || (r.remaining === shown.remaining && r.resetMs > shown.resetMs))
        ) {
          shown = r;
        }
        if (!r.allowed && (refused === undefined || r.retryAfterMs > refused.retryAfterMs)) refused = r;
      }
    }
    if (refused !== undefined) shown = refused;
    this.setHeaders(res, shown);
    if (refused !== undefined) {
      setResponseHeader(res, 'Retry-After', Math.max(1, Math.ceil(refused.retryAfterMs / 1000)));
      return this.throwThrottlingException(context, refused);
    }
    return true;
  }

  /** A backend error goes to {@link ThrottlerGuard.onBackendError}; anything else is rethrown. */
  private failed(context: ExecutionContext, err: unknown): boolean {
    if (!(err instanceof BackendError)) throw err;
    return this.onBackendError(context, err);
  }

  private buildPlan(cls: Type, handler: (...args: any[]) => any): RoutePlan {
    const skip = this.reflector.getAllAndOverride<boolean | undefined>(SKIP_THROTTLE_METADATA, [handler, cls]);
    if (skip === true) return SKIP;
    const onHandler = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, handler);
    const onClass = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, cls);
    const limits = onHandler?.limits ?? onClass?.limits ?? this.settings.defaultLimits;
    if (limits.length === 0) return SKIP;
    const scope = onHandler?.scope ?? onClass?.scope ?? `${cls.name}.${handler.name}`;
    return { limits: limits.map((rate: NamedRate) => new TrackedLimit(rate, `${scope}\u0000${rate.name}\u0000`)) };
  }
}
