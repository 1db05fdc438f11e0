import { Logger } from '@nestjs/common';
import { createHash, randomUUID } from 'node:crypto';
import { EmailError } from '../errors/email.error.js';
import { type Backend, MemoryBackend } from '../storage/index.js';
import type {
  BulkOptions,
  BulkResult,
  EmailBackend,
  RejectedRecipient,
  SendOptions,
  SentEmail,
} from './email-backend.interface.js';
import { currentAttempt, DeliveryAttempt, type DeliveryReport } from './email-attempt.js';
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
  /**
   * How long a reserved key stays pending without its sender renewing it (every third of it while the
   * send runs), in ms; after that a sender is presumed dead and its key is taken over. @default 10000
   */
  idempotencyLeaseMs?: number;
  /**
   * Longest time one attempt (connecting, sending, reading the whole reply) may take, in ms; it then
   * fails with code `timeout`. @default 10000
   */
  timeoutMs?: number;
}

/**
 * @internal What the idempotency store remembers for a key. A pending record names its owner, whose
 * lease lives in a key of its own, and whether a provider call has started (`sending`). A pending
 * record without an owner was written by an earlier version (a 24 h reservation without a lease).
 */
type IdempotencyRecord =
  | { state: 'pending'; owner?: string; sending?: boolean }
  | { state: 'sent'; messageId: string; backend: string; rejected?: RejectedRecipient[] }
  | { state: 'in_doubt'; code: string };

const DEFAULT_CONCURRENCY = 5;
const KEY_PREFIX = 'email:idempotency:';
const LEASE_SUFFIX = ':lease';
const POLL_MS = 25;
/** A pending record from an earlier version (no lease) older than this is presumed abandoned. */
const LEGACY_PENDING_MS = 120_000;
/** What `close()` waits beyond `timeoutMs` for sends in flight (their final idempotency writes). */
const CLOSE_GRACE_MS = 1000;

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
 * Validation, retries, deadlines, idempotency, bulk sending and safe inspection shared by every
 * backend; a backend only implements {@link BaseEmailBackend.deliver} and {@link BaseEmailBackend.toEmailError}.
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
  readonly #leaseMs: number;
  readonly #timeoutMs: number;
  readonly #inflight = new Map<string, Promise<SentEmail>>();
  /** Every send in flight, keyed or not, for close(). */
  readonly #sends = new Set<Promise<unknown>>();
  /** Every provider call in flight. */
  readonly #active = new Set<DeliveryAttempt>();
  /** Aborted by close(): wakes retry delays and idempotency waits. */
  readonly #closing = new AbortController();
  #closed = false;

  protected constructor(options: EmailBackendOptions = {}, backendName = 'email') {
    const policy = retryPolicy(options.retry);
    if (typeof policy === 'string') throw this.configError(backendName, policy);
    this.#retry = policy;
    this.#ttlMs = options.idempotencyTtlMs ?? 86_400_000;
    this.#waitMs = options.idempotencyWaitMs ?? 30_000;
    this.#leaseMs = options.idempotencyLeaseMs ?? 10_000;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    if (!(this.#timeoutMs > 0) || !Number.isFinite(this.#timeoutMs)) {
      throw this.configError(backendName, 'timeoutMs must be a positive number');
    }
    if (!(this.#leaseMs >= 10) || !Number.isFinite(this.#leaseMs)) {
      throw this.configError(backendName, 'idempotencyLeaseMs must be a number >= 10');
    }
    this.#ownsStore = options.idempotencyStore === undefined;
    this.#store = options.idempotencyStore ?? new MemoryBackend({ maxEntries: 100_000 });
  }

  /**
   * Sends the validated message once and resolves its message id (or a {@link DeliveryReport});
   * throws the SDK's own error. `attempt.signal` aborts at the attempt's deadline; an `attempt`
   * with `recipients` resends to those envelope recipients only, keeping `attempt.messageId`.
   */
  protected abstract deliver(message: ValidatedEmail, attempt: DeliveryAttempt): Promise<string | DeliveryReport>;

  /** Classifies an SDK failure into a sanitized {@link EmailError} (must never throw). */
  protected abstract toEmailError(err: unknown): EmailError;

  /** Releases what the subclass opened; called once by {@link BaseEmailBackend.close}. */
  protected async closeResources(): Promise<void> {}

  /**
   * Waits `ms` before a retry; resolves early once `signal` aborts (the backend is closing). A
   * subclass may override it to record or shorten the delays the retry policy chose (tests).
   */
  protected wait(ms: number, signal: AbortSignal): Promise<void> {
    return sleep(ms, signal);
  }

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
    if (this.#closed) throw this.#closedError();
    const key = opts?.idempotencyKey;
    if (key === undefined) return this.#track(this.#attempts(message, false));
    if (typeof key !== 'string' || key.length === 0 || key.length > 256 || CONTROL.test(key)) {
      throw new EmailError('validation', EmailMessages.invalidIdempotencyKey());
    }
    const id = KEY_PREFIX + createHash('sha256').update(key).digest('hex');
    const running = this.#inflight.get(id);
    if (running) return running;
    const promise = this.#track(this.#idempotent(id, message)).finally(() => this.#inflight.delete(id));
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
          const sent = await this.sendEmail(list[i]);
          results[i] = { ok: true, messageId: sent.messageId, ...(sent.rejected ? { rejected: sent.rejected } : {}) };
        } catch (err) {
          results[i] = { ok: false, error: asEmailError(err, this.kind) };
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, list.length) }, worker));
    return results;
  }

  /**
   * Stops accepting sends and releases the backend's resources. Resolves within `timeoutMs` + 1 s
   * (plus closing the provider's client): an attempt in flight is given until its own deadline,
   * a retry that has not started is dropped (its send rejects with the last error), and sends
   * waiting on another's idempotency key stop waiting.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    const stop = new AbortController();
    await Promise.race([Promise.allSettled([...this.#sends]), sleep(this.#timeoutMs + CLOSE_GRACE_MS, stop.signal)]);
    stop.abort();
    for (const attempt of this.#active) attempt.abort(new Error('closed'));
    await this.closeResources();
    if (this.#ownsStore) await this.#store.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const fields = {
      backend: this.kind,
      ...this.describe(),
      retry: this.#retry,
      timeoutMs: this.#timeoutMs,
      closed: this.#closed,
    };
    const body = Object.entries(fields)
      .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
      .join(', ');
    return `${this.constructor.name} { ${body} }`;
  }

  /** Safe fields for `JSON.stringify(backend)`. */
  toJSON(): Record<string, unknown> {
    return { backend: this.kind, ...this.describe() };
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#sends.add(promise);
    const forget = () => this.#sends.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #closedError(): EmailError {
    return new EmailError('configuration', EmailMessages.closed(this.kind), { backend: this.kind });
  }

  /**
   * Runs one attempt under its deadline: at `timeoutMs` the attempt's signal aborts and the attempt
   * fails with `timeout`, whatever the SDK does; in doubt unless the backend knows the message never
   * fully reached the provider.
   */
  #run(message: ValidatedEmail, attempt: DeliveryAttempt): Promise<DeliveryReport> {
    return new Promise<DeliveryReport>((resolve, reject) => {
      this.#active.add(attempt);
      const finish = () => {
        clearTimeout(timer);
        this.#active.delete(attempt);
      };
      const timer = setTimeout(() => {
        finish();
        attempt.abort(new Error('deadline'));
        reject(this.#timeoutError(attempt));
      }, this.#timeoutMs);
      currentAttempt
        .run(attempt, async () => this.deliver(message, attempt))
        .then(
          (out) => {
            finish();
            resolve(typeof out === 'string' ? { messageId: out } : out);
          },
          (err: unknown) => {
            finish();
            reject(attempt.signal.aborted ? this.#timeoutError(attempt) : err);
          },
        );
    });
  }

  #timeoutError(attempt: DeliveryAttempt): EmailError {
    const inDoubt = attempt.messageSent !== false;
    return new EmailError('timeout', EmailMessages.attemptTimeout(this.kind, this.#timeoutMs, inDoubt), {
      backend: this.kind,
      retryable: !inDoubt,
      possiblyDelivered: inDoubt,
    });
  }

  /**
   * Sends with retries: transient failures always; failures in doubt (`possiblyDelivered`: a
   * timeout, a reset mid-request, 500/502/504) only when the send carries an idempotency key.
   * The key deduplicates the caller's repeats; the provider does not know it, so a retried
   * in-doubt attempt can still deliver a second copy (documented in the README). Recipients the
   * server refused for now (SMTP 4xx at RCPT TO) get the same message again, alone, under the same
   * policy; the send still succeeds for the others and lists who did not get it.
   */
  async #attempts(
    message: ValidatedEmail,
    mayRetryInDoubt: boolean,
    beforeAttempt?: () => Promise<void>,
  ): Promise<SentEmail> {
    let messageId: string | undefined;
    const refused: RejectedRecipient[] = [];
    let retrying: RejectedRecipient[] = [];
    const done = (): SentEmail => {
      const rejected = [...refused, ...retrying];
      return { messageId: messageId ?? '', backend: this.kind, ...(rejected.length ? { rejected } : {}) };
    };
    for (let n = 0; ; n++) {
      const attempt = new DeliveryAttempt(
        n,
        messageId === undefined ? undefined : retrying.map((r) => r.address),
        messageId,
      );
      let report: DeliveryReport;
      try {
        await beforeAttempt?.();
        report = await this.#run(message, attempt);
      } catch (raw) {
        const err = this.#classify(raw);
        if (messageId !== undefined) {
          // A resend to refused recipients failed: the message itself was delivered to the others.
          const again = err.retryable && !err.possiblyDelivered && n < this.#retry.retries && !this.#closed;
          if (again && (await this.#pause(n, err.retryAfterMs))) continue;
          const code = err.status ?? 0;
          retrying = retrying.map((r) => ({ address: r.address, code, permanent: !err.retryable && code >= 500 }));
          return done();
        }
        const retry = err.possiblyDelivered ? mayRetryInDoubt : err.retryable;
        if (!retry || n >= this.#retry.retries || this.#closed) throw err;
        if (!(await this.#pause(n, err.retryAfterMs))) throw err;
        continue;
      }
      messageId ??= report.messageId;
      const rejected = report.rejected ?? [];
      refused.push(...rejected.filter((r) => r.permanent));
      retrying = rejected.filter((r) => !r.permanent);
      if (retrying.length === 0 || n >= this.#retry.retries || this.#closed) return done();
      if (!(await this.#pause(n))) return done();
    }
  }

  /** Waits the backoff before retry `n + 1`; false when the policy gives up or the backend closed meanwhile. */
  async #pause(n: number, retryAfterMs?: number): Promise<boolean> {
    const delay = backoffDelay(n, this.#retry, retryAfterMs);
    if (delay === undefined) return false;
    await this.wait(delay, this.#closing.signal);
    return !this.#closed;
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

  /**
   * Reserves the key (a pending record plus a short, renewed lease) and sends, or answers from what
   * the key holds: the first result, "in doubt", or the wait for a live sender. A pending key whose
   * lease ran out belonged to a sender that died: it is taken over, and sent if that sender had not
   * started a provider call; if it had, the outcome is unknown and the key is kept "in doubt".
   */
  async #idempotent(id: string, message: ValidatedEmail): Promise<SentEmail> {
    const deadline = Date.now() + this.#waitMs;
    for (;;) {
      if (this.#closed) throw this.#closedError(); // never reserve (and send) once closing
      const owner = randomUUID();
      const pending: IdempotencyRecord = { state: 'pending', owner, sending: false };
      if (await this.#guardStore(() => this.#store.setIfAbsent(id, pending, this.#ttlMs))) {
        try {
          await this.#guardStore(() => this.#store.set(id + LEASE_SUFFIX, owner, this.#leaseMs));
        } catch (err) {
          await this.#store.delete(id).catch(() => undefined);
          throw err;
        }
        return this.#sendReserved(id, message, owner);
      }
      const record = await this.#guardStore(() => this.#store.get<IdempotencyRecord>(id));
      if (record?.state === 'sent') {
        return {
          messageId: record.messageId,
          backend: record.backend,
          ...(record.rejected?.length ? { rejected: record.rejected } : {}),
        };
      }
      if (record?.state === 'in_doubt') throw this.#inDoubtError(record.code);
      if (record === undefined) continue; // released by a failed first send: reserve again
      if (await this.#guardStore(() => this.#abandoned(id, record))) {
        const taken = await this.#guardStore(() => this.#takeOver(id, record, owner));
        if (taken === 'send') return this.#sendReserved(id, message, owner);
        if (taken === 'in_doubt') throw this.#inDoubtError('timeout');
        continue;
      }
      // The first send is alive and may still deliver: the same key later returns its result.
      if (Date.now() >= deadline || this.#closed) throw this.#pendingError();
      await sleep(POLL_MS, this.#closing.signal);
      if (this.#closed) throw this.#pendingError();
    }
  }

  #pendingError(): EmailError {
    return new EmailError('timeout', EmailMessages.idempotencyPending(), {
      backend: this.kind,
      retryable: true,
      possiblyDelivered: true,
    });
  }

  #inDoubtError(code: string): EmailError {
    return new EmailError(code as EmailError['code'], EmailMessages.idempotencyInDoubt(code), {
      backend: this.kind,
      possiblyDelivered: true,
    });
  }

  /** Whether the sender of a pending record is gone: its lease expired (or, for an old record, it is old). */
  async #abandoned(id: string, record: Extract<IdempotencyRecord, { state: 'pending' }>): Promise<boolean> {
    if (record.owner !== undefined) return !(await this.#store.exists(id + LEASE_SUFFIX));
    const left = await this.#store.ttl(id);
    return typeof left === 'number' && this.#ttlMs - left >= LEGACY_PENDING_MS;
  }

  /**
   * Takes over an abandoned key; the lease key arbitrates (SET NX), so one sender wins. Resolves
   * `send` (reserved for `owner`), `in_doubt` (the dead sender had started a provider call) or
   * `retry` (someone else won, or the record changed meanwhile).
   */
  async #takeOver(
    id: string,
    seen: Extract<IdempotencyRecord, { state: 'pending' }>,
    owner: string,
  ): Promise<'send' | 'in_doubt' | 'retry'> {
    const leaseKey = id + LEASE_SUFFIX;
    if (!(await this.#store.setIfAbsent(leaseKey, owner, this.#leaseMs))) return 'retry';
    const now = await this.#store.get<IdempotencyRecord>(id);
    if (now?.state !== 'pending' || now.owner !== seen.owner) {
      await this.#store.delete(leaseKey);
      return 'retry';
    }
    if (now.owner === undefined || now.sending !== false) {
      const doubt: IdempotencyRecord = { state: 'in_doubt', code: 'timeout' };
      await this.#store.set(id, doubt, this.#ttlMs);
      await this.#store.delete(leaseKey);
      this.logger.warn('An idempotency key was abandoned by a sender that died during its send; it is kept in doubt');
      return 'in_doubt';
    }
    const pending: IdempotencyRecord = { state: 'pending', owner, sending: false };
    await this.#store.set(id, pending, this.#ttlMs);
    return 'send';
  }

  async #sendReserved(id: string, message: ValidatedEmail, owner: string): Promise<SentEmail> {
    const leaseKey = id + LEASE_SUFFIX;
    const renew = setInterval(
      () => {
        void this.#store
          .get<string>(leaseKey)
          .then((held) =>
            held === undefined || held === owner ? this.#store.set(leaseKey, owner, this.#leaseMs) : undefined,
          )
          .catch(() => undefined);
      },
      Math.max(1, Math.floor(this.#leaseMs / 3)),
    );
    renew.unref();
    let marked = false;
    // Before the first provider call the record says so: a sender that dies after it leaves the key in doubt.
    const markSending = async () => {
      if (marked) return;
      const sending: IdempotencyRecord = { state: 'pending', owner, sending: true };
      await this.#guardStore(() => this.#store.set(id, sending, this.#ttlMs));
      marked = true;
    };
    let sent: SentEmail;
    try {
      sent = await this.#attempts(message, true, markSending);
    } catch (err) {
      clearInterval(renew);
      const e = this.#classify(err);
      // A failure where the mail never left frees the key; one in doubt keeps it so a retry cannot duplicate.
      if (e.possiblyDelivered) {
        const doubt: IdempotencyRecord = { state: 'in_doubt', code: e.code };
        await this.#store.set(id, doubt, this.#ttlMs).catch(() => undefined);
      } else {
        await this.#store.delete(id).catch(() => undefined);
      }
      await this.#store.delete(leaseKey).catch(() => undefined);
      throw e;
    }
    clearInterval(renew);
    const record: IdempotencyRecord = {
      state: 'sent',
      messageId: sent.messageId,
      backend: sent.backend,
      ...(sent.rejected ? { rejected: sent.rejected } : {}),
    };
    await this.#store.set(id, record, this.#ttlMs).catch((err) => {
      this.logger.warn(`Could not record the idempotency key of ${sent.messageId}: ${sanitizedCause(err, []).message}`);
    });
    await this.#store.delete(leaseKey).catch(() => undefined);
    return sent;
  }
}
