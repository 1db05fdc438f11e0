import { type AddressInfo, createServer, type Server, type Socket } from 'node:net';

/** When the raw SMTP peer resets the connection (TCP RST). */
export type ResetPoint = 'greeting' | 'rcpt' | 'after-data';

/** Misbehaviour of the raw SMTP peer; with none it accepts every message. */
export interface RawSmtpOptions {
  /** Reset the connection at this point. */
  resetAt?: ResetPoint;
  /** Never send the greeting (a server that accepts and hangs). */
  silent?: boolean;
  /** Replies to the first RCPT TO commands, in order (e.g. `421 4.3.2 try later`); then `250 OK`. */
  rcptReplies?: string[];
  /** Answer EHLO with a multi-line reply that never ends: one `250-` line every 300 ms. */
  endlessEhlo?: boolean;
}

/**
 * A minimal plain-text SMTP server on 127.0.0.1 that speaks just enough SMTP for nodemailer and
 * misbehaves on request: resets the connection before its greeting, at RCPT TO, or once the whole
 * message (up to the final ".") has arrived but before its 250 reply; stays silent; or answers
 * RCPT TO with scripted replies; or answers EHLO without end. It counts connections and the messages it received in full.
 */
export class RawSmtpPeer {
  /** Messages whose final "." arrived. */
  received = 0;
  /** Connections accepted. */
  connections = 0;
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server) {}

  static async start(options: RawSmtpOptions = {}): Promise<RawSmtpPeer> {
    const ref = {} as { peer: RawSmtpPeer };
    const rcptReplies = [...(options.rcptReplies ?? [])];
    const server = createServer((socket) => ref.peer.serve(socket, options, rcptReplies));
    ref.peer = new RawSmtpPeer(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return ref.peer;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(socket: Socket, options: RawSmtpOptions, rcptReplies: string[]): void {
    const resetAt = options.resetAt;
    this.connections++;
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    if (resetAt === 'greeting') {
      socket.resetAndDestroy();
      return;
    }
    if (options.silent) return;
    let buffer = '';
    let inData = false;
    socket.write('220 raw.test ESMTP\r\n');
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      for (;;) {
        if (inData) {
          const end = buffer.indexOf('\r\n.\r\n');
          if (end === -1) return;
          buffer = buffer.slice(end + 5);
          inData = false;
          this.received++;
          if (resetAt === 'after-data') {
            socket.resetAndDestroy();
            return;
          }
          socket.write('250 2.0.0 queued\r\n');
          continue;
        }
        const eol = buffer.indexOf('\r\n');
        if (eol === -1) return;
        const line = buffer.slice(0, eol).toUpperCase();
        buffer = buffer.slice(eol + 2);
        if (line.startsWith('EHLO') && options.endlessEhlo) {
          socket.write('250-raw.test\r\n');
          const timer = setInterval(() => socket.write('250-STILL-TALKING\r\n'), 300);
          socket.on('close', () => clearInterval(timer));
        } else if (line.startsWith('EHLO')) socket.write('250-raw.test\r\n250 8BITMIME\r\n');
        else if (line.startsWith('RCPT') && resetAt === 'rcpt') {
          socket.resetAndDestroy();
          return;
        } else if (line.startsWith('RCPT') && rcptReplies.length > 0) socket.write(`${rcptReplies.shift()}\r\n`);
        else if (line.startsWith('DATA')) {
          inData = true;
          socket.write('354 go ahead\r\n');
        } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 OK\r\n');
      }
    });
  }
}
