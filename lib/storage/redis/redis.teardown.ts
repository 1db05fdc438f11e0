import type { IoRedisClient as RedisClient } from './redis.ioredis.js';

/** How long `close()` waits for the sockets to close once the client was told to disconnect. */
const SOCKET_CLOSE_WAIT_MS = 200;

/**
 * `promise` or, after `ms`, nothing. The timer is referenced on purpose: whoever awaits a close is
 * always answered, even when the client has nothing left that keeps the process alive (a Cluster
 * that never connected, a client between two reconnection attempts).
 */
function within(promise: Promise<unknown>, ms: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    promise.then(done, done);
  });
}

/**
 * Closes a client this library created: QUIT when it is connected (replies in flight still arrive,
 * a dead link is cut after `graceMs`), then a disconnect that cancels any reconnection. Settles
 * within `graceMs` plus 200 ms whatever the client's state.
 */
export async function closeClient(client: RedisClient, graceMs: number): Promise<void> {
  if (client.status === 'end') return;
  const ended = new Promise<unknown>((resolve) => client.once('end', resolve));
  if (client.status === 'ready') await within(client.quit(), graceMs);
  // Between reconnection attempts (or before a Cluster ever connected) no socket is open: ioredis
  // then cancels its timers but never emits "end", so there is nothing to wait for.
  const idle = client.status === 'reconnecting' || client.status === 'close' || client.status === 'wait';
  client.disconnect();
  if (!idle) await within(ended, Math.min(graceMs, SOCKET_CLOSE_WAIT_MS));
}
