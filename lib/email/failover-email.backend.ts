import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { EmailError } from '../errors/email.error.js';
import { type EmailFailoverAttempt, EmailFailoverError } from '../errors/email-failover.error.js';
import { type Backend, MemoryBackend } from '../storage/index.js';
import { asEmailError } from './base-email.backend.js';
import type {
  BulkOptions,
  BulkResult,
  EmailBackend,
  RejectedRecipient,
  SendOptions,
} from './email-backend.interface.js';
import type { Email } from './email.js';
import { EmailMessages } from './email.messages.js';
import { sanitizedCause } from './email.redact.js';
import { EmailRoutingMessages } from './email-routing.messages.js';
import { sleep } from './email-retry.js';
import { validateEmail } from './email.validation.js';
import type {
  FailoverBulkResult,
  FailoverEmailBackendOptions,
  FailoverMember,
  FailoverOn,
  FailoverSentEmail,
} from './failover-email.interface.js';

/** What the chain remembers for an idempotency key (apart from what each backend remembers itself). */
type FailoverRecord =
  | { state: 'sent'; messageId: string; backend: string; rejected?: RejectedRecipient[] }
  | { state: 'in_doubt'; code: string; backend: string };

interface Member {
  backend: EmailBackend;
  /** The configured name, reported as is. */
  name?: string;
  /** The name used in errors: the configured one, else the backend's `kind`, else its position. */
  label: string;
  owned: boolean;
}

const KEY_PREFIX = 'email:failover:';
const CONTROL = /[\u0000-\u001f\u007f]/;
/** What `close()` waits for the chain's own bookkeeping once the backends it owns are closed. */
const CLOSE_GRACE_MS = 1000;

function configError(why: string): EmailError {
  return new EmailError('configuration', EmailMessages.invalidConfig('failover', why), { backend: 'failover' });
}

function isBackend(value: unknown): value is EmailBackend {
  const v = value as Partial<EmailBackend> | undefined;
  return typeof v?.sendEmail === 'function' && typeof v.sendBulk === 'function' && typeof v.close === 'function';
}

/**
 * Sends through the first backend of a chain and moves on to the next one when a send fails in a way
 * that another provider may fix (by default a transient failure that did not leave the mail in doubt),
 * after that backend's own retries. Results name the backend that sent the email.
 */
export class FailoverEmailBackend implements EmailBackend {
  /** Name of this kind of backend. */
  readonly kind = 'failover';
  readonly #members: readonly Member[];
  readonly #failoverOn: FailoverOn;
  readonly #store: Backend;
  readonly #ownsStore: boolean;
  readonly #ttlMs: number;
  readonly #inflight = new Map<string, Promise<FailoverSentEmail>>();
  readonly #sends = new Set<Promise<unknown>>();
  readonly #logger = new Logger('FailoverEmailBackend');
  #closed = false;

  /**
   * `backends` in order, primary first: backends, or `{ backend, name?, owned? }` entries. The chain
   * closes only the ones marked `owned` (by default none: what you pass in stays yours).
   */
  constructor(backends: readonly (EmailBackend | FailoverMember)[], options: FailoverEmailBackendOptions = {}) {
    if (!Array.isArray(backends) || backends.length === 0) throw configError(EmailRoutingMessages.emptyFailover());
    const names = new Set<string>();
    this.#members = backends.map((entry, i) => {
      const at = `backends[${i}]`;
      const member: FailoverMember = isBackend(entry) ? { backend: entry } : entry;
      if (!isBackend(member?.backend)) throw configError(EmailRoutingMessages.notAMember(at));
      if (member.backend instanceof FailoverEmailBackend) throw configError(EmailRoutingMessages.nestedFailover(at));
      if (member.name !== undefined) {
        if (typeof member.name !== 'string' || member.name.length === 0 || CONTROL.test(member.name)) {
          throw configError(EmailRoutingMessages.invalidMemberName(at));
        }
        if (names.has(member.name)) throw configError(EmailRoutingMessages.duplicateMemberName(member.name));
        names.add(member.name);
      }
      const kind = (member.backend as { kind?: unknown }).kind;
      return {
        backend: member.backend,
        ...(member.name !== undefined ? { name: member.name } : {}),
        label: member.name ?? (typeof kind === 'string' ? kind : `backend ${i + 1}`),
        owned: member.owned === true,
      };
    });
    const failoverOn = options.failoverOn ?? 'transient';
    if (failoverOn !== 'transient' && failoverOn !== 'any') {
      throw configError(EmailRoutingMessages.invalidFailoverOn(failoverOn));
    }
    this.#failoverOn = failoverOn;
    this.#ttlMs = options.idempotencyTtlMs ?? 86_400_000;
    if (!(this.#ttlMs > 0) || !Number.isFinite(this.#ttlMs)) throw configError(EmailRoutingMessages.invalidTtl());
    this.#ownsStore = options.idempotencyStore === undefined;
    this.#store = options.idempotencyStore ?? new MemoryBackend({ maxEntries: 100_000 });
  }

  /** The backends of the chain in order, each with the name results and errors report. */
  get members(): readonly { name: string; backend: EmailBackend }[] {
    return this.#members.map((m) => ({ name: m.label, backend: m.backend }));
  }

  /**
   * Sends through the chain. With an idempotency key every backend gets the same key, a send in doubt
   * never moves on, and the same key later returns the first result (or fails at once if in doubt)
   * whichever backend handled it.
   */
  async sendEmail(email: Email, opts: SendOptions = {}): Promise<FailoverSentEmail> {
    validateEmail(email);
    if (this.#closed) throw this.#closedError();
    const key = opts?.idempotencyKey;
    if (key === undefined) return this.#track(this.#chain(email, opts));
    if (typeof key !== 'string' || key.length === 0 || key.length > 256 || CONTROL.test(key)) {
      throw new EmailError('validation', EmailMessages.invalidIdempotencyKey());
    }
    const id = KEY_PREFIX + createHash('sha256').update(key).digest('hex');
    const running = this.#inflight.get(id);
    if (running) return running;
    const promise = this.#track(this.#keyed(id, email, opts)).finally(() => this.#inflight.delete(id));
    this.#inflight.set(id, promise);
    return promise;
  }

  /**
   * Sends every email under the same rule, one email at a time per backend: each backend gets the
   * emails still to send as one `sendBulk`, and those that may go elsewhere move on to the next.
   */
  async sendBulk(emails: readonly Email[], opts: BulkOptions = {}): Promise<FailoverBulkResult[]> {
    const concurrency = opts?.concurrency ?? 5;
    if (!Number.isSafeInteger(concurrency) || concurrency < 1) {
      throw new EmailError('validation', EmailMessages.invalidConcurrency());
    }
    const list = [...emails];
    const results = new Array<FailoverBulkResult>(list.length);
    const failures = list.map((): EmailFailoverAttempt[] => []);
    if (this.#closed) return list.map(() => ({ ok: false, error: this.#closedError() }));
    let pending = list.map((_, i) => i);
    const run = async () => {
      for (const [n, member] of this.#members.entries()) {
        if (pending.length === 0 || (n > 0 && this.#closed)) break;
        let out: BulkResult[];
        try {
          out = await member.backend.sendBulk(
            pending.map((i) => list[i]),
            opts,
          );
        } catch (err) {
          const error = asEmailError(err, member.label);
          out = pending.map(() => ({ ok: false, error }));
        }
        const next: number[] = [];
        pending.forEach((i, k) => {
          const r = out[k] ?? { ok: false, error: asEmailError(undefined, member.label) };
          if (r.ok) {
            results[i] = {
              ok: true,
              messageId: r.messageId,
              backend: member.label,
              ...(r.rejected ? { rejected: r.rejected } : {}),
              failedOver: failures[i],
            };
            return;
          }
          const error = asEmailError(r.error, member.label);
          failures[i].push({ backend: member.label, error });
          if (this.#movesOn(error, false)) next.push(i);
          else results[i] = { ok: false, error: this.#failure(failures[i]) };
        });
        pending = next;
      }
      for (const i of pending) results[i] = { ok: false, error: this.#failure(failures[i]) };
      return results;
    };
    return this.#track(run());
  }

  /**
   * Stops accepting sends, closes the backends the chain owns (those the module created from
   * options), and never starts another backend for a send in flight. Backends passed in stay open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled(this.#members.filter((m) => m.owned).map((m) => m.backend.close()));
    const stop = new AbortController();
    await Promise.race([Promise.allSettled([...this.#sends]), sleep(CLOSE_GRACE_MS, stop.signal)]);
    stop.abort();
    if (this.#ownsStore) await this.#store.close();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    const names = JSON.stringify(this.#members.map((m) => m.label));
    return `FailoverEmailBackend { backends: ${names}, failoverOn: ${JSON.stringify(this.#failoverOn)}, closed: ${this.#closed} }`;
  }

  /** Safe fields for `JSON.stringify(backend)`. */
  toJSON(): Record<string, unknown> {
    return { backend: this.kind, backends: this.#members.map((m) => m.label), failoverOn: this.#failoverOn };
  }

  #track<T>(promise: Promise<T>): Promise<T> {
    this.#sends.add(promise);
    const forget = () => this.#sends.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  #closedError(): EmailError {
    return new EmailError('configuration', EmailMessages.closed('failover'), { backend: 'failover' });
  }

  /** Whether a failure moves the send to the next backend. */
  #movesOn(error: EmailError, keyed: boolean): boolean {
    if (error.code === 'validation') return false; // the email itself is refused: every backend would refuse it
    if (error.possiblyDelivered) return this.#failoverOn === 'any' && !keyed;
    return this.#failoverOn === 'any' || error.retryable;
  }

  #failure(failures: EmailFailoverAttempt[]): EmailError {
    if (failures.length === 1) return failures[0].error;
    const tried = failures.map((f) => ({ backend: f.backend, code: f.error.code, status: f.error.status }));
    return new EmailFailoverError(EmailRoutingMessages.allFailed(tried), failures);
  }

  async #chain(email: Email, opts: SendOptions): Promise<FailoverSentEmail> {
    const keyed = opts.idempotencyKey !== undefined;
    const failures: EmailFailoverAttempt[] = [];
    for (const [n, member] of this.#members.entries()) {
      if (n > 0 && this.#closed) break; // closing: nothing new starts, the send fails with what it got
      try {
        const sent = await member.backend.sendEmail(email, opts);
        const backend = member.name ?? sent.backend;
        if (failures.length > 0) {
          this.#logger.warn(
            `Sent by ${backend} after ${failures.map((f) => `${f.backend}: ${f.error.code}`).join(', ')}`,
          );
        }
        return { ...sent, backend, failedOver: failures };
      } catch (err) {
        const error = asEmailError(err, member.label);
        failures.push({ backend: member.label, error });
        if (!this.#movesOn(error, keyed)) break;
      }
    }
    throw this.#failure(failures);
  }

  async #guardStore<T>(op: () => Promise<T>): Promise<T> {
    try {
      return await op();
    } catch (err) {
      throw new EmailError('connection', EmailMessages.idempotencyStore(), {
        backend: 'failover',
        retryable: true,
        cause: sanitizedCause(err, []),
      });
    }
  }

  /**
   * A keyed send: answers from the chain's record of the key (the backend that sent it, or in doubt),
   * else runs the chain with the key, and records the outcome. Each backend also reserves the key in
   * its own store, which keeps two concurrent senders from both sending when the stores are shared.
   */
  async #keyed(id: string, email: Email, opts: SendOptions): Promise<FailoverSentEmail> {
    const record = await this.#guardStore(() => this.#store.get<FailoverRecord>(id));
    if (record?.state === 'sent') {
      return {
        messageId: record.messageId,
        backend: record.backend,
        ...(record.rejected?.length ? { rejected: record.rejected } : {}),
        failedOver: [],
      };
    }
    if (record?.state === 'in_doubt') {
      throw new EmailError(record.code as EmailError['code'], EmailMessages.idempotencyInDoubt(record.code), {
        backend: record.backend,
        possiblyDelivered: true,
      });
    }
    let sent: FailoverSentEmail;
    try {
      sent = await this.#chain(email, opts);
    } catch (err) {
      const e = err as EmailError;
      // In doubt for good (not "another send with this key is still running", which is retryable).
      if (e.possiblyDelivered && !e.retryable) {
        const doubt: FailoverRecord = { state: 'in_doubt', code: e.code, backend: e.backend ?? 'failover' };
        await this.#store.set(id, doubt, this.#ttlMs).catch(() => undefined);
      }
      throw err;
    }
    const done: FailoverRecord = {
      state: 'sent',
      messageId: sent.messageId,
      backend: sent.backend,
      ...(sent.rejected ? { rejected: sent.rejected } : {}),
    };
    await this.#store.set(id, done, this.#ttlMs).catch((err: unknown) => {
      this.#logger.warn(
        `Could not record the idempotency key of ${sent.messageId}: ${sanitizedCause(err, []).message}`,
      );
    });
    return sent;
  }
}
