import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';

interface Link {
  client: Socket;
  server: Socket;
  /** Client bytes held back while the proxy is stalled. */
  held: Buffer[];
  /** Black-holed: bytes either way are dropped, and the sockets stay open. */
  dead?: boolean;
}

/**
 * A TCP proxy on 127.0.0.1 in front of one server, to play a misbehaving network: `stall()` holds
 * the client's bytes back (they reach nobody), `release()` forwards them late, `cut()` drops every
 * connection and the bytes it held, as a failed link would. `blackhole()` silently drops the bytes
 * of the connections open now, both ways, without closing them (no FIN, no RST), as a load balancer
 * or NAT does once it forgot an idle flow; connections opened later work.
 */
export class StallProxy {
  private readonly links = new Set<Link>();
  private stalled = false;
  /** Client connections accepted so far. */
  accepted = 0;

  private constructor(
    private readonly server: Server,
    private readonly targetPort: number,
  ) {}

  static async start(targetPort: number): Promise<StallProxy> {
    const ref = {} as { proxy: StallProxy };
    const server = createServer((client) => ref.proxy.accept(client));
    ref.proxy = new StallProxy(server, targetPort);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ref.proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** From now on, bytes from clients are held instead of forwarded. */
  stall(): void {
    this.stalled = true;
  }

  /** Forwards everything held, in order, and resumes normal forwarding. */
  release(): void {
    this.stalled = false;
    for (const link of this.links) {
      for (const chunk of link.held.splice(0)) link.server.write(chunk);
    }
  }

  /** Drops every connection; bytes held so far are discarded, never delivered. */
  cut(): void {
    for (const link of this.links) {
      link.held.length = 0;
      link.client.destroy();
      link.server.destroy();
    }
    this.links.clear();
  }

  /** The connections open now drop every byte from now on, both ways, and are never closed. */
  blackhole(): void {
    for (const link of this.links) {
      link.dead = true;
      link.held.length = 0;
    }
  }

  /** Connections currently open through the proxy (black-holed ones included). */
  get open(): number {
    return this.links.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const server = connect({ host: '127.0.0.1', port: this.targetPort });
    const link: Link = { client, server, held: [] };
    this.links.add(link);
    const drop = () => {
      this.links.delete(link);
      client.destroy();
      server.destroy();
    };
    client.on('error', drop).on('close', drop);
    server.on('error', drop).on('close', drop);
    client.on('data', (chunk: Buffer) => {
      if (link.dead) return;
      if (this.stalled) link.held.push(chunk);
      else server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => {
      if (!link.dead) client.write(chunk);
    });
  }
}
