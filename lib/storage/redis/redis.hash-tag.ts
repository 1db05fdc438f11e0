import type { Cluster } from 'ioredis';
import { HIT_SCRIPT, INCREMENT_SCRIPT } from './redis.scripts.js';

type IoRedisModule = typeof import('ioredis');

/**
 * Whether ioredis may route `key` to the wrong Cluster slot. Redis hashes the whole key when its
 * first `{` is directly followed by `}` (an empty hash tag); ioredis' slot function (cluster-key-slot
 * 1.1) keeps looking for a later `}` instead, so such a key is sent to the wrong master. Inside an
 * auto-pipeline the resulting MOVED reply is not followed and the call fails.
 */
export function mayBeMisrouted(key: string): boolean {
  const open = key.indexOf('{');
  return open !== -1 && key.charCodeAt(open + 1) === 0x7d;
}

/**
 * The single-key commands of the backend sent one by one, outside ioredis' auto-pipelines, so that
 * a MOVED reply for a misrouted key is followed like for any other command.
 */
export class UnpipelinedCommands {
  constructor(
    private readonly cluster: Cluster,
    private readonly ioredis: IoRedisModule,
  ) {}

  set(key: string, ...args: (string | number)[]): Promise<string | null> {
    return this.#send('set', [key, ...args]) as Promise<string | null>;
  }

  get(key: string): Promise<string | null> {
    return this.#send('get', [key]) as Promise<string | null>;
  }

  del(key: string): Promise<number> {
    return this.#send('del', [key]) as Promise<number>;
  }

  exists(key: string): Promise<number> {
    return this.#send('exists', [key]) as Promise<number>;
  }

  pttl(key: string): Promise<number> {
    return this.#send('pttl', [key]) as Promise<number>;
  }

  incrementBy(key: string, delta: number, ttlMs: number): Promise<number | string> {
    return this.#send('eval', [INCREMENT_SCRIPT, 1, key, delta, ttlMs]) as Promise<number | string>;
  }

  hit(key: string, delta: number, ttlMs: number): Promise<[number | string, number]> {
    return this.#send('eval', [HIT_SCRIPT, 1, key, delta, ttlMs]) as Promise<[number | string, number]>;
  }

  pexpire(key: string, ttlMs: number): Promise<number> {
    return this.#send('pexpire', [key, ttlMs]) as Promise<number>;
  }

  #send(name: string, args: (string | number)[]): Promise<unknown> {
    const command = new this.ioredis.Command(name, args, { replyEncoding: 'utf8' });
    return this.cluster.sendCommand(command) as Promise<unknown>;
  }
}
