import {
  createServer,
  type IncomingHttpHeaders,
  type RequestListener,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/** One request as the peer received it. */
export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Index of the TCP connection it came over (to check connection reuse). */
  connection: number;
}

/**
 * An answer: a status with optional headers and body, `'hang'` (never answer), `'reset'` (read the
 * whole request, then reset the connection with a TCP RST, as a crashing server would) or
 * `'trickle'` (answer 200 with a JSON content type, then send one body byte every 300 ms, forever).
 */
export type Reply = { status: number; headers?: Record<string, string>; body?: unknown } | 'hang' | 'reset' | 'trickle';

const TRICKLE_MS = 300;

/**
 * A local HTTP server on 127.0.0.1 that records requests. Scripted replies (`script()`) are used
 * first, in order; then `handle` answers as the real API would.
 */
export class HttpPeer {
  readonly requests: RecordedRequest[] = [];
  private readonly scripted: Reply[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private connectionCount = 0;

  private constructor(
    private readonly server: Server,
    private readonly tls = false,
  ) {}

  /** Starts the peer; with `tls` it speaks HTTPS with that certificate. */
  static async start(
    handle: (req: RecordedRequest) => Reply | Promise<Reply>,
    tls?: { key: string; cert: string },
  ): Promise<HttpPeer> {
    const ids = new WeakMap<Socket, number>();
    const ref = {} as { peer: HttpPeer; tls: boolean };
    const listener: RequestListener = (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', async () => {
        const recorded: RecordedRequest = {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks),
          connection: ids.get(req.socket) ?? -1,
        };
        ref.peer.requests.push(recorded);
        const reply = ref.peer.scripted.shift() ?? (await handle(recorded));
        if (reply === 'hang') {
          ref.peer.hanging.add(res);
          return;
        }
        if (reply === 'trickle') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.flushHeaders();
          const timer = setInterval(() => res.write(' '), TRICKLE_MS);
          res.on('close', () => clearInterval(timer));
          ref.peer.hanging.add(res);
          return;
        }
        if (reply === 'reset') {
          req.socket.resetAndDestroy();
          return;
        }
        const body =
          reply.body === undefined ? '' : typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body);
        res.writeHead(reply.status, {
          'content-type': typeof reply.body === 'string' ? 'text/plain' : 'application/json',
          ...reply.headers,
        });
        res.end(body);
      });
    };
    const server: Server = tls ? createTlsServer(tls, listener) : createServer(listener);
    ref.tls = tls !== undefined;
    server.on('connection', (socket: Socket) => {
      ids.set(socket, ref.peer.connectionCount++);
      ref.peer.sockets.add(socket);
      socket.on('close', () => ref.peer.sockets.delete(socket));
    });
    ref.peer = new HttpPeer(server, ref.tls);
    const peer = ref.peer;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return peer;
  }

  get url(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** How many TCP connections were opened so far. */
  get connections(): number {
    return this.connectionCount;
  }

  /** Queues replies used before the API behaviour, one per request. */
  script(...replies: Reply[]): void {
    this.scripted.push(...replies);
  }

  /** Forgets recorded requests and scripted replies. */
  reset(): void {
    this.requests.length = 0;
    this.scripted.length = 0;
  }

  async close(): Promise<void> {
    for (const res of this.hanging) res.destroy();
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
