import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { EmailError } from '../errors/email.error.js';
import { type Backend, MemoryBackend } from '../storage/index.js';
import type { BulkOptions, BulkResult, EmailBackend, SendOptions, SentEmail } from './email-backend.interface.js';
import type { Email } from './email.js';
import { EmailMessages } from './email.messages.js';
import { sanitizedCause } from './email.redact.js';
import { backoffDelay, type RetryOptions, type RetryPolicy, retryPolicy, sleep } from './email-retry.js';
import { type ValidatedEmail, validateEmail } from './email.validation.js';

/** Options every email backend accepts. */
export interface EmailBackendOptions {
  /** Retries of transient failures. @default { retries: 3, minDelayMs: 200, maxDelayMs: 10000 } */
  retry?: RetryOptions;
  /** Where idempotency keys are reserved (the module passes its storage). @default a private MemoryBackend */
  idempotencyStore?: Backend;
  /** How long an idempotency key is remembered, in ms. @default 86400000 (24 h) */
  idempotencyTtlMs?: number;
  /** How long a duplicate waits for a first send with the same key that is still in flight, in ms. @default 30000 */
  idempotencyWaitMs?: number;
}

/** @internal What the idempotency store remembers for a key. */
type IdempotencyRecord =
  { state: 'pending' } | { state: 'sent'; messageId: string; backend: string } | { state: 'in_doubt'; code: string };

const DEFAULT_CONCURRENCY = 5;
const KEY_PREFIX = 'email:idempotency:';
const POLL_MS = 25;

const CONTROL = /[\u0000-\u001f\u007f]/;

/** @internal Turns anything thrown into an {@link EmailError}. */
export function asEmailError(err: unknown, backend: string): EmailError {
  if (err instanceof EmailError) return err;
  return new EmailError('provider', EmailMessages.sendFailed(backend, 'provider'), {
    backend,
    cause: sanitizedCause(err, []),
  });
}

/**
 * Validation, retries, idempotency, bulk sending and safe inspection shared by every backend;
 * a backend only implements {@link BaseEmailBackend.deliver} and {@link BaseEmailBackend.toEmailError}.
 */
export abstract class BaseEmailBackend implements EmailBackend {
  /** Name reported in {@link SentEmail.backend} and in errors. */
  abstract readonly kind: string;
  /** Logger of this backend (never given secrets). */
  protected readonly logger: Logger = new Logger(this.constructor.name);
  readonly #retry: RetryPolicy;
  readonly #store: Backend;
  readonly #ownsStore: boolean;
  readonly #ttlMs: number;
  readonly #waitMs: number;
  readonly #inflight = new Map<string, Promise<SentEmail>>();
  #closed = false;

  protected constructor(options: EmailBackendOptions = {}, backendName = 'email') {
    const policy = retryPolicy(options.retry);
    if (typeof policy === 'string') throw this.configError(backendName, policy);
    this.#retry = policy;
    this.#ttlMs = options.idempotencyTtlMs ?? 86_400_000;
    this.#waitMs = options.idempotencyWaitMs ?? 30_000;
    this.#ownsStore = options.idempotencyStore === undefined;
    this.#store = options.idempotencyStore ?? new MemoryBackend({ maxEntries: 100_000 });
  }

  /** Sends the validated message once and resolves its message id; throws the SDK's own error. */
  protected abstract deliver(message: ValidatedEmail): Promise<string>;

  /** Classifies an SDK failure into a sanitized {@link EmailError} (must never throw). */
  protected abstract toEmailError(err: unknown): EmailError;

  /** Releases what the subclass opened; called once by {@link BaseEmailBackend.close}. */
  protected async closeResources(): Promise<void> {}

  /** Safe, secret-free fields shown by `util.inspect(backend)`. */
  protected describe(): Record<string, unknown> {
    return {};
  }

  /** A configuration error for this backend. */
  protected configError(backend: string, why: string): EmailError {
    return new EmailError('configuration', EmailMessages.invalidConfig(backend, why), { backend });
  }

  async sendEmail(email: Email, opts: SendOptions = {}): Promise<SentEmail> {
    const message = validateEmail(email);
    if (this.#closed) throw new EmailError('configuration', EmailMessages.closed(this.kind), { backend: this.kind });
    const key = opts?.idempotencyKey;
    if (key === undefined) return this.#attempts(message, false);
    if (typeof key !== 'string' || key.length === 0 || key.length > 256 || CONTROL.test(key)) {
      throw new EmailError('validation', EmailMessages.invalidIdempotencyKey());
    }
    const id = KEY_PREFIX + createHash('sha256').update(key).digest('hex');
    const running = this.#inflight.get(id);
    if (running) return running;
    const promise = this.#idempotent(id, message).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, promise);
    return promise;
  }

  async sendBulk(emails: readonly Email[], opts: BulkOptions = {}): Promise<BulkResult[]> {
    const concurrency = opts?.concurrency ?? DEFAULT_CONCURRENCY;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new EmailError('validation', EmailMessages.invalidConcurrency());
    }
    const list = [...emails];
    const results = new Array<BulkResult>(list.length);
    let next = 0;
    const worker = async () => {
      while (next < list.length) {
        const i = next++;
        try {
          results[i] = { ok: true, messageId: (await this.sendEmail(list[i])).messageId };
        } catch (err) {
          results[i] = { ok: false, error: asEmailError(err, this.kind) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
    return results;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([...this.#inflight.values()]);
    await this.closeResources();
    if (this.#ownsStore) await this.#store.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const fields = { backend: this.kind, ...this.describe(), retry: this.#retry, closed: this.#closed };
    const body = Object.entries(fields)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
    return `${this.constructor.name} { ${body} }`;
  }

  /** Safe fields for `JSON.stringify(backend)`. */
  toJSON(): Record<string, unknown> {
    return { backend: this.kind, ...this.describe() };
  }

  /**
   * Sends with retries: transient failures always; failures in doubt (`possiblyDelivered`: a
   * timeout, a reset mid-request, 500/502/504) only when the send carries an idempotency key.
   * The key deduplicates the caller's repeats; the provider does not know it, so a retried
   * in-doubt attempt can still deliver a second copy (documented in the README).
   */
  async #attempts(message: ValidatedEmail, mayRetryInDoubt: boolean): Promise<SentEmail> {
    for (let attempt = 0; ; attempt++) {
      try {
        const messageId = await this.deliver(message);
        return { messageId, backend: this.kind };
      } catch (raw) {
        const err = this.#classify(raw);
        const retry = err.possiblyDelivered ? mayRetryInDoubt : err.retryable;
        if (!retry || attempt >= this.#retry.retries || this.#closed) throw err;
        const delay = backoffDelay(attempt, this.#retry, err.retryAfterMs);
        if (delay === undefined) throw err;
        await sleep(delay);
      }
    }
  }

  #classify(raw: unknown): EmailError {
    if (raw instanceof EmailError) return raw;
    try {
      return this.toEmailError(raw);
    } catch {
      return asEmailError(undefined, this.kind);
    }
  }

  async #guardStore<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new EmailError('connection', EmailMessages.idempotencyStore(), {
        backend: this.kind,
        retryable: true,
        cause: sanitizedCause(err, []),
      });
    }
  }

  async #idempotent(id: string, message: ValidatedEmail): Promise<SentEmail> {
    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      const pending: IdempotencyRecord = { state: 'pending' };
      if (await this.#guardStore(() => this.#store.setIfAbsent(id, pending, this.#ttlMs))) {
        return this.#sendReserved(id, message);
      }
      const record = await this.#guardStore(() => this.#store.get<IdempotencyRecord>(id));
      if (record?.state === 'sent') return { messageId: record.messageId, backend: record.backend };
      if (record?.state === 'in_doubt') {
        throw new EmailError(record.code as EmailError['code'], EmailMessages.idempotencyInDoubt(record.code), {
          backend: this.kind,
          possiblyDelivered: true,
        });
      }
      if (record === undefined) continue; // released by a failed first send: reserve again
      if (Date.now() >= deadline) {
        throw new EmailError('timeout', EmailMessages.idempotencyPending(), { backend: this.kind, retryable: true });
      }
      await sleep(POLL_MS);
    }
  }

  async #sendReserved(id: string, message: ValidatedEmail): Promise<SentEmail> {
    let sent: SentEmail;
    try {
      sent = await this.#attempts(message, true);
    } catch (err) {
      const e = this.#classify(err);
      // A failure where the mail never left frees the key; one in doubt keeps it so a retry cannot duplicate.
      if (e.possiblyDelivered) {
        const doubt: IdempotencyRecord = { state: 'in_doubt', code: e.code };
        await this.#store.set(id, doubt, this.#ttlMs).catch(() => undefined);
      } else {
        await this.#store.delete(id).catch(() => undefined);
      }
      throw e;
    }
    const record: IdempotencyRecord = { state: 'sent', messageId: sent.messageId, backend: sent.backend };
    await this.#store.set(id, record, this.#ttlMs).catch((err) => {
      this.logger.warn(`Could not record the idempotency key of ${sent.messageId}: ${sanitizedCause(err, []).message}`);
    });
    return sent;
  }
}
