import type { Logger } from '@nestjs/common';
import { BackendPermissionError } from '../errors/backend-permission.error.js';

/** How often one refused command is logged again while it keeps being refused, in ms. */
export const PERMISSION_LOG_EVERY_MS = 60_000;

/**
 * Logs permission refusals as errors: a misconfigured ACL is no outage and does not heal by itself,
 * so it is logged at every occurrence, at most once per `everyMs` for each refused command.
 */
export class PermissionReporter {
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly logger: Pick<Logger, 'error'>,
    private readonly what: string,
    private readonly everyMs = PERMISSION_LOG_EVERY_MS,
    /** The clock, read at each refusal. @default Date.now */
    private readonly now: () => number = () => Date.now(),
  ) {}

  /** Reports `err` when it is a {@link BackendPermissionError} and returns `true`; else returns `false`. */
  refused(err: unknown): boolean {
    if (!(err instanceof BackendPermissionError)) return false;
    const now = this.now();
    // EVAL and EVALSHA send the same script (ioredis uses either): one refusal, logged once.
    const key = err.command === 'evalsha' ? 'eval' : err.command;
    const last = this.lastLogged.get(key);
    if (last !== undefined && now - last < this.everyMs) return true;
    this.lastLogged.set(key, now);
    this.logger.error(
      `${this.what}: the storage backend refused ${err.command.toUpperCase()} for lack of permission, ` +
        `a misconfiguration, not an outage (${err.name}: ${err.message})`,
    );
    return true;
  }
}
