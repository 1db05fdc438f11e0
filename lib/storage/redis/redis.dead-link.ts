/** The least time a link may stay silent before it is cut, however short `commandTimeoutMs` is. */
const MIN_DEAD_LINK_MS = 1000;

/**
 * How long a connection may receive nothing while commands wait for replies before it is cut and
 * replaced (ioredis `socketTimeout`): three call deadlines in a row, at least one second. Each call
 * still rejects at its own deadline meanwhile; this only decides when the socket is given up. TCP
 * alone would keep a black-holed connection (no FIN, no RST) for about 15 minutes.
 */
export function deadLinkMs(commandTimeoutMs: number): number {
  return Math.max(3 * commandTimeoutMs, MIN_DEAD_LINK_MS);
}
