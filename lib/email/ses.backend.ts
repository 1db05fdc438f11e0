import type { SESv2Client, SESv2ClientConfig, SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { EmailError, type EmailErrorCode } from '../errors/email.error.js';
import { loadPackage } from '../utils/load-package.util.js';
import { BaseEmailBackend, type EmailBackendOptions } from './base-email.backend.js';
import type { DeliveryAttempt } from './email-attempt.js';
import { EmailMessages } from './email.messages.js';
import { providerText, sanitizedCause, secretForms } from './email.redact.js';
import type { ValidatedEmail } from './email.validation.js';
import { formatMailbox } from './email.format.js';
import { parseRetryAfter } from './email-retry.js';
import { classifyHttpStatus, classifyNetworkCode } from './http-status.util.js';
import { composeMime, importMailComposer, type MailComposerCtor } from './mime.composer.js';
import type { SesClient, SesClientConfig } from './ses-config.types.js';

/** Options of {@link SesBackend} besides the SES client configuration. */
export interface SesBackendOptions extends EmailBackendOptions {
  /** Longest time one attempt may take, in ms (also the request timeouts of a client the backend creates). @default 10000 */
  timeoutMs?: number;
}

/** An SES v2 client configuration (the backend creates and owns the client) or an existing `client`. */
export type SesConfig = (SesClientConfig | { client: SesClient }) & SesBackendOptions;

type SesModule = typeof import('@aws-sdk/client-sesv2');

interface AwsFailure {
  name?: string;
  message?: string;
  code?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
  $response?: { headers?: Record<string, unknown> };
}

const THROTTLED = new Set(['TooManyRequestsException', 'ThrottlingException', 'Throttling', 'LimitExceededException']);
const AUTH = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'SignatureDoesNotMatch',
  'AccessDeniedException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
  'MissingAuthenticationTokenException',
]);

/**
 * Sends through Amazon SES v2 (`SendEmail`). Simple content with `BccAddresses` and attachments by
 * default; Raw MIME (composed by nodemailer) when inline images need it, with every recipient in
 * `Destination`. A client created here has the SDK's retries off (`maxAttempts: 1`).
 */
export class SesBackend extends BaseEmailBackend {
  readonly kind = 'ses';
  readonly #client: SESv2Client;
  readonly #owned: boolean;
  readonly #sdk: SesModule;
  readonly #secrets: string[];
  readonly #region: string;
  #Composer?: MailComposerCtor;

  constructor(config: SesConfig) {
    const { retry, idempotencyStore, idempotencyTtlMs, idempotencyWaitMs, idempotencyLeaseMs, timeoutMs, ...rest } =
      config ?? {};
    super({ retry, idempotencyStore, idempotencyTtlMs, idempotencyWaitMs, idempotencyLeaseMs, timeoutMs }, 'ses');
    this.#sdk = loadPackage<SesModule>('@aws-sdk/client-sesv2', 'SesBackend');
    if ('client' in rest && rest.client) {
      this.#client = rest.client as unknown as SESv2Client;
      this.#owned = false;
      this.#secrets = [];
      this.#region = 'client';
      return;
    }
    const clientConfig = rest as unknown as SESv2ClientConfig;
    const creds = clientConfig.credentials as { secretAccessKey?: string; sessionToken?: string } | undefined;
    this.#secrets = typeof creds === 'object' ? secretForms(creds.secretAccessKey, creds.sessionToken) : [];
    this.#region = typeof clientConfig.region === 'string' ? clientConfig.region : 'default';
    this.#client = new this.#sdk.SESv2Client({
      // Recent smithy handlers only log a request timeout unless throwOnRequestTimeout is set.
      requestHandler: {
        requestTimeout: timeoutMs ?? 10_000,
        connectionTimeout: timeoutMs ?? 10_000,
        throwOnRequestTimeout: true,
      } as SESv2ClientConfig['requestHandler'],
      ...clientConfig,
      maxAttempts: 1,
    });
    this.#owned = true;
  }

  protected async deliver(m: ValidatedEmail, attempt: DeliveryAttempt): Promise<string> {
    const encode = (b: Parameters<typeof formatMailbox>[0]) => formatMailbox(b, true);
    const destination = {
      ToAddresses: m.to.map(encode),
      ...(m.cc.length ? { CcAddresses: m.cc.map(encode) } : {}),
      ...(m.bcc.length ? { BccAddresses: m.bcc.map(encode) } : {}),
    };
    const input: SendEmailCommandInput = {
      FromEmailAddress: encode(m.from),
      Destination: destination,
      ...(m.replyTo ? { ReplyToAddresses: [encode(m.replyTo)] } : {}),
      Content: {},
    };
    const tags = [
      ...m.tags.map((t) => ({ Name: t, Value: 'true' })),
      ...m.metadata.map(([Name, Value]) => ({ Name, Value })),
    ];
    if (tags.length) input.EmailTags = tags;
    if (m.attachments.some((a) => a.inline)) {
      this.#Composer ??= await importMailComposer('SesBackend (inline images)');
      const { raw } = await composeMime(this.#Composer, m);
      input.Content = { Raw: { Data: raw } };
    } else {
      input.Content = {
        Simple: {
          Subject: { Data: m.subject, Charset: 'UTF-8' },
          Body: {
            ...(m.text ? { Text: { Data: m.text, Charset: 'UTF-8' } } : {}),
            ...(m.html ? { Html: { Data: m.html, Charset: 'UTF-8' } } : {}),
          },
          ...(m.headers.length ? { Headers: m.headers.map((h) => ({ Name: h.name, Value: h.value })) } : {}),
          ...(m.attachments.length
            ? {
                Attachments: m.attachments.map((a) => ({
                  FileName: a.filename,
                  ContentType: a.contentType,
                  RawContent: a.content,
                  ContentDisposition: 'ATTACHMENT' as const,
                })),
              }
            : {}),
        },
      };
    }
    // The abort signal ends the request at the attempt's deadline (the SDK's own timeouts are idle timeouts).
    const out = await this.#client.send(new this.#sdk.SendEmailCommand(input), { abortSignal: attempt.signal });
    return out.MessageId ?? '';
  }

  protected override async closeResources(): Promise<void> {
    if (this.#owned) this.#client.destroy();
  }

  protected override describe(): Record<string, unknown> {
    return { region: this.#region, ownsClient: this.#owned };
  }

  protected toEmailError(err: unknown): EmailError {
    const e = (err ?? {}) as AwsFailure;
    const status = e.$metadata?.httpStatusCode;
    const name = e.name ?? '';
    let cls: { code: EmailErrorCode; retryable: boolean; possiblyDelivered: boolean };
    if (THROTTLED.has(name)) cls = { code: 'rate_limited', retryable: true, possiblyDelivered: false };
    else if (AUTH.has(name)) cls = { code: 'authentication', retryable: false, possiblyDelivered: false };
    else if (status !== undefined) cls = classifyHttpStatus(status);
    else cls = classifyNetworkCode(`${e.code ?? ''} ${name}`, e.message);
    const detail = providerText(name && e.message ? `${name}: ${e.message}` : e.message, this.#secrets);
    const retryAfterMs = parseRetryAfter(e.$response?.headers?.['retry-after']);
    return new EmailError(cls.code, EmailMessages.sendFailed('ses', cls.code, detail), {
      backend: this.kind,
      retryable: cls.retryable,
      possiblyDelivered: cls.possiblyDelivered,
      ...(status !== undefined ? { status } : {}),
      ...(detail !== undefined ? { providerMessage: detail } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      cause: sanitizedCause(err, this.#secrets),
    });
  }
}
