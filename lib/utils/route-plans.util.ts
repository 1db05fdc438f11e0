import type { ExecutionContext, Type } from '@nestjs/common';

/**
 * What a guard or interceptor decided about a route from its metadata, computed on the first
 * request of each controller and handler and reused afterwards (no reflection on the hot path).
 */
export class RoutePlans<P> {
  private readonly byClass = new WeakMap<object, WeakMap<object, P>>();

  constructor(private readonly build: (cls: Type, handler: (...args: any[]) => any) => P) {}

  /** The plan of the route the context runs. */
  of(context: ExecutionContext): P {
    const cls = context.getClass();
    const handler = context.getHandler();
    let byHandler = this.byClass.get(cls);
    if (byHandler === undefined) {
      byHandler = new WeakMap();
      this.byClass.set(cls, byHandler);
    }
    let plan = byHandler.get(handler);
    if (plan === undefined) {
      plan = this.build(cls, handler as (...args: any[]) => any);
      byHandler.set(handler, plan);
    }
    return plan;
  }
}
