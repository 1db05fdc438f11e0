/** Stable codes of {@link ThrottlerConfigError}. */
export type ThrottlerConfigErrorCode = 'invalid_rate' | 'invalid_throttle_options' | 'invalid_tracker';

/**
 * A rate or throttle option is malformed: raised at startup (decoration or module init), except
 * `invalid_tracker` (a tracker that returned no key), raised by the request that met it.
 */
export class ThrottlerConfigError extends Error {
  override readonly name: string = 'ThrottlerConfigError';

  constructor(
    readonly code: ThrottlerConfigErrorCode,
    message: string,
  ) {
    super(message);
  }
}
