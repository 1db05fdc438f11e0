import type { MailDataRequired } from '@sendgrid/mail';
import { EmailError, type EmailErrorCode } from '../errors/email.error.js';
import { loadPackage } from '../utils/load-package.util.js';
import { BaseEmailBackend, type EmailBackendOptions } from './base-email.backend.js';
import { currentAttempt } from './email-attempt.js';
import { EmailMessages } from './email.messages.js';
import { providerText, sanitizedCause, secretForms } from './email.redact.js';
import { parseRetryAfter } from './email-retry.js';
import type { Mailbox, ValidatedEmail } from './email.validation.js';
import { classifyHttpStatus, classifyNetworkCode } from './http-status.util.js';

/** Options of {@link SendGridBackend}. */
export interface SendGridOptions extends EmailBackendOptions {
  /** API base URL (e.g. the EU host or a local test server). @default 'https://api.sendgrid.com/' */
  baseUrl?: string;
  /** Longest time one attempt may take (the whole request and response), in ms. @default 10000 */
  timeoutMs?: number;
}

interface SendGridRequest {
  headers?: Record<string, unknown>;
  [key: string]: unknown;
}
interface SendGridClient {
  setApiKey(key: string): void;
  setDefaultRequest(key: string, value: unknown): unknown;
  defaultRequest: Record<string, unknown>;
  request(data: SendGridRequest): Promise<[{ statusCode: number; headers: Record<string, unknown> }, unknown]>;
}
interface SendGridMailService {
  client: SendGridClient;
  setClient(client: Pick<SendGridClient, 'request'>): void;
  send(data: MailDataRequired): Promise<[{ statusCode: number; headers: Record<string, unknown> }, unknown]>;
}
interface SendGridMailModule {
  MailService: new () => SendGridMailService;
}
interface SendGridFailure {
  code?: number | string;
  message?: string;
  response?: { headers?: Record<string, unknown>; body?: unknown; status?: number };
}

const DEFAULT_BASE_URL = 'https://api.sendgrid.com/';

function address(m: Mailbox): { email: string; name?: string } {
  return m.name === undefined ? { email: m.address } : { email: m.address, name: m.name };
}

/**
 * Sends through the SendGrid v3 Mail Send API with @sendgrid/mail (its client does not retry; ours
 * does). Text comes before HTML, Bcc goes in the personalization, tags become categories and
 * metadata `custom_args`.
 */
export class SendGridBackend extends BaseEmailBackend {
  readonly kind = 'sendgrid';
  readonly #mail: SendGridMailService;
  readonly #secrets: string[];
  readonly #baseUrl: string;

  constructor(apiKey: string, options: SendGridOptions = {}) {
    super(options, 'sendgrid');
    if (typeof apiKey !== 'string' || apiKey.trim().length === 0) {
      throw this.configError('sendgrid', 'an API key is required');
    }
    const timeoutMs = options.timeoutMs ?? 10_000;
    this.#secrets = [...secretForms(apiKey), `Bearer ${apiKey}`];
    this.#baseUrl = options.baseUrl ?? DEFAULT_BASE_URL;
    const { MailService } = loadPackage<SendGridMailModule>('@sendgrid/mail', 'SendGridBackend');
    const mail = new MailService();
    const client = mail.client;
    client.setApiKey(apiKey);
    // setApiKey() resets baseUrl, so the base URL is set after it.
    client.setDefaultRequest('baseUrl', this.#baseUrl);
    client.setDefaultRequest('timeout', timeoutMs);
    // @sendgrid/mail also copies the email's headers into the HTTP request; they belong in the JSON only.
    // axios' `timeout` is an idle timeout, so each request also carries its attempt's abort signal
    // (the client copies only its default request's keys into axios, hence a view with the signal).
    mail.setClient({
      request: (data) => {
        const signal = currentAttempt.getStore()?.signal;
        const target: SendGridClient = signal
          ? Object.create(client, { defaultRequest: { value: { ...client.defaultRequest, signal } } })
          : client;
        return target.request({ ...data, headers: {} });
      },
    });
    this.#mail = mail;
  }

  protected async deliver(m: ValidatedEmail): Promise<string> {
    const content: { type: string; value: string }[] = [];
    if (m.text) content.push({ type: 'text/plain', value: m.text });
    if (m.html) content.push({ type: 'text/html', value: m.html });
    const personalization: Record<string, unknown> = { to: m.to.map(address) };
    if (m.cc.length) personalization.cc = m.cc.map(address);
    if (m.bcc.length) personalization.bcc = m.bcc.map(address);
    const data: Record<string, unknown> = {
      from: address(m.from),
      subject: m.subject,
      personalizations: [personalization],
      content,
    };
    if (m.replyTo) data.replyTo = address(m.replyTo);
    if (m.attachments.length) {
      data.attachments = m.attachments.map((a) => ({
        content: a.content.toString('base64'),
        filename: a.filename,
        type: a.contentType,
        disposition: a.inline ? 'inline' : 'attachment',
        // The helper passes attachment keys through unchanged, and the API wants snake_case here.
        ...(a.contentId ? { content_id: a.contentId } : {}),
      }));
    }
    if (m.headers.length) data.headers = Object.fromEntries(m.headers.map((h) => [h.name, h.value]));
    if (m.tags.length) data.categories = m.tags;
    if (m.metadata.length) data.customArgs = Object.fromEntries(m.metadata);
    const [response] = await this.#mail.send(data as unknown as MailDataRequired);
    const id = response.headers?.['x-message-id'];
    return typeof id === 'string' ? id : '';
  }

  protected override describe(): Record<string, unknown> {
    return { baseUrl: this.#baseUrl };
  }

  protected toEmailError(err: unknown): EmailError {
    const e = (err ?? {}) as SendGridFailure;
    const status = typeof e.code === 'number' ? e.code : e.response?.status;
    let code: EmailErrorCode;
    let retryable: boolean;
    let possiblyDelivered = false;
    let detail: string | undefined;
    let retryAfterMs: number | undefined;
    if (status !== undefined) {
      ({ code, retryable, possiblyDelivered } = classifyHttpStatus(status));
      const body = e.response?.body as { errors?: { message?: string; field?: string }[] } | string | undefined;
      const errors = typeof body === 'object' && Array.isArray(body?.errors) ? body.errors : undefined;
      detail = providerText(
        errors ? errors.map((x) => (x.field ? `${x.field}: ${x.message}` : x.message)).join('; ') : body || e.message,
        this.#secrets,
      );
      retryAfterMs = parseRetryAfter(e.response?.headers?.['retry-after']);
    } else {
      ({ code, retryable, possiblyDelivered } = classifyNetworkCode(String(e.code ?? ''), e.message));
      detail = providerText(e.message, this.#secrets);
    }
    return new EmailError(code, EmailMessages.sendFailed('sendgrid', code, detail), {
      backend: this.kind,
      retryable,
      possiblyDelivered,
      ...(status !== undefined ? { status } : {}),
      ...(detail !== undefined ? { providerMessage: detail } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      cause: sanitizedCause(err, this.#secrets),
    });
  }
}
