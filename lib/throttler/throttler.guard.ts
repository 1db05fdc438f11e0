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
import { parseRate } from './rate.parser.js';
import {
  DEFAULT_LIMIT_NAME as DEFAULT_NAME,
  type NamedRate,
  SKIP_THROTTLE_METADATA,
  THROTTLE_METADATA,
  type ThrottleMetadata,
} from './throttle.decorator.js';
import { THROTTLE_SETTINGS, type ThrottleSettings } from './throttler.constants.js';
import { ThrottlerException, ThrottlerUnavailableException } from './throttler.exception.js';
import type { Resolvable, ThrottlerLimitDetail } from './throttler-options.interface.js';
import { checkBlock, checkCost, type ThrottleResult, Throttler, TrackedLimit } from './throttler.service.js';

const DEFAULT_MESSAGE = 'Too Many Requests';
import { RoutePlans } from '../utils/route-plans.util.js';

/** One limit of a route plan. */
interface PlanLimit {
  rate: NamedRate;
  /** Scope and limit name: what the tracker is appended to in the key. */
  prefix: string;
  /** The limit's counters when its values are static. */
  tracked?: TrackedLimit;
  /** When its values are functions of the context: counters by resolved values (`limit/ttl/block`). */
  byValues?: Map<string, TrackedLimit>;
}

/** The limits of one route, resolved once from its metadata. */
interface RoutePlan {
  limits: PlanLimit[];
  /** Every limit's counters when all are static: the same array for every request. */
  tracked?: TrackedLimit[];
  /** The limits' prefixes and rates: the same text for every guard instance on the route. */
  id: string;
  scope: string;
  cost: Resolvable<number>;
}

/** A refusal as {@link ThrottlerGuard.throwThrottlingException} receives it: the binding limit and the message. */
export interface ThrottleRefusal extends ThrottleResult, ThrottlerLimitDetail {
  /** The 429's message (`throttle.errorMessage`, or `'Too Many Requests'`). */
  message: string;
}

/** Resolved limits kept per dynamic limit before the map is emptied. */
const MAX_DYNAMIC_VALUES = 100;

const SKIP: RoutePlan = { limits: [], id: '', scope: '', cost: 1 };
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
    `throttle.tracker (or ThrottlerGuard.getTracker) returned ${what}: it must return a non-empty string or a number ` +
      '(an override of getTracker receives (context, req), not (req, context) as in @nestjs/throttler)',
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
  /** Whether a subclass overrides {@link ThrottlerGuard.generateKey}: its keys then replace ours. */
  private readonly customKeys: boolean;
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
    this.customKeys = this.generateKey !== ThrottlerGuard.prototype.generateKey;
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
   * Counts the request against each limit of its route, in one step: refused by one limit, it is
   * counted on none. Answers synchronously when it can (memory backend, static limits, no
   * asynchronous hook), which spares Nest an await per request.
   */
  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const plan = this.plans.of(context);
    if (plan === SKIP) return true;
    const pair = this.getRequestResponse(context);
    if (pair === undefined) return true;
    const { req, res } = pair;
    if (this.settings.ignoreUserAgents !== undefined && this.ignoredAgent(req)) return true;
    const skip = this.skipRequest(context, req);
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

  /**
   * The key a limit counts under, as `@nestjs/throttler`'s `generateKey(context, tracker, name)`:
   * override it to share counters across routes or trackers (the text is hashed). By default the
   * route's scope, the limit's name and the tracker.
   */
  protected generateKey(context: ExecutionContext, tracker: string, name: string): string {
    return `${this.plans.of(context).scope}\u0000${name}\u0000${tracker}`;
  }

  /** Extra per-request exemption (e.g. health checks or trusted clients). @default never */
  protected shouldSkip(_context: ExecutionContext, _req: Record<string, any>): boolean | Promise<boolean> {
    return false;
  }

  /** Sets `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (seconds): the `'combined'` headers. */
  protected setHeaders(res: Record<string, any> | undefined, result: ThrottleResult): void {
    if (res === undefined) return;
    // Strings, so Node converts nothing twice (it checks a value, then writes it). The limit and the
    // reset second repeat from one request to the next: their text is reused.
    const limit = this.limitText.of(result.limit);
    const reset = this.resetText.of(seconds(result.resetMs));
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

  /**
   * The `'per-limit'` headers, as `@nestjs/throttler` sends them: `X-RateLimit-Limit-<name>`,
   * `-Remaining-<name>` and `-Reset-<name>` for each limit that allows the request, `Retry-After-<name>`
   * for each that refuses it (no suffix for the limit named `default`).
   */
  protected setPerLimitHeaders(
    res: Record<string, any> | undefined,
    names: readonly string[],
    results: readonly ThrottleResult[],
  ): void {
    if (res === undefined) return;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const suffix = names[i] === DEFAULT_NAME ? '' : `-${names[i]}`;
      if (!r.allowed) {
        setResponseHeader(res, `Retry-After${suffix}`, String(seconds(r.retryAfterMs)));
        continue;
      }
      setResponseHeader(res, `X-RateLimit-Limit${suffix}`, String(r.limit));
      setResponseHeader(res, `X-RateLimit-Remaining${suffix}`, String(r.remaining));
      setResponseHeader(res, `X-RateLimit-Reset${suffix}`, String(seconds(r.resetMs)));
    }
  }

  /**
   * The `'ietf'` headers of draft-ietf-httpapi-ratelimit-headers: `RateLimit-Policy` lists every
   * limit (`"name";q=<limit>;w=<window s>`), `RateLimit` its state (`"name";r=<remaining>;t=<s>`,
   * `t` the wait of a refusing limit, else the end of its window).
   */
  protected setIetfHeaders(
    res: Record<string, any> | undefined,
    limits: readonly { name: string; windowMs: number }[],
    results: readonly ThrottleResult[],
  ): void {
    if (res === undefined) return;
    const policy: string[] = [];
    const state: string[] = [];
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      const name = `"${limits[i].name}"`;
      policy.push(`${name};q=${r.limit};w=${seconds(limits[i].windowMs)}`);
      state.push(`${name};r=${r.remaining};t=${seconds(r.allowed ? r.resetMs : r.retryAfterMs)}`);
    }
    setResponseHeader(res, 'RateLimit-Policy', policy.join(', '));
    setResponseHeader(res, 'RateLimit', state.join(', '));
  }

  /** The 429's message: `throttle.errorMessage` (a text, or a function of the context and the refusal). */
  protected getErrorMessage(context: ExecutionContext, detail: ThrottlerLimitDetail): string | Promise<string> {
    const message = this.settings.errorMessage;
    if (message === undefined) return DEFAULT_MESSAGE;
    return typeof message === 'string' ? message : message(context, detail);
  }

  /** Refuses the request: throws {@link ThrottlerException} (429). Override for another transport's error. */
  protected throwThrottlingException(_context: ExecutionContext, refusal: ThrottleResult): never {
    throw new ThrottlerException((refusal as Partial<ThrottleRefusal>).message ?? DEFAULT_MESSAGE);
  }

  /** Applies `throttle.onBackendError`: let through (warning once per outage) or 503. */
  protected onBackendError(_context: ExecutionContext, err: BackendError): boolean {
    this.outage.failed(err);
    if (this.settings.onBackendError === 'deny') throw new ThrottlerUnavailableException();
    return true;
  }

  /** Whether the request's `User-Agent` matches `throttle.ignoreUserAgents`. */
  private ignoredAgent(req: Record<string, any>): boolean {
    const agent: unknown = req.headers?.['user-agent'];
    if (typeof agent !== 'string') return false;
    // `search` ignores a global pattern's `lastIndex`, unlike `test`.
    return this.settings.ignoreUserAgents!.some((pattern) => agent.search(pattern) !== -1);
  }

  /** `throttle.skipIf`, then {@link ThrottlerGuard.shouldSkip}. */
  private skipRequest(context: ExecutionContext, req: Record<string, any>): boolean | Promise<boolean> {
    const skipIf = this.settings.skipIf;
    if (skipIf === undefined) return this.shouldSkip(context, req);
    const skipped = skipIf(context);
    if (skipped === true) return true;
    if (isThenable(skipped)) {
      return Promise.resolve(skipped).then((s) => (s === true ? true : this.shouldSkip(context, req)));
    }
    return this.shouldSkip(context, req);
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
    const tracked = plan.tracked;
    if (tracked !== undefined && typeof plan.cost === 'number') {
      return this.take(context, plan, res, tracker, tracked, plan.cost);
    }
    // Values computed per request: limits, windows, blocks or the cost.
    const cost = typeof plan.cost === 'function' ? plan.cost(context) : plan.cost;
    return Promise.all([Promise.all(plan.limits.map((l) => this.resolveLimit(context, l))), cost]).then(([limits, n]) =>
      this.take(context, plan, res, tracker, limits, checkCost(n)),
    );
  }

  /** The counters of a limit for this request, its values computed from the context when they are functions. */
  private resolveLimit(context: ExecutionContext, l: PlanLimit): TrackedLimit | Promise<TrackedLimit> {
    if (l.tracked !== undefined) return l.tracked;
    const { rate } = l;
    const fns = rate.resolve!;
    return Promise.all([
      fns.limit ? fns.limit(context) : rate.limit,
      fns.ttlMs ? fns.ttlMs(context) : rate.ttlMs,
      fns.blockMs ? fns.blockMs(context) : (rate.blockMs ?? 0),
    ]).then(([limit, ttlMs, blockMs]) => {
      const id = `${limit}/${ttlMs}/${blockMs}`;
      const byValues = l.byValues!;
      let tracked = byValues.get(id);
      if (tracked === undefined) {
        const checked = parseRate({ limit, ttlMs });
        // A window computed per request has counters of its own per window length.
        const prefix = fns.ttlMs ? `${l.prefix}${ttlMs}\u0000` : l.prefix;
        tracked = new TrackedLimit({ ...checked, blockMs: checkBlock(blockMs) }, prefix);
        if (byValues.size >= MAX_DYNAMIC_VALUES) byValues.clear();
        byValues.set(id, tracked);
      }
      return tracked;
    });
  }

  /** One step over the limits, then the headers and the verdict. */
  private take(
    context: ExecutionContext,
    plan: RoutePlan,
    res: Record<string, any> | undefined,
    tracker: string,
    tracked: TrackedLimit[],
    cost: number,
  ): boolean | Promise<boolean> {
    let ids: string[];
    let taken: ThrottleResult[] | Promise<ThrottleResult[]>;
    try {
      ids = this.customKeys
        ? plan.limits.map((l) => keyText(this.generateKey(context, tracker, l.rate.name)))
        : tracked.length === 1
          ? [tracker]
          : tracked.map(() => tracker);
      taken = this.throttler.takeAll(tracked, ids, cost, this.customKeys);
    } catch (err) {
      return this.failed(context, err);
    }
    if (taken instanceof Promise) {
      return taken.then(
        (results) => this.decide(context, plan, res, tracker, tracked, ids, cost, results),
        (err: unknown) => this.failed(context, err),
      );
    }
    return this.decide(context, plan, res, tracker, tracked, ids, cost, taken);
  }

  /** Sets the headers and refuses when any limit refuses (the one with the longest wait is reported). */
  private decide(
    context: ExecutionContext,
    plan: RoutePlan,
    res: Record<string, any> | undefined,
    tracker: string,
    tracked: TrackedLimit[],
    ids: string[],
    cost: number,
    results: ThrottleResult[],
  ): boolean | Promise<boolean> {
    this.outage.ok();
    let shown = results[0];
    let at = -1;
    for (let i = 0; i < results.length; i++) {
      const r = results[i];
      if (i > 0 && (r.remaining < shown.remaining || (r.remaining === shown.remaining && r.resetMs > shown.resetMs))) {
        shown = r;
      }
      if (!r.allowed && (at === -1 || r.retryAfterMs > results[at].retryAfterMs)) at = i;
    }
    const mode = this.settings.headers ?? 'combined';
    if (mode === 'combined') this.setHeaders(res, at === -1 ? shown : results[at]);
    else if (mode === 'per-limit')
      this.setPerLimitHeaders(
        res,
        plan.limits.map((l) => l.rate.name),
        results,
      );
    else if (mode === 'ietf') {
      this.setIetfHeaders(
        res,
        plan.limits.map((l, i) => ({ name: l.rate.name, windowMs: tracked[i].rate.ttlMs })),
        results,
      );
    }
    if (at === -1) return true;
    const refused = results[at];
    if (mode !== false) setResponseHeader(res, 'Retry-After', seconds(refused.retryAfterMs));
    const rate = tracked[at].rate;
    const blocked = refused.blocked === true;
    const detail: ThrottlerLimitDetail = {
      name: plan.limits[at].rate.name,
      limit: refused.limit,
      ttl: rate.ttlMs,
      key: this.customKeys ? ids[at] : `${plan.scope}:${plan.limits[at].rate.name}:${tracker}`,
      tracker,
      totalHits: refused.limit - refused.remaining + cost,
      timeToExpire: seconds(refused.resetMs),
      isBlocked: blocked,
      timeToBlockExpire: seconds(refused.retryAfterMs),
    };
    const message = this.getErrorMessage(context, detail);
    if (typeof message !== 'string') {
      return Promise.resolve(message).then((m) =>
        this.throwThrottlingException(context, { ...refused, ...detail, message: String(m) } as ThrottleRefusal),
      );
    }
    return this.throwThrottlingException(context, { ...refused, ...detail, message } as ThrottleRefusal);
  }

  /** A backend error goes to {@link ThrottlerGuard.onBackendError}; anything else is rethrown. */
  private failed(context: ExecutionContext, err: unknown): boolean {
    if (!(err instanceof BackendError)) throw err;
    return this.onBackendError(context, err);
  }

  private buildPlan(cls: Type, handler: (...args: any[]) => any): RoutePlan {
    type Skip = boolean | Record<string, boolean> | undefined;
    const skipOnHandler = this.reflector.get<Skip>(SKIP_THROTTLE_METADATA, handler);
    const skipOnClass = this.reflector.get<Skip>(SKIP_THROTTLE_METADATA, cls);
    const pick = (skip: Skip, name: string): boolean | undefined => (typeof skip === 'boolean' ? skip : skip?.[name]);
    const skipped = (name: string): boolean => pick(skipOnHandler, name) ?? pick(skipOnClass, name) ?? false;
    const onHandler = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, handler);
    const onClass = this.reflector.get<ThrottleMetadata | undefined>(THROTTLE_METADATA, cls);
    let limits = this.settings.defaultLimits;
    if (onClass !== undefined) limits = onClass.merge ? mergeByName(limits, onClass.limits) : onClass.limits;
    if (onHandler !== undefined) limits = onHandler.merge ? mergeByName(limits, onHandler.limits) : onHandler.limits;
    limits = limits.filter((l) => !skipped(l.name));
    if (limits.length === 0) return SKIP;
    const scope = onHandler?.scope ?? onClass?.scope ?? `${cls.name}.${handler.name}`;
    const planLimits = limits.map((rate: NamedRate): PlanLimit => {
      const prefix = `${scope}\u0000${rate.name}\u0000`;
      if (rate.resolve !== undefined) return { rate, prefix, byValues: new Map() };
      const tracked = new TrackedLimit({ limit: rate.limit, ttlMs: rate.ttlMs, blockMs: rate.blockMs ?? 0 }, prefix);
      return { rate, prefix, tracked };
    });
    const allStatic = planLimits.every((l) => l.tracked !== undefined);
    return {
      limits: planLimits,
      tracked: allStatic ? planLimits.map((l) => l.tracked!) : undefined,
      id: planLimits
        .map((l) => `${l.prefix}${l.rate.limit}/${l.rate.ttlMs}/${l.rate.blockMs ?? 0}${l.rate.resolve ? '/f' : ''}`)
        .join('\u0002'),
      scope,
      cost: onHandler?.cost ?? onClass?.cost ?? 1,
    };
  }
}

/** The limits of `base` with those of `over` in place of the ones of the same name (added when new). */
function mergeByName(base: readonly NamedRate[], over: readonly NamedRate[]): NamedRate[] {
  const out = base.map((b) => over.find((o) => o.name === b.name) ?? b);
  for (const o of over) if (!base.some((b) => b.name === o.name)) out.push(o);
  return out;
}

/** Whole seconds of `ms`, at least 1 (the unit of every rate-limit header). */
function seconds(ms: number): number {
  return Math.max(1, Math.ceil(ms / 1000));
}

/** A key `generateKey` returned: a non-empty string. */
function keyText(value: unknown): string {
  if (typeof value === 'string' && value.length > 0) return value;
  throw new ThrottlerConfigError('invalid_tracker', 'ThrottlerGuard.generateKey must return a non-empty string');
}
