/** The request/response pair of an HTTP execution context, whatever the platform. */
export interface HttpPair {
  /** Express `Request` or Fastify `FastifyRequest`. */
  req: Record<string, any>;
  /** Express `Response` or Fastify `FastifyReply`; absent on transports without one (WebSocket). */
  res?: Record<string, any>;
}

/** Sets a response header on an Express response or a Fastify reply. */
export function setResponseHeader(res: Record<string, any> | undefined, name: string, value: string | number): void {
  if (res === undefined) return;
  if (typeof res.setHeader === 'function') res.setHeader(name, value);
  else if (typeof res.header === 'function') res.header(name, value);
}

/** Reads a response header from an Express response or a Fastify reply. */
export function getResponseHeader(res: Record<string, any> | undefined, name: string): unknown {
  return typeof res?.getHeader === 'function' ? res.getHeader(name) : undefined;
}
