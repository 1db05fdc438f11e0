import { type ParsedMail, simpleParser } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';

/** One message as the SMTP peer received it. */
export interface ReceivedMail {
  envelope: { from: string; to: string[] };
  raw: Buffer;
  parsed: ParsedMail;
  /** Connection id the message came over. */
  connection: string;
}

/** Options of {@link SmtpPeer.start}. */
export interface SmtpPeerOptions {
  /** `tls`: implicit TLS; `starttls`: offers STARTTLS with `cert`; `none`: plain (STARTTLS hidden). */
  mode: 'none' | 'starttls' | 'tls';
  cert?: { key: string; cert: string };
  /** Required credentials; AUTH is disabled when omitted. */
  auth?: { username: string; password: string };
  /** Recipients refused at RCPT TO: `true` answers `550`, a number answers that code (e.g. `450`). */
  refuse?: (address: string) => boolean | number;
  /** Delay before answering DATA, in ms. */
  dataDelayMs?: number;
}

/** A local smtp-server on 127.0.0.1 that records every message it receives. */
export class SmtpPeer {
  readonly messages: ReceivedMail[] = [];
  readonly connections = new Set<string>();
  readonly errors: Error[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
  ) {}

  static async start(options: SmtpPeerOptions): Promise<SmtpPeer> {
    const ref: { peer?: SmtpPeer } = {};
    const pending: Promise<void>[] = [];
    const config: SMTPServerOptions = {
      secure: options.mode === 'tls',
      ...(options.cert ? { key: options.cert.key, cert: options.cert.cert } : {}),
      ...(options.mode === 'none' ? { disabledCommands: ['STARTTLS'], hideSTARTTLS: true } : {}),
      ...(options.auth
        ? { authMethods: ['PLAIN', 'LOGIN'] }
        : { authOptional: true, disabledCommands: options.mode === 'none' ? ['STARTTLS', 'AUTH'] : ['AUTH'] }),
      allowInsecureAuth: options.mode === 'none',
      disableReverseLookup: true,
      closeTimeout: 1000,
      logger: false,
      size: 10 * 1024 * 1024,
      onConnect(session, cb) {
        ref.peer?.connections.add(session.id);
        cb();
      },
      onAuth(auth, _session, cb) {
        if (options.auth && auth.username === options.auth.username && auth.password === options.auth.password) {
          cb(null, { user: auth.username });
        } else {
          cb(new Error('Invalid username or password'));
        }
      },
      onRcptTo(address, _session, cb) {
        const refusal = options.refuse?.(address.address);
        if (refusal) {
          const code = typeof refusal === 'number' ? refusal : 550;
          const err = new Error(code < 500 ? 'Mailbox busy, try later' : 'Mailbox unavailable') as Error & {
            responseCode: number;
          };
          err.responseCode = code;
          cb(err);
        } else cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks);
          const envelope = {
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
          };
          const done = simpleParser(raw).then((parsed) => {
            ref.peer?.messages.push({ envelope, raw, parsed, connection: session.id });
          });
          pending.push(done);
          const answer = () => done.then(() => cb(), cb);
          if (options.dataDelayMs) setTimeout(answer, options.dataDelayMs);
          else void answer();
        });
      },
    };
    if (options.auth && options.mode === 'none') config.disabledCommands = ['STARTTLS'];
    const server = new SMTPServer(config);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const peer = new SmtpPeer(server, (server.server.address() as AddressInfo).port);
    ref.peer = peer;
    server.on('error', (err: Error) => peer.errors.push(err));
    return peer;
  }

  /** Forgets the messages received so far. */
  reset(): void {
    this.messages.length = 0;
    this.connections.clear();
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
