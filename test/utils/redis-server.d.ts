/** Throws a one-line install hint when `redis-server` / `redis-cli` are missing. */
export declare function assertRedisInstalled(): void;
/** Sends one inline command and resolves the first reply line, or rejects after `timeoutMs`. */
export declare function rawCommand(port: number, command: string, timeoutMs?: number): Promise<string>;
/** Sends one inline command whose reply is a bulk string (INFO, CLUSTER NODES) and resolves its text. */
export declare function rawBulk(port: number, command: string, timeoutMs?: number): Promise<string>;
/** A private `redis-server` on 127.0.0.1 that keeps nothing on disk. */
export declare class RedisProcess {
  readonly port: number;
  private readonly extraArgs;
  private child?;
  private readonly dir;
  private constructor();
  /** Starts a server on a free port (or `port`) and waits until it answers PING. */
  static start(extraArgs?: string[], port?: number): Promise<RedisProcess>;
  get url(): string;
  get pid(): number | undefined;
  /** (Re)starts the server on the same port. */
  start(): Promise<void>;
  /** Stops the server (SIGKILL: as sudden as a crash) and waits for the port to close. */
  stop(): Promise<void>;
  /** Freezes the server (SIGSTOP): it keeps its sockets open and answers nothing, like a hung host. */
  pause(): void;
  /** Thaws a server frozen by `pause()` (SIGCONT). */
  resume(): void;
  /** Stops the server and removes its directory. */
  destroy(): Promise<void>;
}
/** A local Redis Cluster of `masters` masters (and `replicas` replicas each). */
export declare class RedisClusterProcess {
  readonly nodes: RedisProcess[];
  private constructor();
  /**
   * Starts `masters * (1 + replicas)` nodes and joins them. `nodeTimeoutMs` is how long a silent
   * master stays trusted before its replica takes over.
   */
  static start(masters?: number, replicas?: number, nodeTimeoutMs?: number): Promise<RedisClusterProcess>;
  /** `host:port,host:port,...` as REDIS_CLUSTER_NODES expects it. */
  get spec(): string;
  destroy(): Promise<void>;
}
