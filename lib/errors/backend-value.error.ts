import { BackendError } from './backend.error.js';

/** The stored value does not suit the operation, e.g. `increment` of a non-integer; nothing was changed. */
export class BackendValueError extends BackendError {
  override readonly name: string = 'BackendValueError';

  constructor(message: string, options?: { cause?: unknown }) {
    super('value', message, options);
  }
}
