import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on 127.0.0.1 in front of one server that holds every chunk, both ways, for `delayMs`
 * before forwarding it (in order): a slow link between one app instance and Redis.
 */
export class DelayProxy {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
    private readonly delayMs: number,
  ) {}

  static async start(targetPort: number, delayMs: number): Promise<DelayProxy> {
    const ref = {} as { proxy: DelayProxy };
    const server = createServer((client) => ref.proxy.accept(client));
    ref.proxy = new DelayProxy(server, targetPort, delayMs);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ref.proxy;
  }

  get url(): string {
    return `redis://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    const server = connect({ host: '127.0.0.1', port: this.targetPort });
    for (const socket of [client, server]) {
      this.sockets.add(socket);
      socket
        .on('error', () => undefined)
        .on('close', () => {
          this.sockets.delete(socket);
          client.destroy();
          server.destroy();
        });
    }
    this.pipe(client, server);
    this.pipe(server, client);
  }

  /** Forwards each chunk `delayMs` after it arrived; timers of equal delay fire in order. */
  private pipe(from: Socket, to: Socket): void {
    from.on('data', (chunk) => {
      setTimeout(() => {
        if (!to.destroyed) to.write(chunk);
      }, this.delayMs);
    });
  }
}
