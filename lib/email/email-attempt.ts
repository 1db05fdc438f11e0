import { AsyncLocalStorage } from 'node:async_hooks';
import type { RejectedRecipient } from './email-backend.interface.js';

/**
 * One provider call made by a backend's `deliver()`: its deadline signal, and for a resend to
 * recipients the server refused for now, who they are and the message id to keep.
 */
export class DeliveryAttempt {
  readonly #controller = new AbortController();
  /**
   * Whether the whole message reached the provider (SMTP: the body was handed to the socket). A
   * backend that cannot tell leaves it `undefined`, which counts as sent: a timeout is then in doubt.
   */
  messageSent?: boolean;

  constructor(
    /** 0 for the first attempt, then 1, 2... */
    readonly number: number,
    /** Only these envelope recipients (a resend after temporary refusals); `undefined` for everyone. */
    readonly recipients?: readonly string[],
    /** The message id of the delivery this attempt completes (kept on a resend). */
    readonly messageId?: string,
  ) {}

  /** Aborted once the attempt's deadline (`timeoutMs`) passes. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  /** @internal Aborts the attempt (its deadline passed). */
  abort(reason: unknown): void {
    this.#controller.abort(reason);
  }
}

/** What `deliver()` resolves to: the provider's message id and, when it reports them, refused recipients. */
export interface DeliveryReport {
  /** The provider's message id. */
  messageId: string;
  /** Recipients the provider refused while it accepted the message for the others. */
  rejected?: RejectedRecipient[];
}

/** @internal The attempt `deliver()` is running in, for SDK hooks that cannot be handed it directly. */
export const currentAttempt = new AsyncLocalStorage<DeliveryAttempt>();
