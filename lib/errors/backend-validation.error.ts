import { BackendError } from './backend.error.js';

/** An argument was refused before any I/O: an empty or oversized key, an invalid TTL or delta. */
export class BackendValidationError extends BackendError {
  override readonly name: string = 'BackendValidationError';

  constructor(message: string) {
    super('validation', message);
  }
}
