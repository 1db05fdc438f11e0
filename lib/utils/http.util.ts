/** The request/response pair of an HTTP execution context, whatever the platform. */
export interface HttpPair {
  /** Express `Request` or Fastify `FastifyRequest`. */
  req: Record<string, any>;
  /** Express `Response` or Fastify `FastifyReply`; absent on transports without one (WebSocket). */
  res?: Record<string, any>;
}

/** A Node response's `setHeader`, called with the response as `this`. */
export type SetHeader = (this: object, name: string, value: string | number) => unknown;

/**
 * The `setHeader` of a Node (Express) response, `undefined` on a Fastify reply. Taken from the
 * response's prototype unless the response has its own: Express gives every response object a shape
 * of its own, so reading `res.setHeader` would cost V8 a slow lookup on every request.
 */
export function nodeSetHeader(res: object): SetHeader | undefined {
  const fn: unknown = Object.hasOwn(res, 'setHeader')
    ? (res as { setHeader?: unknown }).setHeader
    : (Object.getPrototypeOf(res) as { setHeader?: unknown } | null)?.setHeader;
  return typeof fn === 'function' ? (fn as SetHeader) : undefined;
}

/** Sets a response header on an Express response or a Fastify reply. */
export function setResponseHeader(res: Record<string, any> | undefined, name: string, value: string | number): void {
  if (res === undefined) return;
  const setHeader = nodeSetHeader(res);
  if (setHeader !== undefined) setHeader.call(res, name, value);
  else if (typeof res.header === 'function') res.header(name, value);
}

/** Reads a response header from an Express response or a Fastify reply. */
export function getResponseHeader(res: Record<string, any> | undefined, name: string): unknown {
  return typeof res?.getHeader === 'function' ? res.getHeader(name) : undefined;
}
