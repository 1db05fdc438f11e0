import type { Cluster } from 'ioredis';

/**
 * Re-reads a Cluster's slot map every `everyMs` until `stopped()` is true. Used instead of ioredis'
 * `slotsRefreshInterval`, whose timer (ioredis 6.0.0) re-arms itself forever when the client is
 * closed while a refresh is in flight, so the process never exits.
 */
export function refreshSlotsEvery(client: Cluster, everyMs: number, stopped: () => boolean): void {
  const round = (): void => {
    if (stopped()) return;
    // Unreferenced: the client's own sockets and reconnection timer keep the process alive, not this.
    setTimeout(() => {
      if (stopped()) return;
      if (client.status === 'ready') client.refreshSlotsCache(round);
      else round();
    }, everyMs).unref();
  };
  round();
}
