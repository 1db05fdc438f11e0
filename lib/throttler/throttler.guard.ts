import {
  type CanActivate,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type OnModuleInit,
  Optional,
  type Type,
} from '@nestjs/common';
import { HttpAdapterHost, Reflector } from '@nestjs/core';
import { BackendError } from '../errors/index.js';
import { type HttpPair, nodeSetHeader, setResponseHeader } from '../utils/http.util.js';
import { OutageReporter } from '../utils/outage.util.js';
import { clientIp } from './client-ip.util.js';
import { ThrottlerConfigError } from './throttler-config.error.js';
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
  /** The limits' prefixes and rates: the same text for every guard instance on the route. */
  id: string;
}

const SKIP: RoutePlan = { limits: [], id: '' };
/**
 * What the guards of one invocation already counted (`plan id + tracker`), kept on its execution
 * context: Nest runs every guard of a route (global, class, handler) with one context per HTTP
 * request, WebSocket message or GraphQL resolver call, so a request is counted once per limit
 * however many guard instances it meets, while distinct messages of one socket or operations of
 * one batched HTTP request, which share their `req`, are each counted.
 */
const COUNTED = Symbol('nestjs-backends:counted');
type Counted = string | Set<string>;
/** Fastify's own symbol for the options it was built with (`fastify[kOptions]`). */
const FASTIFY_OPTIONS = 'fastify.options';
/** Fastify instances already warned about a numeric `trustProxy`. */
const warnedFastify = new WeakSet<object>();
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

/** Whether the key was already counted for this context; marks it counted otherwise. */
function countedBefore(context: object, key: string): boolean {
  const marks = context as Record<symbol, Counted | undefined>;
  const seen = marks[COUNTED];
  if (seen === undefined) {
    marks[COUNTED] = key;
    return false;
  }
  if (typeof seen === 'string') {
    if (seen === key) return true;
    marks[COUNTED] = new Set([seen, key]);
    return false;
  }
  if (seen.has(key)) return true;
  seen.add(key);
  return false;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null | undefined)?.then === 'function';
}

/** A tracker as a key: numbers become text; a missing one is a configuration error. */
function trackerText(value: unknown): string {
  if (typeof value === 'string' && value.length > 0) return value;
  if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'bigint') return String(value);
  const what =
    value === '' ? 'an empty string' : typeof value === 'object' && value !== null ? 'an object' : String(value);
  throw new ThrottlerConfigError(
    'invalid_tracker',
    `throttle.tracker (or ThrottlerGuard.getTracker) returned ${what}: it must return a non-empty string or a number`,
  );
}

/** The `trustProxy` option a Fastify instance was built with, if the instance is Fastify's. */
function fastifyTrustProxy(instance: unknown): unknown {
  if (typeof instance !== 'object' && typeof instance !== 'function') return undefined;
  if (instance === null) return undefined;
  const key = Object.getOwnPropertySymbols(instance).find((s) => s.description === FASTIFY_OPTIONS);
  if (key === undefined) return undefined;
  return ((instance as Record<symbol, { trustProxy?: unknown } | undefined>)[key] ?? {}).trustProxy;
}

/**
 * Limits requests per client with the shared backend: `X-RateLimit-*` headers on every throttled
 * response, 429 with `Retry-After` past the limit. Subclass it to change one step (tracker,
 * request extraction for WebSocket/GraphQL, the error thrown).
 * @example @UseGuards(ThrottlerGuard) @Throttle('10/minute') @Get() list() {}
 */
@Injectable()
export class ThrottlerGuard implements CanActivate, OnModuleInit {
  /** Logger of backend failures (one warning per outage). */
  protected readonly logger = new Logger('ThrottlerGuard');
  private readonly outage = new OutageReporter(this.logger, 'Throttling');
  private readonly plans = new RoutePlans<RoutePlan>((cls, handler) => this.buildPlan(cls, handler));
  private readonly limitText = new NumberText();
  private readonly resetText = new NumberText();
  protected readonly settings: ThrottleSettings;
  /** The Express app's `settings` once looked up, `null` on another platform or without the app. */
  private appSettings: Record<string, unknown> | null | undefined;
  private invalidIpReported = false;
  /** Reports the first client address that is not an IP (then counted under `unknown`), once per guard. */
  protected readonly onInvalidIp = (raw: string): void => {
    if (this.invalidIpReported) return;
    this.invalidIpReported = true;
    this.logger.warn(
      `Client address ${JSON.stringify(raw.slice(0, 64))} is not an IP address; such requests are counted ` +
        'under one "unknown" tracker (check the proxy that sets X-Forwarded-For). Reported once.',
    );
  };

  constructor(
    protected readonly throttler: Throttler,
    protected readonly reflector: Reflector,
    @Optional() @Inject(THROTTLE_SETTINGS) settings?: ThrottleSettings,
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.settings = settings ?? DEFAULT_SETTINGS;
  }

  /** Warns once when the app runs on Fastify with a numeric `trustProxy`, which trusts no proxy there. */
  onModuleInit(): void {
    const instance: unknown = this.adapterHost?.httpAdapter?.getInstance?.();
    if (typeof fastifyTrustProxy(instance) !== 'number' || warnedFastify.has(instance as object)) return;
    warnedFastify.add(instance as object);
    this.logger.warn(
      'Fastify ignores a numeric trustProxy (a hop count trusts no proxy since fastify 5): every client is ' +
        "counted as the balancer's address. Give the balancer's addresses or CIDRs instead, e.g. " +
        "new FastifyAdapter({ trustProxy: '10.0.0.0/8' }).",
    );
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
   * compute it (`req.ip`, following the app's trust-proxy setting, without port or brackets; IPv6
   * grouped by subnet). A number is used as text; an empty result fails with {@link ThrottlerConfigError}.
   */
  protected getTracker(
    context: ExecutionContext,
    req: Record<string, any>,
  ): string | number | Promise<string | number> {
    const custom = this.settings.tracker;
    if (custom !== undefined) return custom(req, context);
    let app = this.appSettings;
    if (app === undefined) app = this.appSettings = expressSettings(this.adapterHost);
    return clientIp(req, this.settings.ipv6Subnet, app ?? undefined, this.onInvalidIp);
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
    const tracker: unknown = this.getTracker(context, req);
    if (typeof tracker === 'string' && tracker.length > 0) return this.countOnce(context, plan, res, tracker);
    if (isThenable(tracker)) {
      return Promise.resolve(tracker).then((t) => this.countOnce(context, plan, res, trackerText(t)));
    }
    return this.countOnce(context, plan, res, trackerText(tracker));
  }

  /** Counts unless another guard of the same invocation already counted this plan and tracker. */
  private countOnce(
    context: ExecutionContext,
    plan: RoutePlan,
    res: Record<string, any> | undefined,
    tracker: string,
  ): boolean | Promise<boolean> {
    if (countedBefore(context, `${plan.id}\u0001${tracker}`)) return true;
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
    const tracked = limits.map((rate: NamedRate) => new TrackedLimit(rate, `${scope}\u0000${rate.name}\u0000`));
    return { limits: tracked, id: tracked.map((l) => `${l.prefix}${l.rate.limit}/${l.rate.ttlMs}`).join('\u0002') };
  }
}
