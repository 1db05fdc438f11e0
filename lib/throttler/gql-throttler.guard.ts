import { type ExecutionContext, Injectable } from '@nestjs/common';
import type { HttpPair } from '../utils/http.util.js';
import { ThrottlerGuard } from './throttler.guard.js';

/**
 * The HTTP request and response behind a GraphQL resolver call, read from the GraphQL context
 * (the resolver's third argument, what `GqlExecutionContext.getContext()` returns): `req`/`res`
 * (Apollo; the response falls back to Express's `req.res`), or Mercurius's `reply` and its request.
 */
export function gqlRequestResponse(context: ExecutionContext): HttpPair | undefined {
  const ctx = context.getArgByIndex<Record<string, any> | undefined>(2);
  const req: Record<string, any> | undefined = ctx?.req ?? ctx?.request ?? ctx?.reply?.request;
  if (req === undefined || req === null) return undefined;
  const res: Record<string, any> | undefined = ctx?.res ?? ctx?.reply ?? req.res;
  return { req, res };
}

/**
 * {@link ThrottlerGuard} for `@nestjs/graphql` resolvers (Apollo; Mercurius through its `reply`):
 * each resolver call is counted, so each operation of a batched HTTP request counts, by the client
 * IP of the HTTP request (or `throttle.tracker`). Past the limit the 429 `ThrottlerException` becomes the GraphQL error.
 * HTTP contexts are throttled as by {@link ThrottlerGuard}; a GraphQL context without `req` passes.
 * @example @UseGuards(GqlThrottlerGuard) @Throttle('10/minute') @Query(() => [Post]) posts() {}
 */
@Injectable()
export class GqlThrottlerGuard extends ThrottlerGuard {
  /** The HTTP pair of a GraphQL context, or of an HTTP one. */
  protected override getRequestResponse(context: ExecutionContext): HttpPair | undefined {
    if (context.getType<string>() === 'graphql') return gqlRequestResponse(context);
    return super.getRequestResponse(context);
  }
}
