/** Stable codes of {@link ThrottlerConfigError}. */
export type ThrottlerConfigErrorCode = 'invalid_rate' | 'invalid_throttle_options';

/** A rate or throttle option is malformed; raised at startup (decoration or module init), never per request. */
export class ThrottlerConfigError extends Error {
  override readonly name: string = 'ThrottlerConfigError';

  constructor(
    readonly code: ThrottlerConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}
