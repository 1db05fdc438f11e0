import type * as Nodemailer from 'nodemailer';
import { EmailError, type EmailErrorCode } from '../errors/email.error.js';
import { assertPackage, importPackage } from '../utils/load-package.util.js';
import { BaseEmailBackend, type EmailBackendOptions } from './base-email.backend.js';
import { DeliveryAttempt, type DeliveryReport } from './email-attempt.js';
import { EmailMessages } from './email.messages.js';
import { providerText, sanitizedCause, secretForms } from './email.redact.js';
import type { ValidatedEmail } from './email.validation.js';
import { toNodemailerMessage } from './email.format.js';

/** How the SMTP connection is secured. */
export type SmtpEncryption = 'none' | 'starttls' | 'tls';

/** Configuration of {@link SmtpBackend}. */
export interface SmtpConfig extends EmailBackendOptions {
  /** Server address; prefer an IP or a name your resolver knows (nodemailer resolves names itself). */
  host: string;
  /** Server port, e.g. 587 for STARTTLS or 465 for implicit TLS. */
  port: number;
  /** `tls`: implicit TLS; `starttls`: the upgrade is required (a server without it fails); `none`: plain text. */
  encryption: SmtpEncryption;
  /** Credentials for SMTP AUTH (PLAIN or LOGIN). */
  auth?: { username: string; password: string };
  /**
   * Longest time one attempt may take (connect, greeting, EHLO, AUTH and the message), in ms; it is also
   * the connection and greeting timeout, and an idle socket is given up a little later. @default 10000
   */
  timeoutMs?: number;
  /** Most pooled connections. @default 5 */
  poolSize?: number;
  /** TLS settings; certificates are verified unless `rejectUnauthorized` is false (which logs a warning). */
  tls?: {
    /** Trusted CA certificates (PEM), e.g. to pin a private CA or a self-signed certificate. */
    ca?: string | Buffer | (string | Buffer)[];
    /** Verify the server certificate. @default true */
    rejectUnauthorized?: boolean;
    /** Name to check the certificate against (SNI), when `host` is an IP. */
    servername?: string;
  };
}

type NodemailerModule = typeof Nodemailer;
type PoolTransport = ReturnType<NodemailerModule['createTransport']>;
type TransportOptions = Parameters<NodemailerModule['createTransport']>[0];

interface SmtpFailure {
  code?: string;
  responseCode?: number;
  response?: string;
  command?: string;
  message?: string;
}

/** The connection was never made: nothing was sent, so trying again is safe. */
const NEVER_CONNECTED = /ECONNREFUSED|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|\bconnect E[A-Z]+/;
/** The connection broke mid-session: the server may have queued the message before it broke. */
const BROKEN_SESSION = /ECONNRESET|EPIPE|closed unexpectedly/i;
const CERTIFICATE = /certificate|CERT_|self[- ]signed|altname|unable to verify/i;
/** The key under which a message's options carry its attempt to the stream plugin. */
const ATTEMPT = 'nestjsBackendsAttempt';

interface RefusedRecipient {
  recipient?: string;
  responseCode?: number;
}

/**
 * Sends over SMTP through nodemailer's pooled transport: connections are reused across sends and
 * closed by `close()`. Bcc recipients go in the envelope only. nodemailer (its ES module build, the
 * copy an ESM app shares) is imported on the first send or `verify()`.
 */
export class SmtpBackend extends BaseEmailBackend {
  readonly kind = 'smtp';
  readonly #options: TransportOptions;
  #transport?: PoolTransport;
  #loading?: Promise<PoolTransport>;
  readonly #secrets: string[];
  readonly #summary: Record<string, unknown>;

  constructor(config: SmtpConfig) {
    super(config, 'smtp');
    const fail = (why: string) => this.configError('smtp', why);
    if (!config || typeof config.host !== 'string' || config.host.length === 0) throw fail('host is required');
    if (!Number.isInteger(config.port) || config.port < 1 || config.port > 65535) throw fail('port must be 1-65535');
    if (!['none', 'starttls', 'tls'].includes(config.encryption)) {
      throw fail('encryption must be "none", "starttls" or "tls"');
    }
    const timeoutMs = config.timeoutMs ?? 10_000;
    const poolSize = config.poolSize ?? 5;
    if (!Number.isInteger(poolSize) || poolSize < 1) throw fail('poolSize must be a positive whole number');
    const auth = config.auth;
    if (auth && (typeof auth.username !== 'string' || typeof auth.password !== 'string')) {
      throw fail('auth needs a username and a password');
    }
    const rejectUnauthorized = config.tls?.rejectUnauthorized ?? true;
    if (!rejectUnauthorized && config.encryption !== 'none') {
      this.logger.warn(
        'TLS certificate verification is OFF (tls.rejectUnauthorized: false): the connection can be intercepted',
      );
    }
    this.#secrets = auth ? secretForms(auth.password, `\u0000${auth.username}\u0000${auth.password}`) : [];
    this.#summary = { host: config.host, port: config.port, encryption: config.encryption, poolSize, timeoutMs };

    // A missing nodemailer is reported here; the package itself is imported on first use.
    assertPackage('nodemailer', 'SmtpBackend');
    this.#options = {
      pool: true,
      host: config.host,
      port: config.port,
      secure: config.encryption === 'tls',
      requireTLS: config.encryption === 'starttls',
      ignoreTLS: config.encryption === 'none',
      ...(auth ? { auth: { user: auth.username, pass: auth.password } } : {}),
      maxConnections: poolSize,
      maxMessages: Infinity,
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      // A little longer than the greeting timeout: a server that never greets is then reported as
      // "Greeting never received" (nothing sent, safe to retry), not as a bare socket timeout
      // (which may follow DATA and leaves the mail in doubt).
      socketTimeout: timeoutMs + Math.min(timeoutMs, 1000),
      tls: {
        rejectUnauthorized,
        ...(config.tls?.ca !== undefined ? { ca: config.tls.ca } : {}),
        ...(config.tls?.servername !== undefined ? { servername: config.tls.servername } : {}),
      },
      logger: false,
      debug: false,
      disableFileAccess: true,
      disableUrlAccess: true,
    } as TransportOptions;
  }

  /** Opens a connection and authenticates; rejects with `EmailError` when the server or credentials are wrong. */
  async verify(): Promise<true> {
    try {
      await (this.#transport ?? (await this.#connect())).verify();
      return true;
    } catch (err) {
      throw this.toEmailError(err);
    }
  }

  protected async deliver(message: ValidatedEmail, attempt: DeliveryAttempt): Promise<DeliveryReport> {
    const transport = this.#transport ?? (await this.#connect());
    attempt.messageSent = false;
    const mail: Record<string, unknown> = {
      ...toNodemailerMessage(message),
      // nodemailer >= 10 closes the connection carrying an aborted message, so other sends go on.
      signal: attempt.signal,
      [ATTEMPT]: attempt,
    };
    if (attempt.messageId !== undefined) mail.messageId = attempt.messageId;
    if (attempt.recipients !== undefined) {
      // A resend to recipients refused for now: the same headers, only them in the envelope.
      mail.envelope = { from: message.from.address, to: [...attempt.recipients] };
    }
    const info = (await transport.sendMail(mail)) as {
      messageId?: string;
      rejected?: unknown[];
      rejectedErrors?: RefusedRecipient[];
    };
    const rejected = (info.rejectedErrors ?? []).map((e) => ({
      address: String(e.recipient ?? ''),
      code: typeof e.responseCode === 'number' ? e.responseCode : 0,
      permanent: !(typeof e.responseCode === 'number' && e.responseCode >= 400 && e.responseCode < 500),
    }));
    // Addresses nodemailer listed without an error of their own.
    for (const a of info.rejected ?? []) {
      const address = typeof a === 'string' ? a : String((a as { address?: unknown })?.address ?? '');
      if (!rejected.some((r) => r.address === address)) rejected.push({ address, code: 0, permanent: true });
    }
    return { messageId: info.messageId ?? attempt.messageId ?? '', ...(rejected.length ? { rejected } : {}) };
  }

  protected override async closeResources(): Promise<void> {
    const transport = this.#transport ?? (await this.#loading?.catch(() => undefined));
    transport?.close();
  }

  /** Imports nodemailer and creates the pool once; a failed import is retried on the next call. */
  #connect(): Promise<PoolTransport> {
    this.#loading ??= importPackage<NodemailerModule>('nodemailer', 'SmtpBackend').then(
      (nodemailer) => {
        const transport = nodemailer.createTransport(this.#options);
        // Notes when the whole message body was handed to the connection: a timeout after that is in doubt.
        transport.use('stream', (mail, done) => {
          const attempt = (mail.data as Record<string, unknown>)[ATTEMPT];
          if (attempt instanceof DeliveryAttempt) {
            // The transport reads the message through createReadStream(); its end is the body handed over.
            // Wrapping the method of this message costs no extra stream (a transform would copy every byte).
            const message = mail.message as { createReadStream(...args: unknown[]): NodeJS.ReadableStream };
            const read = message.createReadStream.bind(message);
            message.createReadStream = (...args: unknown[]) => {
              const stream = read(...args);
              stream.once('end', () => (attempt.messageSent = true));
              return stream;
            };
          }
          done();
        });
        return (this.#transport = transport);
      },
      (err: unknown) => {
        this.#loading = undefined;
        throw err;
      },
    );
    return this.#loading;
  }

  protected override describe(): Record<string, unknown> {
    return this.#summary;
  }

  protected toEmailError(err: unknown): EmailError {
    const e = (err ?? {}) as SmtpFailure & { rejectedErrors?: SmtpFailure[] };
    const first = e.rejectedErrors?.[0];
    const status = e.responseCode ?? first?.responseCode;
    const text = `${e.message ?? ''} ${e.response ?? ''}`;
    let code: EmailErrorCode = 'provider';
    let retryable = false;
    let possiblyDelivered = false;
    if (e.code === 'ETLS' || e.code === 'EREQUIRETLS' || CERTIFICATE.test(text)) {
      // No TLS upgrade or an untrusted certificate: a setup problem that retrying cannot fix.
      code = 'connection';
    } else if (e.code === 'EAUTH' || e.code === 'ENOAUTH' || status === 535 || status === 534 || status === 530) {
      code = 'authentication';
      retryable = status === 454;
    } else if (e.code === 'ETIMEDOUT') {
      code = 'timeout';
      // A connect or greeting timeout happens before any mail data was sent; any later one may follow DATA.
      if (/greeting never received|connection timeout/i.test(text)) retryable = true;
      else possiblyDelivered = true;
    } else if (status === 421) {
      code = 'connection';
      retryable = true;
    } else if (status !== undefined && status >= 400 && status < 500) {
      code = status === 452 || status === 451 ? 'rate_limited' : 'provider';
      retryable = true;
    } else if (status !== undefined && status >= 500) {
      code = 'rejected';
    } else if (NEVER_CONNECTED.test(text) || e.code === 'EMAXLIMIT') {
      code = 'connection';
      retryable = true;
    } else if (BROKEN_SESSION.test(text) || e.code === 'ECONNECTION') {
      code = 'connection';
      possiblyDelivered = true;
    } else if (e.code === 'ESOCKET' || e.code === 'EDNS' || e.code === 'EPROXY') {
      code = 'connection';
    } else if (e.code === 'EENVELOPE') {
      code = 'rejected';
    }
    const detail = providerText(e.response ?? first?.response ?? e.message, this.#secrets, 300);
    return new EmailError(code, EmailMessages.sendFailed('smtp', code, detail), {
      backend: this.kind,
      retryable,
      possiblyDelivered,
      ...(status !== undefined ? { status } : {}),
      ...(detail !== undefined ? { providerMessage: detail } : {}),
      cause: sanitizedCause(err, this.#secrets),
    });
  }
}
