import { EmailError } from '../errors/email.error.js';
import { assertPackage, importPackage, loadPackage } from '../utils/load-package.util.js';
import { asEmailError, BaseEmailBackend, type EmailBackendOptions } from './base-email.backend.js';
import { currentAttempt } from './email-attempt.js';
import { EmailMessages } from './email.messages.js';
import { parseRetryAfter } from './email-retry.js';
import { providerText, sanitizedCause, secretForms } from './email.redact.js';
import type { ValidatedEmail } from './email.validation.js';
import { envelopeRecipients, formatMailbox } from './email.format.js';
import { type FailureClass, classifyHttpStatus, classifyNetworkCode } from './http-status.util.js';
import { composeMime, importMailComposer, type MailComposerCtor } from './mime.composer.js';

/** Mailgun's API regions. */
export enum MailgunRegion {
  /** `https://api.mailgun.net` */
  US = 'us',
  /** `https://api.eu.mailgun.net` */
  EU = 'eu',
}

const REGION_URL: Record<MailgunRegion, string> = {
  [MailgunRegion.US]: 'https://api.mailgun.net',
  [MailgunRegion.EU]: 'https://api.eu.mailgun.net',
};

/** Options of {@link MailgunBackend}. */
export interface MailgunOptions extends EmailBackendOptions {
  /** API region; ignored when `url` is set. @default MailgunRegion.US */
  region?: MailgunRegion;
  /** API base URL (e.g. a local test server). @default the region's URL */
  url?: string;
  /** Longest time one attempt may take (the whole request and response), in ms. @default 10000 */
  timeoutMs?: number;
}

interface MailgunMessages {
  create(domain: string, data: Record<string, unknown>): Promise<{ id?: string; status?: number; message?: string }>;
}
interface MailgunClientOptions {
  username: string;
  key: string;
  url: string;
  timeout: number;
}
type MailgunCtor = new (formData: unknown) => { client(options: MailgunClientOptions): { messages: MailgunMessages } };
interface MailgunFailure {
  type?: string;
  status?: number;
  message?: string;
  details?: string;
  [RESPONSE]?: { status?: number; headers?: unknown };
}
type MakeRequest = (url: string, method: string, data: Record<string, unknown>, config?: unknown) => Promise<unknown>;

/** Where the backend keeps the HTTP response of a failed request on the SDK's error (which drops the headers). */
const RESPONSE = Symbol('mailgun.response');

/** axios' default response parsing (JSON when it parses), since a request's transformResponse replaces it. */
function parseBody(body: unknown): unknown {
  if (typeof body !== 'string' || body.length === 0) return body;
  try {
    return JSON.parse(body) as unknown;
  } catch {
    return body;
  }
}

function header(headers: unknown, name: string): unknown {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown; [k: string]: unknown };
  return typeof h.get === 'function' ? h.get(name) : h[name];
}

/**
 * Hooks our own client's request function (mailgun.js 10-14 keep it at `messages.request.requestProvider`):
 * each request carries its attempt's abort signal (axios' `timeout` is an idle timeout), and a failed
 * one keeps its status and headers, so `Retry-After` is seen. Another layout is left alone: sends still
 * end at the attempt's deadline, without `Retry-After`.
 */
function hookRequests(messages: MailgunMessages): void {
  const provider = (messages as { request?: { requestProvider?: { makeRequest?: MakeRequest } } }).request
    ?.requestProvider;
  if (!provider || typeof provider.makeRequest !== 'function') return;
  const original = provider.makeRequest.bind(provider);
  provider.makeRequest = async (url, method, data, config) => {
    let response: { status?: number; headers?: unknown } | undefined;
    const signal = currentAttempt.getStore()?.signal;
    const hooked = {
      ...data,
      ...(signal ? { signal } : {}),
      transformResponse: [
        (body: unknown, headers: unknown, status?: number) => {
          response = { status, headers };
          return parseBody(body);
        },
      ],
    };
    try {
      return await original(url, method, hooked, config);
    } catch (err) {
      if (response && err && typeof err === 'object') Object.defineProperty(err, RESPONSE, { value: response });
      throw err;
    }
  };
}

/** mailgun.js reports network failures as status 400 with the socket error code as message. */
const NETWORK_CODE = /^[A-Z][A-Z0-9_]+$/;

/**
 * Sends through the Mailgun Messages API with mailgun.js and form-data: tags become `o:tag`,
 * metadata `v:` variables. Emails with inline images go as MIME (`messages.mime`) so `cid:` works.
 */
export class MailgunBackend extends BaseEmailBackend {
  readonly kind = 'mailgun';
  readonly #clientOptions: MailgunClientOptions;
  readonly #FormData: unknown;
  #messages?: MailgunMessages;
  #loading?: Promise<MailgunMessages>;
  readonly #domain: string;
  readonly #url: string;
  readonly #secrets: string[];
  #Composer?: MailComposerCtor;

  constructor(apiKey: string, domain: string, options: MailgunOptions = {}) {
    super(options, 'mailgun');
    if (typeof apiKey !== 'string' || apiKey.trim().length === 0) {
      throw this.configError('mailgun', 'an API key is required');
    }
    if (typeof domain !== 'string' || !/^[A-Za-z0-9.-]+$/.test(domain)) {
      throw this.configError('mailgun', 'domain must be a host name');
    }
    const region = options.region ?? MailgunRegion.US;
    if (!(region in REGION_URL))
      throw this.configError('mailgun', 'region must be MailgunRegion.US or MailgunRegion.EU');
    this.#url = options.url ?? REGION_URL[region];
    this.#domain = domain;
    this.#secrets = [...secretForms(apiKey, `api:${apiKey}`)];
    // mailgun.js is imported on the first send (its ES module build, the copy an ESM app shares);
    // a missing package is still reported here.
    assertPackage('mailgun.js', 'MailgunBackend');
    this.#FormData = loadPackage<unknown>('form-data', 'MailgunBackend');
    this.#clientOptions = { username: 'api', key: apiKey, url: this.#url, timeout: options.timeoutMs ?? 10_000 };
  }

  /** A backend for `region` (the seed's `MailgunBackend::with_region`). */
  static withRegion(
    apiKey: string,
    domain: string,
    region: MailgunRegion,
    options: MailgunOptions = {},
  ): MailgunBackend {
    return new MailgunBackend(apiKey, domain, { ...options, region });
  }

  protected async deliver(m: ValidatedEmail): Promise<string> {
    const messages = this.#messages ?? (await this.#connect());
    const data: Record<string, unknown> = {};
    if (m.tags.length) data['o:tag'] = m.tags;
    for (const [k, v] of m.metadata) data[`v:${k}`] = v;
    if (m.attachments.some((a) => a.inline)) {
      this.#Composer ??= await importMailComposer('MailgunBackend (inline images)');
      const { raw } = await composeMime(this.#Composer, m);
      const result = await messages.create(this.#domain, { to: envelopeRecipients(m), message: raw, ...data });
      return result.id ?? '';
    }
    const result = await messages.create(this.#domain, {
      from: formatMailbox(m.from),
      to: m.to.map((b) => formatMailbox(b)),
      ...(m.cc.length ? { cc: m.cc.map((b) => formatMailbox(b)) } : {}),
      ...(m.bcc.length ? { bcc: m.bcc.map((b) => formatMailbox(b)) } : {}),
      subject: m.subject,
      ...(m.text ? { text: m.text } : {}),
      ...(m.html ? { html: m.html } : {}),
      ...(m.replyTo ? { 'h:Reply-To': formatMailbox(m.replyTo) } : {}),
      ...Object.fromEntries(m.headers.map((h) => [`h:${h.name}`, h.value])),
      ...(m.attachments.length
        ? {
            attachment: m.attachments.map((a) => ({
              filename: a.filename,
              data: a.content,
              contentType: a.contentType,
            })),
          }
        : {}),
      ...data,
    });
    return result.id ?? '';
  }

  /** Imports mailgun.js and builds its client once; a failed import is retried on the next send. */
  #connect(): Promise<MailgunMessages> {
    this.#loading ??= importPackage<{ default: MailgunCtor }>('mailgun.js', 'MailgunBackend').then(
      ({ default: Mailgun }) => {
        const messages = new Mailgun(this.#FormData).client(this.#clientOptions).messages;
        hookRequests(messages);
        return (this.#messages = messages);
      },
      (err: unknown) => {
        this.#loading = undefined;
        throw asEmailError(err, this.kind);
      },
    );
    return this.#loading;
  }

  protected override describe(): Record<string, unknown> {
    return { url: this.#url, domain: this.#domain };
  }

  protected toEmailError(err: unknown): EmailError {
    const e = (err ?? {}) as MailgunFailure;
    const network = e.type === 'MailgunAPIError' && NETWORK_CODE.test(e.message ?? '');
    let cls: FailureClass;
    let status: number | undefined;
    if (e.type === 'MailgunAPIError' && !network && typeof e.status === 'number') {
      status = e.status;
      cls = classifyHttpStatus(status);
    } else {
      cls = classifyNetworkCode(e.message ?? '', e.details);
    }
    const detail = providerText(e.details || e.message, this.#secrets);
    const retryAfterMs =
      status === undefined ? undefined : parseRetryAfter(header(e[RESPONSE]?.headers, 'retry-after'));
    return new EmailError(cls.code, EmailMessages.sendFailed('mailgun', cls.code, detail), {
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
