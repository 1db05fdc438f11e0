import type { Logger } from '@nestjs/common';

/** Logs a backend failure once per outage (not once per request) and the recovery after it. */
export class OutageReporter {
  private down = false;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'log'>,
    private readonly what: string,
  ) {}

  /** Reports a failure; only the first one of an outage is logged. Never logs values or bodies. */
  failed(err: unknown): void {
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

/** Resolves `fallback` when `promise` does not settle within `ms`; its late result is ignored. */
export function withTimeout<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<F>((resolve) => {
    timer = setTimeout(resolve, ms, fallback);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
