import type { Cluster, Redis } from 'ioredis';

const DEADLINE = Symbol('nestjs-backends.deadline');

/** The parts of an ioredis `Command` the guard reads (present in ioredis 5 and 6). */
interface GuardedCommand {
  [DEADLINE]?: number;
  isSettled?: boolean;
  promise: Promise<unknown>;
  reject(err: Error): void;
  setTimeout?(ms: number): void;
}

type Sender = (command: GuardedCommand, ...rest: unknown[]) => unknown;

/**
 * Gives every command one absolute deadline, set when it is first sent, and refuses to (re)send a
 * command once that deadline has passed or its caller has been answered.
 *
 * ioredis Cluster sends a command again after a redirection, a CLUSTERDOWN reply or a node's
 * reconnection, and a pipeline re-arms `commandTimeout` on every attempt: without this guard a call
 * could outlive its deadline, and a command whose caller already saw "timed out" could still be
 * applied after a later write to the same key.
 */
function guard(target: Redis | Cluster, timeoutMs: number): void {
  const holder = target as unknown as { sendCommand: Sender };
  const send = holder.sendCommand;
  holder.sendCommand = function guardedSend(this: unknown, command: GuardedCommand, ...rest: unknown[]) {
    const now = Date.now();
    const deadline = (command[DEADLINE] ??= now + timeoutMs);
    if (command.isSettled === true) return command.promise;
    if (now >= deadline) {
      command.reject(new Error('Command timed out'));
      return command.promise;
    }
    // The timer is armed once per attempt, and only when none runs: this makes it the remaining time.
    command.setTimeout?.(deadline - now);
    return send.call(this, command, ...rest);
  };
}

/** Installs the deadline guard on a Cluster client and on every node connection it opens. */
export function guardClusterDeadlines(cluster: Cluster, timeoutMs: number): void {
  guard(cluster, timeoutMs);
  // ioredis emits "+node" synchronously when it creates a node connection, before using it.
  cluster.on('+node', (node: Redis) => guard(node, timeoutMs));
}
