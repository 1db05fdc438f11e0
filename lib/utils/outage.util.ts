import type { Logger } from '@nestjs/common';
import { PermissionReporter } from './permission.util.js';

/**
 * Logs a backend failure once per outage (not once per request) and the recovery after it. A refused
 * permission is no outage: it is logged as an error by its own {@link PermissionReporter}.
 */
export class OutageReporter {
  private down = false;
  private readonly permissions: PermissionReporter;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log' | 'error'>,
    private readonly what: string,
    /** The clock of the permission log. @default Date.now */
    now?: () => number,
  ) {
    this.permissions = new PermissionReporter(logger, what, undefined, now);
  }

  /** Reports a failure; only the first one of an outage is logged. Never logs values or bodies. */
  failed(err: unknown): void {
    if (this.permissions.refused(err)) return;
    if (this.down) return;
    this.down = true;
    const e = err as { name?: string; message?: string };
    this.logger.warn(`${this.what}: storage backend failed (${e?.name ?? 'Error'}: ${e?.message ?? String(err)})`);
  }

  /** Marks a success; logs once when it ends an outage. */
  ok(): void {
    if (!this.down) return;
    this.down = false;
    this.logger.log(`${this.what}: storage backend answers again`);
  }
}

/**
 * Deadlines shared by the calls started close together: one timer per quarter of `ms` instead of
 * one per call, so a hot path pays no timer. A call waits at least 3/4 of `ms` and at most `ms`.
 */
export class Deadline<F> {
  private current?: { at: number; promise: Promise<F> };

  constructor(
    private readonly ms: number,
    private readonly fallback: F,
  ) {}

  /** `promise`, or `fallback` when it does not settle before the deadline; a late result is ignored. */
  race<T>(promise: Promise<T>): Promise<T | F> {
    const now = Date.now();
    let current = this.current;
    if (current === undefined || now - current.at > this.ms / 4) {
      const fallback = this.fallback;
      const timed = new Promise<F>((resolve) => setTimeout(resolve, this.ms, fallback).unref());
      current = { at: now, promise: timed };
      this.current = current;
    }
    return Promise.race([promise, current.promise]);
  }
}
