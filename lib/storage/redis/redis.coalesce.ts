import type { RedisClient } from './redis.types.js';

/** What this file needs of a connection: whether its socket is held for the current turn. */
export interface Coalescing {
  /** True from the first call of an event-loop turn until the end of that turn. */
  corked: boolean;
}

interface Corkable {
  cork(): void;
  uncork(): void;
}

/**
 * Holds the client's socket writes until the end of the current event-loop turn (`setImmediate`),
 * so every command sent during one turn, from any request, leaves in one `writev` system call: the
 * batching node-redis does, without ioredis' per-batch pipeline object. A command waits at most
 * for the callbacks of the turn it was sent in. Nothing is held while `setImmediate` is faked by
 * sinon's fake timers (jest's default), since a faked turn end might never come.
 */
export function holdWritesForTurn(state: Coalescing, client: RedisClient): void {
  const stream = (client as { stream?: Partial<Corkable> }).stream;
  if (stream === undefined || typeof stream.cork !== 'function' || typeof stream.uncork !== 'function') return;
  // @sinonjs/fake-timers (jest's modern fake timers) marks the functions it installs with `clock`;
  // jest's legacy fake immediates also run on the real loop, so they need no exception.
  const schedule = globalThis.setImmediate as typeof setImmediate & { clock?: unknown };
  if (schedule.clock !== undefined) return;
  stream.cork();
  state.corked = true;
  schedule(releaseWrites, state, stream as Corkable);
}

function releaseWrites(state: Coalescing, stream: Corkable): void {
  state.corked = false;
  stream.uncork();
}
